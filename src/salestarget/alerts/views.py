"""The alerts pages (提醒): rules, channels, the delivery log, the in-app list and report
subscriptions. Thin: rows read through ``restrict``, every write through ``alerts.services``
(which checks again who may do it); a refusal the user can fix is a form error or a message,
anything they may not do a 403."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Case, Prefetch, Value, When
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy
from django.views.decorators.http import require_POST

from salestarget.actuals.summary import shown
from salestarget.alerts import services
from salestarget.alerts.forms import (
    CONDITION_FIELDS,
    ChannelForm,
    RecipientForm,
    RuleForm,
    SubscriptionForm,
    may_manage,
)
from salestarget.alerts.models import AlertRule, Channel, Delivery, Notification, Recipient, Subscription
from salestarget.core.errors import DomainError
from salestarget.org.permissions import Action
from salestarget.targets.labels import lang

PAGE_SIZE = 50
# The reports' names on the subscriptions page (日报, not the reps' 销售日报 of actuals).
REPORT_LABELS = {
    Subscription.Kind.DAILY: pgettext_lazy("report subscription", "Daily report"),
    Subscription.Kind.WEEKLY: pgettext_lazy("report subscription", "Weekly report"),
    Subscription.Kind.MONTHLY: pgettext_lazy("report subscription", "Monthly report"),
}
# Bootstrap badge colours of a delivery's status.
STATUS_BADGES = {
    Delivery.Status.PENDING: "text-bg-secondary",
    Delivery.Status.SENDING: "text-bg-info",
    Delivery.Status.SENT: "text-bg-success",
    Delivery.Status.FAILED: "text-bg-danger",
}


def _context(request, tab: str, **extra) -> dict:
    """What every alerts page shows: its tab, whether the user manages alerts, their unread count."""
    unread = Notification.objects.mine(request.user).filter(read_at__isnull=True).count()
    return {"nav": "alerts", "tab": tab, "manager": may_manage(request.user), "unread": unread, **extra}


def _condition_text(rule: AlertRule) -> str:
    """The rule's condition with its threshold in place of x% and p%: "达成率低于时间进度的 80%",
    "差额超过某金额: 5.00万", "到点未提交销售日报: 18:00"."""
    label = str(rule.get_condition_display())
    C = AlertRule.Condition
    t = rule.threshold
    if rule.condition in (C.BEHIND_TIME, C.CHANCE) and t is not None:
        return label.replace("x%", f"{t}%").replace("p%", f"{t}%")
    if rule.condition == C.GAP and t is not None:
        return f"{label}: {shown(t, rule.plan.metric, lang())}"
    if rule.condition == C.DAILY_REPORT and rule.at_time is not None:
        return f"{label}: {rule.at_time:%H:%M}"
    if rule.condition == C.MILESTONE and rule.milestone is not None:
        return f"{label}: {rule.milestone:%Y-%m-%d} · {t}%"
    return label


def _rules(request):
    rules = (
        AlertRule.objects.restrict(request.user, Action.VIEW)
        .select_related("plan__metric", "unit")
        .prefetch_related(Prefetch("channels", queryset=Channel.objects.order_by("name")))
    )
    changeable = set(AlertRule.objects.restrict(request.user, Action.CHANGE).values_list("pk", flat=True))
    out = []
    for rule in rules:
        rule.condition_text = _condition_text(rule)
        rule.changeable = rule.pk in changeable
        out.append(rule)
    return out


def _save_rule(request, form: RuleForm, rule: AlertRule | None) -> AlertRule | None:
    if not form.is_valid():
        return None
    try:
        return services.do_save_rule(request.user, rule=rule, **form.options())
    except DomainError as exc:
        form.add_error(None, str(exc))
        return None


@login_required
def index(request):
    """提醒规则: the rules the user may see, and a form for a new one (managers and up)."""
    manager = may_manage(request.user)
    if request.method == "POST" and not manager:
        raise PermissionDenied(_("You may only set up alerts for the teams you manage."))
    form = RuleForm(request.user, request.POST or None) if manager else None
    if request.method == "POST":
        rule = _save_rule(request, form, None)
        if rule is not None:
            messages.success(request, _("Alert rule “%(name)s” saved.") % {"name": rule.name})
            return redirect("alerts:index")
    context = _context(request, "rules", rules=_rules(request), form=form, condition_fields=CONDITION_FIELDS)
    return render(request, "alerts/rules.html", context)


@login_required
def rule_edit(request, pk: int):
    rule = get_object_or_404(
        AlertRule.objects.restrict(request.user, Action.CHANGE).select_related("plan__metric"), pk=pk
    )
    form = RuleForm(request.user, request.POST or None, rule=rule)
    if request.method == "POST":
        saved = _save_rule(request, form, rule)
        if saved is not None:
            messages.success(request, _("Alert rule “%(name)s” saved.") % {"name": saved.name})
            return redirect("alerts:index")
    context = _context(request, "rules", rule=rule, form=form, condition_fields=CONDITION_FIELDS)
    return render(request, "alerts/rule_form.html", context)


@login_required
@require_POST
def rule_delete(request, pk: int):
    rule = get_object_or_404(AlertRule.objects.restrict(request.user, Action.VIEW), pk=pk)
    services.do_delete_rule(request.user, rule)
    messages.success(request, _("Alert rule “%(name)s” deleted.") % {"name": rule.name})
    return redirect("alerts:index")


# --- channels -----------------------------------------------------------------------------------


def _host(url: str) -> str:
    """Where a robot posts, without its token: the address's host only."""
    return urlsplit(url).netloc if url else ""


