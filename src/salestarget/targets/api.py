"""Target recommendations over the API: the same service as the web page, as JSON.

GET takes everything as query parameters so a recommendation is a shareable URL; POST takes
the same fields as a JSON body for clients that build adjustments programmatically. The
adjustments' parameters are generated from their schema (``targets.adjustments.SPECS``).
A refused request (``DomainError``) is a 400 through the API's one handler.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError
from pydantic import ConfigDict, StringConstraints, create_model

from salestarget.core.api_contract import Amount, BodyIn, Bool, Id, IsoDate, QueryIn, Text, Whole, responses
from salestarget.metrics.selectors import fiscal_calendar
from salestarget.targets.adjustments import (
    AMOUNT,
    COUNT,
    DEFAULT_P,
    PER_MONTH,
    PERCENT,
    SPECS,
    Adjustments,
    Spec,
)
from salestarget.targets.scope import ScopeNotVisible, last_complete_year, resolve_period, resolve_scope

router = Router(tags=["targets"])


# The service's own range of fiscal years (scope.resolve_period).
Year = Whole(2000, 2100, description="fiscal year")
# A metric code (Metric.code is a slug).
MetricCode = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^[-a-zA-Z0-9_]+$")]
UNITS = {PERCENT: "percent", AMOUNT: "fen", PER_MONTH: "fen per month"}


def _parameter(spec: Spec) -> tuple[Any, Any]:
    """(type, default) of one adjustment's parameter, its bounds from the schema."""
    if spec.kind == PERCENT:
        kind = Annotated[
            float,
            Field(gt=spec.gt, ge=spec.ge, le=spec.le, allow_inf_nan=False, description=UNITS[spec.kind]),
        ]
    elif spec.kind in (AMOUNT, PER_MONTH):
        kind = Whole(spec.ge, spec.le, description=UNITS[spec.kind])
    elif spec.kind == COUNT:
        kind = Whole(spec.ge, spec.le)
    else:
        kind = IsoDate
    return (kind | None if spec.default is None else kind), spec.default


class _Recommendation(QueryIn):
    unit_id: Id | None = None
    person_id: Id | None = None
    product_id: Id | None = None
    region_id: Id | None = None
    year: Year | None = Field(None, description="fiscal year; next year by default")
    half: Whole(1, 2) | None = None
    quarter: Whole(1, 4) | None = None
    month: Whole(1, 12) | None = None
    p: float = Field(DEFAULT_P, gt=0, lt=1, allow_inf_nan=False, description="chance of reaching the target")
    metric: MetricCode = "sales"
    target: Amount | None = Field(None, description="fen: also give the chance of reaching this")
    bottom_up: Bool = True


RecommendationQuery = create_model(
    "RecommendationQuery",
    __base__=_Recommendation,
    __module__=__name__,
    **{spec.name: _parameter(spec) for spec in SPECS},
)


class RecommendationIn(RecommendationQuery):
    """The same fields as a JSON object, each of its documented type."""

    model_config = ConfigDict(strict=True)


class BacktestQuery(QueryIn):
    year: Year | None = Field(None, description="a fiscal year that has ended; the last one by default")
    level: Annotated[str, StringConstraints(pattern=r"^(rep|unit|company|region|[0-9]{1,2})$")] = Field(
        "rep",
        description='"rep"; "unit" (the lowest units you may see); "company" or "region" (depth 0 or 1); '
        "or a unit depth: 0 the company, 1 its regions…",
    )
    metric: MetricCode = "sales"


def _recommendation(request, q: RecommendationQuery) -> dict:
    try:
        scope = resolve_scope(
            request.user,
            unit_id=q.unit_id,
            person_id=q.person_id,
            product_id=q.product_id,
            region_id=q.region_id,
        )
    except ScopeNotVisible as exc:
        raise HttpError(404, str(exc)) from exc
    period = resolve_period(fiscal_calendar(), q.year, q.quarter, q.month, half=q.half)
    adjustments = Adjustments.from_values({spec.name: getattr(q, spec.name) for spec in SPECS})
    from salestarget.targets import stored  # the forecast engine, loaded when first asked
    from salestarget.targets.plain import summary

    rec = stored.recommend(
        request.user, scope, period, q.p, adjustments, metric=q.metric, bottom_up=q.bottom_up
    )
    data = rec.to_dict()
    # The technical fields stay for analysts and scripts; ``summary`` is what a person reads.
    data["summary"] = str(summary(rec))
    if q.target is not None:
        data["target"] = {"target": q.target, "probability": rec.probability_of(q.target)}
    return data


