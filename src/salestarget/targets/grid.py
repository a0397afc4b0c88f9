"""The target grid: a node's children × the plan's periods, read and written as a spreadsheet.

:func:`grid` reads one node (a unit, or the company) of a scenario: the node itself as the
parent row, then its sub-units and the people who belonged to it on any day of the plan's
period, each with its year cell and month cells (floor, target and stretch share one stored
``TargetCell``). It runs a fixed number of queries whatever the node's size: a grid of 50
children loads in a few milliseconds of database time (bench/plan_grid.py).

:func:`do_save_cells` is the grid's one writer. Every change names the version it read; the
write is a conditional ``UPDATE … WHERE version = read`` so that of two people editing one cell
the second is refused with :class:`Conflict`, which carries the cell as it now stands: the page
shows theirs beside the value typed, and nothing typed is lost. A person's cells are stored
without a unit (as ``targets.selectors`` reads them), a unit's without a person.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from salestarget.core.api_contract import MAX_AMOUNT
from salestarget.core.errors import DomainError
from salestarget.engine.calendar import Period
from salestarget.engine.rounding import round_half_up
from salestarget.org.models import Membership, OrgUnit, Person
from salestarget.org.permissions import Action, Reach, scope_of
from salestarget.targets.models import Plan, PlanLevel, Scenario, TargetCell, period_end
from salestarget.targets.workflow import check_not_frozen

LEVELS = ("target", "floor", "stretch")
YEAR_KEY = "y"


@dataclass(frozen=True)
class Column:
    key: str  # "y" for the plan's period, "m01".. for its months
    period: Period


def columns_of(plan: Plan) -> list[Column]:
    """The plan's period, then each of its months, in the company's fiscal calendar."""
    from salestarget.targets.services import plan_period

    period = plan_period(plan)
    months = period.children("month")
    return [Column(YEAR_KEY, period), *(Column(f"m{i:02d}", m) for i, m in enumerate(months, start=1))]


def cell_out(cell: TargetCell | dict | None) -> dict | None:
    if cell is None:
        return None
    get = cell.get if isinstance(cell, dict) else lambda name: getattr(cell, name)
    return {
        "id": get("id"),
        "version": get("version"),
        "locked": get("locked"),
        "source": get("source"),
        "target": get("target"),
        "floor": get("floor"),
        "stretch": get("stretch"),
    }


def _in_paths(path: str, reach: Reach) -> bool:
    return reach.everything or any(path.startswith(p) for p in reach.paths)


def default_node(user) -> OrgUnit | None:
    """The node a user's grid opens on: the company for those who reach it, else the topmost unit
    they manage or view, else their own team."""
    reach = scope_of(user).reach(Action.VIEW)
    units = OrgUnit.objects.restrict(user).order_by("depth", "path")
    if not reach.everything and reach.paths:
        units = units.filter(reach.units_q(""))
    return units.first()


def grid(user, scenario: Scenario, unit: OrgUnit, *, product=None) -> dict:
    """The grid of ``unit`` in ``scenario``: rows, columns, cells the user may see, totals and the
    children-versus-parent check, per level. ``product`` narrows to one product line (plans by
    product line); without it the cells over all products are shown."""
    plan = scenario.plan
    columns = columns_of(plan)
    period = columns[0].period
    scope = scope_of(user)
    view, change = scope.reach(Action.VIEW), scope.reach(Action.CHANGE)
    # A draft is edited directly; the published plan's edits become a change request
    # (targets.changes); anything else is read-only.
    requesting = plan.status == Plan.Status.PUBLISHED and scenario.is_primary
    draft = plan.status == Plan.Status.DRAFT or requesting

    children = list(OrgUnit.objects.filter(parent=unit).order_by("code").values("id", "code", "name", "path"))
    grandparents = set(
        OrgUnit.objects.filter(parent_id__in=[c["id"] for c in children])
        .values_list("parent_id", flat=True)
        .distinct()
    )
    people = _people_of(scenario, unit, period)
    visible_people = set(
        Person.objects.filter(pk__in=[p["id"] for p in people])
        .filter(view.people_q("pk", on=period.start, until=period.end))
        .values_list("pk", flat=True)
    )
    changeable_people = (
        set(
            Person.objects.filter(pk__in=visible_people)
            .filter(change.people_q("pk", on=period.start, until=period.end))
            .values_list("pk", flat=True)
        )
        if draft and not change.nothing
        else set()
    )

    rows = [_row("unit", unit.pk, unit.code, unit.name, parent=True, visible=_in_paths(unit.path, view))]
    rows[0]["editable"] = draft and _in_paths(unit.path, change)
    for child in children:
        if not _in_paths(child["path"], view):
            continue
        row = _row("unit", child["id"], child["code"], child["name"], visible=True)
        row["drill"] = True
        row["has_children"] = child["id"] in grandparents
        row["editable"] = draft and _in_paths(child["path"], change)
        rows.append(row)
    for person in people:
        if person["id"] in visible_people:
            row = _row("person", person["id"], person["code"], person["name"], visible=True)
            row["editable"] = person["id"] in changeable_people
            rows.append(row)

    by_owner = {(r["kind"], r["id"]): r for r in rows}
    key_of = {(c.period.kind, c.period.start): c.key for c in columns}
    cells = TargetCell.objects.restrict(user).filter(
        scenario=scenario,
        product=product,
        region__isnull=True,
        segment__isnull=True,
        period_start__gte=period.start,
        period_start__lte=period.end,
        period_kind__in={c.period.kind for c in columns},
    )
    unit_ids = [r["id"] for r in rows if r["kind"] == "unit"]
    person_ids = [r["id"] for r in rows if r["kind"] == "person"]
    cells = cells.filter(
        Q(unit_id__in=unit_ids, person__isnull=True) | Q(person_id__in=person_ids, unit__isnull=True)
    )
    for c in cells.values(
        "id", "unit_id", "person_id", "period_kind", "period_start", "target", "floor", "stretch",
        "locked", "source", "version",
    ):  # fmt: skip
        key = key_of.get((c["period_kind"], c["period_start"]))
        row = by_owner.get(("person", c["person_id"]) if c["person_id"] else ("unit", c["unit_id"]))
        if key is not None and row is not None:
            row["cells"][key] = cell_out(c)

    # Team commitments (团队共创) beside the top-down target, while the plan is a draft.
    commitments = plan.status == Plan.Status.DRAFT and scenario.is_primary and product is None
    if commitments:
        from salestarget.targets.commitments import for_rows

        paths = {c["id"]: c["path"] for c in children}
        if unit.parent_id is not None:
            paths[unit.pk] = unit.path
        found = for_rows(user, plan, paths, person_ids)
        for row in rows:
            row["commitment"] = found.get((row["kind"], row["id"])) if row["visible"] else None

    month_keys = [c.key for c in columns[1:]]
    for row in rows:
        row["totals"] = {
            level: _sum((row["cells"].get(k) or {}).get(level) for k in month_keys) for level in LEVELS
        }
    over_bp, tolerance = _over_assignment(plan, unit.depth + 1)
    parent, kids = rows[0], rows[1:]
    children_sum: dict[str, dict[str, int | None]] = {}
    mismatch: dict[str, dict[str, bool]] = {}
    for level in LEVELS:
        children_sum[level], mismatch[level] = {}, {}
        for column in columns:
            values = [(r["cells"].get(column.key) or {}).get(level) for r in kids]
            total = _sum(values)
            children_sum[level][column.key] = total
            mine = (parent["cells"].get(column.key) or {}).get(level)
            mismatch[level][column.key] = bool(parent["visible"] and kids) and _mismatch(
                mine, total, over_bp, tolerance
            )

    return {
        "plan": {
            "id": plan.pk,
            "name": plan.name,
            "status": plan.status,
            "status_label": str(plan.get_status_display()),
            "draft": plan.status == Plan.Status.DRAFT,
            "mode": "edit" if plan.status == Plan.Status.DRAFT else "request" if requesting else "read",
            "by_product": plan.by_product,
            "floor_factor": None if plan.floor_factor is None else str(plan.floor_factor.normalize()),
            "stretch_factor": None if plan.stretch_factor is None else str(plan.stretch_factor.normalize()),
        },
        "metric": _metric_out(plan.metric),
        "scenario": {"id": scenario.pk, "name": scenario.name, "is_primary": scenario.is_primary},
        "node": {"id": unit.pk, "code": unit.code, "name": unit.name, "depth": unit.depth},
        "breadcrumbs": breadcrumbs(user, unit),
        "product": None
        if product is None
        else {"id": product.pk, "code": product.code, "name": product.name},
        "columns": [
            {
                "key": c.key,
                "kind": c.period.kind,
                "start": c.period.start.isoformat(),
                "end": c.period.end.isoformat(),
                "label": _label(c),
            }
            for c in columns
        ],
        "rows": rows,
        "children_sum": children_sum,
        "mismatch": mismatch,
        "over_assignment_bp": over_bp,
        "commitments": commitments,
        "editable": any(r["editable"] for r in rows),
    }


def _row(kind: str, pk: int, code: str, name: str, *, parent: bool = False, visible: bool) -> dict:
    return {
        "key": f"{kind[0]}{pk}",
        "kind": kind,
        "id": pk,
        "code": code,
        "name": name,
        "parent": parent,
        "visible": visible,
        "drill": False,
        "has_children": False,
        "editable": False,
        "commitment": None,
        "cells": {},
    }


def _people_of(scenario: Scenario, unit: OrgUnit, period: Period) -> list[dict]:
    """Members of ``unit`` on any day of ``period``; its managers too when they carry targets of
    their own in the scenario (a team lead who also sells), never otherwise."""
    members = (
        Membership.objects.filter(unit=unit, valid_from__lte=period.end)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=period.start))
        .values_list("person_id", "role")
    )
    ids, managers = set(), set()
    for person_id, role in members:
        (managers if role == Membership.Role.MANAGER else ids).add(person_id)
    if managers - ids:
        ids |= set(
            TargetCell.objects.filter(scenario=scenario, person_id__in=managers - ids)
            .values_list("person_id", flat=True)
            .distinct()
        )
    return list(Person.objects.filter(pk__in=ids).order_by("code").values("id", "code", "name"))


def breadcrumbs(user, unit: OrgUnit) -> list[dict]:
    """The way down from the topmost unit the user may see to ``unit``."""
    ids = [int(x) for x in unit.path.strip("/").split("/") if x]
    seen = OrgUnit.objects.restrict(user).filter(pk__in=ids).values("id", "name", "depth")
    return sorted(seen, key=lambda u: u["depth"])


def _metric_out(metric) -> dict:
    from salestarget.actuals.summary import is_money, unit_label
    from salestarget.targets.labels import lang

    return {
        "code": metric.code,
        "name": metric.name,
        "decimals": metric.decimals,
        "money": is_money(metric),
        "unit": unit_label(metric, lang()),
    }


def _label(column: Column) -> str:
    from salestarget.targets.labels import lang

    return column.period.label(lang())


def _sum(values: Iterable[int | None]) -> int | None:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def _over_assignment(plan: Plan, depth: int) -> tuple[int, int]:
    """The over-assignment the plan declares for the children's level, and how far their sum may
    stray from it through rounding (the level's rounding unit) when there is one."""
    level = (
        PlanLevel.objects.filter(plan=plan, depth=depth).values("over_assignment_bp", "rounding_unit").first()
    )
    if level is None or not level["over_assignment_bp"]:
        return 0, 0
    return level["over_assignment_bp"], level["rounding_unit"]


def _mismatch(parent: int | None, children: int | None, over_bp: int, tolerance: int) -> bool:
    if parent is None and children is None:
        return False
    if parent is None or children is None:
        return True
    expected = round_half_up(Decimal(parent) * (10000 + over_bp) / 10000)
    return abs(children - expected) > tolerance


# --------------------------------------------------------------------------- writes


class Conflict(DomainError):
    """Cells changed by someone else since they were read: ``cells`` holds each as it now stands
    (``current`` None when it was deleted), with the change that was refused."""

    def __init__(self, cells: list[dict]):
        super().__init__(
            _(
                "Someone changed %(n)s of these cells since you loaded the grid: nothing was saved. "
                "Their values are shown; yours are kept for you to save again."
            ),
            n=len(cells),
        )
        self.cells = cells


@dataclass(frozen=True)
class CellChange:
    """One edit of the grid. A stored cell is named by ``id`` and the ``version`` read; a cell
    not stored yet by its key (a unit or a person, the period, the product line). ``field`` with
    ``value`` sets a level (None empties floor or stretch); ``locked`` sets the lock."""

    id: int | None = None
    version: int | None = None
    unit_id: int | None = None
    person_id: int | None = None
    period_kind: str | None = None
    period_start: dt.date | None = None
    product_id: int | None = None
    field: str | None = None
    value: int | None = None
    locked: bool | None = None

    def key(self) -> tuple:
        return (self.unit_id, self.person_id, self.period_kind, self.period_start, self.product_id)


@dataclass
class _Edit:
    values: dict  # level -> value
    locked: bool | None
    version: int | None
    change: CellChange


def do_save_cells(user, scenario: Scenario, changes: Sequence[CellChange]) -> list[dict]:
    """Apply the grid's edits, all or none, in one transaction; the saved cells as they now stand.

    Raises DomainError for a value the app cannot take, PermissionDenied for a cell outside the
    user's change reach, and :class:`Conflict` when a cell's version is no longer the one read."""
    plan = scenario.plan
    if plan.status != Plan.Status.DRAFT:
        raise DomainError(
            _("This plan is in force: its targets change through a change request, not in the grid.")
        )
    by_id, by_key = parse_changes(plan, changes)
    if not changes:
        return []
    with transaction.atomic():
        # The plan's row is the lock a submission takes too: an edit and a submission of the
        # same plan never interleave.
        plan = Plan.objects.select_for_update().get(pk=plan.pk)
        if plan.status != Plan.Status.DRAFT:
            raise DomainError(_("This plan was submitted meanwhile: nothing was saved."))
        cells = apply_edits(scenario, plan, by_id, by_key, user=user)
        if scenario.is_primary:
            check_not_frozen(plan, TargetCell.objects.filter(pk__in=[c.pk for c in cells]))
    return [_saved_out(c) for c in cells]


def parse_changes(plan: Plan, changes: Sequence[CellChange]) -> tuple[dict[int, _Edit], dict[tuple, _Edit]]:
    """The edits checked one by one and merged per cell: stored cells by id, new ones by key."""
    allowed = {(c.period.kind, c.period.start) for c in columns_of(plan)}
    by_id: dict[int, _Edit] = {}
    by_key: dict[tuple, _Edit] = {}
    for change in changes:
        _check(change, plan, allowed)
        edits, name = (by_id, change.id) if change.id is not None else (by_key, change.key())
        edit = edits.get(name)
        if edit is None:
            edit = edits[name] = _Edit({}, None, change.version, change)
        elif change.id is not None and change.version != edit.version:
            raise DomainError(_("One cell was sent twice with different versions."))
        if change.field is not None:
            edit.values[change.field] = change.value
        if change.locked is not None:
            edit.locked = change.locked
    return by_id, by_key


def apply_edits(
    scenario: Scenario,
    plan: Plan,
    by_id: dict[int, _Edit],
    by_key: dict[tuple, _Edit],
    *,
    user,
    checked: bool = True,
    reason: str = "",
) -> list[TargetCell]:
    """Write parsed edits inside the caller's transaction, each stored cell on the version read,
    with a history row per changed cell (``user``, ``reason``). ``checked``: the edits must lie in
    ``user``'s change reach (the grid); an accepted change request was checked when asked."""
    reach = scope_of(user).reach(Action.CHANGE) if checked else Reach(everything=True)
    stored = _stored(user if checked else None, scenario, by_id)
    _check_new(reach, by_key)
    taken = _existing_keys(scenario, by_key)
    if taken:
        raise Conflict([_clash(edit, taken[k]) for k, edit in by_key.items() if k in taken])
    updated = [_update(plan, stored[pk], edit) for pk, edit in by_id.items()]
    created = _create(scenario, plan, by_key)
    history = TargetCell.history
    history.bulk_history_create(
        [c for c, changed in updated if changed],
        update=True,
        default_user=_user(user),
        default_change_reason=reason[:100],
    )
    history.bulk_history_create(created, default_user=_user(user), default_change_reason=reason[:100])
    return [*(c for c, _changed in updated), *created]


def _clash(edit: _Edit, current: TargetCell | None) -> dict:
    """One refused cell: how it was named, as it now stands, and what the user typed."""
    change = edit.change
    return {
        "id": change.id,
        "key": None if change.id is not None else _key_out(change),
        "current": cell_out(current),
        "yours": {**edit.values, **({} if edit.locked is None else {"locked": edit.locked})},
    }


def _user(user):
    return user if getattr(user, "pk", None) else None


def _check(change: CellChange, plan: Plan, allowed: set) -> None:
    if change.field is not None and change.field not in LEVELS:
        raise DomainError(_("A cell's level is target, floor or stretch."))
    if change.field is None and change.locked is None:
        raise DomainError(_("Each change sets a value or the lock."))
    if change.field == "target" and change.value is None:
        raise DomainError(_("A target cannot be empty: type 0 for no target."))
    if change.value is not None and (isinstance(change.value, bool) or not 0 <= change.value <= MAX_AMOUNT):
        raise DomainError(
            _("A value must be a whole number from 0 to %(max)s in the metric's smallest unit."),
            max=MAX_AMOUNT,
        )
    if change.id is not None:
        if change.version is None:
            raise DomainError(_("A stored cell is saved with the version it was read at."))
        return
    if (change.unit_id is None) == (change.person_id is None):
        raise DomainError(_("A new cell names either a unit or a person."))
    if (change.period_kind, change.period_start) not in allowed:
        raise DomainError(_("A new cell's period must be the plan's period or one of its months."))
    if change.product_id is not None and not plan.by_product:
        raise DomainError(_("This plan is not split by product line."))


def _stored(user, scenario: Scenario, by_id: dict[int, _Edit]) -> dict[int, TargetCell]:
    """The stored cells named, checked for permission and version."""
    if not by_id:
        return {}
    cells = {c.pk: c for c in TargetCell.objects.filter(scenario=scenario, pk__in=list(by_id))}
    if user is None:
        may = set(cells)
    else:
        may = set(
            TargetCell.objects.restrict(user, Action.CHANGE)
            .filter(pk__in=list(cells))
            .values_list("pk", flat=True)
        )
    if set(cells) - may:
        raise PermissionDenied(gettext("You may change only the targets of the units and people you manage."))
    gone_or_stale = [
        _clash(edit, cells.get(pk))
        for pk, edit in by_id.items()
        if pk not in cells or cells[pk].version != edit.version
    ]
    if gone_or_stale:
        raise Conflict(gone_or_stale)
    return cells


def _check_new(reach: Reach, by_key: dict[tuple, _Edit]) -> None:
    if not by_key:
        return
    unit_ids = {k[0] for k in by_key if k[0] is not None}
    person_ids = {k[1] for k in by_key if k[1] is not None}
    units = dict(OrgUnit.objects.filter(pk__in=unit_ids).values_list("pk", "path"))
    known_people = set(Person.objects.filter(pk__in=person_ids).values_list("pk", flat=True))
    if unit_ids - set(units) or person_ids - known_people:
        raise DomainError(_("A cell names a unit or person that does not exist."))
    if any(not _in_paths(path, reach) for path in units.values()):
        raise PermissionDenied(gettext("You may change only the targets of the units and people you manage."))
    periods: dict[tuple, set[int]] = {}
    for _unit, person_id, kind, start, _product in by_key:
        if person_id is not None:
            periods.setdefault((start, period_end(kind, start)), set()).add(person_id)
    for (start, end), ids in periods.items():
        ok = set(
            Person.objects.filter(pk__in=ids)
            .filter(reach.people_q("pk", on=start, until=end))
            .values_list("pk", flat=True)
        )
        if ids - ok:
            raise PermissionDenied(
                gettext("You may change only the targets of the units and people you manage.")
            )
    if any("target" not in edit.values for edit in by_key.values()):
        raise DomainError(_("Type the target of a cell before its floor, stretch or lock."))


def _key_q(by_key: dict[tuple, _Edit]) -> Q:
    q = Q(pk__in=[])
    for unit_id, person_id, kind, start, product_id in by_key:
        q |= Q(
            unit_id=unit_id, person_id=person_id, period_kind=kind, period_start=start, product_id=product_id
        )
    return q


def _existing_keys(scenario: Scenario, by_key: dict[tuple, _Edit]) -> dict[tuple, TargetCell]:
    """Cells created by someone else since the grid was read, under the keys about to be created."""
    if not by_key:
        return {}
    found = TargetCell.objects.filter(scenario=scenario, region__isnull=True, segment__isnull=True).filter(
        _key_q(by_key)
    )
    return {(c.unit_id, c.person_id, c.period_kind, c.period_start, c.product_id): c for c in found}


def _update(plan: Plan, cell: TargetCell, edit: _Edit) -> tuple[TargetCell, bool]:
    """The cell with the edit applied by a conditional UPDATE on the version read, and whether
    anything changed (an edit that repeats the stored values writes nothing)."""
    values = dict(edit.values)
    if cell.locked and values and edit.locked is not False:
        raise DomainError(_("A locked cell keeps its value: unlock it first."))
    if "target" in values:
        for level, value in _follow(plan, values["target"]).items():
            values.setdefault(level, value)
    fields = {**values}
    if edit.locked is not None:
        fields["locked"] = edit.locked
    if values:
        fields["source"] = TargetCell.Source.MANUAL
    if all(getattr(cell, name) == value for name, value in fields.items()):
        return cell, False
    done = TargetCell.objects.filter(pk=cell.pk, version=edit.version).update(
        version=F("version") + 1, **fields
    )
    if not done:
        raise Conflict([_clash(edit, TargetCell.objects.filter(pk=cell.pk).first())])
    for name, value in fields.items():
        setattr(cell, name, value)
    cell.version = edit.version + 1
    return cell, True


def _follow(plan: Plan, target: int) -> dict[str, int]:
    """Floor and stretch that follow the target by the plan's factors (only those it has)."""
    from salestarget.targets.services import levels_of

    return {level: value for level, value in levels_of(plan, target).items() if value is not None}


def _create(scenario: Scenario, plan: Plan, by_key: dict[tuple, _Edit]) -> list[TargetCell]:
    new = []
    for (unit_id, person_id, kind, start, product_id), edit in by_key.items():
        values = {**_follow(plan, edit.values["target"]), **edit.values}
        new.append(
            TargetCell(
                scenario=scenario,
                unit_id=unit_id,
                person_id=person_id,
                period_kind=kind,
                period_start=start,
                product_id=product_id,
                locked=bool(edit.locked),
                source=TargetCell.Source.MANUAL,
                **values,
            )
        )
    if not new:
        return []
    try:
        with transaction.atomic():
            return TargetCell.objects.bulk_create(new)
    except IntegrityError:
        taken = _existing_keys(scenario, by_key)
        raise Conflict([_clash(edit, taken.get(k)) for k, edit in by_key.items()]) from None


def _key_out(change: CellChange) -> dict:
    return {
        "unit_id": change.unit_id,
        "person_id": change.person_id,
        "period_kind": change.period_kind,
        "period_start": change.period_start.isoformat() if change.period_start else None,
        "product_id": change.product_id,
    }


def cell_key_out(cell: TargetCell) -> dict:
    """A cell's key as the API names it: a person's cell names no unit."""
    return {
        "unit_id": None if cell.person_id else cell.unit_id,
        "person_id": cell.person_id,
        "period_kind": cell.period_kind,
        "period_start": cell.period_start.isoformat(),
        "product_id": cell.product_id,
    }


def _saved_out(cell: TargetCell) -> dict:
    return {**cell_out(cell), **cell_key_out(cell)}
