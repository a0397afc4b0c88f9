"""Scenarios (方案模拟): several decompositions of one plan, compared side by side, one of them
promoted to be the plan.

Writes follow the ``do_*`` contract of ``targets.services``: those who plan the whole
organisation only (``services.may_plan``), ``DomainError`` for what the user can fix, one
transaction. The plan's row is locked for each write so that the scenario limit, the unique
names and the single primary scenario hold under concurrent requests on PostgreSQL too
(SQLite's IMMEDIATE transactions queue writers anyway).

Reads (:func:`compare`) go through ``TargetCell.objects.restrict(user)``: a rep comparing
scenarios sees their own targets only, a manager their subtree.
"""

from __future__ import annotations

import copy
import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from salestarget.core.errors import DomainError
from salestarget.org.models import Membership, OrgUnit, Person, overlapping
from salestarget.targets import services
from salestarget.targets.models import Plan, Scenario, Split, TargetCell

MAX_SCENARIOS = 10
MAX_NAME = 100
SPLIT_BATCH = 1000


def _check_may_plan(user) -> None:
    if not services.may_plan(user):
        raise PermissionDenied(
            gettext("Only those who look after the whole organisation may change a plan's scenarios.")
        )


def _locked_plan(plan: Plan) -> Plan:
    return Plan.objects.select_for_update().get(pk=plan.pk)


def _clean_name(plan: Plan, name: str, *, other_than: Scenario | None = None) -> str:
    name = (name or "").strip()
    if not name:
        raise DomainError(_("Give the scenario a name."))
    if len(name) > MAX_NAME:
        raise DomainError(_("The name may have at most %(n)s characters."), n=MAX_NAME)
    taken = Scenario.objects.filter(plan=plan, name__iexact=name)
    if other_than is not None:
        taken = taken.exclude(pk=other_than.pk)
    if taken.exists():
        raise DomainError(_("This plan already has a scenario named “%(name)s”."), name=name)
    return name


def do_create_scenario(user, plan: Plan, *, name: str, copy_from: Scenario | None = None) -> Scenario:
    """A new scenario of ``plan``: empty, or a copy of ``copy_from``'s cells (locks, sources and
    manual overrides included, so a re-run on the copy behaves as on the original), rules and
    splits (so "why is my target this number?" answers on the copy too)."""
    _check_may_plan(user)
    if copy_from is not None and copy_from.plan_id != plan.pk:
        raise DomainError(_("A scenario can only be copied within its own plan."))
    with transaction.atomic():
        plan = _locked_plan(plan)
        name = _clean_name(plan, name)
        if Scenario.objects.filter(plan=plan).count() >= MAX_SCENARIOS:
            raise DomainError(
                _("A plan has at most %(n)s scenarios: delete one you no longer need first."), n=MAX_SCENARIOS
            )
        scenario = Scenario.objects.create(
            plan=plan,
            name=name,
            is_primary=False,
            rules=copy.deepcopy(copy_from.rules) if copy_from is not None else {},
            decomposed_at=copy_from.decomposed_at if copy_from is not None else None,
        )
        if copy_from is not None:
            _copy_cells(copy_from, scenario, user)
            Split.objects.bulk_create(
                (
                    Split(
                        scenario=scenario,
                        axis=s.axis,
                        parent=s.parent,
                        keys=s.keys,
                        explanation=s.explanation,
                    )
                    for s in Split.objects.filter(scenario=copy_from).iterator(chunk_size=SPLIT_BATCH)
                ),
                batch_size=SPLIT_BATCH,
            )
    return scenario


def do_rename_scenario(user, scenario: Scenario, *, name: str) -> Scenario:
    _check_may_plan(user)
    with transaction.atomic():
        _locked_plan(scenario.plan)
        scenario.name = _clean_name(scenario.plan, name, other_than=scenario)
        scenario.save(update_fields=["name"])
    return scenario


def do_delete_scenario(user, scenario: Scenario) -> None:
    """Delete a what-if; the primary scenario is the plan and stays (promote another first)."""
    _check_may_plan(user)
    with transaction.atomic():
        _locked_plan(scenario.plan)
        scenario = Scenario.objects.get(pk=scenario.pk)
        if scenario.is_primary:
            raise DomainError(
                _(
                    "The primary scenario is the plan itself: promote another scenario before deleting this one."
                )
            )
        _delete_cells(scenario, user)
        Split.objects.filter(scenario=scenario).delete()
        scenario.delete()


