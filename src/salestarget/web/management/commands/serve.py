"""``salestarget serve``: the production server (gunicorn; static files by whitenoise)."""

from __future__ import annotations

import os
import subprocess
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils.translation import gettext as _

from salestarget.config import served_at


def migrations_pending(database: str = DEFAULT_DB_ALIAS) -> bool:
    """Whether ``migrate`` has anything to do: the plan from the applied migrations to every
    app's leaf migration. Reading it takes a fraction of a second; ``migrate`` itself, with
    nothing to apply, still builds and renders the project state of every migration and sends
    post_migrate (seconds on a slow machine, at every start)."""
    from django.db.migrations.executor import MigrationExecutor

    connection = connections[database]
    connection.prepare_database()
    executor = MigrationExecutor(connection)
    return bool(executor.migration_plan(executor.loader.graph.leaf_nodes()))


def start_worker() -> subprocess.Popen:
    """A background-job worker beside the web server, so that one command gives the whole app
    (production runs them as separate services: docs/deploy.md)."""
    return subprocess.Popen([sys.executable, "-m", "salestarget.cli", "worker", "--verbosity", "0"])


def run_gunicorn(host: str, port: int, workers: int, threads: int, *, worker: bool = True) -> None:
    """Serve until stopped; with ``worker``, run a job worker for as long as the server runs.

    Links in alerts and reports lead where this server listens (``--port 8102`` included) unless
    SALESTARGET_BASE_URL names the address people use; the worker, another process, is told too."""
    if not os.environ.get("SALESTARGET_BASE_URL", "").strip():
        settings.SALESTARGET_BASE_URL = served_at(host, port)
        os.environ["SALESTARGET_BASE_URL"] = settings.SALESTARGET_BASE_URL
    job_worker = start_worker() if worker else None
    try:
        _gunicorn(host, port, workers, threads)
    finally:
        if job_worker is not None:
            job_worker.terminate()  # finishes its current job's transaction or rolls it back
            try:
                job_worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                job_worker.kill()


def _gunicorn(host: str, port: int, workers: int, threads: int) -> None:
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
    help = "Run the web app with gunicorn (migrates the database first when a migration is pending)."

    def add_arguments(self, parser):
        # Defaults from SALESTARGET_HOST and SALESTARGET_PORT (config.py).
        parser.add_argument("--host", default=settings.CONFIG.host)
        parser.add_argument("--port", type=int, default=settings.CONFIG.port)
        parser.add_argument("--workers", type=int, default=min(4, (os.cpu_count() or 1) + 1))
        parser.add_argument("--threads", type=int, default=4)
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help="do not start a background-job worker (run `salestarget worker` separately)",
        )

    def handle(self, *args, host, port, workers, threads, no_worker, **options):
        if migrations_pending():
            call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write(
            _("SalesTarget is running at http://%(host)s:%(port)s/ (Ctrl+C to stop)")
            % {"host": host, "port": port}
        )
        run_gunicorn(host, port, workers, threads, worker=not no_worker)
