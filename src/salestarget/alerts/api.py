"""Alerts over the API: rules, channels (a test message too), the delivery log, the caller's
in-app notifications and report subscriptions. Reads go through ``restrict``; writes through
``alerts.services``, as the pages do: 403 for what the caller may not do, 400 (a
``DomainError``, the API's one handler) for what they can fix. A channel's secret is
write-only: answers say ``has_secret``, never the secret."""

import datetime as dt
import re
from typing import Annotated, Literal

from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate
from pydantic import BeforeValidator, StringConstraints, WithJsonSchema
from pydantic_core import PydanticCustomError

from salestarget.alerts import services
from salestarget.alerts.models import AlertRule, Channel, Delivery, Notification, Subscription
from salestarget.core.api_contract import (
    MAX_AMOUNT,
    BodyIn,
    Bool,
    Id,
    IsoDate,
    QueryIn,
    Text,
    Whole,
    responses,
)
from salestarget.org.models import OrgUnit
from salestarget.org.permissions import Action
from salestarget.targets.models import Plan

router = Router(tags=["alerts"])

ChannelKind = Literal["email", "dingtalk", "wecom", "feishu", "webhook"]
Condition = Literal[
    "lagging", "at_risk", "behind_time", "projection", "chance", "gap", "daily_report", "milestone"
]
PeriodKind = Literal["month", "quarter", "year"]
Language = Literal["zh-hans", "en"]
ReportKind = Literal["daily", "weekly", "monthly"]
DeliveryStatus = Literal["pending", "sending", "sent", "failed"]


HOUR_MINUTE = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


def _hour_minute(value):
    """ "08:30" only (strict bodies take no time objects from JSON, so the string is read here)."""
    if isinstance(value, dt.time):
        return value
    if isinstance(value, str) and re.fullmatch(HOUR_MINUTE, value):
        return dt.time.fromisoformat(value)
    raise PydanticCustomError("time_format", "Input should be a time as HH:MM")


HourMinute = Annotated[
    dt.time,
    BeforeValidator(_hour_minute),
    WithJsonSchema({"type": "string", "pattern": HOUR_MINUTE, "description": "HH:MM, 24-hour"}),
]
Address = Annotated[str, StringConstraints(min_length=3, max_length=254, pattern=r"^[^\s@]+@[^\s@]+$")]


def _time_text(value: dt.time | None) -> str | None:
    return None if value is None else value.strftime("%H:%M")


# --------------------------------------------------------------------------- rules


class AlertRuleIn(BodyIn):
    name: Text(100, 1)
    plan: Id = Field(description="a published plan")
    unit: Id = Field(description="the subtree watched: a unit you may change")
    condition: Condition
    period_kind: PeriodKind = "month"
    threshold: Whole(0, MAX_AMOUNT) | None = Field(
        None,
        description="percent (behind_time, chance, milestone: 1-1000) or, for gap, an amount in the "
        "metric's minor units (fen)",
    )
    at_time: HourMinute | None = Field(None, description="daily_report: due by, HH:MM")
    milestone: IsoDate | None = Field(None, description="milestone: the date")
    notify_owner: bool = Field(True, description="the responsible person (负责人)")
    notify_managers: bool = Field(True, description="their managers (其上级)")
    channels: list[Id] = Field(default_factory=list, max_length=50, description="channels you may change")
    quiet_from: HourMinute | None = None
    quiet_until: HourMinute | None = None
    working_days_only: bool = True
    active: bool = True


class AlertRuleOut(Schema):
    id: int
    name: str
    plan: int
    unit: int
    unit_name: str
    condition: str
    period_kind: str
    threshold: int | None
    at_time: str | None = Field(description="HH:MM")
    milestone: dt.date | None
    notify_owner: bool
    notify_managers: bool
    channels: list[int]
    quiet_from: str | None
    quiet_until: str | None
    working_days_only: bool
    active: bool
    checked_at: dt.datetime | None
    created_at: dt.datetime

    @staticmethod
    def resolve_plan(rule) -> int:
        return rule.plan_id

    @staticmethod
    def resolve_unit(rule) -> int:
        return rule.unit_id

    @staticmethod
    def resolve_unit_name(rule) -> str:
        return rule.unit.name

    @staticmethod
    def resolve_at_time(rule) -> str | None:
        return _time_text(rule.at_time)

    @staticmethod
    def resolve_quiet_from(rule) -> str | None:
        return _time_text(rule.quiet_from)

    @staticmethod
    def resolve_quiet_until(rule) -> str | None:
        return _time_text(rule.quiet_until)

    @staticmethod
    def resolve_channels(rule) -> list[int]:
        return sorted(c.pk for c in rule.channels.all())


