"""Reads of actual results for dashboards: always from the rollups, always scoped, always
credited by the metric's rule (:mod:`salestarget.actuals.credit`)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Sum
from django.db.models.functions import TruncMonth

from salestarget.actuals.credit import COLUMNS, total_rows
from salestarget.catalog.models import Region
from salestarget.metrics.models import Metric


def metric(code: str) -> Metric | None:
    """The metric ``code`` (None when an install removed it)."""
    return Metric.objects.filter(code=code).first()


def _rollups(user, the_metric: Metric, start: dt.date, end: dt.date):
    return total_rows(user, the_metric, since=start, until=end)


def _column(the_metric: Metric) -> str:
    return COLUMNS[the_metric.aggregation][0]


def total(user, the_metric: Metric | None, start: dt.date, end: dt.date) -> int:
    """The metric's credited sum in rollup units (fen for money)."""
    if the_metric is None:
        return 0
    return _rollups(user, the_metric, start, end).aggregate(v=Sum(_column(the_metric)))["v"] or 0


def by_month(user, the_metric: Metric | None, start: dt.date, end: dt.date) -> dict[dt.date, int]:
    """{first day of month: sum} for the months between start and end that have rows."""
    if the_metric is None:
        return {}
    rows = _rollups(user, the_metric, start, end).annotate(m=TruncMonth("day")).values("m")
    return {_as_date(r["m"]): r["v"] or 0 for r in rows.annotate(v=Sum(_column(the_metric)))}


def by_top_region(user, the_metric: Metric | None, start: dt.date, end: dt.date) -> list[tuple[str, int]]:
    """Sums per top-level sales region (the children of the root, e.g. 华东/华南), largest first."""
    if the_metric is None:
        return []
    groups = top_region_names()
    sums: dict[str, int] = {}
    rows = _rollups(user, the_metric, start, end).values("region_id").annotate(v=Sum(_column(the_metric)))
    for row in rows:
        name = groups.get(row["region_id"], "")
        sums[name] = sums.get(name, 0) + (row["v"] or 0)
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
