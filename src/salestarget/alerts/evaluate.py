"""Which targets a rule is about right now, and who must hear it (系统自动提醒, 责任到人).

A rule is checked against the tracking figures of every node of its subtree (the units and
their members on the day), computed as the system, unscoped; each message then carries only the
nodes its recipient may see: a rep hears of their own target, a manager of their subtree, a
group channel of its audience's subtree. A node's condition is announced once per period when it
starts to hold, and once more ("back on track") when it stops (AlertState).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from salestarget.actuals.models import DailyReport
from salestarget.alerts.models import AlertRule, AlertState
from salestarget.engine.calendar import Period
from salestarget.metrics.models import Metric
from salestarget.metrics.selectors import fiscal_calendar
from salestarget.org.models import Membership, OrgUnit, Person, active_on
from salestarget.tracking import progress as tracking

C = AlertRule.Condition


@dataclass(frozen=True)
class Event:
    rule: AlertRule
    node: tracking.Node
    period: Period
    figures: dict
    firing: bool  # True: the condition started to hold; False: back on track


def local_now(now: dt.datetime | None = None) -> dt.datetime:
    return (now or timezone.now()).astimezone(ZoneInfo(settings.TIME_ZONE))


def subtree_nodes(unit: OrgUnit, on: dt.date) -> list[tracking.Node]:
    """The unit, the units under it and their members on the day."""
    units = list(OrgUnit.objects.filter(path__startswith=unit.path).order_by("path"))
    members = (
        Membership.objects.filter(active_on(on), unit__in=units, role=Membership.Role.MEMBER)
        .select_related("person")
        .order_by("person__code")
    )
    people = {m.person_id: tracking.person_node(m.person) for m in members}
    return [tracking.unit_node(u) for u in units] + list(people.values())


def holds(rule: AlertRule, figures: dict, lower: bool, today: dt.date) -> bool:
    """Whether the rule's condition holds on one node's figures (a target reached never alerts)."""
    status = figures["status"]
    if status in ("no_target", "reached", "not_started"):
        return False
    if rule.condition == C.LAGGING:
        return status in ("lagging", "at_risk")
    if rule.condition == C.AT_RISK:
        return status == "at_risk"
    target, actual = figures["target"], figures["actual"]
    if rule.condition == C.BEHIND_TIME:
        if lower or not target:
            return False
        # achievement < x% of time progress, without floats: actual / target < x/100 * progress
        return actual * 100 < rule.threshold * target * figures["time_progress"]
    if rule.condition == C.PROJECTION:
        projection = figures["projection"]
        return projection is not None and (projection > target if lower else projection < target)
    if rule.condition == C.CHANCE:
        return figures["chance"] is not None and figures["chance"] * 100 < rule.threshold
    if rule.condition == C.GAP:
        return figures["gap"] is not None and figures["gap"] > rule.threshold
    if rule.condition == C.MILESTONE:
        if lower or not target or rule.milestone is None or today <= rule.milestone:
            return False
        return actual * 100 < rule.threshold * target
    return False


def evaluate(rule: AlertRule, now: dt.datetime | None = None) -> list[Event]:
    """Check the rule now and move its states; returns the changes to announce. The rule's row
    is locked while its states move, so two workers checking it at once announce each change once."""
    local = local_now(now)
    today = local.date()
    cal = fiscal_calendar()
    if rule.working_days_only and not cal.working_days_between(today, today):
        return []
    if rule.condition == C.DAILY_REPORT:
        return _daily_reports(rule, local, cal)
    plan = rule.plan
    period = cal.period_of(rule.period_kind, today)
    if not plan.period_start <= period.start <= plan.period_end:
        return []
    nodes = subtree_nodes(rule.unit, today)
    figures = tracking.figures_for(None, plan, nodes, period, today, cal=cal)
    lower = plan.metric.direction == Metric.Direction.LOWER
    now_holds = {n.key: holds(rule, figures[n.key], lower, today) for n in nodes}
    return _move(rule, period, nodes, figures, now_holds, local)


def _daily_reports(rule: AlertRule, local: dt.datetime, cal) -> list[Event]:
    """Reps of the subtree without a daily report for today once its time has come."""
    today = local.date()
    if rule.at_time is None or local.time() < rule.at_time:
        return []
    nodes = [n for n in subtree_nodes(rule.unit, today) if n.kind == "person"]
    filed = set(
        DailyReport.objects.filter(day=today, person_id__in=[n.id for n in nodes]).values_list(
            "person_id", flat=True
        )
    )
    period = cal.period_of("day", today)
    figures = {n.key: {"day": today.isoformat()} for n in nodes}
    return _move(rule, period, nodes, figures, {n.key: n.id not in filed for n in nodes}, local)


def _move(rule, period, nodes, figures, now_holds: dict[str, bool], local: dt.datetime) -> list[Event]:
    events = []
    with transaction.atomic():
        AlertRule.objects.select_for_update().filter(pk=rule.pk).first()
        states = {s.node: s for s in AlertState.objects.filter(rule=rule, period_start=period.start)}
        new, changed = [], []
        for node in nodes:
            firing, state = now_holds[node.key], states.get(node.key)
            if state is None:
                if firing:
                    new.append(
                        AlertState(
                            rule=rule, node=node.key, period_start=period.start, firing=True, changed_at=local
                        )
                    )
                    events.append(Event(rule, node, period, figures[node.key], True))
            elif state.firing != firing:
                state.firing, state.changed_at = firing, local
                changed.append(state)
                events.append(Event(rule, node, period, figures[node.key], firing))
        AlertState.objects.bulk_create(new)
        AlertState.objects.bulk_update(changed, ["firing", "changed_at"])
        AlertRule.objects.filter(pk=rule.pk).update(checked_at=local)
    return events


# --- who hears ----------------------------------------------------------------------------------


def managers_of(units: list[OrgUnit], on: dt.date) -> dict[int, list]:
    """Each unit's managers on the day (users), the nearest managed unit above when it has none."""
    paths = {u.pk: u.path for u in units}
    ancestors = {int(a) for path in paths.values() for a in path.strip("/").split("/")}
    found: dict[int, list] = {}
    for m in Membership.objects.filter(
        active_on(on), unit_id__in=ancestors, role=Membership.Role.MANAGER, person__user__isnull=False
    ).select_related("person__user"):
        found.setdefault(m.unit_id, []).append(m.person.user)
    out = {}
    for pk, path in paths.items():
        chain = [int(a) for a in path.strip("/").split("/")][::-1]
        out[pk] = next((found[a] for a in chain if a in found), [])
    return out


