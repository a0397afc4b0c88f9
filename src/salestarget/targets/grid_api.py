"""The target grid over the API: read a node's grid, save edits with optimistic locking.

The page (``targets/grid.js``) uses these two operations; so can a script. A stale version is a
409 whose body is an ``ErrorOut`` plus ``cells``: each refused cell as it now stands and what was
sent, so the caller can show both and lose nothing.
"""

from __future__ import annotations

from typing import Any, Literal

from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema, Status

from salestarget.core.api_contract import MAX_AMOUNT, BodyIn, ErrorOut, Id, IsoDate, QueryIn, Whole, responses
from salestarget.targets import grid as grids

router = Router(tags=["targets"])

MAX_CHANGES = 1000
Version = Whole(1, 2**31 - 1)


class GridQuery(QueryIn):
    scenario_id: Id | None = Field(None, description="the plan's primary scenario by default")
    unit_id: Id | None = Field(None, description="the node: the topmost unit you may see by default")
    product_id: Id | None = Field(None, description="one product line, for plans by product line")


class CellChangeIn(BodyIn):
    """A stored cell by ``id`` and the ``version`` read, or a new one by its key."""

    id: Id | None = None
    version: Version | None = None
    unit_id: Id | None = None
    person_id: Id | None = None
    period_kind: Literal["year", "half", "quarter", "month"] | None = None
    period_start: IsoDate | None = None
    product_id: Id | None = None
    field: Literal["target", "floor", "stretch"] | None = Field(None, description="the level set by value")
    value: Whole(0, MAX_AMOUNT, description="the metric's minor units (fen)") | None = Field(
        None, description="None empties floor or stretch"
    )
    locked: bool | None = None


class CellsIn(BodyIn):
    scenario_id: Id | None = Field(None, description="the plan's primary scenario by default")
    changes: list[CellChangeIn] = Field(max_length=MAX_CHANGES)


class GridCellOut(Schema):
    id: int | None
    version: int | None
    locked: bool | None
    source: str | None
    target: int | None
    floor: int | None
    stretch: int | None


class SavedCellOut(GridCellOut):
    unit_id: int | None
    person_id: int | None
    period_kind: str
    period_start: str
    product_id: int | None


class SavedOut(Schema):
    cells: list[SavedCellOut]


class ClashOut(Schema):
    id: int | None = Field(description="the stored cell named, or None for a new one")
    key: dict[str, Any] | None = Field(description="the new cell's key")
    current: GridCellOut | None = Field(description="the cell as it now stands; None when deleted")
    yours: dict[str, Any] = Field(description="what was sent for it")


class ConflictOut(ErrorOut):
    cells: list[ClashOut] = Field(default_factory=list)


def _scenario(request, plan_id: int, scenario_id: int | None):
    from salestarget.targets.models import Plan, Scenario

    plan = get_object_or_404(Plan.objects.restrict(request.user).select_related("metric"), pk=plan_id)
    scenarios = Scenario.objects.filter(plan=plan).select_related("plan__metric")
    if scenario_id is None:
        return get_object_or_404(scenarios, is_primary=True)
    return get_object_or_404(scenarios, pk=scenario_id)


@router.get("/plans/{plan_id}/grid", response=responses(dict[str, Any], 404, 422))
def get_plan_grid(request, plan_id: Id, q: Query[GridQuery]):
    """A node's grid: the node and its sub-units and people × the plan's period and months, with
    floor, target and stretch (fen for money), each cell's id, version, lock and source, the
    rows' totals and, per column, the children's sum and whether it differs from the node's.
    Only cells you may see; ``editable`` per row when you may change it and the plan is a draft.
    In a draft's primary scenario each row also carries its team ``commitment`` (团队共创: amount,
    note, decision, and ``may``: whether you may commit for it)."""
    from salestarget.catalog.models import Product
    from salestarget.org.models import OrgUnit

    scenario = _scenario(request, plan_id, q.scenario_id)
    if q.unit_id is None:
        unit = grids.default_node(request.user)
        if unit is None:
            from django.http import Http404

            raise Http404
    else:
        unit = get_object_or_404(OrgUnit.objects.restrict(request.user), pk=q.unit_id)
    product = None if q.product_id is None else get_object_or_404(Product.objects.all(), pk=q.product_id)
    return grids.grid(request.user, scenario, unit, product=product)


@router.post(
    "/plans/{plan_id}/cells", response={**responses(SavedOut, 400, 403, 404, 413, 422), 409: ConflictOut}
)
def save_plan_cells(request, plan_id: Id, body: CellsIn):
    """Save up to 1,000 edits of a draft plan's cells, all or none. A stored cell is named by id and
    the version read; a cell not stored yet by its key. A version that is no longer current is a
    409 with each refused cell as it now stands (``cells``): nothing is saved."""
    scenario = _scenario(request, plan_id, body.scenario_id)
    changes = [grids.CellChange(**change.model_dump()) for change in body.changes]
    try:
        saved = grids.do_save_cells(request.user, scenario, changes)
    except grids.Conflict as exc:
        return Status(409, {"detail": str(exc), "errors": [], "cells": exc.cells})
    return {"cells": saved}
