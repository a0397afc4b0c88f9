"""``salestarget jobs``: what the background workers are doing, for IT."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from salestarget.jobs.models import Schedule, Worker


class Command(BaseCommand):
    help = "Show the workers, the schedules and the latest jobs (failed ones with their reason)."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=20, help="how many of the latest jobs to list")

    def handle(self, *args, limit, **options):
        w = self.stdout.write
        now = timezone.now()
        workers = list(Worker.objects.order_by("started_at"))
        w(_("Workers: %(count)d") % {"count": len(workers)})
        for worker in workers:
            ago = int((now - worker.seen_at).total_seconds())
            doing = _("job %(id)s") % {"id": worker.job_id} if worker.job_id else _("idle")
            seen = _("seen %(seconds)d s ago") % {"seconds": ago}
            w(f"  {worker.name}  {worker.host}:{worker.pid}  {seen}  {doing}")
        if not workers:
            w(
                "  "
                + _("none: start one with `salestarget worker` (or `salestarget serve`, which starts one)")
            )
        w(_("Schedules:"))
        for schedule in Schedule.objects.order_by("name"):
            when = timezone.localtime(schedule.next_run_at)
            every = _("every %(seconds)d s, next at %(when)s") % {
                "seconds": schedule.every,
                "when": f"{when:%Y-%m-%d %H:%M:%S}",
            }
            w(f"  {schedule.name}  {every}")
        count = DBTaskResult.objects.filter(status=TaskResultStatus.READY).count
        w(
            _("Jobs: %(ready)d waiting, %(running)d running, %(failed)d failed")
            % {
                "ready": count(),
                "running": DBTaskResult.objects.running().count(),
                "failed": DBTaskResult.objects.failed().count(),
            }
        )
        for job in DBTaskResult.objects.order_by("-enqueued_at")[:limit]:
            when = timezone.localtime(job.enqueued_at)
            attempts = _("attempts: %(count)d") % {"count": len(job.worker_ids)}
            w(f"  {when:%Y-%m-%d %H:%M:%S}  {job.get_status_display():<8}  {job.task_path}  {attempts}")
            if job.status == "FAILED" or (job.status == "READY" and job.traceback):
                reason = job.traceback.strip().splitlines()[-1] if job.traceback else job.exception_class_path
                w(f"      {reason}")
