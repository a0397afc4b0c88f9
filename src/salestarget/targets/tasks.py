"""Background jobs of the targets app, run by ``salestarget worker``."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from salestarget.jobs import job

# A burst of writes (a team's daily reports at six o'clock) makes one refresh, a little later.
SETTLE = timedelta(minutes=1)


@job(attempts=3)
def refresh_recommendations() -> int:
    """Compute again the stored recommendations whose facts changed (queued whenever a fact
    batch is written or rolled back), so that the next visit shows them at once. Returns how
    many were computed."""
    from salestarget.targets import stored  # numpy and the forecast engine: only when it runs

    return stored.refresh()


def queue_refresh(sender=None, **kwargs) -> None:
    """Receives actuals' ``facts_changed`` (and placement changes) inside the writing
    transaction: queue one refresh unless one is already waiting."""
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    waiting = DBTaskResult.objects.filter(
        task_path=refresh_recommendations.module_path, status=TaskResultStatus.READY
    ).exists()
    if not waiting:
        refresh_recommendations.using(run_after=timezone.now() + SETTLE).enqueue()
