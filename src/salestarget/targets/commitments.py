"""Team commitments (团队共创, issue 14): a target the team helped set is owned.

While the plan is a draft, team leads commit a figure for their unit and reps for themselves,
beside the top-down target; the kick-off view shows both and the gap for every node, and who
has committed. The one above reconciles each: keep the top-down target (with a note), accept
the commitment, or split the difference at a chosen share. The decision is recorded and written
to the node's target for the plan's period, through the grid's writer (with history).

Who may commit: the node within the user's submit reach (a lead for their team or anyone below
it, a rep for themselves). Who may reconcile: for a unit, the approve reach of a unit above it;
for a person, the approve reach of their team (the lead reconciles the rep).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from salestarget.core.api_contract import MAX_AMOUNT
from salestarget.core.errors import DomainError
from salestarget.engine.rounding import round_half_up
from salestarget.org.models import Membership, OrgUnit, Person
from salestarget.org.permissions import Action, scope_of
from salestarget.targets import grid
from salestarget.targets.models import Commitment, Plan, PlanEvent, TargetCell
from salestarget.targets.workflow import _user, may_act_on_unit

MAX_NOTE = 2000


def top_down(plan: Plan, *, unit: OrgUnit | None = None, person: Person | None = None) -> TargetCell | None:
    """The node's cell for the plan's whole period in the plan (its primary scenario)."""
    cells = _period_cells(plan)
    if person is not None:
        return cells.filter(person=person).first()
    return cells.filter(unit=unit, person__isnull=True).first()


def _period_cells(plan: Plan):
    """The plan's cells (its primary scenario) for its whole period, over all products."""
    return TargetCell.objects.filter(
        scenario__plan=plan,
        scenario__is_primary=True,
        period_kind=plan.period_kind,
        period_start=plan.period_start,
        product__isnull=True,
        region__isnull=True,
        segment__isnull=True,
    )


def team_of(plan: Plan, person: Person) -> OrgUnit | None:
    """The unit the person belongs to during the plan's period (the latest membership)."""
    membership = (
        Membership.objects.filter(person=person, valid_from__lte=plan.period_end)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=plan.period_start))
        .select_related("unit")
        .order_by("-valid_from")
        .first()
    )
    return membership.unit if membership else None


def may_commit(user, plan: Plan, *, unit: OrgUnit | None = None, person: Person | None = None) -> bool:
    if user is None:
        return True
    reach = scope_of(user).reach(Action.SUBMIT)
    if reach.everything:
        return True
    if unit is not None:
        return any(unit.path.startswith(p) for p in reach.paths)
    return (
        reach.person_id == person.pk
        or Person.objects.filter(pk=person.pk)
        .filter(reach.people_q("pk", on=plan.period_start, until=plan.period_end))
        .exists()
    )


def for_rows(user, plan: Plan, units: dict[int, str], people: list[int]) -> dict[tuple[str, int], dict]:
    """("unit"|"person", id) -> the node's commitment as the grid shows it (its figure, note and
    decision, or none yet) and whether the user may commit for it; ``units`` maps ids to paths.
    The company holds the plan's total and commits nothing, so it is left out by the caller."""
    reach = scope_of(user).reach(Action.SUBMIT) if user is not None else None
    everything = reach is None or reach.everything
    may_units = {
        pk for pk, path in units.items() if everything or any(path.startswith(p) for p in reach.paths)
    }
    if everything:
        may_people = set(people)
    else:
        may_people = set(
            Person.objects.filter(pk__in=people)
            .filter(reach.people_q("pk", on=plan.period_start, until=plan.period_end))
            .values_list("pk", flat=True)
        ) | ({reach.person_id} & set(people))
    found = {
        ("person", c.person_id) if c.person_id else ("unit", c.unit_id): c
        for c in Commitment.objects.restrict(user).filter(
            Q(unit_id__in=list(units)) | Q(person_id__in=people), plan=plan
        )
    }
    out = {}
    for kind, ids, may in (("unit", units, may_units), ("person", people, may_people)):
        for pk in ids:
            c = found.get((kind, pk))
            out[(kind, pk)] = {
                "amount": c.amount if c else None,
                "note": c.note if c else "",
                "decision": c.decision if c else "",
                "decision_label": str(Commitment.Decision(c.decision).label) if c and c.decision else "",
                "may": pk in may,
            }
    return out


def may_reconcile(user, plan: Plan, commitment: Commitment) -> bool:
    if user is None:
        return True
    if commitment.unit_id is not None:
        return may_act_on_unit(user, commitment.unit, "approve")
    team = team_of(plan, commitment.person)
    if team is None:
        return scope_of(user).can_everywhere(Action.APPROVE)
    reach = scope_of(user).reach(Action.APPROVE)
    return reach.everything or any(team.path.startswith(p) for p in reach.paths)


