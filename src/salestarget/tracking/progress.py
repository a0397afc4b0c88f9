"""Where a target stands at a date: the published plan's targets for a node and period, the
actuals credited by the metric's rule up to the date, and the figures of ``engine.pace``
(achievement, time progress in the company's working days, expected-to-date by the plan's own
months, pace, projections, chance, what is needed per remaining working day, status), with the
same figures for each child of the node and comparisons with last year and the previous period.

Targets are read from the plan's primary scenario: a period's target is the sum of its months'
cells; a week uses its week cell when the plan has weeks; a part of a month (a day, a week
without a cell, a month without a cell) takes the month's (or the plan period's) target in
proportion to its working days. Actuals are the credited rows of ``actuals.credit`` summed over
the days, so a sale credited to two people of a team counts once for the team.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property

from django.core.exceptions import PermissionDenied
from django.db.models import Q, Sum
from django.utils.translation import gettext as _

from salestarget.actuals.credit import (
    COLUMNS,
    credited_totals,
    month_of,
    month_rows,
    new_customers_by_node,
    to_units,
)
from salestarget.core.errors import DomainError
from salestarget.core.memo import remembered
from salestarget.engine import pace as engine
from salestarget.engine.calendar import Period, add_months, week_anchor, week_number, year_before
from salestarget.engine.rounding import round_half_up
from salestarget.metrics.models import Metric
from salestarget.metrics.selectors import fiscal_calendar
from salestarget.org.models import Membership, OrgUnit, Person, active_on
from salestarget.org.permissions import Action, scope_of
from salestarget.targets.labels import lang
from salestarget.targets.models import Plan, TargetCell

# Periods to date: the figures of the enclosing period, cut at the as-of date.
TO_DATE = {"ytd": "year", "qtd": "quarter", "mtd": "month", "wtd": "week"}
KINDS = ("year", "half", "quarter", "month", "week", "day", *TO_DATE)
LEVELS = ("floor", "target", "stretch")


@dataclass(frozen=True)
class Node:
    """A unit (its whole subtree) or a person whose target is tracked."""

    kind: str  # "unit" | "person"
    id: int
    code: str
    name: str
    unit: OrgUnit | None = None

    @cached_property  # asked a few times per node of a rank among 5,000 reps
    def key(self) -> str:
        return f"{self.kind[0]}{self.id}"


@dataclass(frozen=True)
class Slice:
    """A product line and/or a sales region the figures are narrowed to (their whole subtrees):
    actuals of those rows, targets of the plan's cells for that line or region."""

    product: object | None = None
    region: object | None = None

    def rows(self) -> Q | None:
        q = Q()
        if self.product is not None:
            q &= Q(
                product_id__in=type(self.product)
                .objects.filter(path__startswith=self.product.path)
                .values("pk")
            )
        if self.region is not None:
            q &= Q(
                region_id__in=type(self.region).objects.filter(path__startswith=self.region.path).values("pk")
            )
        return q if q else None


WHOLE = Slice()


def unit_node(unit: OrgUnit) -> Node:
    return Node("unit", unit.pk, unit.code, unit.name, unit)


def person_node(person: Person) -> Node:
    return Node("person", person.pk, person.code, person.name)


def trackable(user, nodes: list[Node], on: dt.date) -> set[str]:
    """The keys of the nodes whose progress the user may follow: a unit's for those who reach its
    subtree (a rep, who may name their team, does not see its figures), a person's for
    themselves and those who reach them on the date. One read for all the people."""
    reach = scope_of(user).reach(Action.VIEW)
    if reach.everything:
        return {n.key for n in nodes}
    units = {n.key for n in nodes if n.kind == "unit" and any(n.unit.path.startswith(p) for p in reach.paths)}
    people = [n.id for n in nodes if n.kind == "person"]
    reached = set()
    if people and reach.paths:
        found = Person.objects.filter(pk__in=people).filter(reach.people_q("pk", on=on, until=on))
        reached = set(found.values_list("pk", flat=True))
    if reach.person_id in people:
        reached.add(reach.person_id)
    return units | {f"p{pk}" for pk in reached}


def may_track(user, node: Node, on: dt.date) -> bool:
    return node.key in trackable(user, [node], on)


def trackable_units(user):
    """The units whose progress the user may follow (see :func:`trackable`): those whose whole
    subtree they reach. A rep may name their own team but not follow its figures."""
    reach = scope_of(user).reach(Action.VIEW)
    units = OrgUnit.objects.order_by("depth", "path")
    if reach.everything:
        return units
    return units.filter(reach.units_q("")) if reach.paths else units.none()


