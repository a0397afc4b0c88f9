"""Mid-year changes to a published plan (issue 14), each one change request: a rep moves team,
a rep leaves, a rep joins. The arithmetic is ``engine.midyear`` (only the remaining target moves,
from the effective date, the month of the change split by the company calendar's working days,
exact to the fen, every parent keeping its gap); this module reads the plan's cells into the
engine's tree and turns the engine's deltas into the cells' new values.

How the plan stores what the engine calls nodes: a unit's cells name the unit; a person's cells
name the person (who carries their own target from team to team, so a move changes the teams'
cells, not the person's); a vacancy holds no cells — it is what a unit has beyond its people and
sub-units (the decomposition's convention), so leaving a vacancy lowers the person's remaining
target and leaves the team's as it is, and filling one raises the new rep's without touching it.
Months (by product line when the plan has lines) are the slots; the period's cells and the
months without a line follow as sums. Week cells are not changed.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from fractions import Fraction

from django.db.models import Q
from django.utils.translation import gettext as _

from salestarget.core.errors import DomainError
from salestarget.engine import midyear as engine
from salestarget.engine.allocate import AllocationError
from salestarget.engine.rounding import round_half_up
from salestarget.org.models import Membership, OrgUnit, Person
from salestarget.targets import changes, grid
from salestarget.targets.models import Plan, TargetCell


def do_request_mid_year(
    user,
    plan: Plan,
    kind: str,
    *,
    person: Person,
    unit: OrgUnit | None,
    effective: dt.date,
    mode: str = "vacancy",
    source: str = "vacancy",
    ramp=("0.25", "0.5", "0.75", "1"),
    region=None,
    to_person: Person | None = None,
    share_bp: int | None = None,
    reason: str,
):
    """One entry for the page and the API: ``kind`` move (to ``unit``), depart (``mode``), hire
    (into ``unit``, from ``source``, ramped by ``ramp``: factors from 0 to 1 as text or numbers)
    or territory (``region`` from ``person`` to ``to_person``, at ``share_bp`` or by history)."""
    from decimal import Decimal, InvalidOperation

    if kind not in ("move", "depart", "hire", "territory"):
        raise DomainError(_("Unknown action “%(action)s”."), action=kind)
    if kind == "territory":
        if region is None or to_person is None:
            raise DomainError(_("Name the territory and the rep who takes it over."))
        return do_request_territory(
            user, plan, region, person, to_person, effective, reason=reason, share_bp=share_bp
        )
    if kind in ("move", "hire") and unit is None:
        raise DomainError(_("Name the team."))
    if kind == "move":
        return do_request_move(user, plan, person, unit, effective, reason=reason)
    if kind == "depart":
        return do_request_departure(user, plan, person, effective, mode=mode, reason=reason)
    try:
        factors = [Decimal(str(x).strip()) for x in ramp if str(x).strip()]
    except InvalidOperation:
        raise DomainError(_("A ramp factor is a number from 0 to 1.")) from None
    if not factors or any(not 0 <= f <= 1 for f in factors):
        raise DomainError(_("A ramp factor is a number from 0 to 1."))
    return do_request_hire(user, plan, person, unit, effective, source=source, ramp=factors, reason=reason)


def do_request_move(user, plan: Plan, person: Person, to_unit: OrgUnit, effective: dt.date, *, reason: str):
    """The remaining target of ``person`` leaves their team's chain and joins ``to_unit``'s."""
    source = _team(plan, person, _before(plan, effective))
    if source == to_unit:
        raise DomainError(_("%(person)s is already in %(unit)s."), person=person.name, unit=to_unit.name)
    tree, ctx = _tree(plan, effective, teams=[source, to_unit], placed={person.pk: source})
    change = _run(lambda: engine.move(tree.tree, f"p{person.pk}", f"u{to_unit.pk}", ctx.cut, ctx.slot_months))
    return _request(user, plan, tree, ctx, change, reason, "move")


def do_request_departure(user, plan: Plan, person: Person, effective: dt.date, *, mode: str, reason: str):
    """``person`` leaves: their remaining target waits for a replacement (``vacancy``) or the rest
    of the team takes it over in proportion to their own remaining targets (``redistribute``)."""
    if mode not in ("vacancy", "redistribute"):
        raise DomainError(_("Choose vacancy or redistribute."))
    team = _team(plan, person, _before(plan, effective))
    tree, ctx = _tree(plan, effective, teams=[team], placed={person.pk: team})
    change = _run(
        lambda: engine.depart(
            tree.tree, f"p{person.pk}", ctx.cut, ctx.slot_months, mode, vacancy_key=f"v{team.pk}+"
        )
    )
    return _request(user, plan, tree, ctx, change, reason, "depart")


def do_request_hire(
    user, plan: Plan, person: Person, unit: OrgUnit, effective: dt.date, *, source: str, ramp, reason: str
):
    """A new rep in ``unit`` with a ramped target for the rest of the period, from the team's
    vacancy (what the team holds beyond its people) or from the team's remaining target."""
    if source not in ("vacancy", "team"):
        raise DomainError(_("Choose vacancy or team."))
    if TargetCell.objects.filter(scenario__plan=plan, scenario__is_primary=True, person=person).exists():
        raise DomainError(_("%(person)s already has targets in this plan."), person=person.name)
    tree, ctx = _tree(plan, effective, teams=[unit], placed={}, hire=person)
    vacancy = f"v{unit.pk}"
    if source == "vacancy" and vacancy not in tree.tree.kinds:
        raise DomainError(_("%(unit)s has no vacancy: its people hold all of its target."), unit=unit.name)
    change = _run(
        lambda: engine.hire(
            tree.tree,
            f"p{person.pk}",
            f"u{unit.pk}",
            ctx.cut,
            ctx.slot_months,
            ramp,
            ("vacancy", vacancy) if source == "vacancy" else ("team", None),
        )
    )
    return _request(user, plan, tree, ctx, change, reason, "hire")


