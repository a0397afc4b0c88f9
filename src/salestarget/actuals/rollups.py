"""Keeping DailyRollup in step with Fact.

Facts reach the database in batches (an import, an API call, a rep's daily entry, the demo
generator), so rollups are updated per batch with one set-based
``INSERT … SELECT … GROUP BY … ON CONFLICT DO UPDATE`` that both SQLite and PostgreSQL run
inside the batch's transaction: the rollup can never disagree with the facts it sums.

Six grains are kept: DailyRollup (per day), MonthRollup (per calendar month), which the
reads of whole months use (a year is twelve months of rows, not a row per order line),
UnitDayRollup and UnitMonthRollup (per unit and region, across people and products), which the
figures of teams and regions read, and CompanyDayRollup and CompanyMonthRollup (per product and
region, across people and units), which the company's figures read; all are written by the same
statements, so they cannot disagree either.

A fact is booked to the unit its person belonged to on its date (``Fact.unit``), so that
history stays with the team where it happened. When memberships change afterwards (a
back-dated move, a correction, the rollback of a people file), :func:`restamp` re-books the
person's facts of the days concerned and recomputes their rollups, in the transaction of the
change (org.services sends ``placement_changed``; a master rollback calls it directly).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection, transaction
from django.dispatch import Signal
from django.utils.translation import gettext_noop

from salestarget.actuals.models import (
    CompanyDayRollup,
    CompanyMonthRollup,
    DailyRollup,
    Fact,
    ImportBatch,
    MonthRollup,
    UnitDayRollup,
    UnitMonthRollup,
)
from salestarget.actuals.parsing import Problem
from salestarget.org.models import UnitAtDate

SUMS = ("amount", "quantity", "profit", "rows")
# A rollup key column and the fact column it sums by ("none" is 0, see models.RollupSums).
COLUMNS = {
    "kind": "kind",
    "stage": "stage",
    "person_id": "COALESCE(person_id, 0)",
    "unit_id": "COALESCE(unit_id, 0)",
    "product_id": "COALESCE(product_id, 0)",
    "region_id": "COALESCE(region_id, 0)",
}
EVERY = ("kind", "stage", "person_id", "unit_id", "product_id", "region_id")


@dataclass(frozen=True)
class Grain:
    model: type
    time: str  # the model's period column: "day" or "month"
    keys: tuple[str, ...]  # its other key columns

    @property
    def table(self) -> str:
        return self.model._meta.db_table

    @property
    def key(self) -> tuple[str, ...]:
        return (self.time, *self.keys)


DAY, MONTH = Grain(DailyRollup, "day", EVERY), Grain(MonthRollup, "month", EVERY)
BY_UNIT = ("kind", "stage", "unit_id", "region_id")
UNIT_DAY, UNIT_MONTH = Grain(UnitDayRollup, "day", BY_UNIT), Grain(UnitMonthRollup, "month", BY_UNIT)
BY_PRODUCT = ("kind", "stage", "product_id", "region_id")
COMPANY_DAY = Grain(CompanyDayRollup, "day", BY_PRODUCT)
COMPANY_MONTH = Grain(CompanyMonthRollup, "month", BY_PRODUCT)
GRAINS = (DAY, MONTH, UNIT_DAY, UNIT_MONTH, COMPANY_DAY, COMPANY_MONTH)

# Sent inside the writing transaction whenever facts enter or leave the rollups; apps that keep
# results computed from facts (targets' stored forecasts) listen instead of being imported here.
facts_changed = Signal()


def _time(grain: Grain) -> str:
    """The fact's date at the grain: itself, or its month's first day."""
    if grain.time == "day":
        return "date"
    if connection.vendor == "sqlite":
        return "date(date, 'start of month')"
    return "CAST(date_trunc('month', date) AS date)"


def _aggregate_sql(where: str, sign: int = 1, grain: Grain = DAY) -> str:
    """The facts matching ``where`` summed per rollup key (negated for a removal)."""
    s = "-" if sign < 0 else ""
    by = ", ".join([_time(grain), *(COLUMNS[c] for c in grain.keys)])
    return (
        f"SELECT {by}, {s}SUM(amount), {s}SUM(quantity), {s}SUM(profit), {s}COUNT(*) "
        f"FROM {Fact._meta.db_table} WHERE {where} GROUP BY {by}"
    )


def _upsert_sql(where: str, sign: int, grain: Grain = DAY) -> str:
    table = grain.table
    updates = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in SUMS)
    return (
        f"INSERT INTO {table} ({', '.join(grain.key + SUMS)}) {_aggregate_sql(where, sign, grain)} "
        f"ON CONFLICT ({', '.join(grain.key)}) DO UPDATE SET {updates}"
    )


# Sums never overflow a 64-bit integer (9.2 x 10^18): each value is at most 10^15 (checked per
# row), a batch's values add up to at most 10^17 in absolute terms, and the applied batches'
# together to at most 10^18, so that every total a page or an export asks for fits, however it
# is cut. Each batch keeps its own magnitude, so the company-wide check reads the batches
# (thousands of rows), not the rollups or the facts, and a rep's daily report stays fast.
BATCH_LIMIT = 10**17
TOTAL_LIMIT = 10**18


def add_batch(batch_id: int, sign: int = 1) -> None:
    """Add (or, with sign=-1, remove) the facts of one import batch to the rollups; a batch
    that would take the totals past the limits raises Problem (the caller's transaction then
    writes nothing)."""
    with transaction.atomic(), connection.cursor() as cursor:
        if sign > 0:
            _check_bounds(cursor, batch_id)
        for grain in GRAINS:
            cursor.execute(_upsert_sql("batch_id = %s", sign, grain), [batch_id])
            if sign < 0:
                cursor.execute(f"DELETE FROM {grain.table} WHERE rows = 0")
    facts_changed.send(sender=ImportBatch, batch_id=batch_id)


def _sum(column: str) -> str:
    # SQLite's SUM raises on overflow; TOTAL sums in floating point, exact enough for a bound.
    return f"{'TOTAL' if connection.vendor == 'sqlite' else 'SUM'}({column})"


def _magnitude_sql(batch: str) -> str:
    """The batch's magnitude: the largest of its absolute sums, capped to fit the column."""
    sums = [f"COALESCE({_sum(f'ABS({c})')}, 0)" for c in ("amount", "quantity", "profit")]
    largest = f"CASE WHEN {sums[0]} >= {sums[1]} AND {sums[0]} >= {sums[2]} THEN {sums[0]} "
    largest += f"WHEN {sums[1]} >= {sums[2]} THEN {sums[1]} ELSE {sums[2]} END"
    return f"SELECT {largest} FROM {Fact._meta.db_table} WHERE batch_id = {batch}"