def default_node(user, on: dt.date) -> Node | None:
    """The topmost unit the user reaches, else the user's own person."""
    reach = scope_of(user).reach(Action.VIEW)
    unit = trackable_units(user).first()
    if unit is not None:
        return unit_node(unit)
    if reach.person_id:
        return person_node(Person.objects.get(pk=reach.person_id))
    return None


def resolve_period(kind: str, as_of: dt.date) -> tuple[Period, bool]:
    """The period of ``kind`` holding ``as_of``, and whether it is read to date (YTD...)."""
    if kind not in KINDS:
        raise DomainError(_("Unknown period “%(kind)s”."), kind=kind)
    return fiscal_calendar().period_of(TO_DATE.get(kind, kind), as_of), kind in TO_DATE


def thresholds_of(plan: Plan) -> engine.Thresholds:
    return engine.Thresholds(
        lagging_below=Fraction(plan.lagging_below_pct, 100),
        ahead_above=Fraction(plan.ahead_above_pct, 100),
        warning_line=Fraction(plan.warning_line_pct, 100),
        incentive_line=None if plan.incentive_line_pct is None else Fraction(plan.incentive_line_pct, 100),
        lower_is_better=plan.metric.direction == Metric.Direction.LOWER,
    )


def in_force(metric: Metric, on: dt.date) -> Plan | None:
    """The published (or closed) plan of ``metric`` whose period holds ``on``."""
    plans = Plan.objects.filter(metric=metric, status__in=[Plan.Status.PUBLISHED, Plan.Status.CLOSED])
    for plan in plans.order_by("-period_start"):
        if plan.period_start <= on <= plan.period_end:
            return plan
    return None


# --- targets ----------------------------------------------------------------------------------


class Targets:
    """One node's cells in a plan (its primary scenario, over all products), answering the
    target of any period inside the plan's: at floor, target and stretch, or only the ``levels``
    asked for (a rank needs the target alone, and splitting a year cell costs per level)."""

    def __init__(self, plan: Plan, cal, rows: list[dict], levels: tuple[str, ...] = LEVELS):
        self.plan, self.cal, self.levels = plan, cal, levels
        self.months: dict[dt.date, dict[str, int | None]] = {}
        self.weeks: dict[dt.date, dict[str, int | None]] = {}
        self.whole: dict[str, int | None] | None = None
        for c in rows:
            values = {level: c[level] for level in self.levels}
            if c["period_kind"] == "month":
                self.months[c["period_start"]] = values
            elif c["period_kind"] == "week":
                self.weeks[c["period_start"]] = values
            elif c["period_kind"] == plan.period_kind and c["period_start"] == plan.period_start:
                self.whole = values
        # A plan-period cell without month cells (a rep with a year target only): its months,
        # a list per level in the order of ``index`` (set by split_wholes).
        self.shares: dict[str, list[int] | None] = {}
        self.index: dict[dt.date, int] = {}

    @property
    def unsplit(self) -> bool:
        return self.whole is not None and not self.months

    @property
    def any(self) -> bool:
        return bool(self.months or self.whole)

    def month(self, month: Period) -> dict[str, int | None]:
        """A month's cell, or its working days' share of the plan period's cell."""
        if month.start in self.months:
            return self.months[month.start]
        if self.whole is None:
            return dict.fromkeys(self.levels)
        if month.start in self.index:
            i, shares = self.index[month.start], self.shares
            return {level: None if shares[level] is None else shares[level][i] for level in self.levels}
        plan_days = self.cal.working_days_between(self.plan.period_start, self.plan.period_end)
        days = self.cal.working_days_between(month.start, month.end)
        return {level: _part(self.whole[level], days, plan_days) for level in self.levels}

    def of(self, period: Period) -> dict[str, int | None]:
        if period.kind == "week" and period.start in self.weeks and period.days == 7:
            return self.weeks[period.start]
        return self.between(period.start, period.end)

    def between(self, start: dt.date, end: dt.date) -> dict[str, int | None]:
        """The target of [start, end]: whole months' cells plus the working-day share of the
        months it covers in part."""
        out: dict[str, int | None] = dict.fromkeys(self.levels)
        for month in self.cal.months(start, end):
            values = self.month(month)
            if start <= month.start and month.end <= end:
                share = values
            else:
                days = self.cal.working_days_between(max(month.start, start), min(month.end, end))
                whole = self.cal.working_days_between(month.start, month.end)
                share = {level: _part(values[level], days, whole) for level in self.levels}
            for level in self.levels:
                if share[level] is not None:
                    out[level] = (out[level] or 0) + share[level]
        return out

    def segments(self, period: Period, as_of: dt.date) -> list[engine.Segment]:
        """The plan's profile over ``period``: its months (or the period itself when shorter),
        each weighted by its target, in the days time progress counts."""
        parts = (
            self.cal.months(period.start, period.end)
            if period.kind in ("year", "half", "quarter")
            else [period]
        )
        out = []
        for part in parts:
            start, end = max(part.start, period.start), min(part.end, period.end)
            out.append(
                engine.Segment(
                    weight=max(0, self.between(start, end)["target"] or 0),
                    working_days=_days(self.cal, start, end),
                    elapsed=_days(self.cal, start, min(as_of, end)),
                )
            )
        return out