@router.get("/recommendations", response=responses(dict[str, Any], 400, 404, 422))
def get_recommendation(request, q: Query[RecommendationQuery]):
    """Recommended target for a scope and period reached with probability ``p``; amounts in fen.

    ``summary`` says in plain words, in the request's language, how far off the method was over
    its backtest months and how often the recommended target is reached.

    With ``target`` given, also its chance of being reached. A unit or person you may not see
    is a 404.
    """
    return _recommendation(request, q)


@router.post("/recommendations", response=responses(dict[str, Any], 400, 403, 404, 413, 422))
def post_recommendation(request, body: RecommendationIn):
    """The same as GET, with the parameters as a JSON body."""
    return _recommendation(request, body)


@router.get("/recommendations/backtest", response=responses(dict[str, Any], 400, 422))
def get_backtest(request, q: Query[BacktestQuery]):
    """Replay a past fiscal year (the last complete one by default) per rep or per unit level:
    MAE/WAPE against "last year + 10%" and SeasonalNaive, and calibration of the targets.

    Where the data end before the year does, only the months with actuals are compared:
    ``months_compared`` < 12, ``complete`` false and a ``note``; with fewer than 3 such months
    the request is refused (400)."""
    year = q.year if q.year is not None else last_complete_year()
    from salestarget.targets.backtest import backtest

    return backtest(request.user, year, q.level, metric=q.metric).to_dict()


# --------------------------------------------------------------------------- plans


class PlanLevelIO(BodyIn):
    depth: Whole(0, 20)
    rounding_unit: Whole(1, 10**15) = 1
    over_assignment_bp: Whole(0, 10000) = 0


class PlanIn(BodyIn):
    metric: MetricCode = "sales"
    year: Year
    half: Whole(1, 2) | None = None
    quarter: Whole(1, 4) | None = None
    name: Text(100) = ""
    by_product: bool = False
    by_region: bool = False
    by_segment: bool = False
    floor_factor: Annotated[str, StringConstraints(pattern=r"^\d{1,2}(\.\d{1,4})?$")] | None = Field(
        None, description="e.g. 0.9"
    )
    stretch_factor: Annotated[str, StringConstraints(pattern=r"^\d{1,2}(\.\d{1,4})?$")] | None = Field(
        None, description="e.g. 1.2"
    )
    levels: list[PlanLevelIO] = Field(default_factory=list, max_length=21)


class TotalIn(BodyIn):
    method: Literal["typed", "recommendation", "naive"]
    amount: Whole(0, 10**15) | None = Field(None, description="typed: the metric's minor units (fen)")
    chance: Whole(50, 99) | None = Field(None, description="recommendation: percent")
    growth_bp: Whole(-9999, 100000) | None = Field(None, description="naive: basis points, 1000 = +10%")


class TrackingIn(BodyIn):
    """A plan's tracking lines, in percent of what the plan expected by the date."""

    warning_line_pct: Whole(1, 99) = Field(60, description="pace below it: at risk (预警线)")
    lagging_below_pct: Whole(1, 99) = Field(80, description="pace below it: lagging")
    ahead_above_pct: Whole(101, 1000) = Field(120, description="pace above it: ahead")
    incentive_line_pct: Whole(1, 1000) | None = Field(None, description="achievement at or above it (激励线)")
    ranking: Literal["managers", "everyone"] = Field("managers", description="who sees the leaderboard")


class TrackingOut(Schema):
    warning_line_pct: int
    lagging_below_pct: int
    ahead_above_pct: int
    incentive_line_pct: int | None
    ranking: str


class CellOut(Schema):
    target: int
    floor: int | None
    stretch: int | None


class PlanOut(Schema):
    id: int
    name: str
    metric: str
    period_kind: str
    period_start: dt.date
    period_end: dt.date
    status: str
    by_product: bool
    by_region: bool
    by_segment: bool
    floor_factor: str | None
    stretch_factor: str | None
    levels: list[dict[str, int]]
    total: CellOut | None = Field(description="the whole organisation's target over the period")
    total_method: str
    total_chance: int | None
    total_growth_bp: int | None
    tracking: TrackingOut


