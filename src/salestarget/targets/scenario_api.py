"""A plan's scenarios over the API: list, create (empty or a copy), rename, delete, promote, and
the side-by-side comparison the page draws. Writes go through ``targets.scenarios`` (403 for
those who do not plan the whole organisation, 400 for what the caller can fix); the comparison
holds only the cells ``restrict`` lets the caller see."""

from __future__ import annotations

import datetime as dt

from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema

from salestarget.core.api_contract import BodyIn, Id, QueryIn, Text, responses
from salestarget.targets import scenarios as service

router = Router(tags=["targets"])


class ScenarioIn(BodyIn):
    name: Text(service.MAX_NAME, 1)
    copy_from: Id | None = Field(
        None, description="a scenario of the same plan whose cells, rules and splits to copy"
    )


class RenameIn(BodyIn):
    name: Text(service.MAX_NAME, 1)


class ScenarioOut(Schema):
    id: int
    plan_id: int
    name: str
    is_primary: bool = Field(description="the primary scenario is the plan")
    decomposed_at: dt.datetime | None
    total: int | None = Field(description="the company's target over the plan's period, if you may see it")


class DeletedOut(Schema):
    id: int
    deleted: bool


class CompareQuery(QueryIn):
    scenario_ids: list[Id] = Field(
        default_factory=list,
        max_length=service.MAX_SCENARIOS,
        description="the scenarios in the order to show, the first the base of the differences; "
        "every scenario of the plan, the primary first, when none is given",
    )
    unit_id: Id | None = Field(None, description="the unit whose children to compare; the company by default")


class DifferenceOut(Schema):
    amount: int | None
    percent: float | None = Field(description="of the base, one decimal; null when the base is 0")


class FiguresOut(Schema):
    values: list[int | None] = Field(description="one per scenario, in the metric's minor units (fen)")
    differences: list[DifferenceOut] = Field(description="each scenario after the first against the first")


class RowOut(FiguresOut):
    kind: str = Field(description='"unit" or "person"')
    id: int
    code: str
    name: str
    drill: bool = Field(description="a unit: compare its own children with unit_id")


class MonthOut(Schema):
    start: dt.date
    values: list[int | None]


class CompareOut(Schema):
    plan: dict[str, int | str]
    node: dict[str, int | str | None]
    scenarios: list[dict[str, int | str | bool]]
    total: FiguresOut
    children_sum: FiguresOut
    rows: list[RowOut]
    months: list[MonthOut]


def _plan(request, plan_id: int):
    from salestarget.targets.models import Plan

    return get_object_or_404(Plan.objects.restrict(request.user).select_related("metric"), pk=plan_id)


def _scenario(request, scenario_id: int):
    from salestarget.targets.models import Scenario

    return get_object_or_404(Scenario.objects.restrict(request.user).select_related("plan"), pk=scenario_id)


def _out(request, scenarios) -> list[dict]:
    from salestarget.targets.models import TargetCell

    scenarios = list(scenarios)
    totals: dict[int, int] = {}
    for scenario in scenarios:
        plan = scenario.plan
        cell = (
            TargetCell.objects.restrict(request.user)
            .filter(plan.total_cell, scenario=scenario)
            .values_list("target", flat=True)
            .first()
        )
        if cell is not None:
            totals[scenario.pk] = cell
    return [
        {
            "id": s.pk,
            "plan_id": s.plan_id,
            "name": s.name,
            "is_primary": s.is_primary,
            "decomposed_at": s.decomposed_at,
            "total": totals.get(s.pk),
        }
        for s in scenarios
    ]


@router.get("/plans/{plan_id}/scenarios", response=responses(list[ScenarioOut], 404, 422))
def list_scenarios(request, plan_id: Id):
    """The plan's scenarios, the primary (the plan itself) first."""
    plan = _plan(request, plan_id)
    return _out(request, plan.scenarios.select_related("plan"))


@router.post("/plans/{plan_id}/scenarios", response=responses(ScenarioOut, 400, 403, 404, 413, 422))
def create_scenario(request, plan_id: Id, body: ScenarioIn):
    """A new scenario, empty or a copy of ``copy_from`` (cells, rules and splits); names are
    unique within a plan, which holds at most 10 scenarios."""
    plan = _plan(request, plan_id)
    source = None
    if body.copy_from is not None:
        source = get_object_or_404(plan.scenarios.all(), pk=body.copy_from)
    scenario = service.do_create_scenario(request.user, plan, name=body.name, copy_from=source)
    return _out(request, [scenario])[0]


@router.patch("/scenarios/{scenario_id}", response=responses(ScenarioOut, 400, 403, 404, 413, 422))
def rename_scenario(request, scenario_id: Id, body: RenameIn):
    scenario = service.do_rename_scenario(request.user, _scenario(request, scenario_id), name=body.name)
    return _out(request, [scenario])[0]


@router.delete("/scenarios/{scenario_id}", response=responses(DeletedOut, 400, 403, 404, 422))
def delete_scenario(request, scenario_id: Id):
    """Delete a what-if scenario and its cells; the primary scenario cannot be deleted (400)."""
    scenario = _scenario(request, scenario_id)
    service.do_delete_scenario(request.user, scenario)
    return {"id": scenario_id, "deleted": True}


@router.post("/scenarios/{scenario_id}/promote", response=responses(ScenarioOut, 400, 403, 404, 413, 422))
def promote_scenario(request, scenario_id: Id):
    """Make the scenario the plan (draft plans only: a plan in force changes through change
    requests); the former primary stays as an ordinary scenario."""
    scenario = service.do_promote_scenario(request.user, _scenario(request, scenario_id))
    return _out(request, [scenario])[0]


@router.get("/plans/{plan_id}/compare", response=responses(CompareOut, 400, 404, 422))
def compare_scenarios(request, plan_id: Id, q: Query[CompareQuery]):
    """Year targets of a unit and its children (sub-units and the people who were its members
    during the plan's period) per scenario, the unit's months, and each scenario's difference
    from the first. Only cells you may see; a scenario of another plan, or a unit you may not
    see, is a 404."""
    from salestarget.org.models import OrgUnit

    plan = _plan(request, plan_id)
    every = {s.pk: s for s in plan.scenarios.all()}
    ids = list(dict.fromkeys(q.scenario_ids))
    if any(pk not in every for pk in ids):
        from django.http import Http404

        raise Http404
    chosen = [every[pk] for pk in ids] or list(every.values())[: service.MAX_SCENARIOS]
    if q.unit_id is not None:
        unit = get_object_or_404(OrgUnit.objects.restrict(request.user), pk=q.unit_id)
    else:
        unit = service.default_unit(request.user)
    return service.compare(request.user, plan, chosen, unit=unit)
