"""``salestarget worker``: run background jobs (imports, recommendations, schedules)."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from salestarget.jobs.worker import JobWorker


class Command(BaseCommand):
    help = "Run background jobs until stopped (several workers may run, on one or more machines)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--queue", action="append", dest="queues", help="queue to take jobs from (default: default)"
        )
        parser.add_argument("--once", action="store_true", help="run the jobs that are ready, then exit")
        parser.add_argument("--max-jobs", type=int, default=None, help="exit after this many jobs")
        parser.add_argument("--name", default=None, help="worker name (unique; default: host-pid-random)")

    def handle(self, *args, queues, once, max_jobs, name, **options):
        worker = JobWorker(
            name=name,
            queues=tuple(queues or ["default"]),
            interval=settings.SALESTARGET_WORKER_INTERVAL,
            lease=settings.SALESTARGET_WORKER_LEASE,
            until_idle=once,
            max_jobs=max_jobs,
        )
        worker.install_signals()
        if options["verbosity"] > 0 and not once:
            self.stdout.write(
                _("Worker %(name)s is waiting for jobs (Ctrl+C to stop).") % {"name": worker.name}
            )
        ran = worker.run()
        if options["verbosity"] > 0:
            self.stdout.write(_("Worker %(name)s ran %(count)d jobs.") % {"name": worker.name, "count": ran})