def _save_channel(request, form: ChannelForm, channel: Channel | None) -> Channel | None:
    if not form.is_valid():
        return None
    data = form.cleaned_data
    try:
        return services.do_save_channel(
            request.user,
            name=data["name"],
            kind=data["kind"],
            config=form.config(),
            unit=data["unit"],
            language=data["language"],
            active=data["active"],
            channel=channel,
        )
    except DomainError as exc:
        form.add_error(None, str(exc))
        return None


@login_required
def channels(request):
    """通知渠道: the group robots, webhooks and mailboxes alerts go to."""
    manager = may_manage(request.user)
    if request.method == "POST" and not manager:
        raise PermissionDenied(_("You may only set up alerts for the teams you manage."))
    form = ChannelForm(request.user, request.POST or None) if manager else None
    if request.method == "POST":
        channel = _save_channel(request, form, None)
        if channel is not None:
            messages.success(request, _("Channel “%(name)s” saved.") % {"name": channel.name})
            return redirect("alerts:channels")
    rows = list(Channel.objects.restrict(request.user, Action.VIEW).select_related("unit"))
    changeable = set(Channel.objects.restrict(request.user, Action.CHANGE).values_list("pk", flat=True))
    for c in rows:
        c.changeable = c.pk in changeable
        c.host = _host(c.config.get("url", ""))
        c.recipients = ", ".join(c.config.get("to") or [])
        c.has_secret = bool(c.config.get("secret"))
    return render(request, "alerts/channels.html", _context(request, "channels", channels=rows, form=form))


@login_required
def channel_edit(request, pk: int):
    channel = get_object_or_404(Channel.objects.restrict(request.user, Action.CHANGE), pk=pk)
    form = ChannelForm(request.user, request.POST or None, channel=channel)
    if request.method == "POST":
        saved = _save_channel(request, form, channel)
        if saved is not None:
            messages.success(request, _("Channel “%(name)s” saved.") % {"name": saved.name})
            return redirect("alerts:channels")
    return render(
        request, "alerts/channel_form.html", _context(request, "channels", channel=channel, form=form)
    )


@login_required
@require_POST
def channel_delete(request, pk: int):
    channel = get_object_or_404(Channel.objects.restrict(request.user, Action.VIEW), pk=pk)
    services.do_delete_channel(request.user, channel)
    messages.success(request, _("Channel “%(name)s” deleted.") % {"name": channel.name})
    return redirect("alerts:channels")


@login_required
@require_POST
def channel_test(request, pk: int):
    """发送测试消息: send one message now and say what the platform answered."""
    channel = get_object_or_404(Channel.objects.restrict(request.user, Action.VIEW), pk=pk)
    delivery = services.do_test_channel(request.user, channel)
    values = {"name": channel.name, "response": delivery.response[:300] or "—"}
    if delivery.status == Delivery.Status.SENT:
        messages.success(request, _("Test message sent to “%(name)s”. The answer: %(response)s") % values)
    elif delivery.status == Delivery.Status.PENDING:
        messages.warning(
            request,
            _(
                "The test message to “%(name)s” did not go through yet and will be retried. The answer: %(response)s"
            )
            % values,
        )
    else:
        messages.error(request, _("The test message to “%(name)s” failed: %(response)s") % values)
    return redirect("alerts:channels")