class CountedDays:
    """The calendar with its working-day counts and months remembered: a region's progress with
    its children, or the company's tracking table, asks the same months thousands of times."""

    def __init__(self, cal):
        self._cal, self._seen, self._months, self._splits = cal, {}, {}, {}

    def months(self, start: dt.date, end: dt.date) -> list[Period]:
        """The whole months overlapping [start, end] (shared: not to be changed)."""
        if (start, end) not in self._months:
            found, month = [], self._cal.period_of("month", start)
            while month.start <= end:
                found.append(month)
                month = month.next()
            self._months[(start, end)] = found
        return self._months[(start, end)]

    def __getattr__(self, name):
        return getattr(self._cal, name)

    def split_of(self, start: dt.date, end: dt.date) -> tuple[dict[dt.date, int], list[int]]:
        """The months of a plan period ({first day: position}) and the weights its cell is split
        over them by (working days; 1 each where none are), shared: not to be changed."""
        if (start, end) not in self._splits:
            months = self.months(start, end)
            days = [self.working_days_between(m.start, m.end) for m in months]
            weights = days if sum(days) else [1] * len(days)
            self._splits[(start, end)] = ({m.start: i for i, m in enumerate(months)}, weights)
        return self._splits[(start, end)]

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        if (start, end) not in self._seen:
            self._seen[(start, end)] = self._cal.working_days_between(start, end)
        return self._seen[(start, end)]


# Up to this many people are read by their ids; more, by the ``among`` subquery (psycopg parses a
# query with 5,000 placeholders on every call).
BY_IDS = 1000


def targets_for(
    plan: Plan,
    nodes: list[Node],
    cal,
    part: Slice = WHOLE,
    levels: tuple[str, ...] = LEVELS,
    *,
    among=None,
    window: Period | None = None,
) -> dict[str, Targets]:
    """Each node's ``Targets`` (of a product line's or region's cells when ``part`` names one),
    from one read of their cells; ``among`` as :func:`credited` takes it. ``window``: only the
    targets inside this period will be asked, so only its months' and weeks' cells and the plan
    period's are read (a rank of 4,800 reps with twelve month cells each read 62,400 rows: 300 ms
    of a wallboard's 450 on SQLite). A node with a plan-period cell and no month in the window is
    read whole, so that months outside it still keep its cell from being split by working days."""
    units = [n.id for n in nodes if n.kind == "unit"]
    people = [n.id for n in nodes if n.kind == "person"]
    cells = TargetCell.objects.filter(
        Q(unit_id__in=units, person__isnull=True) | Q(person_id__in=people if among is None else among),
        scenario__plan=plan,
        scenario__is_primary=True,
        product=part.product,
        region=part.region,
        segment__isnull=True,
    )
    if window is not None:
        cells = cells.filter(
            Q(period_kind=plan.period_kind, period_start=plan.period_start)
            | Q(
                period_kind="month",
                period_start__gte=window.start.replace(day=1),
                period_start__lte=window.end,
            )
            | Q(period_kind="week", period_start__gte=window.start, period_start__lte=window.end)
        )
    rows: dict[str, list[dict]] = {n.key: [] for n in nodes}
    for c in cells.values("unit_id", "person_id", "period_kind", "period_start", *levels):
        key = f"p{c['person_id']}" if c["person_id"] else f"u{c['unit_id']}"
        if key in rows:  # ``among`` may hold more people
            rows[key].append(c)
    reread: dict[str, Targets] = {}
    if window is not None:
        unsure = [n for n in nodes if rows[n.key] and all(c["period_kind"] != "month" for c in rows[n.key])]
        if unsure:
            many = len(unsure) > BY_IDS
            reread = targets_for(plan, unsure, cal, part, levels, among=among if many else None)
            for n in unsure:
                del rows[n.key]
    cal = CountedDays(cal)
    out = {key: Targets(plan, cal, found, levels) for key, found in rows.items()}
    split_wholes(plan, cal, [t for t in out.values() if t.unsplit])
    return out | reread


