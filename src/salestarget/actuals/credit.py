"""Who is credited with what: a metric's credit rule applied to the rollups.

How the rules are represented (the tracking pages build on this):

- The rollups record each fact once, for the person on the row (its owner) and the unit that
  person belonged to on the fact's date. Team and company totals are therefore plain sums of
  rollups and never double count, whatever the credit rule.
- ``owner``: a person's credit is the rollups' sum for that person.
- ``territory``: everyone assigned (on the row's date) to the row's region or to any region
  above it is credited with the row, once per row even when assigned at several levels; a
  manager of several territories gets all of them. Read from the rollups by day and region,
  joined with the effective-dated assignments.
- ``split``: a fact with :class:`~salestarget.actuals.models.FactCredit` rows is divided
  between those people by their basis points (largest remainder, so the parts add up to the
  fact exactly); other facts stay with their owner. Only the split facts are read from the
  fact table (through the credit rows); everything else comes from the rollups.

Values are returned in the metric's minor units (``metric.decimals``), by person id.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from django.db import connection

from salestarget.actuals.models import DailyRollup, Fact, FactCredit
from salestarget.catalog.models import Customer, Region
from salestarget.engine.rounding import largest_remainder, round_half_up
from salestarget.metrics.models import Metric
from salestarget.org.models import TerritoryAssignment

# Rollup column per aggregation, and whether it is money (stored in fen).
COLUMNS = {
    Metric.Aggregation.SUM_AMOUNT: ("amount", True),
    Metric.Aggregation.SUM_PROFIT: ("profit", True),
    Metric.Aggregation.SUM_QUANTITY: ("quantity", False),
    Metric.Aggregation.COUNT: ("rows", False),
}


def credited_by_person(
    metric: Metric, start: dt.date, end: dt.date, people: Iterable[int] | None = None
) -> dict[int, int]:
    """Credit per person for ``metric`` over [start, end] (inclusive), in minor units.

    ``people`` restricts the answer (callers pass the ids the user may see)."""
    wanted = None if people is None else set(people)
    if metric.aggregation == Metric.Aggregation.RATIO:
        return _ratio(metric, start, end, wanted)
    if metric.aggregation == Metric.Aggregation.NEW_CUSTOMERS:
        raw = _new_customers(metric, start, end)
        factor = Decimal(10) ** metric.decimals
        values = {pid: int(v * factor) for pid, v in raw.items()}
    else:
        column, money = COLUMNS[metric.aggregation]
        if metric.credit_rule == Metric.Credit.TERRITORY:
            raw = _territory(metric, column, start, end)
        elif metric.credit_rule == Metric.Credit.SPLIT:
            raw = _split(metric, column, start, end)
        else:
            raw = _owner(metric, column, start, end)
        values = {pid: _to_units(v, money, metric.decimals) for pid, v in raw.items()}
    return {pid: v for pid, v in values.items() if pid and (wanted is None or pid in wanted)}


def _to_units(value: int, money: bool, decimals: int) -> int:
    if money:
        return round_half_up(Decimal(value) * Decimal(10) ** decimals / 100)
    return value * 10**decimals


def _filters(
    metric: Metric, start: dt.date, end: dt.date, day: str = "day", prefix: str = ""
) -> tuple[str, list]:
    """The metric's kind, stage and date range as SQL (rollups say ``day``, facts ``date``)."""
    sql = f"{prefix}kind = %s AND {prefix}{day} BETWEEN %s AND %s"
    params: list = [metric.fact_kind, start, end]
    if metric.stage:
        sql += f" AND {prefix}stage = %s"
        params.append(metric.stage)
    return sql, params


def _owner(metric: Metric, column: str, start: dt.date, end: dt.date) -> dict[int, int]:
    where, params = _filters(metric, start, end)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT person_id, SUM({column}) FROM {DailyRollup._meta.db_table} WHERE {where} GROUP BY person_id",
            params,
        )
        return {pid: int(v or 0) for pid, v in cursor.fetchall()}


