"""A scenario's decomposition over the API: preview it, run it as a background job and follow
the job, and the explanation of any cell ("why is my target this number?").

The body is the wizard's rules (``targets.decomposition.Rules``): the schema bounds each value,
``Rules.from_json`` checks what they mean together (a 400 naming the level and the value).
Preview and run are for those who plan the whole organisation (403 otherwise); a run's state
is as visible as the plan (its warnings only to planners: they name units and figures); an
explanation as visible as its cell.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema, Status

from salestarget.core.api_contract import BodyIn, Id, IsoDate, Whole, responses
from salestarget.engine.defaults import DEFAULT_RAMP, DEFAULT_TIER_MULTIPLIERS

router = Router(tags=["targets"])

Weight = Annotated[float, Field(ge=0, le=1000, allow_inf_nan=False)]
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Multiplier = Annotated[float, Field(ge=0, le=10, allow_inf_nan=False)]
Percent = Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]
Tier = Literal["A", "B", "C", "D"]


class LevelRuleIn(BodyIn):
    depth: Whole(1, 20, description="1: the units below the company; people sit one below their unit")
    method: Literal["history", "capability", "even", "growth"] = "history"
    years: Whole(1, 5, description="history and growth: fiscal years of history") = 3
    recency: list[Weight] = Field(
        default_factory=list, max_length=5, description="one weight per year, oldest first; empty: equal"
    )
    min_share: Annotated[float, Field(gt=0, lt=1, allow_inf_nan=False)] | None = Field(
        0.5, description="history: share of the average share for those without history; null: none"
    )
    growth_bp: Whole(-9999, 100000, description="growth: basis points, 1000 = +10%") = 0
    ramp: list[Fraction] = Field(
        default_factory=lambda: list(DEFAULT_RAMP),
        min_length=1,
        max_length=24,
        description="capability: share of a full target in each month after joining",
    )
    tiers: dict[Tier, Multiplier] = Field(
        default_factory=lambda: dict(DEFAULT_TIER_MULTIPLIERS), description="capability: multiplier per tier"
    )


class VacancyIn(BodyIn):
    unit_id: Id
    start: IsoDate
    tier: Tier = "B"


class DecompositionRulesIn(BodyIn):
    levels: list[LevelRuleIn] = Field(default_factory=list, max_length=20)
    months: Literal["seasonality", "even", "profile"] = "seasonality"
    month_years: Whole(1, 5) = 3
    profile: list[Percent] = Field(
        default_factory=list, max_length=12, description="profile: one percentage per month, adding up to 100"
    )
    weeks: bool = False
    products: Literal["history", "even"] = "history"
    product_years: Whole(1, 5) = 2
    vacancies: list[VacancyIn] = Field(default_factory=list, max_length=200)


class PreviewRowOut(Schema):
    key: str = Field(description="u<unit id> or p<person id>")
    name: str
    depth: int
    value: int = Field(description="the metric's minor units (fen for money)")


class PreviewMonthOut(Schema):
    start: str
    label: str
    value: int


class DecompositionPreviewOut(Schema):
    total: int
    rows: list[PreviewRowOut]
    months: list[PreviewMonthOut]
    month_text: str
    product_text: str
    explanations: list[dict[str, str]]
    warnings: list[str]
    people: int
    cells_kept: int = Field(description="locked or hand-set cells a run keeps")


class DecompositionStartedOut(Schema):
    job_id: str
    scenario_id: int
    status: str


class DecompositionRunOut(Schema):
    scenario_id: int
    job_id: str | None
    status: Literal["none", "queued", "running", "done", "failed"]
    phase: str = Field(description="history, organisation, months, weeks, writing, done")
    done: int
    total: int | None
    percent: int | None
    result: dict[str, Any] | None = Field(
        description="done: cells_written, cells_kept, people, units, warnings"
    )
    reason: str | None = Field(description="failed: why")


class WhyStepOut(Schema):
    title: str
    text: str


class WhyOut(Schema):
    cell_id: int
    scenario_id: int
    unit_id: int | None
    person_id: int | None
    period_kind: str
    period_start: str
    period_end: str
    product_id: int | None
    target: int
    steps: list[WhyStepOut]


def _scenario(request, plan_id: int, scenario_id: int):
    from salestarget.targets.models import Plan, Scenario

    plan = get_object_or_404(Plan.objects.restrict(request.user), pk=plan_id)
    return get_object_or_404(Scenario.objects.select_related("plan__metric"), plan=plan, pk=scenario_id)


def _planner(request) -> None:
    from django.core.exceptions import PermissionDenied
    from django.utils.translation import gettext

    from salestarget.targets.services import may_plan

    if not may_plan(request.user):
        raise PermissionDenied(
            gettext("Only those who look after the whole organisation may decompose a plan.")
        )


def _rules(body: DecompositionRulesIn):
    from salestarget.targets.decomposition import Rules

    return Rules.from_json(body.model_dump(mode="json"))


@router.post(
    "/plans/{plan_id}/scenarios/{scenario_id}/preview",
    response=responses(DecompositionPreviewOut, 400, 403, 404, 413, 422),
)
def preview_decomposition(request, plan_id: Id, scenario_id: Id, body: DecompositionRulesIn):
    """What a run with these rules would make, writing nothing: the company's months, the values
    of the units two levels down with each split's explanation in the request's language, the
    warnings, and how many locked or hand-set cells a run keeps."""
    from salestarget.targets import decomposition
    from salestarget.targets.labels import lang

    scenario = _scenario(request, plan_id, scenario_id)
    _planner(request)
    return decomposition.preview(request.user, scenario, _rules(body), lang=lang(), depth=2)


@router.post(
    "/plans/{plan_id}/scenarios/{scenario_id}/decompose",
    response={
        202: DecompositionStartedOut,
        **{k: v for k, v in responses(None, 400, 403, 404, 413, 422).items() if k != 200},
    },
)
def start_decomposition(request, plan_id: Id, scenario_id: Id, body: DecompositionRulesIn):
    """Decompose the scenario by these rules in the background (a draft plan with its company
    total set): 202 with the job's id; follow it at ``…/decomposition``. Locked and hand-set
    cells keep their values."""
    from salestarget.targets import decomposition

    scenario = _scenario(request, plan_id, scenario_id)
    _planner(request)
    job_id = decomposition.do_start_decomposition(request.user, scenario, _rules(body))
    return Status(202, {"job_id": job_id, "scenario_id": scenario.pk, "status": "queued"})


@router.get(
    "/plans/{plan_id}/scenarios/{scenario_id}/decomposition",
    response=responses(DecompositionRunOut, 404, 422),
)
def get_decomposition(request, plan_id: Id, scenario_id: Id):
    """The scenario's last run: queued, running (phase, done of total), done (its counts) or
    failed (why); ``none`` before the first."""
    from salestarget.targets.services import may_plan
    from salestarget.targets.wizard_views import job_state

    scenario = _scenario(request, plan_id, scenario_id)
    job = job_state(scenario)
    bar = job.get("progress") or {}
    result = job.get("result")
    if result is not None and not may_plan(request.user):
        result = {k: v for k, v in result.items() if k != "warnings"}
    return {
        "scenario_id": scenario.pk,
        "job_id": scenario.job_id or None,
        "status": job["state"],
        "phase": bar.get("phase") or "",
        "done": bar.get("done") or 0,
        "total": bar.get("total"),
        "percent": bar.get("percent"),
        "result": result,
        "reason": job.get("reason"),
    }


@router.get("/cells/{cell_id}/why", response=responses(WhyOut, 400, 404, 422))
def explain_cell(request, cell_id: Id):
    """Why a target is this number: the chain from the company total to the cell, one step per
    level (method, inputs, weights, adjustments), then its months, product line or week, in the
    request's language. Only cells you may see (404 otherwise); a 400 when the cell's scenario
    has no company total to start from."""
    from salestarget.targets import decomposition
    from salestarget.targets.labels import lang
    from salestarget.targets.models import TargetCell

    cell = get_object_or_404(
        TargetCell.objects.restrict(request.user).select_related("scenario__plan__metric"), pk=cell_id
    )
    return {
        "cell_id": cell.pk,
        "scenario_id": cell.scenario_id,
        "unit_id": cell.unit_id,
        "person_id": cell.person_id,
        "period_kind": cell.period_kind,
        "period_start": cell.period_start.isoformat(),
        "period_end": cell.period_end.isoformat(),
        "product_id": cell.product_id,
        "target": cell.target,
        "steps": decomposition.why(request.user, cell, lang()),
    }