def split_wholes(plan: Plan, cal: CountedDays, targets: list[Targets]) -> None:
    """The plan period's cells of ``targets`` over its months by working days, largest
    remainder, so that the months (and so the year) add up to the cell to the fen: all of them
    in one pass per level (a rep's dashboard ranks 5,000 reps, one split each took 180 ms)."""
    if not targets:
        return
    # numpy, here and not at the top: the command line's start-up loads this module (the API's
    # routers) and stays free of numpy (tests/test_cli.py).
    from salestarget.engine.allocate import apportion_each

    index, weights = cal.split_of(plan.period_start, plan.period_end)
    for t in targets:
        t.index = index
    for level in targets[0].levels:
        given = [t for t in targets if t.whole[level] is not None]
        for t in targets:
            t.shares[level] = None
        split = apportion_each([max(0, t.whole[level]) for t in given], weights)
        for t, months in zip(given, split, strict=True):
            t.shares[level] = months


def _days(cal, start: dt.date, end: dt.date) -> int:
    """Days time progress counts: working days of the company calendar, or calendar days."""
    if end < start:
        return 0
    return cal.working_days_between(start, end) if cal.working_days else (end - start).days + 1


def _part(value: int | None, days: int, whole: int) -> int | None:
    if value is None:
        return None
    return round_half_up(Fraction(value * days, whole)) if whole else 0


# --- actuals ----------------------------------------------------------------------------------


def credited(
    user,
    metric: Metric,
    nodes: list[Node],
    start: dt.date,
    end: dt.date,
    part: Slice = WHOLE,
    *,
    by_month: bool = False,
    among=None,
) -> dict:
    """Each node's credited actual over [start, end], in the metric's minor units (``user``
    None: unscoped, for a leaderboard shown to everyone); ``by_month``: keyed ``(node key, first
    day of month)``, months without sales left out. ``among``: the people of ``nodes`` as a
    subquery (of person ids, it may hold more) to filter by instead of their ids one by one:
    binding 5,000 ids cost a rank more than reading their rows. The company (the top unit, for
    those who reach everything) counts every sale, credited or not. New customers are counted
    once per node (a customer two of a team's people share counts once for the team)."""
    if metric.aggregation == Metric.Aggregation.NEW_CUSTOMERS:
        firsts = new_customer_firsts(user, metric, nodes, start, end, part)
        one = 10**metric.decimals
        if not by_month:
            return {key: len(found) * one for key, found in firsts.items()}
        months: dict = defaultdict(int)
        for key, found in firsts.items():
            for first in found.values():
                months[(key, first.replace(day=1))] += one
        return dict(months)
    _check_additive(metric)
    company, asked = _asked(user, nodes)
    found = credited_totals(
        user, metric, start, end, **asked, narrow=part.rows(), by_month=by_month, among=among
    )
    if by_month:
        for node in company:
            found |= {(node.key, month): v for (key, month), v in list(found.items()) if key == "company"}
        return found
    for node in company:
        found[node.key] = found["company"]
    return {n.key: found[n.key] for n in nodes}


def new_customer_firsts(
    user, metric: Metric, nodes: list[Node], start: dt.date, end: dt.date, part: Slice = WHOLE
) -> dict[str, dict[int, dt.date]]:
    """Each node's new customers over [start, end] ({customer id: first-deal date}), credited
    by the metric's rule; a region slice keeps its customers, a product line has none of its own."""
    if part.product is not None:
        raise DomainError(
            _("New customers are counted per customer, not per product line: choose all product lines.")
        )
    company, asked = _asked(user, nodes)
    found = new_customers_by_node(user, metric, start, end, **asked, region=part.region)
    return {n.key: found["company"] if n in company else found[n.key] for n in nodes}


def _asked(user, nodes: list[Node]) -> tuple[list[Node], dict]:
    """The company's node among ``nodes`` when the user reaches everything (it counts every
    sale, credited to someone or not), and the units, people and company to ask actuals.credit
    for."""
    everything = user is None or scope_of(user).reach(Action.VIEW).everything
    company = [n for n in nodes if n.kind == "unit" and n.unit.parent_id is None and everything]
    return company, {
        "units": [n.unit for n in nodes if n.kind == "unit" and n not in company],
        "people": [n.id for n in nodes if n.kind == "person"],
        "company": bool(company),
    }


def _tracked(metric: Metric) -> bool:
    """Whether progress is tracked for the metric: sums of the rollups, and new customers."""
    return metric.aggregation in COLUMNS or metric.aggregation == Metric.Aggregation.NEW_CUSTOMERS


def _check_additive(metric: Metric) -> None:
    if not _tracked(metric):
        raise DomainError(
            _(
                "Progress is tracked for metrics that add up (amounts, quantities, counts); “%(metric)s” does not."
            ),
            metric=metric.name,
        )


# --- figures ----------------------------------------------------------------------------------