def do_promote_scenario(user, scenario: Scenario) -> Scenario:
    """Make ``scenario`` the plan; the former primary stays as an ordinary scenario, so the
    promotion can be undone by promoting it back. Only a draft plan: a plan in force changes
    through change requests."""
    _check_may_plan(user)
    with transaction.atomic():
        plan = _locked_plan(scenario.plan)
        if plan.status != Plan.Status.DRAFT:
            raise DomainError(
                _(
                    "Only a draft plan's scenario can be promoted; a plan in force changes through a change request."
                )
            )
        scenario = Scenario.objects.get(pk=scenario.pk)
        from salestarget.targets.workflow import frozen_units

        frozen = frozen_units(plan)
        if frozen and not scenario.is_primary:
            raise DomainError(
                _(
                    "The part of %(units)s is submitted or approved: send it back before promoting another scenario."
                ),
                units="、".join(u.name for u in frozen),
            )
        if not scenario.is_primary:
            # The old flag goes first: the database allows one primary scenario per plan.
            Scenario.objects.filter(plan=plan, is_primary=True).update(is_primary=False)
            Scenario.objects.filter(pk=scenario.pk).update(is_primary=True)
            scenario.is_primary = True
    return scenario


# --------------------------------------------------------------------------- cells in bulk


def _cell_columns() -> list[str]:
    return [f.column for f in TargetCell._meta.concrete_fields if f.column != "id"]


def _copy_cells(source: Scenario, target: Scenario, user) -> None:
    """One INSERT … SELECT inside the database, whatever the plan's size (a 5,000-rep plan has
    hundreds of thousands of cells: loading them into Python and back took seconds per
    100,000), and their history rows the same way, as django-simple-history writes them."""
    q = connection.ops.quote_name
    columns = _cell_columns()
    picks = []
    params: list = []
    for column in columns:
        if column == "scenario_id":
            picks.append("%s")
            params.append(target.pk)
        elif column == "version":
            picks.append("1")
        else:
            picks.append(q(column))
    table = q(TargetCell._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(map(q, columns))}) "
            f"SELECT {', '.join(picks)} FROM {table} WHERE {q('scenario_id')} = %s",
            [*params, source.pk],
        )
    _note_history(target, "+", user)


def _delete_cells(scenario: Scenario, user) -> None:
    """The cells' history rows ('-'), then the cells, in two statements: Django's cascade would
    load every cell and send a signal for each."""
    _note_history(scenario, "-", user)
    q = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {q(TargetCell._meta.db_table)} WHERE {q('scenario_id')} = %s", [scenario.pk]
        )


def _note_history(scenario: Scenario, kind: str, user) -> None:
    history = TargetCell.history.model
    q = connection.ops.quote_name
    own = {f.column for f in TargetCell._meta.concrete_fields}
    columns = [f.column for f in history._meta.concrete_fields if f.column in own]
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {q(history._meta.db_table)} ({', '.join(map(q, columns))}, {q('history_date')}, "
            f"{q('history_change_reason')}, {q('history_type')}, {q('history_user_id')}) "
            f"SELECT {', '.join(map(q, columns))}, %s, NULL, %s, %s FROM {q(TargetCell._meta.db_table)} "
            f"WHERE {q('scenario_id')} = %s",
            [now, kind, getattr(user, "pk", None), scenario.pk],
        )


# --------------------------------------------------------------------------- comparison


def company_root() -> OrgUnit | None:
    return OrgUnit.objects.filter(parent__isnull=True).order_by("path").first()


def default_unit(user) -> OrgUnit | None:
    """Where a comparison starts: the company for those who may see it, otherwise the highest
    unit the user may see (a manager's team, a rep's own team)."""
    root = company_root()
    visible = OrgUnit.objects.restrict(user)
    if root is not None and visible.filter(pk=root.pk).exists():
        return root
    return visible.order_by("depth", "path").first() or root