def do_request_territory(
    user,
    plan: Plan,
    region,
    from_person: Person,
    to_person: Person,
    effective: dt.date,
    *,
    reason: str,
    share_bp: int | None = None,
):
    """``region`` passes from one rep to another: the part of the first rep's remaining target
    that the territory stands for moves with it, both teams' chains following. That part is the
    territory's share of the rep's sales over the 12 months before the change (credited as the
    actuals are: the rep on the row, the region's subtree), or ``share_bp`` (basis points) when
    given, e.g. when the territory has no history."""
    if from_person == to_person:
        raise DomainError(_("%(person)s is already in %(unit)s."), person=to_person.name, unit=region.name)
    share = _territory_share(plan, region, from_person, effective) if share_bp is None else (share_bp, 10_000)
    if not 0 <= share[0] <= share[1]:
        raise DomainError(_("The share is a whole percentage from 0 to 100."))
    source = _team(plan, from_person, _before(plan, effective))
    target = _team(plan, to_person, _before(plan, effective))
    tree, ctx = _tree(
        plan, effective, teams=[source, target], placed={from_person.pk: source, to_person.pk: target}
    )
    key = f"p{from_person.pk}"
    rest = engine.remaining(tree.tree.values[key], ctx.cut, ctx.slot_months)
    amounts = [round_half_up(Fraction(r * share[0], share[1])) for r in rest]
    change = _run(lambda: engine.reassign(tree.tree, key, f"p{to_person.pk}", amounts))
    percent = f"{share[0] * 100 / share[1]:.1f}%"
    note = _("%(region)s is %(share)s of %(person)s's remaining target.") % {
        "region": region.name,
        "share": percent,
        "person": from_person.name,
    }
    return _request(
        user, plan, tree, ctx, change, f"{reason.strip()}\n{note}" if reason.strip() else "", "territory"
    )


def _territory_share(plan: Plan, region, person: Person, effective: dt.date) -> tuple[int, int]:
    from django.db.models import Sum

    from salestarget.actuals.models import DailyRollup
    from salestarget.catalog.models import Region
    from salestarget.targets.history import value_field

    field = value_field(plan.metric)
    first = effective - dt.timedelta(days=365)
    rows = DailyRollup.objects.filter(
        person_id=person.pk, day__gte=first, day__lt=effective, kind=plan.metric.fact_kind or "order"
    )
    regions = Region.objects.filter(path__startswith=region.path).values("pk")
    total = rows.aggregate(s=Sum(field))["s"] or 0
    part = rows.filter(region_id__in=regions).aggregate(s=Sum(field))["s"] or 0
    if total <= 0:
        raise DomainError(
            _(
                "%(person)s has no sales in the 12 months before the change to tell %(region)s's share: give the share."
            ),
            person=person.name,
            region=region.name,
        )
    return max(0, part), total


# --- the plan as the engine's tree ----------------------------------------------------------------


