"""What the worker keeps beside django-tasks-db's job rows: who is working on what, and when
each periodic job is next due."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Worker(models.Model):
    """A running ``salestarget worker``. Its row says which job it holds, so that when the
    process dies (killed, machine lost) another worker can put that job back in the queue."""

    name = models.CharField(_("name"), max_length=64, primary_key=True)
    host = models.CharField(_("host"), max_length=255)
    pid = models.PositiveIntegerField(_("process id"))
    started_at = models.DateTimeField(_("started at"))
    seen_at = models.DateTimeField(_("last seen"))
    job_id = models.UUIDField(_("job"), null=True, blank=True)

    class Meta:
        verbose_name = _("worker")
        verbose_name_plural = _("workers")

    def __str__(self) -> str:
        return f"{self.name} ({self.host}:{self.pid})"


class Schedule(models.Model):
    """A periodic job. Workers move ``next_run_at`` forward with a conditional UPDATE, so each
    due run is queued once however many workers look at the same moment."""

    name = models.CharField(_("name"), max_length=100, primary_key=True)
    task_path = models.CharField(_("job"), max_length=255)
    every = models.PositiveIntegerField(_("every (seconds)"))
    next_run_at = models.DateTimeField(_("next run at"))
    last_job_id = models.UUIDField(_("last job"), null=True, blank=True)

    class Meta:
        verbose_name = _("schedule")
        verbose_name_plural = _("schedules")

    def __str__(self) -> str:
        return self.name