class AlertDeletedOut(Schema):
    id: int
    deleted: bool


def _rules(request, action=Action.VIEW):
    return (
        AlertRule.objects.restrict(request.user, action)
        .select_related("unit")
        .prefetch_related("channels")
        .order_by("name", "pk")
    )


def _rule_arguments(request, body: AlertRuleIn) -> dict:
    plan = get_object_or_404(Plan.objects.restrict(request.user), pk=body.plan)
    unit = get_object_or_404(OrgUnit.objects.restrict(request.user), pk=body.unit)
    ids = list(dict.fromkeys(body.channels))
    channels = list(Channel.objects.restrict(request.user).filter(pk__in=ids))
    if len(channels) != len(ids):
        from django.http import Http404

        raise Http404
    fields = body.model_dump(exclude={"plan", "unit", "channels"})
    return {**fields, "plan": plan, "unit": unit, "channels": channels}


@router.get("/rules", response=responses(list[AlertRuleOut], 422))
@paginate
def list_rules(request):
    """The alert rules you may see: those of the subtrees you manage (every rule for company-wide
    roles)."""
    return _rules(request)


@router.post("/rules", response=responses(AlertRuleOut, 400, 403, 404, 413, 422))
def create_rule(request, body: AlertRuleIn):
    """A new rule on a published plan, for a subtree you manage; 400 for a condition without
    its threshold, time or date, or a plan that is not published."""
    rule = services.do_save_rule(request.user, **_rule_arguments(request, body))
    return _rules(request).get(pk=rule.pk)


@router.get("/rules/{rule_id}", response=responses(AlertRuleOut, 404, 422))
def get_rule(request, rule_id: Id):
    return get_object_or_404(_rules(request), pk=rule_id)


@router.put("/rules/{rule_id}", response=responses(AlertRuleOut, 400, 403, 404, 413, 422))
def update_rule(request, rule_id: Id, body: AlertRuleIn):
    """Replace a rule's settings (every field; the omitted ones take their defaults)."""
    rule = get_object_or_404(_rules(request), pk=rule_id)
    rule = services.do_save_rule(request.user, rule=rule, **_rule_arguments(request, body))
    return _rules(request).get(pk=rule.pk)


@router.delete("/rules/{rule_id}", response=responses(AlertDeletedOut, 403, 404, 422))
def delete_rule(request, rule_id: Id):
    services.do_delete_rule(request.user, get_object_or_404(_rules(request), pk=rule_id))
    return {"id": rule_id, "deleted": True}


# --------------------------------------------------------------------------- channels


class AlertChannelIn(BodyIn):
    name: Text(100, 1)
    kind: ChannelKind
    url: Text(1000) = Field("", description="robots and webhooks: the webhook address")
    secret: Text(200) | None = Field(
        None,
        description="robots and webhooks: the signing secret (write-only). On PUT, null keeps the "
        'stored secret and "" removes it.',
    )
    to: list[Address] = Field(default_factory=list, max_length=100, description="e-mail: the addresses")
    unit: Id | None = Field(None, description="the audience: a unit you may change; null: the whole company")
    language: Language = "zh-hans"
    active: bool = True


class AlertChannelOut(Schema):
    id: int
    name: str
    kind: str
    url: str = Field(description="the webhook address; its host only unless you may change the channel")
    has_secret: bool
    to: list[str]
    unit: int | None
    language: str
    active: bool
    created_at: dt.datetime


class AlertChannelTestOut(Schema):
    delivery: int
    status: DeliveryStatus
    attempts: int
    response: str
    sent_at: dt.datetime | None


