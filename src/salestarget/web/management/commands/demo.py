"""``salestarget demo``: from nothing to a running app with a realistic company in one line."""

from __future__ import annotations

import sys

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from salestarget.accounts.management.commands.createadmin import create_admin
from salestarget.web.management.commands.serve import run_gunicorn


def progress_bar(stream):
    """A progress bar per long generation step (tqdm; plain lines when not a terminal)."""
    tty = hasattr(stream, "isatty") and stream.isatty()
    state = {"label": None, "bar": None}

    def report(label: str, fraction: float) -> None:
        if label != state["label"]:
            if state["bar"] is not None:
                state["bar"].close()
                state["bar"] = None
            if tty:
                from tqdm import tqdm

                state["bar"] = tqdm(total=100, desc=label, file=stream, unit="%", leave=True)
            else:
                stream.write(f"{label} …\n")
            state["label"] = label
        bar = state["bar"]
        if bar is not None:
            bar.update(int(fraction * 100) - bar.n)
            if fraction >= 1:
                bar.close()
                state["bar"] = None

    return report


class Command(BaseCommand):
    help = "Create the database, load the demo company, create an admin and serve the app."

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-serve", action="store_true", help="prepare everything but do not start the server"
        )
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--size", choices=["small", "medium", "large"], default="small")
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=3)

    def handle(self, *args, no_serve, seed, size, host, port, workers, **options):
        from salestarget.demo.generator import DemoDataExists, generate

        self.stdout.write(_("Preparing the database …"))
        call_command("migrate", interactive=False, verbosity=0)
        try:
            summary = generate(seed=seed, size=size, progress=progress_bar(sys.stdout))
        except DemoDataExists:
            summary = None
            self.stdout.write(_("The database already holds data; the demo company is not loaded again."))
        if summary is not None:
            self.stdout.write(
                _("Demo company %(name)s loaded in %(seconds).1f s: %(people)d people, %(facts)d facts.")
                % {
                    "name": summary.company,
                    "seconds": summary.elapsed_seconds,
                    "people": summary.counts["people"],
                    "facts": summary.counts["facts"],
                }
            )
        user, password = create_admin()
        if password:
            self.stdout.write(
                self.style.SUCCESS(
                    _(
                        "Administrator: %(name)s  password: %(password)s  (shown only once; reset with "
                        "`salestarget createadmin --reset`)"
                    )
                    % {"name": user.get_username(), "password": password}
                )
            )
        if summary is not None:
            self.stdout.write(_("Demo sign-ins (shown only once):"))
            for username, pw, role, display in summary.accounts:
                self.stdout.write(f"  {username:<16} {pw:<20} {role:<8} {display}")
        if not no_serve:
            self.stdout.write(
                _("Open http://%(host)s:%(port)s/ in your browser.") % {"host": host, "port": port}
            )
            run_gunicorn(host, port, workers, 4)