def figures_for(
    user,
    plan: Plan,
    nodes: list[Node],
    period: Period,
    as_of: dt.date,
    *,
    to_date: bool = False,
    chance: bool = True,
    cal=None,
    part: Slice = WHOLE,
    among=None,
) -> dict[str, dict]:
    """Every figure of each node for ``period`` at ``as_of`` (the last day counted), keyed by
    ``Node.key``: three reads of actuals (now, last year, the previous period) and one of
    targets, however many nodes; a fourth, the nodes' last 24 months, for what their history
    expects of the period (where the projection starts) and the spread of their chance, unless
    read to date or without ``chance`` (both are then None: the tracking table shows neither,
    and the months of 5,000 reps were a fifth of its time). ``among`` as :func:`credited`
    takes it."""
    cal = cal or fiscal_calendar()
    metric = plan.metric
    lines = thresholds_of(plan)
    until = min(as_of, period.end)
    now = credited(user, metric, nodes, period.start, until, part, among=among)
    last_start, last_until = _last_year(period, until)
    last_year = credited(user, metric, nodes, last_start, last_until, part, among=among)
    previous = period.prev()
    # A finished period against the whole of the previous one: a quarter ending 31 March
    # against October to December, not to 29 December (QA: two working days of sales left out).
    same_days = (
        previous.end if until >= period.end else min(previous.end, previous.start + (until - period.start))
    )
    before = credited(user, metric, nodes, previous.start, same_days, part, among=among)
    targets = targets_for(plan, nodes, cal, part, among=among)
    history = (
        monthly_history(user, metric, nodes, period.start, part, among=among)
        if chance and not to_date
        else {}
    )
    months = period_months(period)
    parts = prior_parts(period, cal) if history else []
    out = {}
    for node in nodes:
        mine = targets[node.key]
        whole = mine.of(period) if mine.any else dict.fromkeys(LEVELS)
        segments = mine.segments(period, as_of)
        if to_date and whole["target"] is not None:
            whole = _so_far(whole, segments)
            segments = [engine.Segment(s.weight, s.elapsed, s.elapsed) for s in segments]
        done = now[node.key]
        prior = engine.history_prior(history[node.key], parts) if history else None
        result = engine.pace(
            done,
            whole["target"],
            segments,
            floor=whole["floor"],
            stretch=whole["stretch"],
            thresholds=lines,
            spread=engine.spread_of(history[node.key][-12:], months) if history else engine.SPREAD,
            prior=prior,
            project=chance and not to_date,
        )
        figures = _pace_out(result)
        if to_date:
            # Read to date, the period ends today: a projection "to its end" would be the actual
            # itself and a chance 0% or 100% (QA). Where the period is heading is the whole
            # period's view (year, quarter...), which the pickers offer beside it.
            figures.update(run_rate=None, seasonal=None)
        out[node.key] = {
            **figures,
            "prior": prior,
            "until": until.isoformat(),
            "last_year": last_year[node.key],
            "change_last_year": _ratio(engine.change(done, last_year[node.key])),
            "previous": before[node.key],
            "change_previous": _ratio(engine.change(done, before[node.key])),
        }
    return out


def achievements(
    user, plan: Plan, nodes: list[Node], period: Period, as_of: dt.date, *, to_date: bool = False, among=None
) -> dict[str, float | None]:
    """Each node's achievement exactly as :func:`figures_for` gives it (actual / target, to date
    where read to date, rounded alike), from one read of actuals and one of targets: a rank among
    thousands of reps needs nothing else. ``among`` as :func:`credited` takes it."""
    cal = fiscal_calendar()
    now = credited(user, plan.metric, nodes, period.start, min(as_of, period.end), among=among)
    targets = targets_for(plan, nodes, cal, levels=("target",), among=among, window=period)
    out = {}
    for node in nodes:
        mine = targets[node.key]
        target = mine.of(period)["target"] if mine.any else None
        if to_date and target is not None:
            target = _so_far({"target": target}, mine.segments(period, as_of))["target"]
        out[node.key] = _ratio(Fraction(now[node.key], target)) if target else None
    return out


def _so_far(levels: dict[str, int | None], segments: list[engine.Segment]) -> dict[str, int | None]:
    """Targets read to date: what the plan expected of each level by now."""
    share = engine.expected_share(segments)
    return {level: None if value is None else round_half_up(value * share) for level, value in levels.items()}


HISTORY_MONTHS = engine.PRIOR_MONTHS


def monthly_history(
    user, metric: Metric, nodes: list[Node], before: dt.date, part: Slice = WHOLE, *, among=None
) -> dict:
    """Each node's credited actual of the 24 whole months before the month of ``before``,
    oldest first: what its history expects of a period (engine.history_prior) and, from the last
    12, how steady it is, for the spread of its chance (engine.spread_of)."""
    first = add_months(before.replace(day=1), -HISTORY_MONTHS)
    months = [add_months(first, i) for i in range(HISTORY_MONTHS)]
    last = before.replace(day=1) - dt.timedelta(days=1)
    found = credited(user, metric, nodes, first, last, part, by_month=True, among=among)
    return {n.key: [found.get((n.key, m), 0) for m in months] for n in nodes}


