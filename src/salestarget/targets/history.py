"""Sales history of a scope, read from the rollups the user may see as the metric's credit rule
credits them (salestarget.actuals.credit): monthly sums, the first sale, the active reps, last
year's actual.

Only metrics that are sums of rollup columns have a history that adds up over months; ratios
and distinct counts cannot be forecast this way.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from django.db.models import Min, Sum
from django.db.models.functions import TruncMonth
from django.utils.translation import gettext_lazy as _

from salestarget.actuals.credit import credit_rows, total_rows
from salestarget.catalog.models import Product, Region
from salestarget.core.errors import DomainError
from salestarget.engine.cadence import Cadence, detect
from salestarget.engine.cadence import exposure as exposure_in
from salestarget.engine.calendar import FiscalCalendar, Period, add_months
from salestarget.metrics.models import Metric
from salestarget.org.models import OrgUnit
from salestarget.targets.scope import TargetScope

# Five years is enough for seasonal models; older sales describe a different company.
HISTORY_MONTHS = 60
# A rep counts as active in the scope when they sold in the last year of history.
ACTIVE_MONTHS = 12

_VALUE_FIELDS = {
    Metric.Aggregation.SUM_AMOUNT: "amount",
    Metric.Aggregation.SUM_PROFIT: "profit",
    Metric.Aggregation.SUM_QUANTITY: "quantity",
    Metric.Aggregation.COUNT: "rows",
}


def metric_for(code: str) -> Metric:
    """The active metric ``code`` if its history can be summed over months."""
    metric = Metric.objects.filter(code=code, active=True).first()
    if metric is None or metric.aggregation not in _VALUE_FIELDS:
        raise DomainError(_("Targets can be recommended only for summable metrics such as sales."))
    return metric


def value_field(metric: Metric) -> str:
    """The rollup column that sums ``metric``."""
    return _VALUE_FIELDS[metric.aggregation]


def month_start(value) -> dt.date:
    day = value.date() if isinstance(value, dt.datetime) else value
    return day.replace(day=1)


def months(first: dt.date, last: dt.date) -> list[dt.date]:
    """First days of the months first..last (inclusive)."""
    count = (last.year - first.year) * 12 + last.month - first.month + 1
    return [add_months(first, i) for i in range(max(count, 0))]


def working_days(cal: FiscalCalendar, starts: list[dt.date]) -> np.ndarray:
    """Working days per month: always working days (not the progress basis), because sales
    follow the office calendar and the Spring Festival moves between January and February. The
    company's own calendar (holidays it entered, days off) counts: ``cal`` carries it."""
    periods = [Period("month", m, add_months(m, 1) - dt.timedelta(days=1)) for m in starts]
    return cal.working_day_counts(periods).astype(float)


def exposure(
    cal: FiscalCalendar, rows, starts_hist: list[dt.date], starts_future: list[dt.date]
) -> tuple[np.ndarray, np.ndarray, Cadence]:
    """Each month's chance to sell for the history months and the forecast months, in the rhythm
    the scope's data arrive in (:mod:`salestarget.engine.cadence`): a weekly export counts its
    export days, not the office's working days, or a five-Friday month looks like a boom.

    The rhythm is read from the distinct days of ``rows`` within the history months (one query
    of at most a few thousand dates); a backtest passes all its months as history."""
    if starts_hist:
        until = add_months(starts_hist[-1], 1)
        days = rows.filter(day__gte=starts_hist[0], day__lt=until).order_by().values_list("day", flat=True)
        cadence = detect(days.distinct())
    else:
        cadence = detect([])
    return (
        exposure_in(cadence, starts_hist, working_days(cal, starts_hist)),
        exposure_in(cadence, starts_future, working_days(cal, starts_future)),
        cadence,
    )


def rollups(user, metric: Metric, scope: TargetScope, first: dt.date, last: dt.date):
    """The rows of ``metric`` in ``scope`` that ``user`` may see in the months first..last,
    credited by the metric's rule (:func:`salestarget.actuals.credit.total_rows`): sum them for
    the scope's totals."""
    person_id = None if scope.person is None else scope.person.pk
    until = add_months(last, 1) - dt.timedelta(days=1)
    return _narrow(
        total_rows(user, metric, unit=scope.unit, person_id=person_id, since=first, until=until), scope
    )


def window(history_end: dt.date) -> tuple[dt.date, dt.date]:
    """The months a history is read from: ``HISTORY_MONTHS`` up to ``history_end``."""
    return add_months(history_end, 1 - HISTORY_MONTHS), history_end


