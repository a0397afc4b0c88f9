"""Progress over the API: where a target stands at a date (plan or metric, node, period) with
every figure of ``tracking.progress`` and those of the node's children, scoped like the pages."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema

from salestarget.core.api_contract import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    MAX_OFFSET,
    Id,
    IsoDate,
    QueryIn,
    Text,
    Whole,
    responses,
)
from salestarget.tracking import progress as tracking

router = Router(tags=["tracking"])

Kind = Literal["year", "half", "quarter", "month", "week", "day", "ytd", "qtd", "mtd", "wtd"]
Status = Literal["reached", "ahead", "on_track", "lagging", "at_risk", "not_started", "no_target"]


class ProgressQuery(QueryIn):
    plan: Id | None = Field(
        None, description="the plan; by default the published plan of `metric` in force on `as_of`"
    )
    metric: Text(32, 1) = Field("sales", description="the metric's code, when no plan is given")
    unit: Id | None = Field(None, description="a unit (its whole subtree); or `person`")
    person: Id | None = Field(None, description="a person; neither: the topmost unit you reach, or yourself")
    period: Kind = Field("month", description="the period holding `as_of`; ytd/qtd/mtd/wtd read it to date")
    as_of: IsoDate | None = Field(None, description="the last day counted; yesterday by default")
    product: Id | None = Field(None, description="narrow to a product line (its subtree); its cells' targets")
    region: Id | None = Field(None, description="narrow to a sales region (its subtree); its cells' targets")


class ProgressFiguresOut(Schema):
    actual: int = Field(description="credited by the metric's rule, in its minor units (fen for money)")
    target: int | None
    floor: int | None
    stretch: int | None
    achievement: float | None = Field(description="actual / target")
    gap: int | None = Field(description="target - actual (actual - target when lower is better)")
    time_progress: float = Field(description="elapsed share of the period's working days (or calendar days)")
    expected_share: float = Field(description="share of the target the plan's own months expect by now")
    expected_to_date: int | None
    pace: float | None = Field(description="actual / expected to date")
    run_rate: int | None = Field(description="projection to the period's end at the run-rate so far")
    seasonal: int | None = Field(description="projection by the plan's season")
    projection: int | None = Field(description="the projection the chance is computed around")
    prior: int | None = Field(
        description="what the node's own last 24 months expect of the period: where the projection "
        "starts (null where 12 months of history are not known, the target then stands in, and for "
        "figures to date)"
    )
    chance: float | None = Field(description="probability of reaching the target by the period's end")
    remaining_days: int
    required_per_day: int | None = Field(description="needed per remaining working day")
    status: Status
    incentive: bool = Field(description="achievement at or above the plan's incentive line")
    until: dt.date = Field(description="the last day counted")
    last_year: int = Field(description="the same days a year earlier")
    change_last_year: float | None
    previous: int = Field(description="the same stretch of the previous period")
    change_previous: float | None


class TrackedNodeOut(Schema):
    kind: Literal["unit", "person"]
    id: int
    code: str
    name: str


class TrackedPeriodOut(Schema):
    kind: Kind
    start: dt.date
    end: dt.date
    to_date: bool


class ProgressChildOut(Schema):
    node: TrackedNodeOut
    figures: ProgressFiguresOut


class ProgressOut(Schema):
    plan: int
    metric: str
    node: TrackedNodeOut
    period: TrackedPeriodOut
    as_of: dt.date
    figures: ProgressFiguresOut
    children: list[ProgressChildOut]


@router.get("/progress", response=responses(ProgressOut, 400, 403, 404, 422))
def get_progress(request, q: Query[ProgressQuery]):
    """Where a target stands on a date: actual against target, time progress, expected to date by
    the plan's months, pace, projections, chance, needed per remaining working day and status, for
    the node and each of its sub-units and members you may follow."""
    from salestarget.core.errors import DomainError
    from salestarget.metrics.models import Metric
    from salestarget.org.models import OrgUnit, Person
    from salestarget.targets.models import Plan

    as_of = q.as_of or timezone.localdate() - dt.timedelta(days=1)
    if q.plan is not None:
        plan = get_object_or_404(Plan.objects.restrict(request.user).select_related("metric"), pk=q.plan)
    else:
        metric = get_object_or_404(Metric.objects.restrict(request.user), code=q.metric)
        plan = tracking.in_force(metric, as_of)
        if plan is None:
            raise DomainError(
                _("No published plan of “%(metric)s” holds %(day)s."),
                metric=metric.name,
                day=as_of.isoformat(),
            )
    if q.unit is not None and q.person is not None:
        raise DomainError(_("Give a unit or a person, not both."))
    if q.unit is not None:
        node = tracking.unit_node(get_object_or_404(OrgUnit.objects.restrict(request.user), pk=q.unit))
    elif q.person is not None:
        node = tracking.person_node(get_object_or_404(Person.objects.restrict(request.user), pk=q.person))
    else:
        node = tracking.default_node(request.user, as_of)
        if node is None:
            raise DomainError(_("There is nothing you may follow."))
    from salestarget.catalog.models import Product, Region

    part = tracking.Slice(
        product=None if q.product is None else get_object_or_404(Product.objects.all(), pk=q.product),
        region=None if q.region is None else get_object_or_404(Region.objects.all(), pk=q.region),
    )
    out = tracking.progress(request.user, plan, node, q.period, as_of, part=part)
    return {"plan": plan.pk, "metric": plan.metric.code, **out}


class LeaderFiguresOut(Schema):
    achievement: float | None
    pace: float | None
    status: Status
    incentive: bool
    time_progress: float
    actual: int | None = Field(None, description="only for people whose figures you may follow")
    target: int | None = None


class LeaderRowOut(Schema):
    rank: int | None = Field(description="ties share a rank; None without a target")
    node: TrackedNodeOut
    team: str
    amounts: bool = Field(description="whether you may see this person's amounts")
    figures: LeaderFiguresOut


class LeaderboardOut(Schema):
    plan: int
    period: TrackedPeriodOut
    as_of: dt.date
    everyone: bool = Field(description="the plan shows its leaderboard to everyone (else managers only)")
    count: int = Field(description="people on the board, all pages")
    ranked: int = Field(description="of them, those with a target (ranked)")
    rows: list[LeaderRowOut] = Field(description="`limit` rows from `offset`, best first")


class LeaderboardQuery(QueryIn):
    plan: Id = Field(description="the plan")
    period: Kind = Field("month", description="the period holding `as_of`; ytd/qtd/mtd/wtd read it to date")
    as_of: IsoDate | None = Field(None, description="the last day counted; yesterday by default")
    limit: Whole(1, MAX_LIMIT, description="rows per page") = DEFAULT_LIMIT
    offset: Whole(0, MAX_OFFSET, description="rows to skip (the first row's place - 1)") = 0


@router.get("/leaderboard", response=responses(LeaderboardOut, 400, 403, 404, 422))
def get_leaderboard(request, q: Query[LeaderboardQuery]):
    """A plan's reps ranked by achievement, as the plan shows it: to managers only (the people of
    their subtrees) or to everyone (amounts only of those whose figures you may follow); a page
    of `limit` rows from `offset`, ranked among all (`count`)."""
    from salestarget.targets.models import Plan
    from salestarget.tracking.leaderboard import leaderboard

    plan = get_object_or_404(Plan.objects.restrict(request.user).select_related("metric"), pk=q.plan)
    as_of = q.as_of or timezone.localdate() - dt.timedelta(days=1)
    board = leaderboard(request.user, plan, q.period, as_of, offset=q.offset, limit=q.limit)
    period = board["period"]
    return {
        "plan": plan.pk,
        "period": {"kind": q.period, "start": period.start, "end": period.end, "to_date": board["to_date"]},
        "as_of": as_of,
        "everyone": board["everyone"],
        "count": board["count"],
        "ranked": board["ranked"],
        "rows": board["rows"],
    }
