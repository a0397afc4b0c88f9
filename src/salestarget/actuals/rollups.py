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


def _upsert_sql(where: str, sign: int) -> str:
    fact = Fact._meta.db_table
    rollup = DailyRollup._meta.db_table
    s = "-" if sign < 0 else ""
    select = (
        f"SELECT date, kind, stage, COALESCE(person_id, 0), COALESCE(unit_id, 0), COALESCE(product_id, 0), "
        f"COALESCE(region_id, 0), {s}SUM(amount), {s}SUM(quantity), {s}SUM(profit), {s}COUNT(*) "
        f"FROM {fact} WHERE {where} "
        f"GROUP BY date, kind, stage, COALESCE(person_id, 0), COALESCE(unit_id, 0), "
        f"COALESCE(product_id, 0), COALESCE(region_id, 0)"
    )
    updates = ", ".join(f"{c} = {rollup}.{c} + excluded.{c}" for c in SUMS)
    return (
        f"INSERT INTO {rollup} ({', '.join(KEY + SUMS)}) {select} "
        f"ON CONFLICT ({', '.join(KEY)}) DO UPDATE SET {updates}"
    )


def add_batch(batch_id: int, sign: int = 1) -> None:
    """Add (or, with sign=-1, remove) the facts of one import batch to the rollups."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_upsert_sql("batch_id = %s", sign), [batch_id])
        if sign < 0:
            cursor.execute(f"DELETE FROM {DailyRollup._meta.db_table} WHERE rows = 0")


def rebuild() -> None:
    """Recompute every rollup from the facts (``salestarget rollups rebuild``)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {DailyRollup._meta.db_table}")
        cursor.execute(_upsert_sql("1 = 1", 1))


def verify() -> list[str]:
    """Differences between the rollups and a fresh sum of the facts, one line per mismatch."""
    from django.db.models import Count, Sum

    def totals(qs, day_field):
        out = {}
        for row in qs.values(day_field, "kind").annotate(
            a=Sum("amount"),
            q=Sum("quantity"),
            p=Sum("profit"),
            n=Count("pk") if day_field == "date" else Sum("rows"),
        ):
            out[(row[day_field], row["kind"])] = (row["a"] or 0, row["q"] or 0, row["p"] or 0, row["n"] or 0)
        return out

    facts = totals(Fact.objects.all(), "date")
    rolled = totals(DailyRollup.objects.all(), "day")
    problems = []
    for key in sorted(set(facts) | set(rolled), key=lambda k: (str(k[0]), k[1])):
        if facts.get(key, (0, 0, 0, 0)) != rolled.get(key, (0, 0, 0, 0)):
            problems.append(f"{key[0]} {key[1]}: facts {facts.get(key)} != rollups {rolled.get(key)}")
    return problems
