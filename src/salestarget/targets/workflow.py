"""A plan's way from draft to in force, and who may move it (issue 14).

The company's plan goes draft -> submitted -> approved -> published -> closed (``Plan.status``);
on the way, each unit's part may go up the tree on its own (``Review``): a team's plan is
submitted by its lead and approved by the manager above, a region's by the region's manager and
the director. Send back (reject) returns a part, or the plan, to draft with a reason.

Who may act is the permission mechanism's answer, nothing else:

- submit a unit's part: the unit within the user's ``submit`` reach (its manager or one above;
  company-wide roles); the plan itself: those who plan for the whole organisation, or the
  company's manager;
- approve or send back a unit's part: the ``approve`` reach of a unit *above* it (a team lead
  approves nothing at or above their own team; a rep approves nothing); the plan itself, and
  publishing and closing: a company-wide ``approve`` reach (sales operations, administrators);
- nobody approves what they submitted themselves, except an administrator (a company of one
  planner must still be able to work).

A part that is submitted or approved is frozen: its cells in the plan (the primary scenario)
cannot be edited, imported or decomposed until it is sent back. Every step is a ``PlanEvent``.
A step is a compare-and-set on the status read, so of two approvers acting at once one wins and
the other is told who was first; nothing is applied twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils.translation import gettext as _

from salestarget.core.errors import DomainError
from salestarget.org.models import OrgUnit
from salestarget.org.permissions import Action, Reach, scope_of
from salestarget.targets import consistency
from salestarget.targets.models import Plan, PlanEvent, Review

MAX_COMMENT = 2000
ACTIONS = ("submit", "approve", "reject", "publish", "close")


class Stale(DomainError):
    """The plan or the unit's part moved on since the user read it: someone else acted first."""


@dataclass(frozen=True)
class Step:
    """The outcome of one workflow action, for the page, the API and the command line."""

    action: str
    unit: OrgUnit | None
    status: str
    event: PlanEvent


def do_workflow(user, plan: Plan, action: str, *, unit: OrgUnit | None = None, comment: str = "") -> Step:
    """Apply ``action`` (submit, approve, reject, publish, close) to ``plan``, or to ``unit``'s
    part of it. ``user`` None is the command line, with full rights."""
    comment = (comment or "").strip()
    if action not in ACTIONS:
        raise DomainError(_("Unknown action “%(action)s”."), action=action)
    if len(comment) > MAX_COMMENT:
        raise DomainError(_("A comment holds at most %(n)s characters."), n=MAX_COMMENT)
    if action == "reject" and not comment:
        raise DomainError(_("Say why it is sent back: a comment is required."))
    if unit is not None and unit.parent_id is None:
        unit = None  # the company's part is the plan itself
    if unit is not None:
        if action not in ("submit", "approve", "reject"):
            raise DomainError(
                _("A unit's part is submitted, approved or sent back; the plan is published and closed.")
            )
        return _unit_step(user, plan, unit, action, comment)
    return _plan_step(user, plan, action, comment)


# --- the plan itself --------------------------------------------------------------------------------

PLAN_MOVES = {
    "submit": (Plan.Status.DRAFT, Plan.Status.SUBMITTED),
    "approve": (Plan.Status.SUBMITTED, Plan.Status.APPROVED),
    "reject": (Plan.Status.SUBMITTED, Plan.Status.DRAFT),
    "publish": (Plan.Status.APPROVED, Plan.Status.PUBLISHED),
    "close": (Plan.Status.PUBLISHED, Plan.Status.CLOSED),
}


def _plan_step(user, plan: Plan, action: str, comment: str) -> Step:
    before, after = PLAN_MOVES[action]
    if not may_act_on_plan(user, action):
        raise PermissionDenied(_("You may not %(action)s this plan.") % {"action": action_label(action)})
    if plan.status != before:
        raise Stale(_plan_state_message(plan, action))
    if action == "submit":
        _check_ready(plan)
    if action == "approve":
        _check_not_own(user, plan, None)
    with transaction.atomic():
        try:
            with transaction.atomic():
                moved = Plan.objects.filter(pk=plan.pk, status=before).update(status=after)
        except IntegrityError as exc:  # one plan in force per metric and period
            raise DomainError(
                _("Another plan for %(metric)s and this period is already in force: close it first."),
                metric=plan.metric.name,
            ) from exc
        if not moved:
            plan.refresh_from_db(fields=["status"])
            raise Stale(_plan_state_message(plan, action))
        plan.status = after
        Plan.history.bulk_history_create(
            [plan], update=True, default_user=_user(user), default_change_reason=comment[:100] or action
        )
        event = _event(user, plan, None, action, comment, before, after)
    return Step(action, None, after, event)


