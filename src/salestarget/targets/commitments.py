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
from decimal import Decimal

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


def parse_amount(text: str, metric) -> int:
    """The figure a lead types, in the metric's unit (yuan for money), as the metric's minor
    units, exactly: "1,000,000.50", "1,234.56万", "0.5亿", "100元", "１，２３４．５６万". A
    DomainError names the value as typed: not a number, more decimals than the metric keeps,
    negative, or beyond the limit (said in yuan, never in fen)."""
    from salestarget.actuals.parsing import Problem, parse_decimal
    from salestarget.core.money import minor_units, typed_amount

    typed = (text or "").strip()
    number, multiplier = typed_amount(typed)
    if multiplier is not None and not number:
        raise DomainError(_("“%(value)s” is not a number."), value=typed)
    try:
        value = parse_decimal(number)
    except Problem as problem:
        params = {**problem.params, **({"value": typed} if "value" in problem.params else {})}
        raise DomainError(_(problem.message), **params) from None
    multiplier = multiplier or 1
    # Checked before scaling: an absurd exponent (1e999999) cannot overflow.
    if value < 0 or value > Decimal(MAX_AMOUNT).scaleb(-metric.decimals) / multiplier:
        check_amount(-1 if value < 0 else MAX_AMOUNT + 1, metric, typed=typed)
    minor = minor_units(value, metric.decimals, multiplier)
    if minor is None:
        raise DomainError(
            _("“%(value)s” has more decimals than the metric keeps (%(places)s)."),
            value=typed,
            places=metric.decimals,
        )
    check_amount(minor, metric, typed=typed)
    return minor


def check_amount(amount: int, metric, *, typed: str | None = None) -> None:
    """A commitment is from 0 to MAX_AMOUNT minor units; the refusal speaks in the metric's
    unit (yuan for money), naming the value as typed (else ``amount`` in that unit)."""
    if 0 <= amount <= MAX_AMOUNT:
        return
    from salestarget.actuals.summary import unit_label
    from salestarget.targets.labels import lang

    shown = typed if typed is not None else f"{Decimal(amount).scaleb(-metric.decimals).normalize():,f}"
    params = {
        "value": shown,
        "max": f"{Decimal(MAX_AMOUNT).scaleb(-metric.decimals).normalize():,f}",
        "unit": unit_label(metric, lang()),
    }
    if amount < 0:
        raise DomainError(_("“%(value)s” is negative: a commitment is from 0 to %(max)s %(unit)s."), **params)
    raise DomainError(_("“%(value)s” is out of range: a commitment is from 0 to %(max)s %(unit)s."), **params)


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
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise DomainError(
            _("A value must be a whole number from 0 to %(max)s in the metric's smallest unit."),
            max=MAX_AMOUNT,
        )
    check_amount(amount, plan.metric)
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
    commitment, rounded half up to the fen). The node's target for the period is set to it, and
    the node's own cells below that total follow it so the plan stays exact (:func:`_set_total`).

    A target that changes obeys the freeze of the workflow: a node in a submitted or approved
    part is refused with the grid's own check (``workflow.check_not_frozen``) until the part is
    sent back. Keeping the top-down target writes no cell, so it is recorded whatever the part's
    state. The commitment keeps the target handed down (``top_down``) beside the result."""
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
            _set_total(
                user,
                plan,
                current,
                cell,
                result,
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


def _set_total(user, plan: Plan, commitment: Commitment, cell: TargetCell | None, total: int, *, reason: str):
    """Write ``total`` as the node's target for the plan's period, and keep the plan exact: the
    node's own cells below that total follow it, all through the grid's writer (one history row
    per changed cell: ``user``, now, ``reason``, the values before and after).

    - Its months: ``total`` split over them in proportion to their current targets (largest
      remainder, to the fen; evenly if they are all zero); a locked month keeps its value and
      the others take the rest.
    - By product line: each month's lines in proportion to theirs, each line's period cell the
      sum of its months (a plan without months: the lines' period cells in proportion).
    - Its weeks: each month's weeks (a week across two months split by working days, as the
      decomposition splits it) in proportion to theirs, so they add up to the month again.
    - Floor and stretch of every written cell follow its target by the plan's factors (the
      decomposition's per-cell ratios); a plan without factors keeps them as they are.

    The children of a unit whose total changes keep their targets, as when the grid changes a
    unit's total: the grid then shows their sum against the new total (its children-versus-
    parent check) for the planner to settle, by hand or by a new run of the decomposition, which
    keeps these cells (set by hand) and splits the rest around them. The unit above keeps its
    total too.

    Refused with the grid's freeze check when the node is in a submitted or approved part, and
    with a DomainError when cells locked by hand cannot be kept while everything adds up."""
    from salestarget.targets.workflow import check_not_frozen

    scenario = plan.scenarios.get(is_primary=True)
    owner = (
        {"person_id": commitment.person_id}
        if commitment.person_id
        else {"unit_id": commitment.unit_id, "person__isnull": True}
    )
    mine = TargetCell.objects.filter(scenario=scenario, region__isnull=True, segment__isnull=True, **owner)
    check_not_frozen(plan, mine)
    below = [c for c in mine if cell is None or c.pk != cell.pk]
    values = _below(plan, commitment, below, total)
    changes = [
        grid.CellChange(id=c.pk, version=c.version, field="target", value=values[c.pk])
        for c in below
        if c.pk in values and values[c.pk] != c.target
    ]
    if cell is not None:
        changes.insert(0, grid.CellChange(id=cell.pk, version=cell.version, field="target", value=total))
    else:
        changes.insert(
            0,
            grid.CellChange(
                unit_id=commitment.unit_id,
                person_id=commitment.person_id,
                period_kind=plan.period_kind,
                period_start=plan.period_start,
                field="target",
                value=total,
            ),
        )
    by_id, by_key = grid.parse_changes(plan, changes)
    written = grid.apply_edits(scenario, plan, by_id, by_key, user=user, checked=False, reason=reason)
    check_not_frozen(plan, TargetCell.objects.filter(pk__in=[c.pk for c in written]))


def _below(plan: Plan, commitment: Commitment, cells: list[TargetCell], total: int) -> dict[int, int]:
    """cell id -> its new target, for the node's cells below its period total (see
    :func:`_set_total`): months, lines' months and periods, weeks."""
    from collections import defaultdict

    from salestarget.targets.decomposition import plan_months

    months = plan_months(plan)
    starts = {m.start for m in months}
    whole = (plan.period_kind, plan.period_start)
    month_cells = [
        c for c in cells if c.product_id is None and c.period_kind == "month" and c.period_start in starts
    ]
    line_months: dict = defaultdict(list)
    line_totals: dict = {}
    for c in cells:
        if c.product_id is not None and c.period_kind == "month" and c.period_start in starts:
            line_months[c.period_start].append(c)
        elif c.product_id is not None and (c.period_kind, c.period_start) == whole:
            line_totals[c.product_id] = c
    weeks = [c for c in cells if c.product_id is None and c.period_kind == "week"]
    name = commitment.unit.name if commitment.unit_id else commitment.person.name

    out = _split(total, month_cells, name)
    month_values = {c.period_start: out[c.pk] for c in month_cells}
    if month_values:
        line_sums: dict = defaultdict(int)
        for start, lines in line_months.items():
            if start in month_values:
                out.update(_split(month_values[start], lines, name))
            for c in lines:
                line_sums[c.product_id] += out.get(c.pk, c.target)
        out.update({c.pk: line_sums[p] for p, c in line_totals.items() if p in line_sums})
        out.update(_weeks(months, weeks, month_values, name))
    elif line_totals:
        out.update(_split(total, list(line_totals.values()), name))
    return out