def recipients(event: Event, on: dt.date) -> tuple[list, list]:
    """(users, channels) who hear of ``event``: the responsible person, their managers, and the
    rule's channels whose audience holds the node."""
    rule, node = event.rule, event.node
    users: list = []
    if node.kind == "person":
        homes = list(
            Membership.objects.filter(
                active_on(on), person_id=node.id, role=Membership.Role.MEMBER
            ).select_related("unit")
        )
        owner = Person.objects.select_related("user").get(pk=node.id).user
        if rule.notify_owner and owner is not None:
            users.append(owner)
        if rule.notify_managers and homes:
            users += managers_of([homes[0].unit], on)[homes[0].unit.pk]
        path = homes[0].unit.path if homes else None
    else:
        unit = node.unit
        chain = [unit] + ([unit.parent] if unit.parent_id else [])
        managers = managers_of(chain, on)
        if rule.notify_owner:
            users += managers[unit.pk]
        if rule.notify_managers and unit.parent_id:
            users += [u for u in managers[unit.parent_id] if u not in users]
        path = unit.path
    channels = [
        c for c in rule.channels.filter(active=True)
        if c.unit_id is None or (path is not None and path.startswith(c.unit.path))
    ]  # fmt: skip
    unique = list({u.pk: u for u in users}.values())
    return unique, channels
