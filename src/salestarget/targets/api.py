"""Target recommendations over the API: the same service as the web page, as JSON.

GET takes everything as query parameters so a recommendation is a shareable URL; POST takes
the same fields as a JSON body for clients that build adjustments programmatically.
"""

from __future__ import annotations

import datetime as dt

from ninja import Query, Router, Schema
from ninja.errors import HttpError

from salestarget.targets import recommend as service

router = Router(tags=["targets"])


class RecommendationQuery(Schema):
    unit_id: int | None = None
    person_id: int | None = None
    product_id: int | None = None
    region_id: int | None = None
    year: int | None = None
    half: int | None = None
    quarter: int | None = None
    month: int | None = None
    p: float = service.DEFAULT_P
    metric: str = "sales"
    target: int | None = None
    growth_pct: float = 0.0
    price_pct: float = 0.0
    new_business: int = 0
    hires: int = 0
    hire_month: dt.date | None = None
    hire_productivity: int = 0
    ramp_months: int = service.DEFAULT_RAMP_MONTHS
    departures: int = 0
    departure_month: dt.date | None = None
    departure_productivity: int | None = None
    bottom_up: bool = True


class BacktestQuery(Schema):
    year: int | None = None
    level: str = "rep"
    metric: str = "sales"


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


@router.get("/recommendations")
def get_recommendation(request, q: Query[RecommendationQuery]):
    """Recommended target for a scope and period reached with probability ``p``; amounts in fen.

    With ``target`` given, also its chance of being reached. A unit or person you may not see
    is a 404.
    """
    return _recommendation(request, q)


@router.post("/recommendations")
def post_recommendation(request, body: RecommendationQuery):
    """The same as GET, with the parameters as a JSON body."""
    return _recommendation(request, body)


@router.get("/recommendations/backtest")
def get_backtest(request, q: Query[BacktestQuery]):
    """Replay a past fiscal year (the last complete one by default) per rep or per unit level:
    MAE/WAPE against "last year + 10%" and SeasonalNaive, and calibration of the targets."""
    year = q.year if q.year is not None else service.last_complete_year()
    try:
        result = service.backtest(request.user, year, q.level, metric=q.metric)
    except ValueError as exc:
        raise HttpError(400, str(exc)) from exc
    return result.to_dict()