def prior_parts(period: Period, cal) -> list[tuple[int, Fraction]]:
    """The months ``period`` touches, as engine.history_prior takes them: months after the
    period's first month, and the share of the month's days (those time progress counts) inside
    the period. A quarter is its three whole months; a week across a month's end, a part of each."""
    first = period.start.year * 12 + period.start.month
    out = []
    for month in CountedDays(cal).months(period.start, period.end):
        whole = _days(cal, month.start, month.end)
        inside = _days(cal, max(month.start, period.start), min(month.end, period.end))
        offset = month.start.year * 12 + month.start.month - first
        out.append((offset, Fraction(inside, whole) if whole else Fraction(0)))
    return out


def period_months(period: Period) -> float:
    """The period's length in months, by which a month's variation averages out."""
    fixed = {"year": 12, "half": 6, "quarter": 3, "month": 1}
    return fixed.get(period.kind, ((period.end - period.start).days + 1) / 30.4375)


def _last_year(period: Period, until: dt.date) -> tuple[dt.date, dt.date]:
    """The same stretch a year earlier: the same dates, except for a week, which is compared with
    the week of the same number last year (第 N 周, as Chinese users count weeks)."""
    if period.kind != "week":
        start = year_before(period.start)
        if until >= period.end and period.kind != "day":
            # A finished period against the whole of last year's: February 2025 against all 29
            # days of February 2024.
            months = (period.end.year - period.start.year) * 12 + period.end.month - period.start.month + 1
            return start, add_months(start, months) - dt.timedelta(days=1)
        return start, year_before(until)
    year, number = week_number(period.start, period.week_start)
    start = week_anchor(dt.date(year - 1, 1, 4), period.week_start) + dt.timedelta(weeks=number - 1)
    if week_number(start, period.week_start) != (year - 1, number):  # week 53 in a 52-week year
        start -= dt.timedelta(weeks=1)
    return start, start + (until - period.start)


def _ratio(value: Fraction | None) -> float | None:
    return None if value is None else round(float(value), 6)


def _pace_out(p: engine.Pace) -> dict:
    return {
        "actual": p.actual,
        "target": p.target,
        "floor": p.floor,
        "stretch": p.stretch,
        "achievement": _ratio(p.achievement),
        "gap": p.gap,
        "time_progress": _ratio(p.time_progress),
        "expected_share": _ratio(p.expected_share),
        "expected_to_date": p.expected_to_date,
        "pace": _ratio(p.pace),
        "run_rate": p.run_rate,
        "seasonal": p.seasonal,
        "projection": p.projection,
        "chance": None if p.chance is None else round(p.chance, 4),
        "remaining_days": p.remaining_days,
        "required_per_day": p.required_per_day,
        "status": p.status,
        "incentive": p.incentive,
    }


def children_of(user, node: Node, period: Period, as_of: dt.date) -> list[Node]:
    """A unit's sub-units and its members on the date that matters, those the user may track."""
    if node.kind != "unit":
        return []
    on = min(as_of, period.end)
    units = [unit_node(u) for u in OrgUnit.objects.filter(parent=node.unit).order_by("code")]
    members = (
        Membership.objects.filter(active_on(on), unit=node.unit, role=Membership.Role.MEMBER)
        .select_related("person")
        .order_by("person__code")
    )
    people = [person_node(m.person) for m in members]
    allowed = trackable(user, units + people, on)
    return [n for n in units + people if n.key in allowed]


@remembered
def progress(
    user, plan: Plan, node: Node, kind: str, as_of: dt.date, *, children: bool = True, part: Slice = WHOLE
) -> dict:
    """The node's figures and its children's, for the API and the pages."""
    period, to_date = resolve_period(kind, as_of)
    if not plan.period_start <= period.start <= plan.period_end:
        raise DomainError(
            _("%(period)s is outside the plan's period (%(start)s – %(end)s)."),
            period=period.label(lang()),
            start=plan.period_start.isoformat(),
            end=plan.period_end.isoformat(),
        )
    if not may_track(user, node, min(as_of, period.end)):
        raise PermissionDenied(_("You may follow only your own targets and those of the teams you manage."))
    kids = children_of(user, node, period, as_of) if children else []
    found = figures_for(user, plan, [node, *kids], period, as_of, to_date=to_date, part=part)
    return {
        "node": node_out(node),
        "period": {
            "kind": kind,
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
            "to_date": to_date,
        },
        "as_of": as_of.isoformat(),
        "figures": found[node.key],
        "children": [{"node": node_out(k), "figures": found[k.key]} for k in kids],
    }