def _check_bounds(cursor, batch_id: int) -> None:
    cursor.execute(_magnitude_sql("%s"), [batch_id])
    magnitude = cursor.fetchone()[0] or 0
    batches = ImportBatch._meta.db_table
    cursor.execute(
        f"SELECT {_sum('magnitude')} FROM {batches} WHERE status = 'applied' AND id <> %s", [batch_id]
    )
    others = cursor.fetchone()[0] or 0
    for total, limit in ((magnitude, BATCH_LIMIT), (others + magnitude, TOTAL_LIMIT)):
        if total > limit:
            raise Problem(
                gettext_noop(
                    "The amounts or quantities of this import add up to more than the app can keep "
                    "(%(limit)s in minor units); check the file's units and figures."
                ),
                limit=f"{limit:.0e}",
            )
    cursor.execute(f"UPDATE {batches} SET magnitude = %s WHERE id = %s", [int(magnitude), batch_id])


def _unit_at_sql() -> str:
    return UnitAtDate.sql(Fact._meta.db_table)


def _misbooked(where: str) -> str:
    """Facts matching ``where`` booked to another unit than their person's on their date."""
    differs = "IS NOT" if connection.vendor == "sqlite" else "IS DISTINCT FROM"
    return f"({where}) AND person_id IS NOT NULL AND unit_id {differs} {_unit_at_sql()}"


def restamp(person_id: int, start: dt.date, end: dt.date | None = None) -> int:
    """Re-book the person's facts dated ``start`` to ``end`` (None: ever after) to the unit the
    person belonged to on each date, and recompute the rollups of those days (and of the whole
    months they touch) for the person and for the units the facts leave and join; returns the
    number of facts re-booked."""
    spans = {"day": ("day >= %s", "date >= %s", [start])}
    spans["month"] = ("month >= %s", "date >= %s", [start.replace(day=1)])
    if end is not None:
        after = (end.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
        spans = {
            "day": ("day >= %s AND day <= %s", "date >= %s AND date <= %s", [start, end]),
            "month": (
                "month >= %s AND month < %s",
                "date >= %s AND date < %s",
                [start.replace(day=1), after],
            ),
        }
    mine = f"person_id = %s AND {spans['day'][1]}"
    fact = Fact._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT unit_id, {_unit_at_sql()} FROM {fact} WHERE {_misbooked(mine)}",
            [person_id, *spans["day"][2]],
        )
        units = sorted({pk or 0 for pair in cursor.fetchall() for pk in pair})  # 0: no unit
        cursor.execute(
            f"UPDATE {fact} SET unit_id = {_unit_at_sql()} WHERE {_misbooked(mine)}",
            [person_id, *spans["day"][2]],
        )
        moved = cursor.rowcount
        if not moved:
            return 0
        marks = ", ".join(["%s"] * len(units))
        for grain in GRAINS:
            rows, facts, bounds = spans[grain.time]
            if "person_id" in grain.keys:  # the key holds the person: their rows sum their facts only
                whose, whose_facts, ids = "person_id = %s", "person_id = %s", [person_id]
            elif "unit_id" not in grain.keys:  # the company's rows: the same facts, the same sums
                continue
            else:  # a unit's rows sum everyone's facts
                whose, whose_facts, ids = f"unit_id IN ({marks})", f"COALESCE(unit_id, 0) IN ({marks})", units
            cursor.execute(f"DELETE FROM {grain.table} WHERE {whose} AND {rows}", [*ids, *bounds])
            cursor.execute(_upsert_sql(f"{whose_facts} AND {facts}", 1, grain), [*ids, *bounds])
    return moved


