"""The writes of alerts: channels, rules, subscriptions, the in-app list. One function each,
called by the pages, the API and the CLI alike; each checks who may do it with the one
permission mechanism (``restrict``) and raises DomainError with a message for the user."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from salestarget.alerts.models import AlertRule, Channel, Delivery, Notification, Recipient, Subscription
from salestarget.alerts.transports import TRANSPORTS, Message
from salestarget.core.errors import DomainError
from salestarget.org.models import OrgUnit
from salestarget.org.permissions import Action, scope_of
from salestarget.targets.models import Plan
from salestarget.tracking.progress import trackable_units

PERCENT_CONDITIONS = {
    AlertRule.Condition.BEHIND_TIME,
    AlertRule.Condition.CHANCE,
    AlertRule.Condition.MILESTONE,
}


def _check_unit(user, unit: OrgUnit | None) -> None:
    """Alerts of a subtree are set up by whoever may change it; the whole company's (no unit)
    only by a company-wide role."""
    reach = scope_of(user).reach(Action.CHANGE)
    if reach.everything:
        return
    if unit is None or not OrgUnit.objects.filter(pk=unit.pk).filter(reach.units_q("")).exists():
        raise PermissionDenied(_("You may only set up alerts for the teams you manage."))


def do_save_channel(
    user, *, name: str, kind: str, config: dict, unit: OrgUnit | None, language: str = "zh-hans",
    active: bool = True, channel: Channel | None = None,
) -> Channel:  # fmt: skip
    """Create or change a channel; its settings are checked by its transport."""
    if kind not in TRANSPORTS:
        raise DomainError(_("Unknown channel kind “%(kind)s”."), kind=kind)
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise DomainError(_("Give the channel a name of at most 100 characters."))
    config = {k: v for k, v in (config or {}).items() if k in ("url", "secret", "to")}
    problems = TRANSPORTS[kind].validate(config)
    if problems:
        raise DomainError("%(problems)s", problems=" ".join(str(p) for p in problems))
    _check_unit(user, unit)
    if channel is not None:
        channel = Channel.objects.restrict(user, Action.CHANGE).filter(pk=channel.pk).first()
        if channel is None:
            raise PermissionDenied(_("You may not change this channel."))
    channel = channel or Channel(created_by=user if user.is_authenticated else None)
    channel.name, channel.kind, channel.config, channel.unit = name, kind, config, unit
    channel.language, channel.active = language, active
    channel.save()
    return channel


def do_delete_channel(user, channel: Channel) -> None:
    if not Channel.objects.restrict(user, Action.CHANGE).filter(pk=channel.pk).delete()[0]:
        raise PermissionDenied(_("You may not change this channel."))


def do_test_channel(user, channel: Channel) -> Delivery:
    """Queue a test message on the channel and send it now; the delivery records the answer."""
    from salestarget.alerts.delivery import send_one

    if not Channel.objects.restrict(user, Action.CHANGE).filter(pk=channel.pk).exists():
        raise PermissionDenied(_("You may not change this channel."))
    now = timezone.now()
    message = Message(
        title=_("SalesTarget test message"),
        text=_("This channel is set up: alerts and reports will arrive here."),
        markdown="### "
        + _("SalesTarget test message")
        + "\n\n"
        + _("This channel is set up: alerts and reports will arrive here."),
    )
    delivery = Delivery.objects.create(
        channel=channel, via=channel.kind, reason=Delivery.Reason.TEST, key=f"test:{channel.pk}:{now.timestamp()}",
        title=message.title, text=message.text, markdown=message.markdown, due_at=now,
        status=Delivery.Status.SENDING, claimed_by="test", claimed_at=now,  # ours: no worker takes it
    )  # fmt: skip
    return send_one(delivery, worker="test")


def do_save_rule(
    user, *, name: str, plan: Plan, unit: OrgUnit, condition: str, period_kind: str = "month",
    threshold: int | None = None, at_time: dt.time | None = None, milestone: dt.date | None = None,
    notify_owner: bool = True, notify_managers: bool = True, channels: list[Channel] = (),
    quiet_from: dt.time | None = None, quiet_until: dt.time | None = None, working_days_only: bool = True,
    active: bool = True, rule: AlertRule | None = None,
) -> AlertRule:  # fmt: skip
    """Create or change an alert rule: what it watches, the condition and who hears."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise DomainError(_("Give the rule a name of at most 100 characters."))
    if condition not in AlertRule.Condition.values:
        raise DomainError(_("Unknown condition “%(value)s”."), value=condition)
    if period_kind not in AlertRule.PeriodKind.values:
        raise DomainError(_("Unknown period “%(value)s”."), value=period_kind)
    if condition in PERCENT_CONDITIONS and (threshold is None or not 1 <= threshold <= 1000):
        raise DomainError(_("This condition needs a percentage from 1 to 1000."))
    if condition == AlertRule.Condition.GAP and (threshold is None or threshold < 0):
        raise DomainError(_("This condition needs an amount of zero or more."))
    if condition == AlertRule.Condition.DAILY_REPORT and at_time is None:
        raise DomainError(_("Say by what time the daily report is due."))
    if condition == AlertRule.Condition.MILESTONE and milestone is None:
        raise DomainError(_("Give the milestone's date."))
    if (quiet_from is None) != (quiet_until is None):
        raise DomainError(_("Give both ends of the quiet hours, or neither."))
    if plan.status != Plan.Status.PUBLISHED:
        raise DomainError(_("Alerts watch published plans; “%(plan)s” is not published."), plan=str(plan))
    if not notify_owner and not notify_managers and not channels:
        raise DomainError(_("Choose who hears: the responsible person, their managers or a channel."))
    _check_unit(user, unit)
    allowed = set(Channel.objects.restrict(user, Action.CHANGE).values_list("pk", flat=True))
    if any(c.pk not in allowed for c in channels):
        raise PermissionDenied(_("You may not use this channel."))
    with transaction.atomic():
        if rule is not None:
            rule = (
                AlertRule.objects.restrict(user, Action.CHANGE).select_for_update().filter(pk=rule.pk).first()
            )
            if rule is None:
                raise PermissionDenied(_("You may not change this rule."))
        rule = rule or AlertRule(created_by=user if user.is_authenticated else None)
        for field, value in {
            "name": name, "plan": plan, "unit": unit, "condition": condition, "period_kind": period_kind,
            "threshold": threshold, "at_time": at_time, "milestone": milestone, "notify_owner": notify_owner,
            "notify_managers": notify_managers, "quiet_from": quiet_from, "quiet_until": quiet_until,
            "working_days_only": working_days_only, "active": active,
        }.items():  # fmt: skip
            setattr(rule, field, value)
        rule.save()
        rule.channels.set(channels)
    return rule


