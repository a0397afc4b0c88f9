"""Scheduled reports (日报, 周报, 月报) for those who subscribed.

On working days, at the subscription's time, a report covers the last working day before: the
daily one the month up to that day (the month's achievement against the month's time progress, as
the dashboard shows it: "月度进度75%，时间过半"), the weekly one (on the week's first working day)
the week before, the monthly one (on the month's first working day) the month before. Its figures
are read as the subscriber, so a report never shows what its reader may not see.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext as _

from salestarget.alerts.evaluate import local_now
from salestarget.alerts.models import Delivery, Recipient, Subscription
from salestarget.core.money import format_amount, format_percent
from salestarget.metrics.selectors import fiscal_calendar
from salestarget.targets.models import Plan
from salestarget.tracking import progress as tracking

TOP = 3
KINDS = {
    Subscription.Kind.DAILY: "month",
    Subscription.Kind.WEEKLY: "week",
    Subscription.Kind.MONTHLY: "month",
}


def _first_working_day(cal, period) -> dt.date | None:
    day = period.start
    while day <= period.end:
        if cal.working_days_between(day, day):
            return day
        day += dt.timedelta(days=1)
    return None


def report_day(kind: str, today: dt.date, cal) -> dt.date | None:
    """The last day a report sent today covers, or None when no report of ``kind`` is due."""
    if not cal.working_days_between(today, today):
        return None
    if kind == Subscription.Kind.DAILY:  # the last working day before today (Monday: Friday)
        day = today - dt.timedelta(days=1)
        for _ in range(31):
            if cal.working_days_between(day, day):
                return day
            day -= dt.timedelta(days=1)
        return today - dt.timedelta(days=1)
    period = cal.period_of("week" if kind == Subscription.Kind.WEEKLY else "month", today)
    if _first_working_day(cal, period) != today:
        return None
    return period.start - dt.timedelta(days=1)


def plan_for(subscription: Subscription, on: dt.date) -> Plan | None:
    if subscription.plan_id:
        return subscription.plan
    plans = Plan.objects.filter(status__in=[Plan.Status.PUBLISHED, Plan.Status.CLOSED], period_start__lte=on)
    return next((p for p in plans.order_by("metric_id", "-period_start") if on <= p.period_end), None)


def due(now: dt.datetime | None = None) -> list[Delivery]:
    """Queue the reports due now (each once per subscription and covered day)."""
    local = local_now(now)
    cal = fiscal_calendar()
    out = []
    for sub in Subscription.objects.filter(active=True).select_related("user", "unit", "plan"):
        if local.time() < sub.at_time or not sub.user.is_active:
            continue
        covered = report_day(sub.kind, local.date(), cal)
        if covered is None or sub.last_for == covered:
            continue
        out += queue_report(sub, covered, local)
        Subscription.objects.filter(pk=sub.pk).update(last_for=covered)
    return out


def queue_report(sub: Subscription, covered: dt.date, local: dt.datetime) -> list[Delivery]:
    plan = plan_for(sub, covered)
    node = tracking.unit_node(sub.unit) if sub.unit_id else tracking.default_node(sub.user, covered)
    if plan is None or node is None or not tracking.may_track(sub.user, node, covered):
        return []
    found = tracking.progress(sub.user, plan, node, KINDS[sub.kind], covered)
    recipient = Recipient.objects.filter(user=sub.user).first()
    lang = recipient.language if recipient else settings.LANGUAGE_CODE
    with translation.override(lang):
        title, text, markdown, html = compose(sub, plan, node, found, covered, lang)
    vias = (["app"] if sub.in_app else []) + (["email"] if sub.by_email and sub.user.email else [])
    out = []
    for via in vias:
        delivery, created = Delivery.objects.get_or_create(
            key=f"report:{sub.pk}:{covered}:{via}",
            defaults={
                "user": sub.user, "via": via, "reason": Delivery.Reason.REPORT, "title": title[:200],
                "text": text, "markdown": markdown, "html": html, "due_at": local,
                "link": settings.SALESTARGET_BASE_URL + dashboard_path(plan, node, sub.kind, covered),
            },
        )  # fmt: skip
        if created:
            out.append(delivery)
    return out


def dashboard_path(plan: Plan, node, kind: str, covered: dt.date) -> str:
    """The dashboard showing the report's own figures: its node, period and day."""
    query = {"plan": plan.pk, "period": KINDS[kind], "as_of": covered.isoformat()}
    query["unit" if node.kind == "unit" else "person"] = node.id
    return reverse("tracking:index") + "?" + urlencode(query)


def compose(sub, plan, node, found, covered: dt.date, lang: str) -> tuple[str, str, str, str]:
    f = found["figures"]
    kids = [k for k in found["children"] if k["figures"]["achievement"] is not None]
    kids.sort(key=lambda k: -k["figures"]["achievement"])
    lagging = [k for k in found["children"] if k["figures"]["status"] in ("lagging", "at_risk")]
    title = _("%(report)s · %(name)s · %(day)s") % {
        "report": sub.get_kind_display(),
        "name": node.name,
        "day": covered.isoformat(),
    }

    def line(name, figures) -> str:
        return _(
            "%(name)s: %(achievement)s achieved (%(actual)s of %(target)s), %(progress)s of the time"
        ) % {
            "name": name,
            "achievement": format_percent(figures["achievement"]),
            "actual": format_amount(figures["actual"], lang=lang),
            "target": format_amount(figures["target"], lang=lang),
            "progress": format_percent(figures["time_progress"]),
        }

    sections = [(str(plan), [line(node.name, f)])]
    if (
        len(kids) > TOP
    ):  # the bottom ones apart from the top ones: a team of four is no top three and bottom three
        sections.append((_("Top"), [line(k["node"]["name"], k["figures"]) for k in kids[:TOP]]))
        bottom = kids[max(TOP, len(kids) - TOP) :][::-1]
        sections.append((_("Bottom"), [line(k["node"]["name"], k["figures"]) for k in bottom]))
    elif kids:
        sections.append((_("Ranking"), [line(k["node"]["name"], k["figures"]) for k in kids]))
    sections.append((_("Lagging"), [line(k["node"]["name"], k["figures"]) for k in lagging] or [_("None.")]))
    link = settings.SALESTARGET_BASE_URL + dashboard_path(plan, node, sub.kind, covered)
    text = "\n".join([title, *(f"\n{head}\n" + "\n".join(lines) for head, lines in sections), "", link])
    dashboard = _("Open the dashboard")  # outside the f-strings, where makemessages finds it
    markdown = "\n".join(
        [
            f"### {title}",
            *(f"\n**{head}**\n\n" + "\n".join(f"- {x}" for x in lines) for head, lines in sections),
        ]
        + ["", f"[{dashboard}]({link})"]
    )
    html = (
        f"<h3>{escape(title)}</h3>"
        + "".join(
            f"<h4>{escape(head)}</h4><ul>" + "".join(f"<li>{escape(x)}</li>" for x in lines) + "</ul>"
            for head, lines in sections
        )
        + f'<p><a href="{escape(link)}">{escape(dashboard)}</a></p>'
    )
    return title, text, markdown, html
