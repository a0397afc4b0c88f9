"""``salestarget serve``: the production server (gunicorn; static files by whitenoise)."""

from __future__ import annotations

import os

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connections
from django.utils.translation import gettext as _


def run_gunicorn(host: str, port: int, workers: int, threads: int) -> None:
    from gunicorn.app.base import BaseApplication

    from salestarget.wsgi import application

    class Server(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("timeout", 120)
            self.cfg.set("accesslog", "-")
            self.cfg.set("proc_name", "salestarget")

        def load(self):
            return application

    # Workers are forked: connections opened while starting up must not be shared with them.
    connections.close_all()
    Server().run()


class Command(BaseCommand):
    help = "Run the web app with gunicorn (migrates the database first)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("SALESTARGET_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("SALESTARGET_PORT", "8000")))
        parser.add_argument("--workers", type=int, default=min(4, (os.cpu_count() or 1) + 1))
        parser.add_argument("--threads", type=int, default=4)

    def handle(self, *args, host, port, workers, threads, **options):
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write(
            _("SalesTarget is running at http://%(host)s:%(port)s/ (Ctrl+C to stop)")
            % {"host": host, "port": port}
        )
        run_gunicorn(host, port, workers, threads)
