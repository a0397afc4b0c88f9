"""Target recommendations over the API: the same service as the web page, as JSON.

GET takes everything as query parameters so a recommendation is a shareable URL; POST takes
the same fields as a JSON body for clients that build adjustments programmatically.
"""

from __future__ import annotations

from typing import Annotated, Any

from ninja import Field, Query, Router
from ninja.errors import HttpError
from pydantic import ConfigDict, StringConstraints

from salestarget.core.api_contract import (
    MAX_AMOUNT,
    Amount,
    Bool,
    Count,
    Id,
    IsoDate,
    QueryIn,
    Whole,
    responses,
)
from salestarget.targets import recommend as service

router = Router(tags=["targets"])


# The service's own range of fiscal years (recommend.resolve_period).
Year = Whole(2000, 2100, description="fiscal year")
# A metric code (Metric.code is a slug).
MetricCode = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^[-a-zA-Z0-9_]+$")]
# A change in percent: above -100 (nothing left to sell) and at most tenfold growth.
Percent = Annotated[float, Field(gt=-100, le=1000, allow_inf_nan=False, description="percent")]
PerMonth = Whole(0, MAX_AMOUNT, description="fen per month")


class RecommendationQuery(QueryIn):
    unit_id: Id | None = None
    person_id: Id | None = None
    product_id: Id | None = None
    region_id: Id | None = None
    year: Year | None = Field(None, description="fiscal year; next year by default")
    half: Whole(1, 2) | None = None
    quarter: Whole(1, 4) | None = None
    month: Whole(1, 12) | None = None
    p: float = Field(
        service.DEFAULT_P, gt=0, lt=1, allow_inf_nan=False, description="chance of reaching the target"
    )
    metric: MetricCode = "sales"
    target: Amount | None = Field(None, description="fen: also give the chance of reaching this")
    growth_pct: Percent = 0.0
    price_pct: Percent = 0.0
    new_business: Amount = 0
    hires: Count = 0
    hire_month: IsoDate | None = None
    hire_productivity: PerMonth = 0
    ramp_months: Whole(1, 120) = service.DEFAULT_RAMP_MONTHS
    departures: Count = 0
    departure_month: IsoDate | None = None
    departure_productivity: PerMonth | None = None
    bottom_up: Bool = True


class RecommendationIn(RecommendationQuery):
    """The same fields as a JSON object, each of its documented type."""

    model_config = ConfigDict(strict=True)


class BacktestQuery(QueryIn):
    year: Year | None = Field(None, description="a fiscal year that has ended; the last one by default")
    level: Annotated[str, StringConstraints(pattern=r"^(rep|[0-9]{1,2})$")] = Field(
        "rep", description='"rep", or a unit depth: 0 the company, 1 its regions…'
    )
    metric: MetricCode = "sales"


def _recommendation(request, q: RecommendationQuery) -> dict:
    try:
        scope = service.resolve_scope(
            request.user,
            unit_id=q.unit_id,
            person_id=q.person_id,
            product_id=q.product_id,
            region_id=q.region_id,
        )
    except service.ScopeNotVisible as exc:
        raise HttpError(404, str(exc)) from exc
    try:
        period = service.resolve_period(service.fiscal_calendar(), q.year, q.quarter, q.month, half=q.half)
        adjustments = service.Adjustments(
            growth_pct=q.growth_pct,
            price_pct=q.price_pct,
            new_business=q.new_business,
            hires=q.hires,
            hire_month=q.hire_month,
            hire_productivity=q.hire_productivity,
            ramp_months=q.ramp_months,
            departures=q.departures,
            departure_month=q.departure_month,
            departure_productivity=q.departure_productivity,
        )
        rec = service.recommend(
            request.user, scope, period, q.p, adjustments, metric=q.metric, bottom_up=q.bottom_up
        )
    except ValueError as exc:
        raise HttpError(400, str(exc)) from exc
    data = rec.to_dict()
    if q.target is not None:
        data["target"] = {"target": q.target, "probability": rec.probability_of(q.target)}
    return data


@router.get("/recommendations", response=responses(dict[str, Any], 400, 404, 422))
def get_recommendation(request, q: Query[RecommendationQuery]):
    """Recommended target for a scope and period reached with probability ``p``; amounts in fen.

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
    MAE/WAPE against "last year + 10%" and SeasonalNaive, and calibration of the targets."""
    year = q.year if q.year is not None else service.last_complete_year()
    try:
        result = service.backtest(request.user, year, q.level, metric=q.metric)
    except ValueError as exc:
        raise HttpError(400, str(exc)) from exc
    return result.to_dict()