def _plan_out(plan) -> dict:
    from salestarget.targets.smart import company_total

    total = company_total(plan)
    return {
        "id": plan.pk,
        "name": plan.name,
        "metric": plan.metric.code,
        "period_kind": plan.period_kind,
        "period_start": plan.period_start,
        "period_end": plan.period_end,
        "status": plan.status,
        "by_product": plan.by_product,
        "by_region": plan.by_region,
        "by_segment": plan.by_segment,
        "floor_factor": None if plan.floor_factor is None else str(plan.floor_factor.normalize()),
        "stretch_factor": None if plan.stretch_factor is None else str(plan.stretch_factor.normalize()),
        "levels": list(plan.levels.values("depth", "rounding_unit", "over_assignment_bp")),
        "total": None
        if total is None
        else {"target": total.target, "floor": total.floor, "stretch": total.stretch},
        "total_method": plan.total_method,
        "total_chance": plan.total_chance,
        "total_growth_bp": plan.total_growth_bp,
        "tracking": {
            "warning_line_pct": plan.warning_line_pct,
            "lagging_below_pct": plan.lagging_below_pct,
            "ahead_above_pct": plan.ahead_above_pct,
            "incentive_line_pct": plan.incentive_line_pct,
            "ranking": plan.ranking,
        },
    }


@router.get("/plans", response=responses(list[PlanOut]))
def list_plans(request):
    """Every plan (everyone working on plans may see that they exist; cells carry the numbers)."""
    from salestarget.targets.models import Plan

    plans = Plan.objects.restrict(request.user).select_related("metric").order_by("-fiscal_year", "pk")
    return [_plan_out(p) for p in plans[:500]]


@router.get("/plans/{plan_id}", response=responses(PlanOut, 404, 422))
def get_plan(request, plan_id: Id):
    from django.shortcuts import get_object_or_404

    from salestarget.targets.models import Plan

    return _plan_out(
        get_object_or_404(Plan.objects.restrict(request.user).select_related("metric"), pk=plan_id)
    )


@router.post("/plans", response=responses(PlanOut, 400, 403, 404, 413, 422))
def create_plan(request, body: PlanIn):
    """A draft plan with its baseline scenario (those who look after the whole organisation)."""
    from decimal import Decimal

    from django.shortcuts import get_object_or_404

    from salestarget.metrics.models import Metric
    from salestarget.targets.services import LevelSpec, do_create_plan

    metric = get_object_or_404(Metric.objects.filter(active=True), code=body.metric)
    period = resolve_period(fiscal_calendar(), body.year, body.quarter, half=body.half)
    plan = do_create_plan(
        request.user,
        metric=metric,
        period=period,
        name=body.name,
        by_product=body.by_product,
        by_region=body.by_region,
        by_segment=body.by_segment,
        floor_factor=None if body.floor_factor is None else Decimal(body.floor_factor),
        stretch_factor=None if body.stretch_factor is None else Decimal(body.stretch_factor),
        levels=[LevelSpec(lv.depth, lv.rounding_unit, lv.over_assignment_bp) for lv in body.levels],
    )
    return _plan_out(plan)


@router.post("/plans/{plan_id}/total", response=responses(PlanOut, 400, 403, 404, 413, 422))
def set_plan_total(request, plan_id: Id, body: TotalIn):
    """The whole organisation's target: typed, the recommendation at a chance, or last year ×
    (1 + growth) (the naive method)."""
    from django.shortcuts import get_object_or_404

    from salestarget.targets.models import Plan
    from salestarget.targets.services import do_set_plan_total

    plan = get_object_or_404(Plan.objects.restrict(request.user).select_related("metric"), pk=plan_id)
    do_set_plan_total(
        request.user,
        plan,
        method=body.method,
        amount=body.amount,
        chance=body.chance,
        growth_bp=body.growth_bp,
    )
    return _plan_out(plan)


@router.post("/plans/{plan_id}/tracking", response=responses(PlanOut, 400, 403, 404, 413, 422))
def set_plan_tracking(request, plan_id: Id, body: TrackingIn):
    """The plan's tracking lines and who sees its leaderboard (those who plan the whole
    organisation; in any status: no target changes)."""
    from django.shortcuts import get_object_or_404

    from salestarget.targets.models import Plan
    from salestarget.targets.services import do_set_tracking

    plan = get_object_or_404(Plan.objects.restrict(request.user).select_related("metric"), pk=plan_id)
    return _plan_out(do_set_tracking(request.user, plan, **body.model_dump()))