def _difference(value: int | None, base: int | None) -> dict:
    if value is None or base is None:
        return {"amount": None, "percent": None}
    amount = value - base
    percent = None
    if base != 0:
        ratio = (Decimal(amount) * 100 / Decimal(base)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
        percent = float(ratio)
    return {"amount": amount, "percent": percent}


def _differences(values: list[int | None]) -> list[dict]:
    """Each scenario after the first against the first."""
    return [_difference(v, values[0]) for v in values[1:]]


def compare(user, plan: Plan, scenarios, *, unit: OrgUnit | None = None) -> dict:
    """The year targets of ``unit`` (the company by default) and its children — sub-units and
    the people who were its members on any day of the plan's period — in each scenario, the
    unit's months, and each scenario's difference from the first. Exact integers in the
    metric's minor units; ``None`` where a scenario has no cell, or the user may not see it.
    A child appears when the user may see one of its cells."""
    scenarios = list(scenarios)
    if not scenarios:
        raise DomainError(_("Choose at least one scenario to compare."))
    if len(scenarios) > MAX_SCENARIOS:
        raise DomainError(_("Compare at most %(n)s scenarios at once."), n=MAX_SCENARIOS)
    if any(s.plan_id != plan.pk for s in scenarios):
        raise DomainError(_("Only scenarios of the same plan can be compared."))
    node = unit or company_root()
    if node is None:
        raise DomainError(_("The organisation has no units yet."))
    ids = [s.pk for s in scenarios]
    index = {pk: i for i, pk in enumerate(ids)}
    # Siblings by code: their paths compare ids as text, so unit 1000 sorted before unit 999.
    units = list(OrgUnit.objects.filter(parent=node).order_by("code", "pk"))
    member_ids = (
        overlapping(Membership.objects.filter(unit=node), plan.period_start, plan.period_end)
        .values_list("person_id", flat=True)
        .distinct()
    )
    people = list(Person.objects.filter(pk__in=list(member_ids)).order_by("name", "code"))
    person_ids = [p.pk for p in people]
    visible = TargetCell.objects.restrict(user).filter(
        scenario_id__in=ids, product__isnull=True, region__isnull=True, segment__isnull=True
    )
    year_cells = visible.filter(period_kind=plan.period_kind, period_start=plan.period_start).filter(
        Q(person__isnull=True, unit_id__in=[node.pk, *(u.pk for u in units)])
        | Q(person_id__in=person_ids, unit=node)
        | Q(person_id__in=person_ids, unit__isnull=True)
    )
    unit_values: dict[int, list[int | None]] = {}
    # A person's cell may name the unit they were in (people who moved count in each team) or
    # none; the unit's own cell wins where both exist.
    person_values: dict[tuple[int, bool], list[int | None]] = {}
    for scenario_id, unit_id, person_id, target in year_cells.values_list(
        "scenario_id", "unit_id", "person_id", "target"
    ):
        if person_id is None:
            row = unit_values.setdefault(unit_id, [None] * len(ids))
        else:
            row = person_values.setdefault((person_id, unit_id is not None), [None] * len(ids))
        row[index[scenario_id]] = target
    rows = []
    for child in units:
        values = unit_values.get(child.pk)
        if values is not None:
            rows.append(_row("unit", child.pk, child.code, child.name, values, drill=True))
    for person in people:
        empty = [None] * len(ids)
        named = person_values.get((person.pk, True), empty)
        bare = person_values.get((person.pk, False), empty)
        if named is empty and bare is empty:
            continue
        values = [n if n is not None else b for n, b in zip(named, bare, strict=True)]
        rows.append(_row("person", person.pk, person.code, person.name, values, drill=False))
    total = unit_values.get(node.pk, [None] * len(ids))
    children_sum = [
        sum(r["values"][i] for r in rows if r["values"][i] is not None) if rows else None
        for i in range(len(ids))
    ]
    months = _months(visible, plan, node, index)
    return {
        "plan": {"id": plan.pk, "name": plan.name, "status": plan.status},
        "node": {"id": node.pk, "code": node.code, "name": node.name, "parent_id": node.parent_id},
        "scenarios": [{"id": s.pk, "name": s.name, "is_primary": s.is_primary} for s in scenarios],
        "total": {"values": total, "differences": _differences(total)},
        "children_sum": {"values": children_sum, "differences": _differences(children_sum)},
        "rows": rows,
        "months": months,
    }


def _row(kind: str, pk: int, code: str, name: str, values: list[int | None], *, drill: bool) -> dict:
    return {
        "kind": kind,
        "id": pk,
        "code": code,
        "name": name,
        "values": values,
        "differences": _differences(values),
        "drill": drill,
    }


def _months(visible, plan: Plan, node: OrgUnit, index: dict[int, int]) -> list[dict]:
    """The node's month targets per scenario over the plan's period."""
    by_month: dict[dt.date, list[int | None]] = {}
    for scenario_id, start, target in visible.filter(
        unit=node,
        person__isnull=True,
        period_kind=TargetCell.PeriodKind.MONTH,
        period_start__gte=plan.period_start,
        period_start__lte=plan.period_end,
    ).values_list("scenario_id", "period_start", "target"):
        by_month.setdefault(start, [None] * len(index))[index[scenario_id]] = target
    return [{"start": start, "values": values} for start, values in sorted(by_month.items())]