def do_commit(
    user,
    plan: Plan,
    *,
    unit: OrgUnit | None = None,
    person: Person | None = None,
    amount: int,
    note: str = "",
) -> Commitment:
    """Record the node's own figure for the plan's period (replacing an earlier one, and any
    reconciliation of it: a new figure is decided again)."""
    note = (note or "").strip()
    if (unit is None) == (person is None):
        raise DomainError(_("A commitment is for one unit or one person."))
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 <= amount <= MAX_AMOUNT:
        raise DomainError(
            _("A value must be a whole number from 0 to %(max)s in the metric's smallest unit."),
            max=MAX_AMOUNT,
        )
    if len(note) > MAX_NOTE:
        raise DomainError(_("A note holds at most %(n)s characters."), n=MAX_NOTE)
    if plan.status != Plan.Status.DRAFT:
        raise DomainError(_("Commitments are made while the plan is a draft."))
    if unit is not None and unit.parent_id is None:
        raise DomainError(_("The company's figure is the plan's total: commit for a unit below it."))
    if not may_commit(user, plan, unit=unit, person=person):
        raise PermissionDenied(_("You may commit only for your own team or yourself."))
    cell = top_down(plan, unit=unit, person=person)
    with transaction.atomic():
        found = Commitment.objects.select_for_update().filter(plan=plan, unit=unit, person=person).first()
        commitment = found or Commitment(plan=plan, unit=unit, person=person)
        commitment.amount = amount
        commitment.note = note
        commitment.committed_by = _user(user)
        commitment.top_down = cell.target if cell else None
        commitment.decision = ""
        commitment.decision_note = ""
        commitment.result = None
        commitment.decided_by = None
        commitment.decided_at = None
        commitment.save()
        _event(user, plan, commitment, PlanEvent.Action.COMMIT, note)
    return commitment


@dataclass(frozen=True)
class Reconciled:
    commitment: Commitment
    target: int


def do_reconcile(
    user, commitment: Commitment, decision: str, *, note: str = "", share: int = 50
) -> Reconciled:
    """Decide between the top-down target and the commitment: ``keep`` (a note is required),
    ``accept``, or ``split`` (the top-down target moved ``share`` percent of the way to the
    commitment, rounded half up to the fen). The node's target for the period is set to it."""
    note = (note or "").strip()
    plan = commitment.plan
    if decision not in Commitment.Decision.values:
        raise DomainError(_("Unknown action “%(action)s”."), action=decision)
    if decision == Commitment.Decision.KEEP and not note:
        raise DomainError(_("Say why the top-down target is kept: a note is required."))
    if isinstance(share, bool) or not isinstance(share, int) or not 0 <= share <= 100:
        raise DomainError(_("The share is a whole percentage from 0 to 100."))
    if len(note) > MAX_NOTE:
        raise DomainError(_("A note holds at most %(n)s characters."), n=MAX_NOTE)
    if not may_reconcile(user, plan, commitment):
        raise PermissionDenied(_("Only someone above this node reconciles its commitment."))
    with transaction.atomic():
        plan = Plan.objects.select_for_update().get(pk=plan.pk)
        if plan.status != Plan.Status.DRAFT:
            raise DomainError(_("Commitments are reconciled while the plan is a draft."))
        current = Commitment.objects.select_for_update().get(pk=commitment.pk)
        if current.amount != commitment.amount or current.decision:
            raise DomainError(
                _("This commitment changed or was reconciled meanwhile: reload and decide again.")
            )
        cell = top_down(plan, unit=current.unit, person=current.person)
        base = cell.target if cell else 0
        if decision == Commitment.Decision.KEEP:
            result = base
        elif decision == Commitment.Decision.ACCEPT:
            result = current.amount
        else:
            result = _toward(base, current.amount, share)
        if result != base or cell is None:
            change = (
                grid.CellChange(id=cell.pk, version=cell.version, field="target", value=result)
                if cell is not None
                else grid.CellChange(
                    unit_id=current.unit_id,
                    person_id=current.person_id,
                    period_kind=plan.period_kind,
                    period_start=plan.period_start,
                    field="target",
                    value=result,
                )
            )
            by_id, by_key = grid.parse_changes(plan, [change])
            grid.apply_edits(
                plan.scenarios.get(is_primary=True),
                plan,
                by_id,
                by_key,
                user=user,
                checked=False,
                reason=_("Commitment reconciled: %(decision)s")
                % {"decision": Commitment.Decision(decision).label},
            )
        current.decision = decision
        current.decision_note = note
        current.result = result
        current.top_down = base
        current.decided_by = _user(user)
        current.decided_at = timezone.now()
        current.save()
        _event(
            user, plan, current, PlanEvent.Action.RECONCILE, note or str(Commitment.Decision(decision).label)
        )
    return Reconciled(current, result)