def credited(user, metric: Metric, scope: TargetScope):
    """The scope's rows once per credited person (:func:`salestarget.actuals.credit.credit_rows`):
    group them by person for the reps of a team."""
    rows = credit_rows(user, metric)
    if scope.unit is not None:
        rows = rows.filter(unit_id__in=OrgUnit.objects.filter(path__startswith=scope.unit.path).values("pk"))
    if scope.person is not None:
        rows = rows.filter(person_id=scope.person.pk)
    return _narrow(rows, scope)


def _narrow(rows, scope: TargetScope):
    if scope.product is not None:
        rows = rows.filter(
            product_id__in=Product.objects.filter(path__startswith=scope.product.path).values("pk")
        )
    if scope.region is not None:
        rows = rows.filter(
            region_id__in=Region.objects.filter(path__startswith=scope.region.path).values("pk")
        )
    return rows


def monthly(rows, field: str, first: dt.date, last: dt.date, by: str | None = None) -> dict:
    """{(group, month): sum} (group None when ``by`` is None) for the months first..last."""
    keys = ["m"] + ([by] if by else [])
    qs = (
        rows.filter(day__gte=first, day__lt=add_months(last, 1))
        .annotate(m=TruncMonth("day"))
        .values(*keys)
        .annotate(v=Sum(field))
    )
    return {(r[by] if by else None, month_start(r["m"])): int(r["v"] or 0) for r in qs}


def first_month(rows, last: dt.date, limit: int) -> dt.date | None:
    """The month of the first sale up to the month ``last``, at most ``limit`` months back
    (None without a sale)."""
    first_day = rows.filter(day__lt=add_months(last, 1)).aggregate(d=Min("day"))["d"]
    return max(month_start(first_day), add_months(last, 1 - limit)) if first_day else None


def reference(user, metric: Metric, scope: TargetScope, field: str, starts: list[dt.date], own: np.ndarray):
    """The same months of everything the user sees: the broader series whose season the scope shares.

    A rep's or a product's months are few sales and much chance; the season of the user's
    whole company (a manager's whole subtree) is the same calendar seen through far more sales.
    """
    if scope == TargetScope() or not starts:
        return own
    sums = monthly(rollups(user, metric, TargetScope(), starts[0], starts[-1]), field, starts[0], starts[-1])
    return np.array([sums.get((None, m), 0) for m in starts], dtype=float)


def active_reps(rows, history_end: dt.date) -> list[int]:
    """Reps (``rows`` from :func:`credited`) credited with sales in the scope in the last ``ACTIVE_MONTHS`` months up to ``history_end``."""
    since = add_months(history_end, 1 - ACTIVE_MONTHS)
    until = add_months(history_end, 1)
    active = rows.filter(day__gte=since, day__lt=until).exclude(person_id=0)
    return sorted(set(active.values_list("person_id", flat=True).distinct()))


# How many periods of each kind make a year back, for the "last year" comparison.
_PER_YEAR = {"year": 1, "half": 2, "quarter": 4, "month": 12, "week": 52, "day": 364}


def comparison_period(period: Period, history_end: dt.date) -> Period:
    """The period "last year" means for ``period``: the same period one year before, or, while
    that one is not over (a target for next year set before this year has ended), the latest
    complete one of the same kind a whole number of years back (2025 全年, not 2026 so far)."""
    shift = _PER_YEAR.get(period.kind, 1)
    known_until = add_months(history_end, 1)
    back = period.shift(-shift)
    while back.end >= known_until:
        back = back.shift(-shift)
    return back


def last_year_actual(rows, field: str, period: Period) -> int:
    """The sum over ``period`` (see :func:`comparison_period`)."""
    start, end = period.start, period.end + dt.timedelta(days=1)
    return int(rows.filter(day__gte=start, day__lt=end).aggregate(v=Sum(field))["v"] or 0)


def active_members(user, scope: TargetScope, today: dt.date) -> list[int]:
    """The members (not managers) of the scope's units on ``today`` that ``user`` may see: the
    team as it is, including hires who have not sold yet.  Empty for a product or region
    scope, whose reps are those who sold in it."""
    from salestarget.org.models import Membership
    from salestarget.org.permissions import Action

    if scope.product is not None or scope.region is not None or scope.person is not None:
        return []
    members = (
        Membership.objects.restrict(user, Action.VIEW)
        .active_on(today)
        .filter(role=Membership.Role.MEMBER)
        .exclude(person__status="left")
    )
    if scope.unit is not None:
        members = members.filter(unit__path__startswith=scope.unit.path)
    return sorted(set(members.values_list("person_id", flat=True)))


def started(people: list[int]) -> dict[int, dt.date]:
    """Each person's hire date."""
    from salestarget.org.models import Person

    return dict(Person.objects.filter(pk__in=people).values_list("pk", "hire_date"))
