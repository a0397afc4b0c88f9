"""The inbox (待办, issue 14): what awaits my decision, what I asked that is still open, and what
changed in the targets I see and why. Everything is read through the permission mechanism and
the same "may I decide this?" answers the actions use, so the inbox never offers what the action
would refuse. (Chat and e-mail delivery of the same items come with alerts.)"""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from salestarget.org.permissions import Action, scope_of
from salestarget.targets import changes, commitments, workflow
from salestarget.targets.models import ChangeRequest, Commitment, Plan, PlanEvent, Review

RECENT_DAYS = 90
LIMIT = 100


def inbox(user) -> dict:
    scope = scope_of(user)
    awaiting: list[dict] = []
    plan_url = lambda plan_id: reverse("targets:plan", kwargs={"pk": plan_id})  # noqa: E731

    # Units' parts submitted to me.
    reviews = (
        Review.objects.restrict(user, Action.APPROVE)
        .filter(status=Review.Status.SUBMITTED, plan__status=Plan.Status.DRAFT)
        .select_related("plan", "unit", "submitted_by")[:LIMIT]
    )
    for r in reviews:
        if workflow.may_act_on_unit(user, r.unit, "approve") and (
            user.is_superuser or r.submitted_by_id != user.pk
        ):
            awaiting.append(
                _item(
                    "review",
                    r.plan,
                    _("Approve the part of %(unit)s") % {"unit": r.unit.name},
                    plan_url(r.plan_id),
                )
            )
    # Plans to approve or publish.
    if scope.can_everywhere(Action.APPROVE):
        for plan in Plan.objects.filter(status__in=[Plan.Status.SUBMITTED, Plan.Status.APPROVED])[:LIMIT]:
            text = _("Approve the plan") if plan.status == Plan.Status.SUBMITTED else _("Publish the plan")
            awaiting.append(_item("plan", plan, text, plan_url(plan.pk)))
    # Change requests to decide.
    requests = (
        ChangeRequest.objects.restrict(user)
        .filter(status=ChangeRequest.Status.PENDING)
        .select_related("plan", "unit", "requested_by")[:LIMIT]
    )
    mine = []
    for r in requests:
        if r.requested_by_id == user.pk:
            mine.append(
                _item("request", r.plan, f"#{r.pk} {r.reason}", plan_url(r.plan_id), at=r.requested_at)
            )
        elif changes.may_decide(user, r):
            awaiting.append(
                _item(
                    "request",
                    r.plan,
                    _("Decide change request #%(n)s (%(unit)s): %(reason)s")
                    % {"n": r.pk, "unit": r.unit.name, "reason": r.reason},
                    plan_url(r.plan_id),
                    at=r.requested_at,
                )
            )
    # Commitments to reconcile.
    pending = (
        Commitment.objects.restrict(user)
        .filter(decision="", plan__status=Plan.Status.DRAFT)
        .select_related("plan", "unit", "person")[:LIMIT]
    )
    for c in pending:
        if commitments.may_reconcile(user, c.plan, c):
            # The kick-off view where the row is: the unit's parent, or the person's team.
            node = (
                c.unit.parent_id if c.unit_id else getattr(commitments.team_of(c.plan, c.person), "pk", None)
            )
            url = reverse("targets:kickoff", kwargs={"pk": c.plan_id}) + (f"?unit={node}" if node else "")
            awaiting.append(
                _item(
                    "commitment",
                    c.plan,
                    _("Reconcile the commitment of %(who)s") % {"who": c.unit or c.person},
                    url,
                )
            )
    # My parts sent back, and what changed in the targets I see.
    since = timezone.now() - dt.timedelta(days=RECENT_DAYS)
    news = []
    for e in (
        PlanEvent.objects.restrict(user)
        .filter(
            at__gte=since,
            action__in=[PlanEvent.Action.REJECT, PlanEvent.Action.ACCEPT, PlanEvent.Action.RECONCILE],
        )
        .select_related("plan", "unit", "actor")[:LIMIT]
    ):
        if e.actor_id == user.pk:
            continue
        news.append(
            {
                **_item(
                    "event",
                    e.plan,
                    f"{PlanEvent.Action(e.action).label}{' · ' + e.unit.name if e.unit else ''}",
                    plan_url(e.plan_id),
                    at=e.at,
                ),
                "comment": e.comment,
                "by": (e.actor.get_full_name() or e.actor.get_username()) if e.actor else _("command line"),
            }
        )
    if scope.person_id:
        own = [
            r
            for r in ChangeRequest.objects.filter(status=ChangeRequest.Status.ACCEPTED, decided_at__gte=since)
            .select_related("plan", "decided_by")
            .order_by("-decided_at")[:LIMIT]
            if any(i.get("person_id") == scope.person_id for i in r.changes)
        ]
        seen = {n["title"] for n in news}
        for r in own:
            title = _("Your target changed: change request #%(n)s") % {"n": r.pk}
            if title not in seen:
                news.append(
                    {
                        **_item("event", r.plan, title, plan_url(r.plan_id), at=r.decided_at),
                        "comment": r.reason,
                        "by": (r.decided_by.get_full_name() or r.decided_by.get_username())
                        if r.decided_by
                        else "",
                    }
                )
    news.sort(key=lambda n: n["at"] or timezone.now(), reverse=True)
    return {"awaiting": awaiting, "mine": mine, "news": news[:LIMIT]}


def _item(kind: str, plan: Plan, title: str, url: str, *, at=None) -> dict:
    return {"kind": kind, "plan_id": plan.pk, "plan": plan.name, "title": title, "url": url, "at": at}