# --- the delivery log, the in-app list ----------------------------------------------------------


@login_required
def deliveries(request):
    """发送记录: every message the user may see, newest first, 50 a page."""
    rows = Delivery.objects.restrict(request.user, Action.VIEW).select_related("channel", "user", "rule")
    status = request.GET.get("status") or ""
    if status in Delivery.Status.values:
        rows = rows.filter(status=status)
    else:
        status = ""
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    vias = {**dict(Channel.Kind.choices), "app": _("In the app")}
    for d in page:
        d.badge = STATUS_BADGES.get(d.status, "text-bg-light")
        d.via_label = vias.get(d.via, d.via)
    context = _context(request, "deliveries", page=page, status=status, statuses=Delivery.Status.choices)
    return render(request, "alerts/deliveries.html", context)


@login_required
def notifications(request):
    """站内通知: the user's own messages, unread first."""
    unread_first = Case(When(read_at__isnull=True, then=Value(0)), default=Value(1))
    rows = Notification.objects.mine(request.user).order_by(unread_first, "-created_at", "-id")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    for n in page:
        # Links are the app's own (messages.py, reports.py); anything else is not followed.
        n.href = n.link if n.link.startswith(("https://", "http://", "/")) else ""
    return render(request, "alerts/notifications.html", _context(request, "notifications", page=page))


@login_required
@require_POST
def mark_read(request):
    """Mark one notification read (``id``), or all of them."""
    raw = request.POST.get("id", "")
    ids = [int(raw)] if raw.isdigit() and len(raw) < 19 else None
    count = services.do_mark_read(request.user, ids)
    if ids is None:
        messages.success(request, _("%(count)s notifications marked read.") % {"count": count})
    return redirect("alerts:notifications")


# --- subscriptions ------------------------------------------------------------------------------


@login_required
def subscriptions(request):
    """订阅报告: the user's daily, weekly and monthly reports, and how messages reach them."""
    user = request.user
    mine = {s.kind: s for s in Subscription.objects.filter(user=user).select_related("unit")}
    recipient = Recipient.objects.filter(user=user).first()
    posted = request.POST.get("form") if request.method == "POST" else None
    kind_posted = request.POST.get("kind") if posted == "subscribe" else None
    forms_by_kind = {}
    for kind, _label in Subscription.Kind.choices:
        label = REPORT_LABELS[kind]
        s = mine.get(kind)
        initial = {"by_email": bool(user.email)}
        if s is not None:
            initial = {"unit": s.unit_id, "by_email": s.by_email, "in_app": s.in_app}
            initial |= {"at_time": s.at_time, "active": s.active}
        data = request.POST if kind_posted == kind else None
        form = SubscriptionForm(user, data, initial=initial, prefix=kind)
        forms_by_kind[kind] = {"kind": kind, "label": label, "form": form, "subscription": s}
    recipient_form = RecipientForm(
        request.POST if posted == "recipient" else None,
        initial={
            "language": recipient.language if recipient else request.LANGUAGE_CODE,
            "mobile": recipient.mobile if recipient else "",
        },
    )
    if kind_posted in forms_by_kind and "unsubscribe" in request.POST:
        services.do_unsubscribe(user, kind_posted)
        messages.success(request, _("Unsubscribed."))
        return redirect("alerts:subscriptions")
    if kind_posted in forms_by_kind:
        form = forms_by_kind[kind_posted]["form"]
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.do_subscribe(
                    user, kind=kind_posted, unit=data["unit"], by_email=data["by_email"],
                    in_app=data["in_app"], at_time=data["at_time"], active=data["active"],
                )  # fmt: skip
            except DomainError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("Subscription saved."))
                return redirect("alerts:subscriptions")
    elif posted == "recipient" and recipient_form.is_valid():
        try:
            services.do_set_recipient(user, **recipient_form.cleaned_data)
        except DomainError as exc:
            recipient_form.add_error(None, str(exc))
        else:
            messages.success(request, _("Your message settings are saved."))
            return redirect("alerts:subscriptions")
    context = _context(
        request, "subscriptions", kinds=list(forms_by_kind.values()), recipient_form=recipient_form
    )
    return render(request, "alerts/subscriptions.html", context)