def _check_ready(plan: Plan) -> None:
    from salestarget.targets.smart import company_total

    if company_total(plan) is None:
        raise DomainError(_("Set the company total before submitting the plan."))
    found, count = consistency.problems(plan)
    if found:
        raise DomainError(
            _(
                "The plan's figures do not add up (%(count)s problems): %(first)s Correct them before submitting."
            ),
            count=count,
            first=" ".join(found),
        )
    pending = plan.reviews.filter(status=Review.Status.SUBMITTED).select_related("unit")
    names = [r.unit.name for r in pending[:5]]
    if names:
        raise DomainError(
            _("These units' parts still await a decision: %(units)s. Approve or send them back first."),
            units="、".join(names),
        )


def _plan_state_message(plan: Plan, action: str) -> str:
    last = plan.events.filter(unit__isnull=True).select_related("actor").first()
    status = Plan.Status(plan.status).label
    if last is not None and last.actor is not None:
        return _("The plan is %(status)s (%(who)s, %(when)s): it cannot be %(action)s now.") % {
            "status": status,
            "who": last.actor.get_full_name() or last.actor.get_username(),
            "when": _when(last),
            "action": past_label(action),
        }
    return _("The plan is %(status)s: it cannot be %(action)s now.") % {
        "status": status,
        "action": past_label(action),
    }


# --- a unit's part --------------------------------------------------------------------------------

UNIT_MOVES = {
    "submit": (Review.Status.DRAFT, Review.Status.SUBMITTED),
    "approve": (Review.Status.SUBMITTED, Review.Status.APPROVED),
    "reject": (Review.Status.SUBMITTED, Review.Status.DRAFT),
}


def _unit_step(user, plan: Plan, unit: OrgUnit, action: str, comment: str) -> Step:
    before, after = UNIT_MOVES[action]
    if not may_act_on_unit(user, unit, action):
        raise PermissionDenied(
            _("You may not %(action)s the part of %(unit)s.")
            % {"action": action_label(action), "unit": unit.name}
        )
    with transaction.atomic():
        # The plan's row is the lock grid edits take too: a submission and an edit never
        # interleave.
        plan = Plan.objects.select_for_update().get(pk=plan.pk)
        if plan.status != Plan.Status.DRAFT:
            raise DomainError(
                _("The plan is %(status)s: its units' parts are no longer reviewed one by one."),
                status=Plan.Status(plan.status).label,
            )
        review, _created = Review.objects.get_or_create(plan=plan, unit=unit)
        if review.status != before:
            raise Stale(_unit_state_message(plan, unit, review, action))
        if action == "submit":
            pending = (
                Review.objects.filter(
                    plan=plan, status=Review.Status.SUBMITTED, unit__path__startswith=unit.path
                )
                .exclude(unit=unit)
                .select_related("unit")
            )
            names = [r.unit.name for r in pending[:5]]
            if names:
                raise DomainError(
                    _(
                        "These units' parts still await a decision: %(units)s. Approve or send them back first."
                    ),
                    units="、".join(names),
                )
        if action == "approve":
            _check_not_own(user, plan, review)
        changes = {"status": after, "version": F("version") + 1}
        if action == "submit":
            changes["submitted_by"] = _user(user)
        moved = Review.objects.filter(pk=review.pk, status=before, version=review.version).update(**changes)
        if not moved:
            review.refresh_from_db()
            raise Stale(_unit_state_message(plan, unit, review, action))
        event = _event(user, plan, unit, action, comment, before, after)
    return Step(action, unit, after, event)


def _unit_state_message(plan: Plan, unit: OrgUnit, review: Review, action: str) -> str:
    last = plan.events.filter(unit=unit).select_related("actor").first()
    values = {
        "unit": unit.name,
        "status": Review.Status(review.status).label,
        "action": past_label(action),
    }
    if last is not None and last.actor is not None:
        values |= {"who": last.actor.get_full_name() or last.actor.get_username(), "when": _when(last)}
        return (
            _("The part of %(unit)s is %(status)s (%(who)s, %(when)s): it cannot be %(action)s now.") % values
        )
    return _("The part of %(unit)s is %(status)s: it cannot be %(action)s now.") % values


# --- who may act ----------------------------------------------------------------------------------


def may_act_on_plan(user, action: str) -> bool:
    """Submit: whoever plans for the whole organisation, or manages the company; approve, send
    back, publish, close: a company-wide approve reach."""
    if user is None:
        return True
    scope = scope_of(user)
    if action == "submit":
        from salestarget.targets.services import may_plan

        root = OrgUnit.objects.filter(parent__isnull=True).first()
        return may_plan(user) or (root is not None and _covers(scope.reach(Action.SUBMIT), root))
    return scope.can_everywhere(Action.APPROVE)


def may_act_on_unit(user, unit: OrgUnit, action: str) -> bool:
    """Submit: the unit within the submit reach. Approve or send back: a unit above it within
    the approve reach."""
    if user is None:
        return True
    scope = scope_of(user)
    if action == "submit":
        return _covers(scope.reach(Action.SUBMIT), unit)
    reach = scope.reach(Action.APPROVE)
    if reach.everything:
        return True
    return any(unit.path.startswith(p) and unit.path != p for p in reach.paths)


def _covers(reach: Reach, unit: OrgUnit) -> bool:
    return reach.everything or any(unit.path.startswith(p) for p in reach.paths)


