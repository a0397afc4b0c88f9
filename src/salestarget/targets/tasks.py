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


@job(attempts=1, context=True)
def decompose_scenario(context, scenario_id: int, rules: dict, user_id: int) -> dict:
    """A scenario's decomposition (``targets.decomposition.do_decompose``) in the background,
    with its progress readable by the plan's page while the write's transaction is open."""
    from django.contrib.auth import get_user_model

    from salestarget.core.errors import DomainError
    from salestarget.jobs import Fail, progress
    from salestarget.targets import decomposition
    from salestarget.targets.models import Scenario

    job_id = context.task_result.id
    bar = progress.Progress(job_id, unit="cells")

    def step(phase: str, done: int, total: int) -> None:
        bar.update(done, total=total, phase=phase)

    try:
        scenario = Scenario.objects.select_related("plan__metric").get(pk=scenario_id)
        user = get_user_model().objects.get(pk=user_id)
        result = decomposition.do_decompose(
            user, scenario, decomposition.Rules.from_json(rules), progress=step
        )
    except (DomainError, Scenario.DoesNotExist) as exc:
        raise Fail(str(exc)) from exc
    bar.update(result["cells_written"], total=result["cells_written"], phase="done")
    bar.write()
    return result
