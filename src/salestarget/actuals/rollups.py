"""Keeping DailyRollup in step with Fact.

Facts reach the database in batches (an import, an API call, a rep's daily entry, the demo
generator), so rollups are updated per batch with one set-based
``INSERT … SELECT … GROUP BY … ON CONFLICT DO UPDATE`` that both SQLite and PostgreSQL run
inside the batch's transaction: the rollup can never disagree with the facts it sums.
"""

from __future__ import annotations

from django.db import connection, transaction

from salestarget.actuals.models import DailyRollup, Fact

KEY = ("day", "kind", "stage", "person_id", "unit_id", "product_id", "region_id")
SUMS = ("amount", "quantity", "profit", "rows")


def _aggregate_sql(where: str, sign: int = 1) -> str:
    """The facts matching ``where`` summed per rollup key (negated for a removal)."""
    s = "-" if sign < 0 else ""
    return (
        f"SELECT date, kind, stage, COALESCE(person_id, 0), COALESCE(unit_id, 0), COALESCE(product_id, 0), "
        f"COALESCE(region_id, 0), {s}SUM(amount), {s}SUM(quantity), {s}SUM(profit), {s}COUNT(*) "
        f"FROM {Fact._meta.db_table} WHERE {where} "
        f"GROUP BY date, kind, stage, COALESCE(person_id, 0), COALESCE(unit_id, 0), "
        f"COALESCE(product_id, 0), COALESCE(region_id, 0)"
    )


def _upsert_sql(where: str, sign: int) -> str:
    rollup = DailyRollup._meta.db_table
    updates = ", ".join(f"{c} = {rollup}.{c} + excluded.{c}" for c in SUMS)
    return (
        f"INSERT INTO {rollup} ({', '.join(KEY + SUMS)}) {_aggregate_sql(where, sign)} "
        f"ON CONFLICT ({', '.join(KEY)}) DO UPDATE SET {updates}"
    )


def add_batch(batch_id: int, sign: int = 1) -> None:
    """Add (or, with sign=-1, remove) the facts of one import batch to the rollups."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_upsert_sql("batch_id = %s", sign), [batch_id])
        if sign < 0:
            cursor.execute(f"DELETE FROM {DailyRollup._meta.db_table} WHERE rows = 0")


def rebuild() -> int:
    """Recompute every rollup from the facts (``salestarget rollups rebuild``); returns the
    number of rollup rows."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {DailyRollup._meta.db_table}")
        cursor.execute(_upsert_sql("1 = 1", 1))
    return DailyRollup.objects.count()


def verify(limit: int = 50) -> list[str]:
    """Rollup rows that differ from a fresh sum of the facts, compared on the full key with two
    set differences computed by the database; the first ``limit`` described, [] when in step."""
    rollup = DailyRollup._meta.db_table
    stored = f"SELECT {', '.join(KEY + SUMS)} FROM {rollup}"
    fresh = _aggregate_sql("1 = 1")
    diff = (
        f"SELECT 'missing' AS side, d.* FROM ({fresh} EXCEPT {stored}) d "
        f"UNION ALL SELECT 'stale' AS side, e.* FROM ({stored} EXCEPT {fresh}) e"
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM ({diff}) x ORDER BY 2, 3 LIMIT {int(limit)}")
        rows = cursor.fetchall()
    lines = []
    for side, *values in rows:
        key = dict(zip(KEY, values[: len(KEY)], strict=True))
        sums = dict(zip(SUMS, values[len(KEY) :], strict=True))
        label = "the facts sum to" if side == "missing" else "the rollup holds"
        lines.append(f"{key}: {label} {sums}")
    return lines