def _check_not_own(user, plan: Plan, review: Review | None) -> None:
    """Four eyes: nobody approves their own submission, except an administrator."""
    if user is None or user.is_superuser:
        return
    if review is not None:
        submitter = review.submitted_by_id
    else:
        last = plan.events.filter(unit__isnull=True, action=PlanEvent.Action.SUBMIT).first()
        submitter = last.actor_id if last else None
    if submitter == user.pk:
        raise PermissionDenied(_("You submitted it yourself: someone above you approves it."))


# --- what the page and the API show -----------------------------------------------------------------


def frozen_units(plan: Plan) -> list[OrgUnit]:
    """Units whose part is submitted or approved: their cells wait for the decision."""
    return [
        r.unit
        for r in plan.reviews.filter(
            status__in=[Review.Status.SUBMITTED, Review.Status.APPROVED]
        ).select_related("unit")
    ]


def frozen_q(plan: Plan, prefix: str = "") -> Q | None:
    """Cells (through ``prefix``) inside a frozen part, or None when no part is frozen: a unit's
    cells by its path, a person's by their membership on any day of the cell's period."""
    units = frozen_units(plan)
    if not units:
        return None
    reach = Reach(paths=tuple(u.path for u in units))
    return reach.units_q(f"{prefix}unit__") | reach.people_q(
        f"{prefix}person_id", on=f"{prefix}period_start", until=f"{prefix}period_end"
    )


def check_not_frozen(plan: Plan, cells) -> None:
    """Refuse a write to cells (a queryset) of a submitted or approved part, naming the units."""
    q = frozen_q(plan)
    if q is not None and cells.filter(q).exists():
        raise DomainError(
            _(
                "The part of %(units)s is submitted or approved: its targets are frozen until it is "
                "sent back."
            ),
            units="、".join(u.name for u in frozen_units(plan)),
        )


def state(user, plan: Plan) -> dict:
    """The plan's status, the units' parts the user may see, what the user may do, and the steps
    so far (newest first)."""
    reviews = (
        Review.objects.restrict(user)
        .filter(plan=plan)
        .select_related("unit", "submitted_by")
        .order_by("unit__path")
    )
    events = PlanEvent.objects.restrict(user).filter(plan=plan).select_related("unit", "actor")[:200]
    draft = plan.status == Plan.Status.DRAFT
    return {
        "status": plan.status,
        "status_label": str(Plan.Status(plan.status).label),
        "may": {
            action: may_act_on_plan(user, action) and plan.status == PLAN_MOVES[action][0]
            for action in PLAN_MOVES
        },
        "reviews": [
            {
                "unit_id": r.unit_id,
                "unit": r.unit.name,
                "status": r.status,
                "status_label": str(Review.Status(r.status).label),
                "version": r.version,
                "may": {
                    action: draft
                    and r.status == UNIT_MOVES[action][0]
                    and may_act_on_unit(user, r.unit, action)
                    for action in UNIT_MOVES
                },
            }
            for r in reviews
        ],
        "events": [event_out(e) for e in events],
    }


def submittable_units(user, plan: Plan) -> list[OrgUnit]:
    """Units below the company whose part the user may submit now (their own subtrees' units
    not yet submitted), for the page's submit form."""
    if plan.status != Plan.Status.DRAFT:
        return []
    reach = scope_of(user).reach(Action.SUBMIT)
    if reach.nothing or not reach.paths and not reach.everything:
        return []
    taken = plan.reviews.exclude(status=Review.Status.DRAFT).values("unit_id")
    units = OrgUnit.objects.filter(reach.units_q(""), parent__isnull=False).exclude(pk__in=taken)
    return list(units.order_by("path")[:200])


def event_out(event: PlanEvent) -> dict:
    actor = event.actor
    return {
        "id": event.pk,
        "action": event.action,
        "action_label": str(PlanEvent.Action(event.action).label),
        "unit_id": event.unit_id,
        "unit": event.unit.name if event.unit else None,
        "by": (actor.get_full_name() or actor.get_username()) if actor else _("command line"),
        "comment": event.comment,
        "status_before": event.status_before,
        "status_after": event.status_after,
        "at": event.at,
    }


def action_label(action: str) -> str:
    return {
        "submit": _("submit"),
        "approve": _("approve"),
        "reject": _("send back"),
        "publish": _("publish"),
        "close": _("close"),
    }[action]


def past_label(action: str) -> str:
    return {
        "submit": _("submitted"),
        "approve": _("approved"),
        "reject": _("sent back"),
        "publish": _("published"),
        "close": _("closed"),
    }[action]


def _event(user, plan, unit, action, comment, before, after) -> PlanEvent:
    return PlanEvent.objects.create(
        plan=plan,
        unit=unit,
        action=action,
        actor=_user(user),
        comment=comment,
        status_before=before,
        status_after=after,
    )


def _user(user):
    return user if getattr(user, "pk", None) else None


def _when(event: PlanEvent) -> str:
    from django.utils import timezone

    return timezone.localtime(event.at).strftime("%Y-%m-%d %H:%M")
