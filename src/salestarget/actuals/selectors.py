"""Reads of actual results for dashboards: always from DailyRollup, always scoped."""

from __future__ import annotations

import datetime as dt

from django.db.models import Sum
from django.db.models.functions import TruncMonth

from salestarget.actuals.models import DailyRollup
from salestarget.catalog.models import Region


def _rollups(user, kind: str, start: dt.date, end: dt.date, stage: str | None = None):
    rows = DailyRollup.objects.restrict(user).filter(kind=kind, day__gte=start, day__lte=end)
    return rows.filter(stage=stage) if stage is not None else rows


def total(user, kind: str, start: dt.date, end: dt.date, field: str = "amount") -> int:
    return _rollups(user, kind, start, end).aggregate(v=Sum(field))["v"] or 0


def by_month(user, kind: str, start: dt.date, end: dt.date, field: str = "amount") -> dict[dt.date, int]:
    """{first day of month: sum} for the months between start and end that have rows."""
    rows = _rollups(user, kind, start, end).annotate(m=TruncMonth("day")).values("m").annotate(v=Sum(field))
    return {_as_date(r["m"]): r["v"] or 0 for r in rows}


def by_top_region(
    user, kind: str, start: dt.date, end: dt.date, field: str = "amount"
) -> list[tuple[str, int]]:
    """Sums per top-level sales region (the children of the root, e.g. 华东/华南), largest first."""
    groups = top_region_names()
    sums: dict[str, int] = {}
    rows = _rollups(user, kind, start, end).values("region_id").annotate(v=Sum(field))
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