def follow_placement(sender, *, person_id: int, start: dt.date, end: dt.date | None, **kwargs) -> None:
    """Receives org.services.placement_changed: org announces changes instead of calling here
    because it depends on no other app."""
    restamp(person_id, start, end)


def restamp_all() -> int:
    """Re-book every misbooked fact (``salestarget rollups rebuild``, before recomputing): facts
    imported before a membership was changed behind the app's back, e.g. by SQL or an older
    version that did not re-book. Returns the number of facts re-booked."""
    fact = Fact._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {fact} SET unit_id = {_unit_at_sql()} WHERE {_misbooked('1 = 1')}")
        return cursor.rowcount


def rebuild() -> int:
    """Recompute every rollup from the facts as booked (``salestarget rollups rebuild``, after
    :func:`restamp_all`); returns the number of rollup rows."""
    with transaction.atomic(), connection.cursor() as cursor:
        for grain in GRAINS:
            cursor.execute(f"DELETE FROM {grain.table}")
            cursor.execute(_upsert_sql("1 = 1", 1, grain))
        batches = ImportBatch._meta.db_table
        magnitude = _magnitude_sql(f"{batches}.id")
        cursor.execute(f"UPDATE {batches} SET magnitude = COALESCE(({magnitude}), 0)")
    refresh_statistics()
    return DailyRollup.objects.count()


def refresh_statistics() -> None:
    """Let the database's planner see the facts and rollups as they now are, after a big change.

    With stale statistics PostgreSQL's key checks scan a whole source instead of probing the key
    index, and SQLite joins the credit views (actuals.credit) from the territories outwards,
    building a temporary index on every read, instead of reading the rollups' day range (seen:
    0.5 s instead of 0.19 s for a manager's year on the demo)."""
    with connection.cursor() as cursor:
        tables = [Fact._meta.db_table, *(grain.table for grain in GRAINS)]
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {', '.join(tables)}")
        else:
            for table in tables:
                cursor.execute(f"ANALYZE {table}")


def verify(limit: int = 50) -> list[str]:
    """Rollup rows that differ from a fresh sum of the facts, compared on the full key with two
    set differences computed by the database, then facts booked to another unit than their
    person's on their date (which ``rollups rebuild`` re-books); the first ``limit`` described,
    [] when in step."""
    lines = []
    for grain in GRAINS:
        key_names = grain.key
        stored = f"SELECT {', '.join(key_names + SUMS)} FROM {grain.table}"
        fresh = _aggregate_sql("1 = 1", 1, grain)
        diff = (
            f"SELECT 'missing' AS side, d.* FROM ({fresh} EXCEPT {stored}) d "
            f"UNION ALL SELECT 'stale' AS side, e.* FROM ({stored} EXCEPT {fresh}) e"
        )
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT * FROM ({diff}) x ORDER BY 2, 3 LIMIT {int(limit) - len(lines)}")
            rows = cursor.fetchall()
        for side, *values in rows:
            key = dict(zip(key_names, values[: len(key_names)], strict=True))
            sums = dict(zip(SUMS, values[len(key_names) :], strict=True))
            label = "the facts sum to" if side == "missing" else f"the {grain.model._meta.model_name} holds"
            lines.append(f"{key}: {label} {sums}")
        if len(lines) >= limit:
            return lines
    if len(lines) < limit:
        fact = Fact._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id, person_id, date, unit_id, {_unit_at_sql()} FROM {fact} "
                f"WHERE {_misbooked('1 = 1')} ORDER BY date, id LIMIT {int(limit) - len(lines)}"
            )
            for pk, person_id, day, booked, unit in cursor.fetchall():
                lines.append(
                    f"fact {pk} of person {person_id} on {day}: booked to unit {booked}, "
                    f"but the person belonged to unit {unit} that day"
                )
    return lines