def _channel_out(request, channel: Channel, changeable: bool | None = None) -> dict:
    from urllib.parse import urlsplit

    if changeable is None:
        changeable = Channel.objects.restrict(request.user, Action.CHANGE).filter(pk=channel.pk).exists()
    config = channel.config or {}
    url = config.get("url", "")
    if url and not changeable:  # the token is in the address: only those who may change see it
        parts = urlsplit(url)
        url = f"{parts.scheme}://{parts.netloc}/…"
    return {
        "id": channel.pk,
        "name": channel.name,
        "kind": channel.kind,
        "url": url,
        "has_secret": bool(config.get("secret")),
        "to": list(config.get("to") or []),
        "unit": channel.unit_id,
        "language": channel.language,
        "active": channel.active,
        "created_at": channel.created_at,
    }


def _channel(request, channel_id: int) -> Channel:
    return get_object_or_404(Channel.objects.restrict(request.user), pk=channel_id)


def _save_channel(request, body: AlertChannelIn, channel: Channel | None) -> Channel:
    unit = None
    if body.unit is not None:
        unit = get_object_or_404(OrgUnit.objects.restrict(request.user), pk=body.unit)
    if body.kind == "email":
        config = {"to": body.to}
    else:
        secret = body.secret
        if secret is None and channel is not None:
            secret = (channel.config or {}).get("secret", "")
        config = {"url": body.url.strip(), **({"secret": secret} if secret else {})}
    return services.do_save_channel(
        request.user, name=body.name, kind=body.kind, config=config, unit=unit,
        language=body.language, active=body.active, channel=channel,
    )  # fmt: skip


@router.get("/channels", response=responses(list[AlertChannelOut], 422))
@paginate
def list_channels(request):
    """The channels you may see (those whose audience is a subtree you manage; all of them for
    company-wide roles). The secret is never shown."""
    changeable = set(Channel.objects.restrict(request.user, Action.CHANGE).values_list("pk", flat=True))
    return [
        _channel_out(request, c, c.pk in changeable)
        for c in Channel.objects.restrict(request.user).order_by("name", "pk")
    ]


@router.post("/channels", response=responses(AlertChannelOut, 400, 403, 404, 413, 422))
def create_channel(request, body: AlertChannelIn):
    """A group robot (dingtalk, wecom, feishu), a webhook or a mailbox (email, with ``to``)."""
    return _channel_out(request, _save_channel(request, body, None))


@router.get("/channels/{channel_id}", response=responses(AlertChannelOut, 404, 422))
def get_channel(request, channel_id: Id):
    return _channel_out(request, _channel(request, channel_id))


@router.put("/channels/{channel_id}", response=responses(AlertChannelOut, 400, 403, 404, 413, 422))
def update_channel(request, channel_id: Id, body: AlertChannelIn):
    """Replace a channel's settings; ``secret`` null keeps the stored one."""
    return _channel_out(request, _save_channel(request, body, _channel(request, channel_id)))


@router.delete("/channels/{channel_id}", response=responses(AlertDeletedOut, 403, 404, 422))
def delete_channel(request, channel_id: Id):
    services.do_delete_channel(request.user, _channel(request, channel_id))
    return {"id": channel_id, "deleted": True}


@router.post("/channels/{channel_id}/test", response=responses(AlertChannelTestOut, 403, 404, 422))
def test_channel(request, channel_id: Id):
    """Send a test message now; the answer is the delivery: sent, failed, or pending (a transient
    failure, retried later), with the platform's response."""
    delivery = services.do_test_channel(request.user, _channel(request, channel_id))
    return {
        "delivery": delivery.pk,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "response": delivery.response,
        "sent_at": delivery.sent_at,
    }


# --------------------------------------------------------------------------- deliveries


class AlertDeliveryQuery(QueryIn):
    status: DeliveryStatus | None = None


class AlertDeliveryOut(Schema):
    id: int
    created_at: dt.datetime
    reason: str
    via: str = Field(description="a channel kind, or app (the in-app list)")
    channel: int | None
    user: int | None = Field(description="the person's user id, for messages to a person")
    rule: int | None
    title: str
    status: str
    attempts: int
    due_at: dt.datetime
    sent_at: dt.datetime | None
    response: str

    @staticmethod
    def resolve_channel(d) -> int | None:
        return d.channel_id

    @staticmethod
    def resolve_user(d) -> int | None:
        return d.user_id

    @staticmethod
    def resolve_rule(d) -> int | None:
        return d.rule_id


