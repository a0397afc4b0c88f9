"""Reads of actual results for dashboards: always from the rollups, always scoped, always
credited by the metric's rule (:mod:`salestarget.actuals.credit`)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db.models import Sum

from salestarget.actuals.credit import COLUMNS, month_rows
from salestarget.catalog.models import Region
from salestarget.metrics.models import Metric
from salestarget.metrics.selectors import fiscal_calendar


def metric(code: str) -> Metric | None:
    """The metric ``code`` (None when an install removed it)."""
    return Metric.objects.filter(code=code).first()


def _rows(user, the_metric: Metric, start: dt.date, end: dt.date) -> list:
    """Querysets that together hold each credited row the user may see over [start, end] once,
    with its month ``m``: whole months from the month grains and the company's own for those
    who see everything (:func:`~salestarget.actuals.credit.month_rows`), so the home page sums a
    row a month, not one a day per rep."""
    return month_rows(user, the_metric, start, end)


def _column(the_metric: Metric) -> str:
    return COLUMNS[the_metric.aggregation][0]


def total(user, the_metric: Metric | None, start: dt.date, end: dt.date) -> int:
    """The metric's credited sum in rollup units (fen for money)."""
    if the_metric is None:
        return 0
    column = _column(the_metric)
    return sum(rows.aggregate(v=Sum(column))["v"] or 0 for rows in _rows(user, the_metric, start, end))


def by_month(user, the_metric: Metric | None, start: dt.date, end: dt.date) -> dict[dt.date, int]:
    """{first day of month: sum} for the months between start and end that have rows."""
    if the_metric is None:
        return {}
    column, out = _column(the_metric), defaultdict(int)
    for rows in _rows(user, the_metric, start, end):
        for r in rows.values("m").annotate(v=Sum(column)):
            out[_as_date(r["m"])] += r["v"] or 0
    return dict(out)


def by_top_region(user, the_metric: Metric | None, start: dt.date, end: dt.date) -> list[tuple[str, int]]:
    """Sums per top-level sales region (the children of the root, e.g. 华东/华南), largest first."""
    if the_metric is None:
        return []
    groups = top_region_names()
    column, sums = _column(the_metric), defaultdict(int)
    for rows in _rows(user, the_metric, start, end):
        for row in rows.values("region_id").annotate(v=Sum(column)):
            sums[groups.get(row["region_id"], "")] += row["v"] or 0
    return sorted(sums.items(), key=lambda kv: -kv[1])


def top_region_names() -> dict[int, str]:
    """Region id -> the name of its top-level group; a single root (e.g. 中国) is skipped."""
    regions = list(Region.objects.only("pk", "name", "path", "depth"))
    roots = [r for r in regions if r.depth == 0]
    level = 1 if len(roots) == 1 and any(r.depth == 1 for r in regions) else 0
    names = {r.pk: r.name for r in regions}
    out = {}
    for r in regions:
        ids = [int(x) for x in r.path.strip("/").split("/")]
        out[r.pk] = names[ids[min(level, len(ids) - 1)]]
    return out


def _as_date(value) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def is_working_day(day: dt.date, cal=None) -> bool:
    """Whether ``day`` is a working day of the company calendar (holidays, 调休 and company days
    off included)."""
    return bool((cal or fiscal_calendar()).working_days_between(day, day))


def last_working_day(on: dt.date) -> dt.date:
    """The last working day on or before ``on`` (``on`` itself when it is one; on a Saturday the
    Friday; in the National Day week the day before it); ``on`` when a month back holds none."""
    cal = fiscal_calendar()
    for back in range(32):
        day = on - dt.timedelta(days=back)
        if is_working_day(day, cal):
            return day
    return on
