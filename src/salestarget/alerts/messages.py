"""Alerts as words, in each recipient's language, queued as deliveries.

The changes one check finds are gathered per recipient into one message (a digest): a robot
that would get twenty lagging reps at once gets one message listing them, which keeps a group
inside DingTalk's and WeCom's 20 messages a minute and a manager's phone quiet.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext as _

from salestarget.alerts.evaluate import Event, local_now, recipients
from salestarget.alerts.models import AlertRule, Delivery, Recipient
from salestarget.core.money import format_amount, format_percent

C = AlertRule.Condition


def _amount(value, lang: str) -> str:
    return format_amount(value, lang=lang)


def describe(event: Event, lang: str) -> str:
    """One line about one node: the figures that matter for the rule's condition."""
    f, name = event.figures, event.node.name
    if event.rule.condition == C.DAILY_REPORT:
        if not event.firing:
            return _("%(name)s has filed today's daily report.") % {"name": name}
        return _("%(name)s has not filed today's daily report (due %(time)s).") % {
            "name": name,
            "time": event.rule.at_time.strftime("%H:%M"),
        }
    values = {
        "name": name,
        "achievement": format_percent(f["achievement"]),
        "progress": format_percent(f["time_progress"]),
        "actual": _amount(f["actual"], lang),
        "target": _amount(f["target"], lang),
        "gap": _amount(f["gap"], lang),
        "projection": _amount(f["projection"], lang),
        "chance": format_percent(f["chance"]),
        "needed": _amount(f["required_per_day"], lang),
    }
    if not event.firing:
        return _("%(name)s is back on track: %(achievement)s achieved at %(progress)s of the time.") % values
    line = (
        _(
            "%(name)s: %(achievement)s achieved (%(actual)s of %(target)s) at %(progress)s of the time; "
            "projected %(projection)s, chance %(chance)s"
        )
        % values
    )
    if f.get("required_per_day"):
        line += _("; needs %(needed)s per remaining working day") % values
    return line + _(".")


def compose(events: list[Event], lang: str) -> tuple[str, str, str, str]:
    """(title, text, markdown, html) of one message about ``events`` (one rule's check)."""
    rule = events[0].rule
    period = events[0].period.label("zh" if lang.startswith("zh") else "en")
    firing = [e for e in events if e.firing]
    if len(events) == 1:
        e = events[0]
        title = (_("[Alert] %(name)s: %(rule)s") if e.firing else _("[Back on track] %(name)s: %(rule)s")) % {
            "name": e.node.name,
            "rule": rule.name,
        }
    else:
        title = _("[Alert] %(rule)s: %(firing)s to watch, %(cleared)s back on track") % {
            "rule": rule.name,
            "firing": len(firing),
            "cleared": len(events) - len(firing),
        }
    lines = [describe(e, lang) for e in events]
    link = settings.SALESTARGET_BASE_URL + reverse("tracking:index") + f"?plan={rule.plan_id}"
    head = f"{rule.plan} · {period}"
    text = "\n".join([title, head, "", *lines, "", link])
    dashboard = _("Open the dashboard")  # outside the f-strings, where makemessages finds it
    markdown = "\n".join(
        [
            f"### {title}",
            f"{head}",
            "",
            *(f"- {line}" for line in lines),
            "",
            f"[{dashboard}]({link})",
        ]
    )
    html = (
        f"<h3>{escape(title)}</h3><p>{escape(head)}</p><ul>"
        + "".join(f"<li>{escape(line)}</li>" for line in lines)
        + f'</ul><p><a href="{escape(link)}">{escape(dashboard)}</a></p>'
    )
    return title, text, markdown, html


def _quiet_until(rule: AlertRule, local: dt.datetime) -> dt.datetime:
    """When a message about ``rule`` may go out: now, or the end of its quiet hours."""
    if rule.quiet_from is None or rule.quiet_until is None:
        return local
    t, start, end = local.time(), rule.quiet_from, rule.quiet_until
    inside = (start <= t < end) if start < end else (t >= start or t < end)
    if not inside:
        return local
    day = local.date() if t < end else local.date() + dt.timedelta(days=1)
    return local.replace(
        year=day.year, month=day.month, day=day.day, hour=end.hour, minute=end.minute, second=0, microsecond=0
    )


def queue(events: list[Event], now: dt.datetime | None = None) -> list[Delivery]:
    """One delivery per recipient (a user by e-mail and in the app, a group channel) holding the
    events that recipient may see, in their language; queued once however often it is called."""
    if not events:
        return []
    local = local_now(now)
    today = local.date()
    by_user: dict[int, tuple] = {}
    by_channel: dict[int, tuple] = {}
    for e in events:
        users, channels = recipients(e, today)
        for u in users:
            by_user.setdefault(u.pk, (u, []))[1].append(e)
        for c in channels:
            by_channel.setdefault(c.pk, (c, []))[1].append(e)
    languages = dict(Recipient.objects.filter(user_id__in=list(by_user)).values_list("user_id", "language"))
    mobiles = dict(Recipient.objects.filter(user_id__in=list(by_user)).values_list("user_id", "mobile"))
    rule = events[0].rule
    due = _quiet_until(rule, local)
    out = []
    for user, mine in by_user.values():
        lang = languages.get(user.pk, settings.LANGUAGE_CODE)
        vias = ["app"] + (["email"] if user.email else [])
        for via in vias:
            out.append(
                _delivery(mine, lang, via=via, user=user, due=local if via == "app" else due, checked=local)
            )
    for channel, theirs in by_channel.values():
        at = [
            mobiles[u.pk]
            for u, _es in by_user.values()
            if mobiles.get(u.pk) and any(e in theirs for e in _es)
        ]
        out.append(
            _delivery(
                theirs, channel.language, via=channel.kind, channel=channel, due=due, checked=local, at=at
            )
        )
    return [d for d in out if d is not None]


def _delivery(
    events: list[Event], lang: str, *, via: str, due, checked: dt.datetime, user=None, channel=None, at=()
) -> Delivery | None:
    with translation.override(lang):
        title, text, markdown, html = compose(events, lang)
    what = ",".join(sorted(f"{e.node.key}{'+' if e.firing else '-'}" for e in events))
    rule, period = events[0].rule, events[0].period
    who = f"u{user.pk}" if user is not None else f"c{channel.pk}"
    # The check's time tells one change from the same change made again later that day.
    digest = hashlib.sha256(f"{what}|{checked.isoformat()}".encode()).hexdigest()[:16]
    key = f"r{rule.pk}:{period.start}:{who}:{via}:{digest}"
    delivery, created = Delivery.objects.get_or_create(
        key=key,
        defaults={
            "channel": channel, "user": user, "via": via, "rule": rule,
            "reason": Delivery.Reason.ALERT if any(e.firing for e in events) else Delivery.Reason.CLEAR,
            "title": title[:200], "text": text, "markdown": markdown, "html": html,
            "link": settings.SALESTARGET_BASE_URL + reverse("tracking:index"),
            "at_mobiles": list(at), "due_at": due,
        },
    )  # fmt: skip
    return delivery if created else None