def _split(
    total: int, cells: list[TargetCell], name: str, weights: list[int] | None = None
) -> dict[int, int]:
    """``total`` over ``cells`` in proportion to ``weights`` (their targets by default) by the
    engine's largest remainder, to the fen, locked cells keeping their values."""
    from salestarget.engine.allocate import AllocationError, allocate

    if not cells:
        return {}
    labels = [str(c.pk) for c in cells]
    try:
        done = allocate(
            total,
            labels,
            [c.target for c in cells] if weights is None else weights,
            locks={str(c.pk): c.target for c in cells if c.locked},
            zero_weights="even",
        )
    except AllocationError as exc:
        raise _locked(name) from exc
    return {c.pk: int(v) for c, v in zip(cells, done.values.tolist(), strict=True)}


def _weeks(months, weeks: list[TargetCell], month_values: dict, name: str) -> dict[int, int]:
    """cell id -> new target of the node's weeks, each month's parts of weeks in proportion to
    theirs (a week's parts: its target split by working days, as the decomposition's kept
    weeks are), summed back per week; a locked week keeps its parts."""
    from collections import defaultdict

    from salestarget.engine.allocate import AllocationError, allocate, apportion
    from salestarget.targets.decomposition import week_parts

    if not weeks:
        return {}
    stored = {c.period_start: c for c in weeks}
    parts = [p for p in week_parts(months) if p[1] in stored]
    of_week: dict = defaultdict(list)
    for k, (_i, anchor, _days) in enumerate(parts):
        of_week[anchor].append(k)
    old: dict[int, int] = {}
    for anchor, idx in of_week.items():
        days = [parts[k][2] for k in idx]
        split = apportion(stored[anchor].target, days if sum(days) else [1] * len(idx))
        old.update(zip(idx, (int(v) for v in split), strict=True))
    new = dict(old)
    for i, month in enumerate(months):
        idx = [k for k, p in enumerate(parts) if p[0] == i]
        if month.start not in month_values or not idx:
            continue
        weights = [old[k] for k in idx]
        if not any(w for k, w in zip(idx, weights, strict=True) if not stored[parts[k][1]].locked):
            weights = [parts[k][2] or 1 for k in idx]
        try:
            done = allocate(
                month_values[month.start],
                [str(k) for k in idx],
                weights,
                locks={str(k): old[k] for k in idx if stored[parts[k][1]].locked},
                zero_weights="even",
            )
        except AllocationError as exc:
            raise _locked(name) from exc
        new.update(zip(idx, (int(v) for v in done.values.tolist()), strict=True))
    return {stored[anchor].pk: sum(new[k] for k in idx) for anchor, idx in of_week.items()}


def _locked(name: str) -> DomainError:
    return DomainError(
        _(
            "The cells of %(who)s locked by hand cannot be kept while its months and weeks add up "
            "to the reconciled target: unlock some of them first."
        ),
        who=name,
    )


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
    """One node of the kick-off view. ``top_down`` is the figure handed down: the target as it
    stands until the commitment is decided, then the target the decision started from (kept on
    the commitment), so the page still shows it beside the commitment and the agreed ``result``;
    ``target`` is the node's target as it now stands."""
    commitment = c.amount if c else None
    handed = c.top_down if c is not None and c.decision and c.top_down is not None else target
    return {
        "kind": kind,
        "id": pk,
        "code": code,
        "name": name,
        "own": own,
        "top_down": handed,
        "target": target,
        "commitment": commitment,
        "gap": None if commitment is None or handed is None else commitment - handed,
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