@remembered
def my_targets(user, as_of: dt.date, kind: str = "month") -> list[tuple[Plan, dict]]:
    """Where the user's own node (their topmost unit, or themselves) stands in every tracked plan
    in force on ``as_of``, one plan per metric as the dashboard picks it: what the home page
    opens on every morning, without the children the dashboard adds."""
    node = default_node(user, as_of)
    if node is None:
        return []
    plans = (
        Plan.objects.restrict(user)
        .filter(status__in=[Plan.Status.PUBLISHED, Plan.Status.CLOSED], period_start__lte=as_of)
        .select_related("metric")
        .order_by("metric__sort_order", "metric_id", "-period_start")
    )
    found, seen = [], set()
    for plan in plans:
        if plan.metric_id in seen or as_of > plan.period_end or not _tracked(plan.metric):
            continue
        seen.add(plan.metric_id)
        found.append((plan, progress(user, plan, node, kind, as_of, children=False)))
    return found


def node_out(node: Node) -> dict:
    return {"kind": node.kind, "id": node.id, "code": node.code, "name": node.name}


# --- the curve --------------------------------------------------------------------------------


def _node_rows(
    user,
    metric: Metric,
    node: Node,
    start: dt.date,
    end: dt.date,
    part: Slice,
    *,
    products: bool = False,
    by_day: bool = False,
) -> list:
    """Querysets of the node's credited rows over [start, end] (each row once, with its month
    ``m``; whole months at the month grain where the credit rule allows, unless ``by_day``),
    narrowed to ``part``. ``products``: the caller groups by product line (otherwise unit and
    region sums will do)."""
    if node.kind == "person":
        scoped = {"person_id": node.id}
    elif node.unit.parent_id is None and scope_of(user).reach(Action.VIEW).everything:
        scoped = {}
    else:
        scoped = {"unit": node.unit}
    narrow = part.rows()
    found = month_rows(
        user, metric, start, end, **scoped, by_unit=not products and part.product is None, by_day=by_day
    )
    return [rows.filter(narrow) for rows in found] if narrow is not None else found


def curve(
    user, plan: Plan, node: Node, period: Period, as_of: dt.date, *, cal=None, part: Slice = WHOLE
) -> dict:
    """Cumulative actual against the plan's cumulative expectation over ``period``: by day for a
    month or shorter, by month for longer periods; actuals stop at ``as_of``."""
    cal = cal or fiscal_calendar()
    by_month = period.kind in ("year", "half", "quarter")
    buckets = cal.periods("month", period) if by_month else period.children("day")
    targets = targets_for(plan, [node], cal, part)[node.key]
    whole = targets.of(period)["target"] if targets.any else None
    metric = plan.metric
    _check_additive(metric)
    column, money = COLUMNS.get(metric.aggregation, (None, False))
    until = min(as_of, period.end)
    sums: dict[dt.date, int] = {}  # by month's first day, or by day
    if until >= period.start:
        if column is None:  # new customers, counted on their first-deal day
            firsts = new_customer_firsts(user, metric, [node], period.start, until, part)[node.key]
            for first in firsts.values():
                key = first.replace(day=1) if by_month else first
                sums[key] = sums.get(key, 0) + 1
        elif by_month:
            for rows in _node_rows(user, metric, node, period.start, until, part):
                for r in rows.values("m").annotate(v=Sum(column)):
                    month = month_of(r["m"])
                    sums[month] = sums.get(month, 0) + int(r["v"] or 0)
        else:
            for rows in _node_rows(user, metric, node, period.start, until, part, by_day=True):
                for r in rows.values("day").annotate(v=Sum(column)):
                    sums[r["day"]] = sums.get(r["day"], 0) + int(r["v"] or 0)
    labels, actual_line, expected_line = [], [], []
    running = 0
    for bucket in buckets:
        end = min(bucket.end, period.end)
        running += sum(v for day, v in sums.items() if bucket.start <= day <= end)
        labels.append(bucket.start.isoformat())
        actual_line.append(to_units(running, money, metric.decimals) if bucket.start <= until else None)
        if whole is None:
            expected_line.append(None)
        else:
            share = engine.expected_share(targets.segments(period, end))
            expected_line.append(round_half_up(whole * share))
    return {"labels": labels, "actual": actual_line, "expected": expected_line, "target": whole}


# --- breakdowns -------------------------------------------------------------------------------


def top_level(model) -> dict[int, tuple[int, str]]:
    """Each tree row -> (its top-level ancestor's id, name): the children of the root when the
    tree has one root (中国 -> 华东, 华南 …), else the roots themselves."""
    rows = list(model.objects.values_list("pk", "path", "depth", "name"))
    roots = [r for r in rows if r[2] == 0]
    level = 1 if len(roots) == 1 and any(r[2] == 1 for r in rows) else 0
    heads = {path: (pk, name) for pk, path, depth, name in rows if depth == level}
    out = {}
    for pk, path, depth, _name in rows:
        if depth < level:
            continue
        head = next((v for p, v in heads.items() if path.startswith(p)), None)
        if head is not None:
            out[pk] = head
    return out