def _territory(metric: Metric, column: str, start: dt.date, end: dt.date) -> dict[int, int]:
    where, params = _filters(metric, start, end)
    rollup, region = DailyRollup._meta.db_table, Region._meta.db_table
    territory = TerritoryAssignment._meta.db_table
    sql = (
        f"SELECT person_id, SUM(v) FROM ("
        f" SELECT DISTINCT t.person_id, r.day, r.region_id, r.v FROM"
        f" (SELECT day, region_id, SUM({column}) AS v FROM {rollup} WHERE {where} AND region_id <> 0"
        f"  GROUP BY day, region_id) r"
        f" JOIN {region} rr ON rr.id = r.region_id"
        f" JOIN {territory} t ON t.valid_from <= r.day AND (t.valid_to IS NULL OR t.valid_to >= r.day)"
        f" JOIN {region} g ON g.id = t.region_id AND rr.path LIKE g.path || '%%'"
        f") credited GROUP BY person_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {pid: int(v or 0) for pid, v in cursor.fetchall()}


def _split(metric: Metric, column: str, start: dt.date, end: dt.date) -> dict[int, int]:
    totals: dict[int, int] = defaultdict(int, _owner(metric, column, start, end))
    fact_column = "1" if column == "rows" else f"f.{column}"
    where, params = _filters(metric, start, end, day="date", prefix="f.")
    sql = (
        f"SELECT f.id, COALESCE(f.person_id, 0), {fact_column}, c.person_id, c.share_bp "
        f"FROM {FactCredit._meta.db_table} c JOIN {Fact._meta.db_table} f ON f.id = c.fact_id "
        f"WHERE {where} ORDER BY f.id, c.id"
    )
    shares: dict[int, tuple[int, int, list]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for fact_id, owner, value, person, bp in cursor.fetchall():
            shares.setdefault(fact_id, (owner, int(value), []))[2].append((person, bp))
    for owner, value, parts in shares.values():
        totals[owner] -= value
        # A refund is split as its sale was, mirrored, so that the two cancel person by person.
        sign = -1 if value < 0 else 1
        split = largest_remainder(abs(value), [bp for _, bp in parts])
        for (person, _bp), part in zip(parts, split, strict=True):
            totals[person] += sign * part
    return dict(totals)


def _new_customers(metric: Metric, start: dt.date, end: dt.date) -> dict[int, int]:
    """Customers whose first deal falls in the range, credited to their account owner — or,
    for a territory metric, to whoever held the customer's region on the first-deal date."""
    counts: dict[int, int] = defaultdict(int)
    customers = Customer.objects.filter(first_deal_date__range=(start, end))
    if metric.credit_rule != Metric.Credit.TERRITORY:
        for owner_id in customers.values_list("owner_id", flat=True):
            counts[owner_id or 0] += 1
        return dict(counts)
    paths = dict(Region.objects.values_list("pk", "path"))
    assignments = list(
        TerritoryAssignment.objects.values_list("person_id", "region_id", "valid_from", "valid_to")
    )
    for region_id, first in customers.exclude(region=None).values_list("region_id", "first_deal_date"):
        path = paths.get(region_id, "")
        holders = {
            person
            for person, rid, start_day, end_day in assignments
            if path.startswith(paths.get(rid, "\0"))
            and start_day <= first
            and (end_day is None or end_day >= first)
        }
        for person in holders:
            counts[person] += 1
    return dict(counts)


def _ratio(metric: Metric, start: dt.date, end: dt.date, wanted) -> dict[int, int]:
    """Numerator over denominator per person, in the ratio metric's units (% metrics × 100)."""
    num = credited_by_person(metric.numerator, start, end, wanted)
    den = credited_by_person(metric.denominator, start, end, wanted)
    factor = Decimal(10) ** metric.decimals * (100 if metric.unit.strip() == "%" else 1)
    num_scale = Decimal(10) ** metric.numerator.decimals
    den_scale = Decimal(10) ** metric.denominator.decimals
    out = {}
    for pid, d in den.items():
        if d:
            out[pid] = round_half_up(Decimal(num.get(pid, 0)) / num_scale / (Decimal(d) / den_scale) * factor)
    return out