def do_delete_rule(user, rule: AlertRule) -> None:
    if not AlertRule.objects.restrict(user, Action.CHANGE).filter(pk=rule.pk).delete()[0]:
        raise PermissionDenied(_("You may not change this rule."))


def do_subscribe(
    user, *, kind: str, unit: OrgUnit | None = None, plan: Plan | None = None, by_email: bool = True,
    in_app: bool = True, at_time: dt.time = dt.time(8, 30), active: bool = True,
) -> Subscription:  # fmt: skip
    """Subscribe ``user`` to a report of a subtree they may see (none: what they follow)."""
    if kind not in Subscription.Kind.values:
        raise DomainError(_("Unknown report “%(value)s”."), value=kind)
    if by_email and not user.email:
        raise DomainError(_("Your account has no e-mail address; choose the in-app list."))
    if unit is not None and not trackable_units(user).filter(pk=unit.pk).exists():
        raise PermissionDenied(
            _("You may only subscribe to reports of the teams whose progress you may see.")
        )
    subscription, _created = Subscription.objects.update_or_create(
        user=user, kind=kind,
        defaults={"unit": unit, "plan": plan, "by_email": by_email, "in_app": in_app, "at_time": at_time, "active": active},
    )  # fmt: skip
    return subscription


def do_unsubscribe(user, kind: str) -> None:
    Subscription.objects.filter(user=user, kind=kind).delete()


def do_set_recipient(user, *, language: str, mobile: str = "") -> Recipient:
    if language not in dict(settings.LANGUAGES):
        raise DomainError(_("Unknown language “%(value)s”."), value=language)
    mobile = (mobile or "").strip()
    if mobile and (not mobile.lstrip("+").isdigit() or not 5 <= len(mobile) <= 20):
        raise DomainError(_("Not a mobile number: %(value)s"), value=mobile)
    recipient, _created = Recipient.objects.update_or_create(
        user=user, defaults={"language": language, "mobile": mobile}
    )
    return recipient


def do_mark_read(user, ids: list[int] | None = None) -> int:
    """Mark the user's notifications read (all of them when ``ids`` is None)."""
    unread = Notification.objects.mine(user).filter(read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=timezone.now())
