"""Periodic jobs, declared in code next to the job they run::

    @periodic(every=timedelta(hours=1))
    @job()
    def sweep_uploads(): ...

Apps declare them in their ``tasks.py`` (imported by the worker at start-up); the worker
stores each in :class:`~salestarget.jobs.models.Schedule` and queues it when it is due.
"""

from __future__ import annotations

from datetime import timedelta
from importlib import import_module
from importlib.util import find_spec

from django.apps import apps
from django.db import transaction
from django.utils import timezone

PERIODIC: dict[str, tuple[object, int]] = {}


def periodic(*, every: timedelta):
    """Run the decorated job every ``every``, first one interval after the schedule is made."""

    def wrap(task):
        PERIODIC[task.module_path] = (task, int(every.total_seconds()))
        return task

    return wrap


def discover() -> None:
    """Import every installed app's ``tasks`` module, so its jobs and schedules are known."""
    for config in apps.get_app_configs():
        name = f"{config.name}.tasks"
        if find_spec(name) is not None:
            import_module(name)


def sync() -> None:
    """Make the stored schedules those the code declares (a removed job stops being queued,
    a changed interval takes effect from the next run)."""
    from salestarget.jobs.models import Schedule

    now = timezone.now()
    with transaction.atomic():
        Schedule.objects.exclude(name__in=list(PERIODIC)).delete()
        for name, (_task, every) in PERIODIC.items():
            schedule, created = Schedule.objects.get_or_create(
                name=name,
                defaults={"task_path": name, "every": every, "next_run_at": now + timedelta(seconds=every)},
            )
            if not created and schedule.every != every:
                Schedule.objects.filter(name=name).update(
                    every=every, next_run_at=now + timedelta(seconds=every)
                )


def enqueue_due() -> int:
    """Queue each due schedule once: a worker queues it only if its UPDATE of ``next_run_at``
    from the value it read succeeds, which exactly one worker's does."""
    from salestarget.jobs.models import Schedule

    now = timezone.now()
    queued = 0
    for schedule in Schedule.objects.filter(next_run_at__lte=now):
        entry = PERIODIC.get(schedule.name)
        if entry is None:
            continue
        task, every = entry
        with transaction.atomic():
            won = Schedule.objects.filter(name=schedule.name, next_run_at=schedule.next_run_at).update(
                next_run_at=now + timedelta(seconds=every)
            )
            if won:
                result = task.enqueue()
                Schedule.objects.filter(name=schedule.name).update(last_job_id=result.id)
                queued += 1
    return queued