def _toward(base: int, commitment: int, share: int) -> int:
    """``base`` moved ``share`` percent of the way to ``commitment``, exactly, half up."""
    from fractions import Fraction

    return base + round_half_up(Fraction((commitment - base) * share, 100))


def kickoff(user, plan: Plan, unit: OrgUnit) -> dict:
    """The kick-off view of ``unit``: for it, its sub-units and its people, the top-down target,
    the commitment, the gap and the decision; who has committed and who has not."""
    scope = scope_of(user)
    view = scope.reach(Action.VIEW)
    units = [unit, *OrgUnit.objects.filter(parent=unit).order_by("code")]
    units = [u for u in units if view.everything or any(u.path.startswith(p) for p in view.paths)]
    people = (
        Person.objects.filter(
            pk__in=Membership.objects.filter(
                unit=unit, valid_from__lte=plan.period_end, role=Membership.Role.MEMBER
            )
            .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=plan.period_start))
            .values("person_id")
        )
        .filter(view.people_q("pk", on=plan.period_start, until=plan.period_end))
        .order_by("code")
    )
    cells = _period_cells(plan)
    unit_cells = dict(cells.filter(unit__in=units, person__isnull=True).values_list("unit_id", "target"))
    person_cells = dict(cells.filter(person__in=people).values_list("person_id", "target"))
    found = (
        Commitment.objects.filter(plan=plan)
        .filter(Q(unit__in=units) | Q(person__in=people))
        .select_related("committed_by", "decided_by")
    )
    by_unit = {c.unit_id: c for c in found if c.unit_id}
    by_person = {c.person_id: c for c in found if c.person_id}
    draft = plan.status == Plan.Status.DRAFT
    rows = []
    for u in units:
        c = by_unit.get(u.pk)
        rows.append(
            _row(
                user,
                plan,
                "unit",
                u.pk,
                u.code,
                u.name,
                unit_cells.get(u.pk),
                c,
                draft,
                unit=u,
                own=u == unit,
            )
        )
    for p in people:
        c = by_person.get(p.pk)
        rows.append(
            _row(user, plan, "person", p.pk, p.code, p.name, person_cells.get(p.pk), c, draft, person=p)
        )
    nodes = [r for r in rows if not (r["kind"] == "unit" and r["id"] == unit.pk and unit.parent_id is None)]
    return {
        "unit": {"id": unit.pk, "name": unit.name, "parent_id": unit.parent_id},
        "rows": rows,
        "committed": sum(1 for r in nodes if r["commitment"] is not None),
        "waiting": [r["name"] for r in nodes if r["commitment"] is None],
    }


def _row(user, plan, kind, pk, code, name, target, c, draft, *, unit=None, person=None, own=False) -> dict:
    commitment = c.amount if c else None
    return {
        "kind": kind,
        "id": pk,
        "code": code,
        "name": name,
        "own": own,
        "top_down": target,
        "commitment": commitment,
        "gap": None if commitment is None or target is None else commitment - target,
        "commitment_id": c.pk if c else None,
        "note": c.note if c else "",
        "committed_by": _name(c.committed_by) if c else None,
        "committed_at": c.committed_at if c else None,
        "decision": c.decision if c else "",
        "decision_label": str(Commitment.Decision(c.decision).label) if c and c.decision else "",
        "decision_note": c.decision_note if c else "",
        "result": c.result if c else None,
        "may_commit": draft
        and not (unit is not None and unit.parent_id is None)
        and may_commit(user, plan, unit=unit, person=person),
        "may_reconcile": draft and c is not None and not c.decision and may_reconcile(user, plan, c),
    }


def _name(user) -> str | None:
    return (user.get_full_name() or user.get_username()) if user else None


def _event(user, plan: Plan, commitment: Commitment, action: str, comment: str) -> None:
    unit = commitment.unit or (team_of(plan, commitment.person) if commitment.person_id else None)
    who = commitment.unit.name if commitment.unit_id else commitment.person.name
    PlanEvent.objects.create(
        plan=plan,
        unit=unit,
        action=action,
        actor=_user(user),
        comment=f"{who}: {comment}".strip().rstrip(":"),
        status_before=plan.status,
        status_after=plan.status,
    )