@router.get("/deliveries", response=responses(list[AlertDeliveryOut], 422))
@paginate
def list_deliveries(request, q: Query[AlertDeliveryQuery]):
    """The delivery log, newest first: the messages of the rules and channels of the subtrees you
    manage, and your own."""
    rows = Delivery.objects.restrict(request.user)
    return rows.filter(status=q.status) if q.status else rows


# --------------------------------------------------------------------------- notifications


class AlertNotificationQuery(QueryIn):
    unread: Bool | None = Field(None, description="true: unread only; false: read only")


class AlertNotificationOut(Schema):
    id: int
    title: str
    text: str
    link: str
    created_at: dt.datetime
    read_at: dt.datetime | None


class AlertReadIn(BodyIn):
    ids: list[Id] | None = Field(None, max_length=1000, description="null: all of them")


class AlertReadOut(Schema):
    marked: int


@router.get("/notifications", response=responses(list[AlertNotificationOut], 422))
@paginate
def list_notifications(request, q: Query[AlertNotificationQuery]):
    """Your in-app notifications (站内通知), newest first."""
    rows = Notification.objects.mine(request.user)
    return rows if q.unread is None else rows.filter(read_at__isnull=q.unread)


@router.post("/notifications/read", response=responses(AlertReadOut, 400, 403, 413, 422))
def read_notifications(request, body: AlertReadIn):
    """Mark your notifications read: those of ``ids``, or all of them."""
    return {"marked": services.do_mark_read(request.user, body.ids)}


# --------------------------------------------------------------------------- subscriptions


class AlertSubscriptionIn(BodyIn):
    kind: ReportKind
    unit: Id | None = Field(None, description="a unit you may see; null: what you follow")
    plan: Id | None = Field(None, description="null: the plan in force")
    by_email: bool = True
    in_app: bool = True
    at_time: HourMinute = Field(dt.time(8, 30), description="HH:MM, on working days")
    active: bool = True


class AlertSubscriptionOut(Schema):
    kind: str
    unit: int | None
    plan: int | None
    by_email: bool
    in_app: bool
    at_time: str
    active: bool


def _subscription_out(s: Subscription) -> dict:
    return {
        "kind": s.kind,
        "unit": s.unit_id,
        "plan": s.plan_id,
        "by_email": s.by_email,
        "in_app": s.in_app,
        "at_time": _time_text(s.at_time),
        "active": s.active,
    }


@router.get("/subscriptions", response=responses(list[AlertSubscriptionOut]))
def list_subscriptions(request):
    """Your report subscriptions (日报, 周报, 月报): at most one of each."""
    return [_subscription_out(s) for s in Subscription.objects.filter(user=request.user).order_by("kind")]


@router.put("/subscriptions", response=responses(AlertSubscriptionOut, 400, 403, 404, 413, 422))
def put_subscription(request, body: AlertSubscriptionIn):
    """Subscribe to one kind of report, or change it; 400 for e-mail without an address."""
    unit = plan = None
    if body.unit is not None:
        unit = get_object_or_404(OrgUnit.objects.restrict(request.user), pk=body.unit)
    if body.plan is not None:
        plan = get_object_or_404(Plan.objects.restrict(request.user), pk=body.plan)
    s = services.do_subscribe(
        request.user, kind=body.kind, unit=unit, plan=plan, by_email=body.by_email, in_app=body.in_app,
        at_time=body.at_time, active=body.active,
    )  # fmt: skip
    return _subscription_out(s)


class AlertUnsubscribedOut(Schema):
    kind: str
    subscribed: bool


@router.delete("/subscriptions/{kind}", response=responses(AlertUnsubscribedOut, 422))
def delete_subscription(request, kind: ReportKind):
    """Unsubscribe from one kind of report (nothing to do when not subscribed)."""
    services.do_unsubscribe(request.user, kind)
    return {"kind": kind, "subscribed": False}
