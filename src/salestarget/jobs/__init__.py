"""Background jobs: work that outlives a request, run by ``salestarget worker``.

Jobs are django-tasks ``Task`` objects stored by django-tasks-db in the app's own database, so
an install needs no queue server. This package adds what the library leaves to its users: a
retry policy per job, a worker that claims with a conditional UPDATE and takes over the jobs
of workers that died, periodic schedules, and progress that a page can show while the job's
own transaction is still open (see docs/architecture.md, "Background jobs").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class Policy:
    """How often a job is tried and how long to wait before each retry (doubling)."""

    attempts: int = 3
    backoff: float = 30.0

    def delay(self, attempt: int) -> timedelta:
        return timedelta(seconds=self.backoff * 2 ** max(attempt - 1, 0))


POLICIES: dict[str, Policy] = {}


class Fail(Exception):
    """A failure that trying again cannot fix (the file is gone, the input is invalid): the
    job is marked failed at once with this message as its reason."""


def job(
    *,
    attempts: int = 3,
    backoff: float = 30.0,
    queue: str = "default",
    priority: int = 0,
    context: bool = False,
):
    """Declare a background job: ``@job(attempts=3)`` over a function of JSON-serialisable
    arguments; ``f.enqueue(*args)`` stores it (inside the caller's transaction, so a rolled-back
    write queues nothing). With ``context=True`` the function receives the django-tasks
    ``TaskContext`` first, whose ``task_result.id`` names the job for its progress."""
    from django_tasks import task

    def wrap(func: Callable):
        t = task(priority=priority, queue_name=queue, takes_context=context)(func)
        POLICIES[t.module_path] = Policy(attempts, backoff)
        return t

    return wrap


def policy_of(task_path: str) -> Policy:
    return POLICIES.get(task_path, Policy())