def breakdown(user, plan: Plan, node: Node, period: Period, as_of: dt.date, *, part: Slice = WHOLE) -> dict:
    """The node's actuals by top-level sales region x month of the plan's period (a heat map) and
    by product line over ``period`` beside the lines' targets when the plan has them."""
    from salestarget.catalog.models import Product, Region
    from salestarget.targets.services import plan_period

    metric = plan.metric
    if not _tracked(metric):
        return {"regions": None, "products": None}
    column, money = COLUMNS.get(metric.aggregation, (None, False))
    whole = plan_period(plan)
    cal = fiscal_calendar()
    months = cal.periods("month", whole)

    until = min(as_of, whole.end)
    regions = top_level(Region)
    heat: dict[tuple[int, int], int] = {}
    names: dict[int, str] = {}
    if until >= whole.start:
        index = {m.start: i for i, m in enumerate(months)}
        for region_id, month, value in _by_region_month(user, metric, node, whole.start, until, part):
            head = regions.get(region_id)
            if head is None:
                continue
            key = (head[0], index[month])
            heat[key] = heat.get(key, 0) + value
            names[head[0]] = head[1]
    region_ids = sorted(names, key=lambda pk: -sum(v for (rid, _i), v in heat.items() if rid == pk))
    matrix = [
        [i, row, to_units(heat[(pk, i)], money, metric.decimals)]
        for row, pk in enumerate(region_ids)
        for i in range(len(months))
        if (pk, i) in heat
    ]
    if column is None:  # new customers have a region, not a product line
        return {"regions": _heat_out(names, region_ids, months, matrix), "products": None}
    lines = top_level(Product)
    by_line: dict[int, int] = {}
    line_names: dict[int, str] = {}
    period_until = min(as_of, period.end)
    if period_until >= period.start:
        for rows in _node_rows(user, metric, node, period.start, period_until, part, products=True):
            for r in rows.values("product_id").annotate(v=Sum(column)):
                head = lines.get(r["product_id"])
                if head is not None:
                    by_line[head[0]] = by_line.get(head[0], 0) + int(r["v"] or 0)
                    line_names[head[0]] = head[1]
    line_targets: dict[int, int] = {}
    if plan.by_product:
        cells = TargetCell.objects.filter(
            scenario__plan=plan, scenario__is_primary=True, product__isnull=False,
            region__isnull=True, segment__isnull=True, period_kind="month",
            period_start__gte=period.start, period_start__lte=period.end,
        )  # fmt: skip
        cells = (
            cells.filter(person_id=node.id)
            if node.kind == "person"
            else cells.filter(unit_id=node.id, person__isnull=True)
        )
        for product_id, target in cells.values_list("product_id", "target"):
            head = lines.get(product_id)
            if head is not None:
                line_targets[head[0]] = line_targets.get(head[0], 0) + target
                line_names[head[0]] = head[1]
    products = [
        {"id": pk, "name": line_names[pk], "actual": to_units(by_line.get(pk, 0), money, metric.decimals),
         "target": line_targets.get(pk)}
        for pk in sorted(line_names, key=lambda pk: -by_line.get(pk, 0))
    ]  # fmt: skip
    return {"regions": _heat_out(names, region_ids, months, matrix), "products": products}


def _heat_out(names: dict, region_ids: list[int], months: list[Period], matrix: list) -> dict:
    return {
        "names": [names[pk] for pk in region_ids],
        "months": [f"{m.start.month}月" if lang() == "zh" else m.start.strftime("%b") for m in months],
        "cells": matrix,
    }


def _by_region_month(user, metric: Metric, node: Node, start: dt.date, end: dt.date, part: Slice):
    """(sales region id, first day of month, value in the rollups' units) of the node's actuals:
    the rollups' sums, or its new customers counted by their region and first-deal month."""
    column = COLUMNS.get(metric.aggregation, (None, False))[0]
    if column is None:
        from salestarget.catalog.models import Customer

        firsts = new_customer_firsts(user, metric, [node], start, end, part)[node.key]
        region_of = dict(
            Customer.objects.filter(first_deal_date__range=(start, end)).values_list("pk", "region_id")
        )
        for customer_id, first in firsts.items():
            yield region_of.get(customer_id), first.replace(day=1), 1
        return
    for rows in _node_rows(user, metric, node, start, end, part):
        for r in rows.values("region_id", "m").annotate(v=Sum(column)):
            yield r["region_id"], month_of(r["m"]), int(r["v"] or 0)
