"""Who is credited with what: a metric's credit rule applied to the rollups.

Every read of actuals by person or unit (the home page, recommendations, backtests, the actuals
summary) goes through :func:`credit_rows` (grouped by person) or :func:`total_rows` (summed for
a scope), so that it follows the metric's rule:

- ``owner``: the person on the row. The rollups themselves.
- ``territory``: everyone assigned, on the row's day, to the row's region or any region above
  it, once per row even when assigned at several levels; a manager of several territories gets
  all of them. The view ``actuals_territorycredit`` (:class:`TerritoryCredit`) holds one row per
  rollup row and credited person. Two people of one team may hold the same territory, so a
  team's total counts each rollup row once (:func:`total_rows`), not once per holder.
- ``split``: a fact with :class:`~salestarget.actuals.models.FactCredit` rows is moved from its
  owner to the people sharing it, each with the part divided when the credit was written
  (:func:`split_parts`: largest remainder, so the parts add up to the fact exactly). The view
  ``actuals_splitcredit`` (:class:`SplitCredit`) holds the rollups plus those moves, so person
  and team totals are plain sums.

A credited row counts for the unit its credited person belonged to on the row's day (the rule
of :class:`~salestarget.org.models.UnitAtDate`), which is also how a manager's view of it is
scoped. The company's own total is every sale, credited or not: sales in a territory nobody
holds belong to the company but to no person or team.

The views are created by migration 0011 from the SQL below; changing it needs a migration that
recreates them.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from functools import reduce

from django.db.models import DateField, F, Q, Sum, Value
from django.db.models.functions import TruncMonth

from salestarget.actuals.models import (
    CompanyDayRollup,
    CompanyMonthRollup,
    DailyRollup,
    MonthRollup,
    SplitCredit,
    TerritoryCredit,
    UnitDayRollup,
    UnitMonthRollup,
    placed_people,
)
from salestarget.catalog.models import Customer, Region
from salestarget.engine.rounding import largest_remainder, round_half_up
from salestarget.metrics.models import Metric
from salestarget.org.models import OrgUnit, TerritoryAssignment, UnitAtDate
from salestarget.org.permissions import Action, scope_of

# Rollup column per aggregation, and whether it is money (stored in fen).
COLUMNS = {
    Metric.Aggregation.SUM_AMOUNT: ("amount", True),
    Metric.Aggregation.SUM_PROFIT: ("profit", True),
    Metric.Aggregation.SUM_QUANTITY: ("quantity", False),
    Metric.Aggregation.COUNT: ("rows", False),
}

_VALUES = "r.day, r.kind, r.stage, r.product_id, r.region_id, r.amount, r.quantity, r.profit, r.rows"
_COLUMNS = "c.day, c.kind, c.stage, c.product_id, c.region_id, c.amount, c.quantity, c.profit, c.rows"

# The rollup's columns stay inside the DISTINCT so that the databases push a query's day, kind
# and person filters down into it instead of crediting every row ever sold first.
TERRITORY_VIEW_SQL = (
    "CREATE VIEW actuals_territorycredit AS "
    "SELECT c.id AS id, c.person_id AS person_id, "
    f"COALESCE({UnitAtDate.sql('c', person='person_id', date='day')}, 0) AS unit_id, {_COLUMNS} "
    f"FROM (SELECT DISTINCT r.id AS id, t.person_id AS person_id, {_VALUES} "
    "      FROM actuals_dailyrollup r "
    "      JOIN catalog_region rr ON rr.id = r.region_id "
    "      JOIN org_territoryassignment t ON t.valid_from <= r.day "
    "           AND (t.valid_to IS NULL OR t.valid_to >= r.day) "
    "      JOIN catalog_region g ON g.id = t.region_id AND rr.path LIKE g.path || '%') c"
)

_FACT_KEYS = "f.date, f.kind, f.stage, COALESCE(f.product_id, 0), COALESCE(f.region_id, 0)"
_SHARES = (
    "SELECT c.id AS id, c.person_id AS person_id, f.date AS day, f.kind AS kind, f.stage AS stage, "
    "COALESCE(f.product_id, 0) AS product_id, COALESCE(f.region_id, 0) AS region_id, "
    "c.amount AS amount, c.quantity AS quantity, c.profit AS profit, c.rows AS rows "
    "FROM actuals_factcredit c JOIN actuals_fact f ON f.id = c.fact_id"
)
SPLIT_VIEW_SQL = (
    "CREATE VIEW actuals_splitcredit AS "
    f"SELECT r.id AS id, r.person_id, r.unit_id, {_VALUES} FROM actuals_dailyrollup r "
    # The owner gives the whole fact away (their own share comes back in the next part).
    "UNION ALL "
    f"SELECT -c.id, COALESCE(f.person_id, 0), COALESCE(f.unit_id, 0), {_FACT_KEYS}, "
    "-c.amount, -c.quantity, -c.profit, -c.rows "
    "FROM actuals_factcredit c JOIN actuals_fact f ON f.id = c.fact_id "
    "UNION ALL "
    f"SELECT -s.id, s.person_id, COALESCE({UnitAtDate.sql('s', person='person_id', date='day')}, 0), "
    f"s.day, s.kind, s.stage, s.product_id, s.region_id, s.amount, s.quantity, s.profit, s.rows "
    f"FROM ({_SHARES}) s"
)

_MODELS = {
    Metric.Credit.OWNER: DailyRollup,
    Metric.Credit.TERRITORY: TerritoryCredit,
    Metric.Credit.SPLIT: SplitCredit,
}


def split_parts(amount: int, quantity: int, profit: int, shares_bp: list[int]) -> list[tuple[int, ...]]:
    """Each share's (amount, quantity, profit, rows) of one fact, in the order of ``shares_bp``.

    A refund is split as its sale was, mirrored, so that the two cancel person by person; the
    row itself (a count of 1) goes whole to the largest share."""

    def divide(value: int) -> list[int]:
        sign = -1 if value < 0 else 1
        return [sign * part for part in largest_remainder(abs(value), shares_bp)]

    columns = [divide(amount), divide(quantity), divide(profit), largest_remainder(1, shares_bp)]
    return list(zip(*columns, strict=True))


# --- reading credited rows -------------------------------------------------------------------


def credit_rows(user, metric: Metric):
    """The metric's rows as its rule credits them, one per credited person, that ``user`` may
    see (``user`` None: all). Group these by person; sum a scope with :func:`total_rows`."""
    manager = _MODELS[Metric.Credit(metric.credit_rule)].objects
    rows = manager.all() if user is None else manager.restrict(user, Action.VIEW)
    rows = rows.filter(kind=metric.fact_kind)
    return rows.filter(stage=metric.stage) if metric.stage else rows


def total_rows(
    user,
    metric: Metric,
    *,
    unit: OrgUnit | None = None,
    person_id: int | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
):
    """Rollup-shaped rows whose sums are the credited totals of a unit's subtree, a person, or
    (neither) everything ``user`` may see — each row counted once, however many of the scope's
    people it is credited to. ``since``/``until`` (inclusive) bound the days read: pass them,
    the de-duplication of territory credit cannot see a filter added afterwards."""
    everything = user is None or scope_of(user).reach(Action.VIEW).everything
    if everything and unit is None and person_id is None:
        rows = _days(DailyRollup.objects.filter(kind=metric.fact_kind), since, until)
        return rows.filter(stage=metric.stage) if metric.stage else rows
    rows = _days(credit_rows(user, metric), since, until)
    if unit is not None:
        subtree = OrgUnit.objects.filter(path__startswith=unit.path).values("pk")
        if metric.credit_rule == Metric.Credit.OWNER:
            rows = rows.filter(unit_id__in=subtree)
        else:
            rows = rows.filter(person_id__in=placed_people(subtree), unit_id__in=subtree)
    if person_id is not None:
        rows = rows.filter(person_id=person_id)
    if metric.credit_rule == Metric.Credit.TERRITORY and person_id is None:
        return _days(DailyRollup.objects.filter(pk__in=rows.values("id")), since, until)
    return rows


def month_rows(
    user,
    metric: Metric,
    since: dt.date,
    until: dt.date,
    *,
    unit: OrgUnit | None = None,
    person_id: int | None = None,
    by_unit: bool = False,
    by_day: bool = False,
) -> list:
    """:func:`total_rows` over [since, until] as querysets that together hold each row once,
    every row with its month ``m``: where credit follows the owner (and for everything, however
    credited) whole months come from MonthRollup and only the edges from the day rows, so a
    year's heat map or curve reads a row per person, product and region a month, not a day.
    ``by_unit``: the caller groups by nothing finer than unit and region, so a unit's rows come
    from UnitDayRollup and UnitMonthRollup; the company's (everything, for those who see it) come
    from CompanyDayRollup and CompanyMonthRollup, which group by product and region only;
    ``by_day``: day rows only (each has its ``day``), for a curve by day."""
    everything = (user is None or scope_of(user).reach(Action.VIEW).everything) and (
        unit is None and person_id is None
    )
    scoped = {"unit": unit, "person_id": person_id}
    if not everything and metric.credit_rule != Metric.Credit.OWNER:
        return [total_rows(user, metric, **scoped, since=since, until=until).annotate(m=TruncMonth("day"))]
    edges, months = ([(since, until)], None) if by_day else month_split(since, until)
    unit_grain = by_unit and person_id is None

    def scope(rows):
        rows = rows.filter(kind=metric.fact_kind)
        rows = rows.filter(stage=metric.stage) if metric.stage else rows
        if everything:
            return rows
        rows = rows if user is None else rows.restrict(user, Action.VIEW)
        if unit is not None:
            rows = rows.filter(unit_id__in=OrgUnit.objects.filter(path__startswith=unit.path).values("pk"))
        return rows.filter(person_id=person_id) if person_id is not None else rows

    day_grain = CompanyDayRollup if everything else UnitDayRollup if unit_grain else None
    out = [
        (
            scope(day_grain.objects.filter(day__gte=a, day__lte=b))
            if day_grain is not None
            else total_rows(user, metric, **scoped, since=a, until=b)
        ).annotate(m=_month_of_days(a, b))
        for a, b in edges
    ]
    if months is not None:
        grain = CompanyMonthRollup if everything else UnitMonthRollup if unit_grain else MonthRollup
        out.append(
            scope(grain.objects.filter(month__gte=months[0], month__lte=months[1])).annotate(m=F("month"))
        )
    return out


def _month_of_days(first: dt.date, last: dt.date):
    """The month of each day row in [first, last]: a constant inside one month, which spares
    SQLite a Python call per row."""
    if first.replace(day=1) == last.replace(day=1):
        return Value(first.replace(day=1), output_field=DateField())
    return TruncMonth("day")


def _days(rows, since: dt.date | None, until: dt.date | None):
    if since is not None:
        rows = rows.filter(day__gte=since)
    return rows.filter(day__lte=until) if until is not None else rows


# --- credited values -------------------------------------------------------------------------


def credited_by_person(
    metric: Metric, start: dt.date, end: dt.date, people: Iterable[int] | None = None, user=None
) -> dict[int, int]:
    """Credit per person for ``metric`` over [start, end] (inclusive), in minor units.

    ``people`` restricts the answer (callers pass the ids the user may see)."""
    wanted = None if people is None else set(people)
    if metric.aggregation == Metric.Aggregation.RATIO:
        return _ratio_total(metric, start, end, wanted, user)
    out: dict[int, int] = defaultdict(int)
    for (pid, _month), value in by_person_month(metric, start, end, user=user).items():
        if pid and (wanted is None or pid in wanted):
            out[pid] += value
    return dict(out)


def by_person_month(
    metric: Metric, start: dt.date, end: dt.date, user=None
) -> dict[tuple[int, dt.date], int]:
    """{(person id, first day of month): credited value in the metric's minor units}."""
    if metric.aggregation == Metric.Aggregation.RATIO:
        num = by_person_month(metric.numerator, start, end, user)
        den = by_person_month(metric.denominator, start, end, user)
        return ratios(metric, num, den)
    if metric.aggregation == Metric.Aggregation.NEW_CUSTOMERS:
        counts: dict[tuple[int, dt.date], int] = defaultdict(int)
        for (pid, month), customers in new_customers(metric, start, end, user).items():
            counts[(pid, month)] += len(customers) * 10**metric.decimals
        return dict(counts)
    column, money = COLUMNS[metric.aggregation]
    rows = _days(credit_rows(user, metric), start, end).exclude(person_id=0)
    sums = rows.annotate(m=TruncMonth("day")).values("person_id", "m").annotate(v=Sum(column))
    return {
        (r["person_id"], month_of(r["m"])): to_units(int(r["v"] or 0), money, metric.decimals) for r in sums
    }


def by_unit_month(
    metric: Metric, start: dt.date, end: dt.date, units: Iterable[OrgUnit], user=None
) -> dict[tuple[int, dt.date], int]:
    """{(unit id, first day of month): credited value of the unit's whole subtree}.

    One read of the credited rows, rolled up to the units in Python: a sale credited to two
    people of one subtree counts once there (territory credit), and a query per unit would
    credit the whole range again for each."""
    units = list(units)
    if metric.aggregation == Metric.Aggregation.RATIO:
        num = by_unit_month(metric.numerator, start, end, units, user)
        den = by_unit_month(metric.denominator, start, end, units, user)
        return ratios(metric, num, den)
    paths = dict(OrgUnit.objects.values_list("pk", "path"))
    wanted = {u.path: u.pk for u in units}

    def owners(unit_id) -> list[int]:
        """The requested units whose subtree holds ``unit_id``."""
        path = paths.get(unit_id, "")
        return [pk for p, pk in wanted.items() if path.startswith(p)]

    if metric.aggregation == Metric.Aggregation.NEW_CUSTOMERS:
        people = new_customers(metric, start, end, user)
        at = UnitAtDate(pid for pid, _m in people)
        seen: dict[tuple[int, dt.date], set[int]] = defaultdict(set)
        for (pid, month), customers in people.items():
            for customer_id, first in customers.items():
                for pk in owners(at(pid, first.isoformat())):
                    seen[(pk, month)].add(customer_id)
        return {key: len(ids) * 10**metric.decimals for key, ids in seen.items()}
    column, money = COLUMNS[metric.aggregation]
    rows = _days(credit_rows(user, metric), start, end).annotate(m=TruncMonth("day"))
    sums: dict[tuple[int, dt.date], int] = defaultdict(int)
    if metric.credit_rule == Metric.Credit.TERRITORY:
        counted: set[tuple[int, int]] = set()
        for rollup_id, unit_id, month, value in rows.values_list("id", "unit_id", "m", column).iterator():
            for pk in owners(unit_id):
                if (pk, rollup_id) not in counted:
                    counted.add((pk, rollup_id))
                    sums[(pk, month_of(month))] += value
    else:
        for r in rows.values("unit_id", "m").annotate(v=Sum(column)):
            for pk in owners(r["unit_id"]):
                sums[(pk, month_of(r["m"]))] += int(r["v"] or 0)
    return {key: to_units(v, money, metric.decimals) for key, v in sums.items()}


def month_split(
    start: dt.date, end: dt.date
) -> tuple[list[tuple[dt.date, dt.date]], tuple[dt.date, dt.date] | None]:
    """[start, end] as its whole months (first and last month's first day) and the day ranges at
    its edges, so that a read takes the months from MonthRollup and only the edges by day."""
    first = start if start.day == 1 else (start.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    after = end + dt.timedelta(days=1)
    stop = after if after.day == 1 else after.replace(day=1)  # the day after the last whole month
    if first >= stop:
        return [(start, end)], None
    edges = [(a, b) for a, b in ((start, first - dt.timedelta(days=1)), (stop, end)) if a <= b]
    return edges, (first, (stop - dt.timedelta(days=1)).replace(day=1))


def _grains(
    user,
    metric: Metric,
    start: dt.date,
    end: dt.date,
    *,
    every_sale: bool = False,
    by_unit: bool = False,
    by_month: bool = False,
    probed: dict,
) -> list:
    """Querysets whose rows together hold [start, end] once (``by_month``: each row with its
    month ``m``). Rows credited to their owner (and every sale, for the company's total: the
    company grain) are read by whole month where they can be, and per unit when only units'
    sums are wanted (``by_unit``: no person or product asked); territory and split credit follow
    assignments and shares by day, so they stay on the day views. ``probed`` keeps what the
    month's edge found (see below) for the other reads of one call."""
    if not every_sale and metric.credit_rule != Metric.Credit.OWNER:
        rows = _days(credit_rows(user, metric), start, end)
        return [rows.annotate(m=_month_of_days(start, end)) if by_month else rows]
    edges, months = month_split(start, end)
    day_grain, month_grain = (
        (CompanyDayRollup, CompanyMonthRollup)
        if every_sale
        else (UnitDayRollup, UnitMonthRollup)
        if by_unit
        else (DailyRollup, MonthRollup)
    )
    this_month = end.replace(day=1)
    if edges and edges[-1] == (this_month, end) and not _days_after(day_grain, metric.fact_kind, end, probed):
        # A read up to the last day with rows (today's dashboard): the month's rows hold its days
        # so far, in a fraction of the rows (5,000 reps' month to date: 39,000 rows on 24,000
        # pages instead of 64,000 on 48,000).
        edges.pop()
        months = (months[0] if months else this_month, this_month)
    daily = day_grain.objects.filter(kind=metric.fact_kind)
    monthly = month_grain.objects.filter(kind=metric.fact_kind)
    if not every_sale and user is not None:
        daily, monthly = daily.restrict(user, Action.VIEW), monthly.restrict(user, Action.VIEW)
    if metric.stage:
        daily, monthly = daily.filter(stage=metric.stage), monthly.filter(stage=metric.stage)
    out = [
        _days(daily, a, b).annotate(m=_month_of_days(a, b)) if by_month else _days(daily, a, b)
        for a, b in edges
    ]
    if months is not None:
        monthly = monthly.filter(month__gte=months[0], month__lte=months[1])
        out.append(monthly.annotate(m=F("month")) if by_month else monthly)
    return out


def _days_after(grain, kind: str, end: dt.date, probed: dict) -> bool:
    """Whether ``grain`` holds a row of ``kind`` after ``end`` in end's month. Without one, the
    month's row of each key is the sum of its days up to ``end`` (rollups.verify checks that a
    month row is its days' sum; both are written in the same transaction)."""
    if (grain, kind, end) not in probed:
        last = (end.replace(day=1) + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
        probed[(grain, kind, end)] = grain.objects.filter(kind=kind, day__gt=end, day__lte=last).exists()
    return probed[(grain, kind, end)]


def _owners(units: list[OrgUnit]) -> dict[int, list[int]]:
    """Each unit of their subtrees -> the units of ``units`` whose subtree holds it. A unit's path
    ("/1/7/42/") names it and its ancestors: the units asked about it is in."""
    wanted = {u.pk for u in units}
    return {
        pk: mine
        for pk, path in OrgUnit.objects.filter(_under(units)).values_list("pk", "path")
        if (mine := [a for a in map(int, path.strip("/").split("/")) if a in wanted])
    }


def _subtrees(units: list[OrgUnit]):
    """The ids of the units in the subtrees of ``units``, as a subquery on their topmost paths:
    the company's regions are five path prefixes, not a list of 500 ids bound one by one."""
    return OrgUnit.objects.filter(_under(units)).values("pk")


def _under(units: list[OrgUnit]) -> Q:
    """The units in the subtrees of ``units``: a prefix of each topmost path."""
    tops: list[str] = []
    for path in sorted(u.path for u in units):  # a subtree's paths follow its root's
        if not tops or not path.startswith(tops[-1]):
            tops.append(path)
    return reduce(operator.or_, (Q(path__startswith=p) for p in tops))


# Up to this many units are each summed whole by the database (a query per unit and grain);
# more, and one grouped read per grain is cheaper.
FEW_UNITS = 8


def credited_totals(
    user,
    metric: Metric,
    start: dt.date,
    end: dt.date,
    *,
    units: Iterable[OrgUnit] = (),
    people: Iterable[int] = (),
    company: bool = False,
    narrow: Q | None = None,
    by_month: bool = False,
    among=None,
) -> dict:
    """Credited values over [start, end] in the metric's minor units, for many nodes in a few
    reads: ``"u<id>"`` a unit's whole subtree (a sale credited to two of its people counted
    once), ``"p<id>"`` a person, ``"company"`` every sale (credited or not; only for those who
    see everything); ``narrow`` keeps only some rows (a product line's, a region's). For metrics
    that add up (``COLUMNS``). ``by_month``: keyed ``(key, first day of month)`` instead, months
    without rows left out. ``among``: a subquery of person ids holding ``people`` (and perhaps
    more, left out), filtered by instead of the ids: 5,000 of them, bound one by one, cost more
    than the rows they select."""
    column, money = COLUMNS[metric.aggregation]
    units, people = list(units), list(people)
    keys = [f"u{u.pk}" for u in units] + [f"p{p}" for p in people] + (["company"] if company else [])
    sums: dict = defaultdict(int) if by_month else dict.fromkeys(keys, 0)
    if end < start:
        return dict(sums)
    by = ("m",) if by_month else ()

    def add(key: str, month, value) -> None:
        sums[(key, month_of(month)) if by_month else key] += int(value or 0)

    probed: dict = {}

    def grains(who=user, **kwargs) -> list:
        found = _grains(who, metric, start, end, by_month=by_month, probed=probed, **kwargs)
        return [rows.filter(narrow) for rows in found] if narrow is not None else found

    if people:
        wanted = set(people)
        for rows in grains():
            rows = rows.filter(person_id__in=people if among is None else among)
            for r in rows.values("person_id", *by).annotate(v=Sum(column)):
                if r["person_id"] in wanted:
                    add(f"p{r['person_id']}", r.get("m"), r["v"])
    if units:
        inside = _subtrees(units)  # only their rows: a region's read skips the rest of the company
        if metric.credit_rule == Metric.Credit.TERRITORY:
            owners = _owners(units)
            counted: set[tuple[int, int]] = set()
            rows = grains()[0].filter(unit_id__in=inside)
            for r in rows.values("id", "unit_id", column, *by).iterator():
                for pk in owners.get(r["unit_id"], ()):
                    if (pk, r["id"]) not in counted:
                        counted.add((pk, r["id"]))
                        add(f"u{pk}", r.get("m"), r[column])
        elif len(units) <= FEW_UNITS:
            # A card's or a dashboard's node, the company's regions: the database sums each
            # subtree whole, instead of handing over a row per unit (and month) to add up here.
            for unit in units:
                key, mine = f"u{unit.pk}", _subtrees([unit])
                for rows in grains(by_unit=narrow is None):
                    if by_month:
                        for r in rows.filter(unit_id__in=mine).values("m").annotate(v=Sum(column)):
                            add(key, r["m"], r["v"])
                    else:
                        add(key, None, rows.filter(unit_id__in=mine).aggregate(v=Sum(column))["v"])
        else:
            owners = _owners(units)
            for rows in grains(by_unit=narrow is None):
                for r in rows.filter(unit_id__in=inside).values("unit_id", *by).annotate(v=Sum(column)):
                    for pk in owners.get(r["unit_id"], ()):
                        add(f"u{pk}", r.get("m"), r["v"])
    if company:
        for rows in grains(None, every_sale=True):
            if by_month:
                for r in rows.values("m").annotate(v=Sum(column)):
                    add("company", r["m"], r["v"])
            else:
                add("company", None, rows.aggregate(v=Sum(column))["v"])
    return {key: to_units(v, money, metric.decimals) for key, v in sums.items()}


def new_customers_by_node(
    user,
    metric: Metric,
    start: dt.date,
    end: dt.date,
    *,
    units: Iterable[OrgUnit] = (),
    people: Iterable[int] = (),
    company: bool = False,
    region: Region | None = None,
) -> dict[str, dict[int, dt.date]]:
    """The new customers of many nodes, keyed as :func:`credited_totals` keys them, each as
    {customer id: first-deal date in [start, end]}: a person's are those credited to them
    (:func:`new_customers`), a unit's those credited to anyone who was in its subtree on the
    first-deal date (a customer two of its people share by territory counts once), the
    company's every customer whose first deal falls in the range, credited or not. ``region``:
    only customers of that sales region's subtree. The caller counts them by period."""
    units, people = list(units), set(people)
    out: dict[str, dict[int, dt.date]] = {f"u{u.pk}": {} for u in units}
    out |= {f"p{p}": {} for p in people} | ({"company": {}} if company else {})
    if end < start:
        return out
    customers = Customer.objects.filter(first_deal_date__range=(start, end))
    if region is not None:
        customers = customers.filter(
            region_id__in=Region.objects.filter(path__startswith=region.path).values("pk")
        )
    if company:
        out["company"] = dict(customers.values_list("pk", "first_deal_date"))
    if not (units or people):
        return out
    found = new_customers(metric, start, end, user)
    if region is not None:  # the range's customers of the region, not an id list of them
        keep = set(customers.values_list("pk", flat=True))
        found = {key: {c: d for c, d in cs.items() if c in keep} for key, cs in found.items()}
    for (pid, _month), customers in found.items():
        if pid in people:
            out[f"p{pid}"].update(customers)
    if units:
        owners = _owners(units)
        at = UnitAtDate(pid for pid, _m in found)
        for (pid, _month), customers in found.items():
            for customer_id, first in customers.items():
                for pk in owners.get(at(pid, first.isoformat()) or 0, ()):
                    out[f"u{pk}"][customer_id] = first
    return out


def month_of(value) -> dt.date:
    day = value.date() if isinstance(value, dt.datetime) else value
    return day.replace(day=1)


def to_units(value: int, money: bool, decimals: int) -> int:
    if money:
        if decimals >= 2:  # fen to as fine or finer: exact in integers
            return value * 10 ** (decimals - 2)
        return round_half_up(Decimal(value) * Decimal(10) ** decimals / 100)
    return value * 10**decimals


def ratios(metric: Metric, num: dict, den: dict) -> dict:
    """Numerator over denominator per key, in the ratio metric's units (% metrics × 100)."""
    factor = Decimal(10) ** metric.decimals * (100 if metric.unit.strip() == "%" else 1)
    num_scale = Decimal(10) ** metric.numerator.decimals
    den_scale = Decimal(10) ** metric.denominator.decimals
    return {
        key: round_half_up(Decimal(num.get(key, 0)) / num_scale / (Decimal(d) / den_scale) * factor)
        for key, d in den.items()
        if d
    }


def _ratio_total(metric: Metric, start, end, wanted, user) -> dict[int, int]:
    num = credited_by_person(metric.numerator, start, end, wanted, user)
    den = credited_by_person(metric.denominator, start, end, wanted, user)
    return ratios(metric, num, den)


def new_customers(metric: Metric, start: dt.date, end: dt.date, user) -> dict[tuple[int, dt.date], dict]:
    """{(person, month of first deal): {customer id: first-deal date}}: customers whose first
    deal falls in the range, credited to their account owner — or, for a territory metric, to
    whoever held the customer's region on the first-deal date. Limited to what ``user`` may see:
    people of the user's subtrees at the first-deal date, or the user's own."""
    found: dict[tuple[int, dt.date], dict] = defaultdict(dict)
    customers = Customer.objects.filter(first_deal_date__range=(start, end))
    if metric.credit_rule != Metric.Credit.TERRITORY:
        for cid, owner_id, first in customers.values_list("pk", "owner_id", "first_deal_date"):
            found[(owner_id or 0, first.replace(day=1))][cid] = first
    else:
        paths = dict(Region.objects.values_list("pk", "path"))
        # Each region's holders, looked up through the customer's region and its ancestors (the
        # ids in its path): a few lookups per customer, not a pass over every assignment.
        held: dict[int, list[tuple[int, dt.date, dt.date | None]]] = defaultdict(list)
        for person, rid, start_day, end_day in TerritoryAssignment.objects.values_list(
            "person_id", "region_id", "valid_from", "valid_to"
        ):
            held[rid].append((person, start_day, end_day))
        rows = customers.exclude(region=None).values_list("pk", "region_id", "first_deal_date")
        for cid, region_id, first in rows:
            for rid in map(int, paths.get(region_id, "").strip("/").split("/") if region_id in paths else ()):
                for person, start_day, end_day in held.get(rid, ()):
                    if start_day <= first and (end_day is None or end_day >= first):
                        found[(person, first.replace(day=1))][cid] = first
    return _visible(found, user)


def _visible(found: dict, user) -> dict:
    if user is None:
        return dict(found)
    reach = scope_of(user).reach(Action.VIEW)
    if reach.everything:
        return dict(found)
    at = UnitAtDate(pid for pid, _m in found)
    paths = dict(OrgUnit.objects.values_list("pk", "path"))
    out = {}
    for (pid, month), customers in found.items():
        kept = {
            cid: first
            for cid, first in customers.items()
            if pid == reach.person_id
            or any(paths.get(at(pid, first.isoformat()) or 0, "\0").startswith(p) for p in reach.paths)
        }
        if kept:
            out[(pid, month)] = kept
    return out
