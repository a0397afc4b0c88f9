"""The alerts' one periodic job: check the rules, queue the reports, send what is due."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from salestarget.alerts import delivery, messages, reports
from salestarget.alerts.evaluate import evaluate
from salestarget.alerts.models import AlertRule
from salestarget.jobs import job
from salestarget.jobs.schedules import periodic

# A rule on the tracking figures is checked at most this often; a daily-report rule every tick.
CHECK_EVERY = dt.timedelta(minutes=10)


def tick(now: dt.datetime | None = None, *, worker: str | None = None) -> dict[str, int]:
    """One round: what changed, what is due, what was sent."""
    now = now or timezone.now()
    queued = 0
    rules = AlertRule.objects.filter(active=True, plan__status="published").select_related(
        "plan__metric", "unit"
    )
    for rule in rules:
        recent = rule.checked_at is not None and now - rule.checked_at < CHECK_EVERY
        if recent and rule.condition != AlertRule.Condition.DAILY_REPORT:
            continue
        # The states move and the messages are queued together: a failure loses neither.
        with transaction.atomic():
            queued += len(messages.queue(evaluate(rule, now), now))
    queued += len(reports.due(now))
    return {"queued": queued, "sent": delivery.send_due(now, worker=worker)}


@periodic(every=dt.timedelta(minutes=1))
@job(attempts=1)
def alerts_tick() -> dict[str, int]:
    return tick()