class _Context:
    def __init__(self, plan: Plan, effective: dt.date):
        from salestarget.metrics.selectors import fiscal_calendar
        from salestarget.targets.decomposition import plan_months, product_lines

        if plan.status != Plan.Status.PUBLISHED:
            raise DomainError(
                _("Only a published plan changes through change requests; a draft is edited directly.")
            )
        if not plan.period_start <= effective <= plan.period_end:
            raise DomainError(
                _("The effective date must fall within the plan's period (%(start)s to %(end)s)."),
                start=plan.period_start.isoformat(),
                end=plan.period_end.isoformat(),
            )
        self.months = plan_months(plan)
        self.lines = [pk for pk, _name in product_lines(plan)] if plan.by_product else [None]
        self.slots = [(m, line) for line in self.lines for m in range(len(self.months))]
        self.slot_months = [m for m, _line in self.slots]
        month = next(i for i, m in enumerate(self.months) if m.start <= effective <= m.end)
        cal = fiscal_calendar()
        start = self.months[month].start
        before = cal.working_days_between(start, effective - dt.timedelta(days=1)) if effective > start else 0
        after = cal.working_days_between(effective, self.months[month].end)
        self.cut = engine.Cut(month, before, after)


class _Tree:
    def __init__(self, tree: engine.Tree, cells: dict[tuple, TargetCell], names: dict[str, str]):
        self.tree, self.cells, self.names = tree, cells, names


def _team(plan: Plan, person: Person, day: dt.date) -> OrgUnit:
    membership = (
        Membership.objects.filter(person=person, valid_from__lte=day, role=Membership.Role.MEMBER)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=day))
        .select_related("unit")
        .order_by("-valid_from")
        .first()
    )
    if membership is None:
        raise DomainError(
            _("%(person)s belongs to no team on %(day)s."), person=person.name, day=day.isoformat()
        )
    return membership.unit


def _before(plan: Plan, effective: dt.date) -> dt.date:
    """The organisation as it stood before the change: the day before it takes effect (whether
    or not the memberships were already updated for it)."""
    return max(plan.period_start, effective - dt.timedelta(days=1))


def _tree(
    plan: Plan,
    effective: dt.date,
    *,
    teams: list[OrgUnit],
    placed: dict[int, OrgUnit],
    hire: Person | None = None,
):
    """The units on the teams' chains up to the company, each team's sub-units, its members the
    day before the change (``placed`` people where given) and its implicit vacancy; every node's
    month values (per line) from the plan."""
    ctx = _Context(plan, effective)
    scenario = plan.scenarios.get(is_primary=True)
    chain_ids = {int(x) for team in teams for x in team.path.strip("/").split("/")}
    units = {u.pk: u for u in OrgUnit.objects.filter(pk__in=chain_ids)}
    subunits = {u.pk: u for u in OrgUnit.objects.filter(parent__in=[t.pk for t in teams])}
    units.update(subunits)
    seats: dict[int, int] = {}  # person -> team
    for team in teams:
        day = _before(plan, effective)
        members = (
            Membership.objects.filter(unit=team, valid_from__lte=day, role=Membership.Role.MEMBER)
            .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=day))
            .values_list("person_id", flat=True)
        )
        for person_id in members:
            seats[person_id] = team.pk
    if hire is not None:
        seats.pop(hire.pk, None)  # joining: not a seat yet
    for person_id, unit in placed.items():
        seats[person_id] = unit.pk
    month_starts = [m.start for m in ctx.months]
    cells = TargetCell.objects.filter(scenario=scenario, region__isnull=True, segment__isnull=True).filter(
        Q(unit_id__in=list(units), person__isnull=True) | Q(person_id__in=list(seats))
    )
    stored: dict[tuple, TargetCell] = {}
    for cell in cells:
        owner = f"p{cell.person_id}" if cell.person_id else f"u{cell.unit_id}"
        stored[(owner, cell.period_kind, cell.period_start, cell.product_id)] = cell
    slot_of = {(m, line): s for s, (m, line) in enumerate(ctx.slots)}

    def values(owner: str) -> list[int]:
        row = [0] * len(ctx.slots)
        for (m, line), s in slot_of.items():
            cell = stored.get((owner, "month", month_starts[m], line))
            row[s] = cell.target if cell else 0
        return row

    parents: dict[str, str | None] = {}
    kinds: dict[str, str] = {}
    vals: dict[str, list[int]] = {}
    names: dict[str, str] = {}
    for unit in units.values():
        key = f"u{unit.pk}"
        parent = unit.parent_id if unit.parent_id in units else None
        parents[key] = f"u{parent}" if parent else None
        kinds[key], vals[key], names[key] = "unit", values(key), unit.name
    people_names = dict(Person.objects.filter(pk__in=list(seats)).values_list("pk", "name"))
    for person_id, team_id in seats.items():
        key = f"p{person_id}"
        parents[key], kinds[key], vals[key], names[key] = (
            f"u{team_id}",
            "person",
            values(key),
            people_names[person_id],
        )
    for team in teams:
        key = f"u{team.pk}"
        children = [k for k, p in parents.items() if p == key]
        gap = [max(0, vals[key][s] - sum(vals[c][s] for c in children)) for s in range(len(ctx.slots))]
        if any(gap):
            parents[f"v{team.pk}"], kinds[f"v{team.pk}"], vals[f"v{team.pk}"] = key, "vacancy", gap
            names[f"v{team.pk}"] = _("vacancy of %(unit)s") % {"unit": team.name}
        names[f"v{team.pk}+"] = _("vacancy of %(unit)s") % {"unit": team.name}
    if hire is not None:
        names[f"p{hire.pk}"] = hire.name
    try:
        tree = engine.Tree(parents=parents, kinds=kinds, values=vals)
    except ValueError as exc:
        raise DomainError(
            _("The plan's cells cannot be read as one organisation: %(reason)s"), reason=str(exc)
        ) from exc
    return _Tree(tree, stored, names), ctx


