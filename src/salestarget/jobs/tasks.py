"""Housekeeping of the job queue itself."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from salestarget.jobs import job, progress
from salestarget.jobs.schedules import periodic

KEEP_FINISHED = timedelta(days=30)


@periodic(every=timedelta(days=1))
@job(attempts=1)
def prune_jobs() -> int:
    """Finished jobs older than a month leave the queue table, with their progress files."""
    from django_tasks_db.models import DBTaskResult

    old = DBTaskResult.objects.finished().filter(finished_at__lt=timezone.now() - KEEP_FINISHED)
    ids = list(old.values_list("id", flat=True)[:10_000])
    for job_id in ids:
        progress.clear(job_id)
    return DBTaskResult.objects.filter(id__in=ids).delete()[0]
