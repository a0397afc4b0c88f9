"""Target recommendations over the API: the same service as the web page, as JSON.

GET takes everything as query parameters so a recommendation is a shareable URL; POST takes
the same fields as a JSON body for clients that build adjustments programmatically. The
adjustments' parameters are generated from their schema (``targets.adjustments.SPECS``).
A refused request (``DomainError``) is a 400 through the API's one handler.
"""

from __future__ import annotations

from typing import Annotated, Any

from ninja import Field, Query, Router
from ninja.errors import HttpError
from pydantic import ConfigDict, StringConstraints, create_model

from salestarget.core.api_contract import Amount, Bool, Id, IsoDate, QueryIn, Whole, responses
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