def _run(operation) -> engine.Change:
    try:
        return operation()
    except (AllocationError, ValueError) as exc:
        raise DomainError(_("The change cannot be made exactly: %(reason)s"), reason=str(exc)) from exc


# --- the engine's deltas as cell changes ----------------------------------------------------------


def _request(user, plan: Plan, tree: _Tree, ctx: _Context, change: engine.Change, reason: str, kind: str):
    """The deltas on stored nodes (units and people; a moved person's past, the engine's "former"
    node, is the same person; vacancies hold no cells) as one change request."""
    by_owner: dict[str, list[int]] = defaultdict(lambda: [0] * len(ctx.slots))
    for key, row in change.deltas.items():
        owner = key.split("@", 1)[0]
        if owner.startswith("v"):
            continue
        for s, d in enumerate(row):
            by_owner[owner][s] += d
    edits: list[grid.CellChange] = []
    months = ctx.months
    for owner, row in by_owner.items():
        if not any(row):
            continue
        per: dict[tuple, int] = defaultdict(int)  # (kind, start, line) -> delta
        for s, d in enumerate(row):
            m, line = ctx.slots[s]
            per[("month", months[m].start, line)] += d
            per[(plan.period_kind, plan.period_start, line)] += d
            if line is not None:
                per[("month", months[m].start, None)] += d
                per[(plan.period_kind, plan.period_start, None)] += d
        for (kind_, start, line), delta in per.items():
            if not delta:
                continue
            cell = tree.cells.get((owner, kind_, start, line))
            if cell is None:
                cell = TargetCell.objects.filter(
                    scenario__plan=plan,
                    scenario__is_primary=True,
                    period_kind=kind_,
                    period_start=start,
                    product_id=line,
                    region__isnull=True,
                    segment__isnull=True,
                    **(
                        {"person_id": int(owner[1:])}
                        if owner[0] == "p"
                        else {"unit_id": int(owner[1:]), "person": None}
                    ),
                ).first()
            if cell is not None:
                edits.append(
                    grid.CellChange(
                        id=cell.pk, version=cell.version, field="target", value=cell.target + delta
                    )
                )
            else:
                edits.append(
                    grid.CellChange(
                        unit_id=int(owner[1:]) if owner[0] == "u" else None,
                        person_id=int(owner[1:]) if owner[0] == "p" else None,
                        period_kind=kind_,
                        period_start=start,
                        product_id=line,
                        field="target",
                        value=delta,
                    )
                )
    if not edits:
        raise DomainError(_("Nothing changes: there is no remaining target to move after this date."))
    from salestarget.targets.labels import lang

    words = _explained(change, tree.names, lang())
    full = f"{reason.strip()}\n{words}" if reason.strip() else ""
    return changes.do_request_change(user, plan, edits, reason=full, kind=kind)


def _explained(change: engine.Change, names: dict[str, str], language: str) -> str:
    """The engine's notes with node keys shown as names."""
    from salestarget.metrics.selectors import company_currency

    out = []
    for note in change.notes:
        params = {}
        for k, v in note.params.items():
            if k == "labels":
                params[k] = [names.get(x, x) for x in v]
            elif isinstance(v, str):
                params[k] = names.get(v, v)
            else:
                params[k] = v
        out.append(engine.ChangeNote(note.code, params).text(language, company_currency().code))
    return "\n".join(out)
