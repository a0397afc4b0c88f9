"""A plan's total split over the organisation, its months (and weeks) and product lines, exactly
and explainably, into one scenario.

The engine does the arithmetic: ``engine.hierarchy.decompose`` splits the year down the tree
with each level's own method, rounding unit and over-assignment; ``engine.allocate`` splits the
company's year into months (seasonality on the target year's working days) and product lines;
``engine.raking`` then gives every child its months so that, under every parent, the children's
months add up to the parent's months and each child's months to its year — to the fen. This
module gathers the inputs (history credited by the metric's rule, tiers, hire dates, vacancies,
the company calendar), keeps what people locked or set by hand, and writes the cells and the
explanations (``Split``) in one transaction, so "why is my target this number?" is a read.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from fractions import Fraction

import numpy as np
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from salestarget.core.errors import DomainError
from salestarget.engine.allocate import (
    DEFAULT_RAMP,
    DEFAULT_TIER_MULTIPLIERS,
    AllocationError,
    Basis,
    allocate,
    apportion,
    by_history,
    by_profile,
    by_seasonality,
)
from salestarget.engine.calendar import Period, add_months, week_anchor
from salestarget.engine.explain import Explanation
from salestarget.engine.hierarchy import Decomposed, Node, Rule, decompose
from salestarget.engine.raking import rake, round_table
from salestarget.engine.rounding import round_half_up
from salestarget.targets.models import Plan, Scenario, Split, TargetCell

ORG_METHODS = ("history", "capability", "weights", "even", "growth")
MONTH_METHODS = ("seasonality", "even", "profile")
PRODUCT_METHODS = ("history", "even")
MAX_YEARS = 5
# What a re-run keeps: locked cells and values people set, in the grid, the API or a workbook.
KEEP = Q(locked=True) | Q(source__in=[TargetCell.Source.MANUAL, TargetCell.Source.IMPORT])


def node_key(unit_id: int | None = None, person_id: int | None = None) -> str:
    return f"p{person_id}" if person_id else f"u{unit_id}"


# --- rules --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LevelRule:
    """How the values at one depth of the organisation (1 = the regions under the company) are
    made from their parent's: the method and its parameters."""

    depth: int
    method: str = "history"
    years: int = 3
    recency: tuple[float, ...] = ()
    min_share: float | None = 0.5
    growth_bp: int = 0
    ramp: tuple[float, ...] = DEFAULT_RAMP
    tiers: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_TIER_MULTIPLIERS))
    # For "weights": the planner's weight per unit or person code (e.g. market potential);
    # a child with none weighs 0 and the explanation says so.
    weights: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Vacancy:
    """A seat to be filled in a unit from ``start``: it carries a share of the unit's target
    (ramping like a new hire) that no one's personal target holds until the hire is made."""

    unit_id: int
    start: dt.date
    tier: str = "B"


@dataclass(frozen=True)
class Rules:
    """The wizard's choices, kept on the scenario (``Scenario.rules``) so a re-run starts from them."""

    levels: tuple[LevelRule, ...] = ()
    months: str = "seasonality"
    month_years: int = 3
    profile: tuple[float, ...] = ()
    weeks: bool = False
    products: str = "history"
    product_years: int = 2
    vacancies: tuple[Vacancy, ...] = ()

    def as_json(self) -> dict:
        data = asdict(self)
        data["vacancies"] = [{**v, "start": v["start"].isoformat()} for v in data["vacancies"]]
        return data

    @classmethod
    def from_json(cls, data: dict) -> Rules:
        """Rules from JSON (the API, the page's form, a stored scenario), each value checked:
        a bad one is a ``DomainError`` naming the level and the value."""
        if not isinstance(data, dict):
            raise DomainError(_("The decomposition rules must be an object."))
        levels = []
        for item in data.get("levels") or []:
            levels.append(_level(item))
        depths = [lv.depth for lv in levels]
        if len(set(depths)) != len(depths):
            raise DomainError(_("Each level of the organisation may be given once."))
        months = data.get("months", "seasonality")
        if months not in MONTH_METHODS:
            raise DomainError(_("Months: unknown method “%(value)s”."), value=months)
        profile = tuple(_number(v, _("Months: the profile")) for v in data.get("profile") or ())
        if months == "profile":
            if any(v < 0 for v in profile) or abs(sum(profile) - 100) > 0.01:
                raise DomainError(_("Months: the percentages must be at least 0 and add up to 100."))
        products = data.get("products", "history")
        if products not in PRODUCT_METHODS:
            raise DomainError(_("Product lines: unknown method “%(value)s”."), value=products)
        vacancies = tuple(_vacancy(v) for v in data.get("vacancies") or ())
        return cls(
            levels=tuple(sorted(levels, key=lambda lv: lv.depth)),
            months=months,
            month_years=_whole(data.get("month_years", 3), 1, MAX_YEARS, _("Months: years of history")),
            profile=profile,
            weeks=bool(data.get("weeks", False)),
            products=products,
            product_years=_whole(data.get("product_years", 2), 1, MAX_YEARS, _("Product lines: years")),
            vacancies=vacancies,
        )

    def level(self, depth: int) -> LevelRule:
        return next((lv for lv in self.levels if lv.depth == depth), LevelRule(depth, method="even"))


def _number(value, what) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise DomainError(_("%(what)s: “%(value)s” is not a number."), what=what, value=value) from None
    if not np.isfinite(number):
        raise DomainError(_("%(what)s: “%(value)s” is not a number."), what=what, value=value)
    return number


def _whole(value, low: int, high: int, what) -> int:
    number = _number(value, what)
    if number != int(number) or not low <= number <= high:
        raise DomainError(
            _("%(what)s: “%(value)s” must be a whole number from %(low)s to %(high)s."),
            what=what,
            value=value,
            low=low,
            high=high,
        )
    return int(number)


def _level(item) -> LevelRule:
    if not isinstance(item, dict):
        raise DomainError(_("Each level's rule must be an object."))
    depth = _whole(item.get("depth"), 1, 20, _("Level"))
    where = _("Level %(depth)s") % {"depth": depth}
    method = item.get("method", "history")
    if method not in ORG_METHODS:
        raise DomainError(_("%(what)s: unknown method “%(value)s”."), what=where, value=method)
    years = _whole(item.get("years", 3), 1, MAX_YEARS, where)
    recency = tuple(_number(v, where) for v in item.get("recency") or ())
    if recency and (len(recency) != years or any(v < 0 for v in recency) or not any(recency)):
        raise DomainError(
            _("%(what)s: give one non-negative weight per year of history (%(years)s), not all zero."),
            what=where,
            years=years,
        )
    min_share = item.get("min_share", 0.5)
    if min_share is not None:
        min_share = _number(min_share, where)
        if not 0 < min_share < 1:
            raise DomainError(
                _("%(what)s: the minimum share for those without history must lie between 0 and 1."),
                what=where,
            )
    growth_bp = _whole(item.get("growth_bp", 0), -9999, 100000, where)
    ramp = tuple(_number(v, where) for v in item.get("ramp") or DEFAULT_RAMP)
    if not ramp or len(ramp) > 24 or any(not 0 <= v <= 1 for v in ramp):
        raise DomainError(
            _("%(what)s: the new-hire ramp is up to 24 monthly fractions from 0 to 1."), what=where
        )
    tiers = item.get("tiers") or dict(DEFAULT_TIER_MULTIPLIERS)
    if not isinstance(tiers, dict) or set(tiers) - set(DEFAULT_TIER_MULTIPLIERS):
        raise DomainError(_("%(what)s: tiers are A, B, C and D."), what=where)
    tiers = {k: _number(v, where) for k, v in {**DEFAULT_TIER_MULTIPLIERS, **tiers}.items()}
    if any(not 0 <= v <= 10 for v in tiers.values()):
        raise DomainError(_("%(what)s: a tier multiplier lies between 0 and 10."), what=where)
    weights = item.get("weights") or {}
    if not isinstance(weights, dict) or len(weights) > 100000:
        raise DomainError(_("%(what)s: weights are given as code: weight pairs."), what=where)
    weights = {str(code).strip(): _number(v, where) for code, v in weights.items()}
    if any(v < 0 for v in weights.values()):
        raise DomainError(_("%(what)s: a weight must not be negative."), what=where)
    if method == "weights" and not any(weights.values()):
        raise DomainError(_("%(what)s: give a weight to at least one unit or person."), what=where)
    return LevelRule(depth, method, years, recency, min_share, growth_bp, ramp, tiers, weights)


def _vacancy(item) -> Vacancy:
    from salestarget.org.models import OrgUnit

    if not isinstance(item, dict):
        raise DomainError(_("Each vacancy must be an object with a unit and a start date."))
    unit = item.get("unit_id")
    if not isinstance(unit, int) or not OrgUnit.objects.filter(pk=unit).exists():
        code = item.get("unit")
        found = OrgUnit.objects.filter(code=code).values_list("pk", flat=True).first() if code else None
        if found is None:
            raise DomainError(_("Vacancy: there is no unit “%(value)s”."), value=code or unit)
        unit = found
    try:
        start = dt.date.fromisoformat(str(item.get("start")))
    except ValueError:
        raise DomainError(
            _("Vacancy: “%(value)s” is not a date (YYYY-MM-DD)."), value=item.get("start")
        ) from None
    tier = item.get("tier") or "B"
    if tier not in DEFAULT_TIER_MULTIPLIERS:
        raise DomainError(_("Vacancy: the tier is A, B, C or D."))
    return Vacancy(unit, start, tier)


# --- inputs ---------------------------------------------------------------------------------------


@dataclass
class Tree:
    """The organisation for the plan's period as engine nodes, keyed ``u<id>``/``p<id>``
    (vacancies ``v<unit>-<n>``), with what the writer needs to store each node's cells."""

    root: Node
    nodes: dict[str, Node]
    unit_of: dict[str, int]  # person and vacancy keys -> their unit
    depth: dict[str, int]
    people: int = 0


def plan_months(plan: Plan) -> list[Period]:
    from salestarget.targets.services import plan_period

    period = plan_period(plan)
    return period.children("month") if period.kind != "month" else [period]


def build_tree(plan: Plan, rules: Rules) -> Tree:
    """Units, then the members of each unit on any day of the period (their latest membership
    there; people who left before it starts are out), then the declared vacancies."""
    from salestarget.org.models import Membership, OrgUnit, Person
    from salestarget.targets.services import plan_period

    period = plan_period(plan)
    nodes: dict[str, Node] = {}
    depth: dict[str, int] = {}
    parent_of: dict[str, str] = {}
    root_key = None
    weights = {lv.depth: lv.weights for lv in rules.levels if lv.method == "weights"}
    units = OrgUnit.objects.order_by("path").values_list("pk", "parent_id", "depth", "name", "code")
    for pk, parent, d, name, code in units:
        key = node_key(pk)
        nodes[key], depth[key] = Node(key, name, weight=weights.get(d, {}).get(code, 0.0)), d
        if parent is None:
            if root_key is not None:
                raise DomainError(
                    _("The organisation needs exactly one top unit (the company) to hold the plan's total.")
                )
            root_key = key
        else:
            parent_of[key] = node_key(parent)
    if root_key is None:
        raise DomainError(_("There is no organisation to split the plan over."))
    members = (
        Membership.objects.filter(role=Membership.Role.MEMBER, valid_from__lte=period.end)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=period.start))
        .exclude(person__leave_date__lt=period.start)
        .order_by("person_id", "valid_from")
        .values_list("person_id", "unit_id")
    )
    unit_of: dict[str, int] = {}
    for pid, uid in members:
        unit_of[node_key(person_id=pid)] = uid  # the latest membership wins
    people = Person.objects.filter(pk__in=[int(k[1:]) for k in unit_of]).values_list(
        "pk", "name", "tier", "hire_date", "code"
    )
    for pid, name, tier, hired, code in people:
        key = node_key(person_id=pid)
        uid = unit_of[key]
        d = depth[node_key(uid)] + 1
        nodes[key] = Node(key, name, tier=tier, hire_date=hired, weight=weights.get(d, {}).get(code, 0.0))
        parent_of[key], depth[key] = node_key(uid), d
    count: dict[int, int] = defaultdict(int)
    for vacancy in rules.vacancies:
        count[vacancy.unit_id] += 1
        key = f"v{vacancy.unit_id}-{count[vacancy.unit_id]}"
        label = _("Vacancy %(n)s") % {"n": count[vacancy.unit_id]}
        nodes[key] = Node(
            key, str(label), tier=vacancy.tier, hire_date=vacancy.start, vacancy=True, weight=0.0
        )
        unit_of[key] = vacancy.unit_id
        parent_of[key], depth[key] = node_key(vacancy.unit_id), depth[node_key(vacancy.unit_id)] + 1
    for key, parent in parent_of.items():
        nodes[parent].children.append(nodes[key])
    return Tree(nodes[root_key], nodes, unit_of, depth, people=len(people))


def _years(plan: Plan, count: int) -> list[int]:
    return list(range(plan.fiscal_year - count, plan.fiscal_year))


def attach_history(plan: Plan, tree: Tree, rules: Rules) -> None:
    """Each node's credited actual per fiscal year before the plan's (oldest first; a year in
    progress counts what has been sold so far: shares within a year stay comparable). One
    grouped read per year; a unit's history is its whole subtree's, including people who have
    left. Territory credit counts a sale once per subtree, so units read it through
    ``by_unit_month``; owner and split credit add up by the unit each credited row names."""
    from django.db.models import Sum

    from salestarget.actuals.credit import COLUMNS, by_unit_month, credit_rows, to_units
    from salestarget.metrics.models import Metric
    from salestarget.metrics.selectors import fiscal_calendar
    from salestarget.org.models import OrgUnit

    wanted = [lv.years for lv in rules.levels if lv.method in ("history", "growth")]
    if not wanted or plan.metric.aggregation not in COLUMNS:
        return
    years = _years(plan, max(wanted))
    cal = fiscal_calendar()
    column, money = COLUMNS[plan.metric.aggregation]
    series: dict[str, list[float]] = defaultdict(lambda: [0.0] * len(years))
    parent = dict(OrgUnit.objects.values_list("pk", "parent_id"))
    territory = plan.metric.credit_rule == Metric.Credit.TERRITORY
    for i, fy in enumerate(years):
        period = cal.year(fy)
        rows = credit_rows(None, plan.metric).filter(day__gte=period.start, day__lte=period.end)
        for pid, uid, value in (
            rows.values_list("person_id", "unit_id")
            .annotate(v=Sum(column))
            .values_list("person_id", "unit_id", "v")
        ):
            value = to_units(int(value or 0), money, plan.metric.decimals)
            if pid:
                series[node_key(person_id=pid)][i] += value
            while uid and not territory:
                series[node_key(uid)][i] += value
                uid = parent.get(uid)
    if territory:
        start, end = cal.year(years[0]).start, cal.year(years[-1]).end
        for (uid, month), value in by_unit_month(plan.metric, start, end, OrgUnit.objects.all()).items():
            series[node_key(uid)][years.index(cal.fiscal_year_of(month))] += value
    for key, node in tree.nodes.items():
        if not node.vacancy:
            node.history = list(series[key]) if key in series else [0.0] * len(years)
            node.last = int(node.history[-1])


def _engine_rules(plan: Plan, tree: Tree, rules: Rules, period: Period) -> dict[int, Rule]:
    levels = {lv.depth: lv for lv in plan.levels.all()}
    out: dict[int, Rule] = {}
    for d in sorted(set(tree.depth.values()) - {0}):
        rule = rules.level(d)
        declared = levels.get(d)
        over = None
        if declared is not None and declared.over_assignment_bp:
            over = 100 + declared.over_assignment_bp / 100
        options: dict = {}
        if rule.method == "history":
            total_years = len(tree.root.history or ()) or rule.years
            recency = list(rule.recency) or list(range(1, rule.years + 1))
            options = {
                "recency": [0.0] * (total_years - rule.years) + recency,
                "min_share": rule.min_share,
            }
        elif rule.method == "capability":
            options = {"period": period, "ramp": list(rule.ramp), "tier_multipliers": rule.tiers}
        elif rule.method == "growth":
            options = {"growth": rule.growth_bp / 10000}
        out[d] = Rule(
            rule.method,
            unit=declared.rounding_unit if declared is not None else 1,
            options=options,
            over_assign=over,
            zero_weights="even",
        )
    return out


# --- months, product lines, weeks -----------------------------------------------------------------


def month_basis(plan: Plan, rules: Rules, months: list[Period]) -> Basis:
    """The company's months: seasonality on working days (past complete years' sales per working
    day, times the target year's working days), working days alone, or the planner's percentages."""
    from salestarget.metrics.selectors import fiscal_calendar

    cal = fiscal_calendar()
    target_days = cal.working_day_counts(months)
    if rules.months == "profile":
        if len(rules.profile) != len(months):
            raise DomainError(
                _("Months: give one percentage per month of the period (%(n)s)."), n=len(months)
            )
        return by_profile(rules.profile)
    if rules.months == "even":
        basis = Basis("seasonality", np.asarray(target_days, dtype=np.float64))
        basis.inputs = {"years": 0, "target_days": [int(d) for d in target_days]}
        return basis
    history, days = _company_months(plan, rules.month_years, months)
    if not history:
        raise DomainError(
            _(
                "Months: there is no complete past year of history to learn the seasons from; split by working days or by a profile."
            )
        )
    try:
        return by_seasonality(history, days, target_days)
    except AllocationError as exc:
        raise DomainError(_("Months: %(reason)s"), reason=str(exc)) from exc


def _company_months(
    plan: Plan, years: int, months: list[Period]
) -> tuple[list[list[float]], list[list[int]]]:
    """The same months in each of the last ``years`` complete fiscal years that have sales."""
    from django.db.models import Sum
    from django.db.models.functions import TruncMonth

    from salestarget.actuals.credit import COLUMNS, to_units, total_rows
    from salestarget.metrics.selectors import fiscal_calendar

    if plan.metric.aggregation not in COLUMNS:
        return [], []
    cal = fiscal_calendar()
    today = timezone.localdate()
    complete = [
        fy
        for fy in range(plan.fiscal_year - 1, plan.fiscal_year - 1 - MAX_YEARS * 2, -1)
        if cal.year(fy).end < today
    ]
    column, money = COLUMNS[plan.metric.aggregation]
    history, days = [], []
    for fy in complete:
        if len(history) == years:
            break
        past = [m.shift(12 * (fy - plan.fiscal_year)) for m in months]
        rows = total_rows(None, plan.metric, since=past[0].start, until=past[-1].end)
        sums = {
            r["m"].date() if isinstance(r["m"], dt.datetime) else r["m"]: int(r["v"] or 0)
            for r in rows.annotate(m=TruncMonth("day")).values("m").annotate(v=Sum(column))
        }
        values = [float(to_units(sums.get(m.start, 0), money, plan.metric.decimals)) for m in past]
        if sum(values) > 0:
            history.append(values)
            days.append([int(d) for d in cal.working_day_counts(past)])
    return history[::-1], days[::-1]


def product_lines(plan: Plan) -> list[tuple[int, str]]:
    from salestarget.catalog.models import Product

    return list(
        Product.objects.filter(parent__isnull=True, active=True).order_by("path").values_list("pk", "name")
    )


def product_basis(plan: Plan, rules: Rules, lines: list[tuple[int, str]]) -> Basis:
    """The product lines' shares of the company's sales over the last years, or even."""
    if rules.products == "even" or not lines:
        return Basis("even", np.ones(len(lines), dtype=np.int64))
    from django.db.models import Sum

    from salestarget.actuals.credit import COLUMNS, total_rows
    from salestarget.catalog.models import Product
    from salestarget.metrics.selectors import fiscal_calendar

    if plan.metric.aggregation not in COLUMNS:
        return Basis("even", np.ones(len(lines), dtype=np.int64))
    cal = fiscal_calendar()
    years = _years(plan, rules.product_years)
    paths = dict(Product.objects.values_list("pk", "path"))
    roots = {paths[pk]: i for i, (pk, _name) in enumerate(lines)}
    column, _money = COLUMNS[plan.metric.aggregation]
    history = np.zeros((len(lines), len(years)))
    rows = total_rows(None, plan.metric, since=cal.year(years[0]).start, until=cal.year(years[-1]).end)
    for product, day, value in (
        rows.values_list("product_id", "day").annotate(v=Sum(column)).values_list("product_id", "day", "v")
    ):
        path = paths.get(product, "")
        line = next((i for p, i in roots.items() if path.startswith(p)), None)
        if line is not None:
            history[line, years.index(cal.fiscal_year_of(day))] += int(value or 0)
    return by_history(history, recency=list(range(1, len(years) + 1)), min_share=0.5)


def _fit(
    rows: np.ndarray,
    cols: np.ndarray,
    fixed: dict[tuple[int, int], int] | None = None,
    seed: np.ndarray | None = None,
) -> np.ndarray:
    """Children x slots: row i adds up to ``rows[i]``, column j to ``cols[j]``, cells in
    ``fixed`` keep their values and the rest follows the columns' shape, exactly (raking, then
    controlled rounding). ``rows`` and ``cols`` must have the same total.

    With ``seed`` (a table of the same shape, e.g. the targets when ``rows`` and ``cols`` are
    their floors) the free cells follow the seed instead: each stays within about a unit of
    the seed scaled to the totals, where the seed's own margins allow it."""
    n, m = len(rows), len(cols)
    out = np.zeros((n, m), dtype=np.int64)
    r, c = rows.astype(np.int64).copy(), cols.astype(np.int64).copy()
    free = np.ones((n, m), dtype=bool)
    for (i, j), value in (fixed or {}).items():
        out[i, j] = value
        free[i, j] = False
        r[i] -= value
        c[j] -= value
    stuck = ((r != 0) & ~free.any(axis=1)).any() or ((c != 0) & ~free.any(axis=0)).any()
    if (r < 0).any() or (c < 0).any() or stuck:
        raise AllocationError("cells locked or set by hand do not fit their row or column totals")
    if r.sum() == 0:
        return out
    if n == 1:
        out[0] += np.where(free[0], c, 0)
    elif m == 1:
        out[:, 0] += np.where(free[:, 0], r, 0)
    elif free.all() and seed is None:
        # Nothing fixed: the fitted table of a product seed is known exactly, only rounding is left.
        total = float(r.sum())
        exact = np.outer(r.astype(np.float64), c.astype(np.float64) / total)
        try:
            out += round_table(exact, r, c)
        except AllocationError:
            out += _transport(r, c, free)
    elif free.all() and float(np.maximum(seed, 0).sum()) > 0:
        # A seed whose margins are (nearly) the totals' shape: scaled, it needs rounding only;
        # round_table moves it onto the totals first when it misses them.
        base = np.maximum(np.asarray(seed, dtype=np.float64), 0.0)
        exact = base * (float(r.sum()) / float(base.sum()))
        try:
            out += round_table(exact, r, c)
        except AllocationError:
            out += _raked(base, r, c, free)
    else:
        if seed is None:
            base = np.outer(r.astype(np.float64), np.maximum(c, 0).astype(np.float64))
        else:
            base = np.maximum(np.asarray(seed, dtype=np.float64), 0.0)
        out += _raked(base * free, r, c, free)
    return out


def _raked(seed: np.ndarray, r: np.ndarray, c: np.ndarray, free: np.ndarray) -> np.ndarray:
    """The free cells raked from ``seed`` onto the totals and rounded exactly; the
    transportation problem's answer when raking cannot reach them."""
    try:
        values = rake(seed, [r, c]).values.astype(np.int64)
    except AllocationError:
        values = None
    if values is None or values[~free].any():
        values = _transport(r, c, free)
    return values


def _transport(r: np.ndarray, c: np.ndarray, free: np.ndarray) -> np.ndarray:
    """An exact integer table on the free cells when raking cannot reach one (cells pinned at
    zero that force the rest onto a boundary, where its iterations only approach the answer):
    the transportation problem's vertex solution, integral because its matrix is totally
    unimodular. Rare, and only under cells locked or set by hand."""
    from scipy.optimize import linprog

    n, m = free.shape
    cells = np.argwhere(free)
    a = np.zeros((n + m, len(cells)))
    for k, (i, j) in enumerate(cells):
        a[i, k] = a[n + j, k] = 1
    answer = linprog(
        np.zeros(len(cells)), A_eq=a, b_eq=np.concatenate([r, c]).astype(np.float64), method="highs"
    )
    if answer.status != 0:
        raise AllocationError("cells locked or set by hand do not fit their row or column totals")
    out = np.zeros((n, m), dtype=np.int64)
    out[cells[:, 0], cells[:, 1]] = np.rint(answer.x).astype(np.int64)
    if (out.sum(axis=1) != r).any() or (out.sum(axis=0) != c).any():
        raise AllocationError("cells locked or set by hand do not fit their row or column totals")
    return out


@dataclass
class Result:
    """The decomposition of one scenario, ready to store or to preview."""

    tree: Tree
    org: Decomposed
    months: list[Period]
    month_split: Explanation
    lines: list[tuple[int, str]]
    product_split: Explanation | None
    # node key -> slot values: months, or product lines x months flattened (line-major).
    slots: dict[str, np.ndarray] = field(default_factory=dict)
    weeks: dict[str, dict[dt.date, int]] = field(default_factory=dict)
    # node key -> the values of week_parts(months): each week's part inside each month.
    parts: dict[str, np.ndarray] = field(default_factory=dict)


def compute(
    plan: Plan,
    rules: Rules,
    *,
    total: int,
    kept: dict[tuple, int] | None = None,
    slots: bool = True,
    progress: Callable[[str, int, int], None] | None = None,
) -> Result:
    """Split ``total`` (the company's target for the plan's period). ``kept`` are the cells a
    re-run must not change (locked or set by hand), keyed like ``cell_key``. Without ``slots``
    only the organisation's year values and the company's months are made (the preview)."""
    from salestarget.targets.services import plan_period

    kept = kept or {}
    step = progress or (lambda phase, done, total: None)
    period = plan_period(plan)
    step("history", 0, 1)
    tree = build_tree(plan, rules)
    attach_history(plan, tree, rules)
    for key, node in tree.nodes.items():
        node.locked = kept.get((key, plan.period_kind, plan.period_start, None))
    engine_rules = _engine_rules(plan, tree, rules, period)
    step("organisation", 0, 1)
    try:
        org = decompose(tree.root, total, engine_rules, default=Rule("even"))
    except AllocationError as exc:
        raise DomainError(_("The organisation could not be split: %(reason)s"), reason=str(exc)) from exc
    months = plan_months(plan)
    labels = [m.label("zh") for m in months]
    root_key = tree.root.key
    month_locks = {
        labels[i]: kept[(root_key, "month", m.start, None)]
        for i, m in enumerate(months)
        if (root_key, "month", m.start, None) in kept
    }
    try:
        split = allocate(total, labels, month_basis(plan, rules, months), locks=month_locks or None)
    except AllocationError as exc:
        raise DomainError(_("Months: %(reason)s"), reason=str(exc)) from exc
    lines = product_lines(plan) if plan.by_product else []
    product_split = None
    root_slots = split.values.astype(np.int64)
    if lines:
        try:
            products = allocate(total, [name for _pk, name in lines], product_basis(plan, rules, lines))
            by_line = _fit(products.values, root_slots, _fixed_lines(kept, root_key, months, lines))
        except AllocationError as exc:
            raise DomainError(_("Product lines: %(reason)s"), reason=str(exc)) from exc
        product_split = products.explanation
        root_slots = np.concatenate([root_slots, by_line.ravel()])
    split.explanation.inputs["starts"] = [m.start.isoformat() for m in months]
    result = Result(tree, org, months, split.explanation, lines, product_split)
    if not slots:
        return result
    result.slots[root_key] = root_slots
    inner = [item for item in org.walk() if item.children]
    for done, item in enumerate(inner):
        step("months", done, len(inner))
        kids = [child.node.key for child in item.children]
        values = np.array([child.value for child in item.children], dtype=np.int64)
        try:
            table = _children_slots(values, result.slots[item.node.key], kids, months, lines, kept)
        except AllocationError as exc:
            raise DomainError(
                _(
                    "Under %(unit)s, the cells locked or set by hand cannot be kept while every "
                    "month adds up to %(unit)s's month: unlock some of them or change their values."
                ),
                unit=item.node.name,
            ) from exc
        for i, key in enumerate(kids):
            result.slots[key] = table[i]
    if rules.weeks:
        try:
            _weeks(result, kept, step)
        except _WeekError as exc:
            raise _week_error(plan, months, exc) from exc
    return result


def _slot_keys(plan: Plan, months: list[Period], lines: list[tuple[int, str]]) -> list[tuple]:
    """(kind, start, product) of each slot: months, then each line's months."""
    keys = [("month", m.start, None) for m in months]
    for pk, _name in lines:
        keys.extend(("month", m.start, pk) for m in months)
    return keys


def _fixed_lines(kept: dict, key: str, months: list[Period], lines: list) -> dict:
    """Kept line x month cells of ``key`` as fixed (line, month) positions."""
    return {
        (p, j): kept[(key, "month", m.start, pk)]
        for p, (pk, _name) in enumerate(lines)
        for j, m in enumerate(months)
        if (key, "month", m.start, pk) in kept
    }


def _children_slots(
    values: np.ndarray,
    parent: np.ndarray,
    kids: list[str],
    months: list[Period],
    lines: list,
    kept: dict,
    seed: np.ndarray | None = None,
) -> np.ndarray:
    """The children's months (and lines x months) under one parent. First the months: each
    child's add up to its year, the children's to the parent's months. Then, month by month,
    each child's month over the lines, the children's adding up to the parent's line-month.
    Every axis adds up; kept cells keep their values. ``seed`` (children x slots) makes the
    free cells follow it rather than the parent's shape: the targets, when the values are
    their floors or stretches."""
    n = len(months)
    total = int(values.sum())
    parent_months = parent[:n]
    cols = parent_months if int(parent_months.sum()) == total else _spread(total, parent_months)
    fixed = {
        (i, j): kept[(key, "month", m.start, None)]
        for i, key in enumerate(kids)
        for j, m in enumerate(months)
        if (key, "month", m.start, None) in kept
    }
    if lines and not fixed:
        # One fit of the children over every line-month: each child's months are then the sums
        # of its lines, so months, lines and children all add up (a month kept by hand without
        # a line needs the month-by-month fit below).
        flat = parent[n:]
        line_cols = flat if int(flat.sum()) == total else _spread(total, flat)
        line_fixed = {
            (i, p * n + j): kept[(key, "month", m.start, pk)]
            for i, key in enumerate(kids)
            for p, (pk, _name) in enumerate(lines)
            for j, m in enumerate(months)
            if (key, "month", m.start, pk) in kept
        }
        by_line = _fit(values, line_cols, line_fixed, None if seed is None else seed[:, n:])
        return np.concatenate([by_line.reshape(len(kids), len(lines), n).sum(axis=1), by_line], axis=1)
    table = _fit(values, cols, fixed, None if seed is None else seed[:, :n])
    if not lines:
        return table
    parent_lines = parent[n:].reshape(len(lines), n)
    seed_lines = None if seed is None else seed[:, n:].reshape(len(kids), len(lines), n)
    out = np.zeros((len(kids), len(lines), n), dtype=np.int64)
    for j, m in enumerate(months):
        column = table[:, j]
        line_cols = parent_lines[:, j]
        if int(line_cols.sum()) != int(column.sum()):
            line_cols = _spread(int(column.sum()), line_cols)
        cell_fixed = {
            (i, p): kept[(key, "month", m.start, pk)]
            for i, key in enumerate(kids)
            for p, (pk, _name) in enumerate(lines)
            if (key, "month", m.start, pk) in kept
        }
        out[:, :, j] = _fit(
            column, line_cols, cell_fixed, None if seed_lines is None else seed_lines[:, :, j]
        )
    return np.concatenate([table, out.reshape(len(kids), -1)], axis=1)


def _spread(total: int, weights: np.ndarray) -> np.ndarray:
    """``total`` over ``weights`` exactly (largest remainder); evenly when they are all zero."""
    weights = np.maximum(np.asarray(weights), 0)
    return apportion(int(total), weights if weights.sum() else np.ones(len(weights), dtype=np.int64))


def week_parts(months: list[Period]) -> list[tuple[int, dt.date, int]]:
    """(month index, week's first day, working days) for every part of a week inside a month:
    a week that straddles two months has a part in each, so weeks derive from the months."""
    from salestarget.metrics.selectors import fiscal_calendar

    cal = fiscal_calendar()
    parts = []
    for i, month in enumerate(months):
        day = month.start
        while day <= month.end:
            anchor = week_anchor(day, cal.week_start)
            end = min(anchor + dt.timedelta(days=6), month.end)
            parts.append((i, anchor, cal.working_days_between(day, end)))
            day = end + dt.timedelta(days=1)
    return parts


class _WeekError(AllocationError):
    """Weeks that cannot be fitted: ``node`` (a unit or a person) has a negative month, or the
    weeks under ``unit`` do not fit (``kept``: weeks locked or set by hand are the reason)."""

    def __init__(self, unit: Node, month: int, *, node: Node | None = None, value: int = 0, kept=False):
        super().__init__("weeks do not fit")
        self.unit, self.month, self.node, self.value, self.kept = unit, month, node, value, kept


def _by_month(parts: list[tuple[int, dt.date, int]]) -> dict[int, list[int]]:
    by_month: dict[int, list[int]] = defaultdict(list)
    for index, (i, _anchor, _days) in enumerate(parts):
        by_month[i].append(index)
    return by_month


def _fit_parts(
    org: Decomposed,
    month_values: dict[str, np.ndarray],
    parts: list[tuple[int, dt.date, int]],
    fit_months,
    fixed: dict[str, dict[int, int]],
    *,
    seed: dict[str, np.ndarray] | None = None,
    step=None,
) -> dict[str, np.ndarray]:
    """The parts of weeks (``week_parts``) inside the months ``fit_months`` of every node, top
    down: the company's month over its parts by working days (by ``seed``'s parts when given:
    the targets', for a floor or a stretch), then under each parent, month by month, the
    children's parts fitted so that each child's add up to its month and the children's to the
    parent's parts. ``fixed`` parts (kept weeks) keep their values. Parts of other months are 0.
    Raises :class:`_WeekError` naming the node and the month that stop it."""
    by_month = _by_month(parts)
    days = np.array([d for _i, _anchor, d in parts], dtype=np.int64)
    fit_months = sorted(set(fit_months))
    root = org.node.key
    out: dict[str, np.ndarray] = {}
    values = np.zeros(len(parts), dtype=np.int64)
    for i in fit_months:
        idx = by_month[i]
        value = int(month_values[root][i])
        if value < 0:
            raise _WeekError(org.node, i, node=org.node, value=value)
        weights = seed[root][idx] if seed is not None and seed[root][idx].sum() > 0 else days[idx]
        here = {pos: fixed[root][k] for pos, k in enumerate(idx) if k in fixed.get(root, {})}
        rest = value - sum(here.values())
        free = [pos for pos in range(len(idx)) if pos not in here]
        if rest < 0 or (rest and not free):
            raise _WeekError(org.node, i, kept=True)
        part = np.zeros(len(idx), dtype=np.int64)
        for pos, v in here.items():
            part[pos] = v
        if free:
            part[free] = _spread(rest, weights[free])
        values[idx] = part
    out[root] = values
    inner = [item for item in org.walk() if item.children]
    for done, item in enumerate(inner):
        if step is not None:
            step("weeks", done, len(inner))
        parent = out[item.node.key]
        kids = item.children
        table = np.zeros((len(kids), len(parts)), dtype=np.int64)
        for i in fit_months:
            idx = by_month[i]
            rows = np.array([int(month_values[c.node.key][i]) for c in kids], dtype=np.int64)
            negative = np.flatnonzero(rows < 0)
            if negative.size:
                first = int(negative[0])
                raise _WeekError(item.node, i, node=kids[first].node, value=int(rows[first]))
            cols = parent[idx]
            if int(cols.sum()) != int(rows.sum()):
                cols = _spread(int(rows.sum()), cols)
            kids_fixed = {
                (c, pos): fixed[child.node.key][k]
                for c, child in enumerate(kids)
                for pos, k in enumerate(idx)
                if k in fixed.get(child.node.key, {})
            }
            shape = None if seed is None else np.array([seed[c.node.key][idx] for c in kids])
            try:
                table[:, idx] = _fit(rows, cols, kids_fixed, shape)
            except AllocationError as exc:
                raise _WeekError(item.node, i, kept=bool(kids_fixed)) from exc
        for c, child in enumerate(kids):
            out[child.node.key] = table[c]
    return out


def _week_sums(parts: list[tuple[int, dt.date, int]], values: np.ndarray) -> dict[dt.date, int]:
    weeks: dict[dt.date, int] = defaultdict(int)
    for (_i, anchor, _days), value in zip(parts, values.tolist(), strict=True):
        weeks[anchor] += value
    return dict(weeks)


def _weeks(result: Result, kept: dict, step) -> None:
    """Weeks (Monday first) from each node's months by working days, fitted under each parent
    month by month so the children's weeks add up to the parent's. A kept week (locked or set
    by hand) keeps its value: split over its parts by working days, those parts are fixed and
    the node's other weeks of the month take the rest."""
    parts = week_parts(result.months)
    values = _fit_parts(
        result.org, result.slots, parts, range(len(result.months)), _kept_week_parts(parts, kept), step=step
    )
    result.parts = values
    for key, part_values in values.items():
        result.weeks[key] = _week_sums(parts, part_values)


def _kept_week_parts(parts: list[tuple[int, dt.date, int]], kept: dict) -> dict[str, dict[int, int]]:
    """node key -> {part index: value} for every kept week: a week that straddles two months
    is split between its parts by working days."""
    of_week: dict[dt.date, list[int]] = defaultdict(list)
    for index, (_i, anchor, _days) in enumerate(parts):
        of_week[anchor].append(index)
    out: dict[str, dict[int, int]] = defaultdict(dict)
    for (key, kind, start, product), value in kept.items():
        if kind != "week" or product is not None or start not in of_week:
            continue
        idx = of_week[start]
        days = np.array([parts[k][2] for k in idx], dtype=np.int64)
        shares = apportion(int(value), days if days.sum() else np.ones(len(idx)))
        out[key].update(zip(idx, (int(v) for v in shares), strict=True))
    return out


def _week_error(plan: Plan, months: list[Period], exc: _WeekError) -> DomainError:
    """What stopped the weeks, in words: the node whose month is negative, the weeks kept by
    hand under a unit, or (never expected) weeks that do not fit under a unit."""
    from salestarget.actuals.summary import shown

    month = months[exc.month].label(_lang())
    if exc.node is not None:
        return DomainError(
            _(
                "Under %(unit)s, the target of %(name)s for %(month)s is negative (%(value)s), so it "
                "cannot be split into weeks: correct that month first."
            ),
            unit=exc.unit.name,
            name=exc.node.name,
            month=month,
            value=shown(exc.value, plan.metric, _lang()),
        )
    if exc.kept:
        return _weeks_do_not_fit(exc.unit.name)
    return DomainError(
        _("Under %(unit)s, the weeks of %(month)s cannot be made to add up to the months."),
        unit=exc.unit.name,
        month=month,
    )


def _weeks_do_not_fit(name: str) -> DomainError:
    return DomainError(
        _(
            "Under %(unit)s, the weeks locked or set by hand cannot be kept while every week "
            "adds up to its month: unlock some of them or change their values."
        ),
        unit=name,
    )


# --- floor and stretch ----------------------------------------------------------------------------


@dataclass
class Scaled:
    """A level other than the target (the floor or the stretch) of every node, made the way the
    targets are: each parent's value over its children in proportion to their targets, then
    each child's over its months (and lines, and weeks) in proportion to its own targets there,
    fitted so that every axis adds up to the fen, like the targets (``scaled_levels``)."""

    year: dict[str, int] = field(default_factory=dict)
    slots: dict[str, np.ndarray] = field(default_factory=dict)
    weeks: dict[str, dict[dt.date, int]] = field(default_factory=dict)


def _share(total: int, weights, fixed: dict[int, int]) -> np.ndarray:
    """``total`` over ``weights`` exactly, ``fixed`` positions keeping their values (all of
    ``total`` by the weights when they cannot be kept)."""
    weights = np.asarray(weights, dtype=np.int64)
    rest = int(total) - sum(fixed.values())
    free = [i for i in range(len(weights)) if i not in fixed]
    if fixed and (rest < 0 or (rest and not free) or min(fixed.values()) < 0):
        fixed, rest, free = {}, int(total), list(range(len(weights)))
    out = np.zeros(len(weights), dtype=np.int64)
    for i, value in fixed.items():
        out[i] = value
    if free:
        out[free] = _spread(rest, weights[free])
    return out


def _kept_or_not(fit: Callable[[dict], np.ndarray], kept: dict) -> np.ndarray:
    """``fit`` around the kept values, or without them when they cannot all be kept (a floor
    set by hand is not a reason to refuse a run)."""
    try:
        return fit(kept)
    except AllocationError:
        return fit({})


def scaled_levels(plan: Plan, result: Result, top: int, kept: dict[tuple, int]) -> Scaled:
    """The floor or the stretch of every node from ``top``, the company's, top down like the
    targets: the company's months and lines in proportion to its targets there; under each
    parent, its level over the children in proportion to their targets (with over-assignment,
    the parent's ratio applied to the children's targets), then the children's months, lines
    and weeks fitted to those values and to the parent's months, lines and weeks, seeded with
    the children's targets so that every cell stays within about a fen of its share. Every
    axis adds up: a node's months to its year, its lines' months to its months and lines,
    its weeks to its months, the children to their parent. ``kept`` are the values of the
    cells a run keeps; they are fitted around like the targets."""
    root = result.tree.root.key
    months, lines = result.months, result.lines
    n = len(months)
    out = Scaled(year={root: int(top)})
    targets = result.slots[root]
    month_fixed = {
        j: kept[(root, "month", m.start, None)]
        for j, m in enumerate(months)
        if (root, "month", m.start, None) in kept
    }
    slots = _share(top, targets[:n], month_fixed)
    if lines:
        seed = targets[n:].reshape(len(lines), n)
        line_totals = _share(top, seed.sum(axis=1), {})
        by_line = _kept_or_not(
            lambda fixed: _fit(line_totals, slots, fixed, seed), _fixed_lines(kept, root, months, lines)
        )
        slots = np.concatenate([slots, by_line.ravel()])
    out.slots[root] = slots
    ratio = Fraction(int(top), int(result.org.value)) if result.org.value else Fraction(0)
    for item in result.org.walk():
        if not item.children:
            continue
        key = item.node.key
        kids = [child.node.key for child in item.children]
        target_years = np.array([child.value for child in item.children], dtype=np.int64)
        kids_target = int(target_years.sum())
        if kids_target == item.value:
            total = out.year[key]
        elif item.value:
            total = round_half_up(Fraction(out.year[key] * kids_target, item.value))
        else:
            total = round_half_up(ratio * kids_target)
        year_fixed = {
            i: kept[(k, plan.period_kind, plan.period_start, None)]
            for i, k in enumerate(kids)
            if (k, plan.period_kind, plan.period_start, None) in kept
        }
        years = _share(total, target_years, year_fixed)
        seed = np.array([result.slots[k] for k in kids], dtype=np.float64)
        table = _kept_or_not(
            lambda fixed, years=years, key=key, kids=kids, seed=seed: _children_slots(
                years, out.slots[key], kids, months, lines, fixed, seed
            ),
            kept,
        )
        for i, k in enumerate(kids):
            out.year[k] = int(years[i])
            out.slots[k] = table[i]
    if result.parts:
        parts = week_parts(months)
        values = _kept_or_not(
            lambda fixed: _fit_parts(result.org, out.slots, parts, range(n), fixed, seed=result.parts),
            _kept_week_parts(parts, kept),
        )
        out.weeks = {key: _week_sums(parts, v) for key, v in values.items()}
    return out


def _levels(plan: Plan, scenario: Scenario, result: Result, kept: dict) -> dict[str, Scaled | None]:
    """The floor and the stretch of every cell a run makes, by the plan's factors (None without
    one): from the company's, as its total cell holds them (else the factor times the total)."""
    total = scenario.cells.filter(plan.total_cell).values("floor", "target", "stretch").first()
    if total is None:
        primary = plan.scenarios.filter(is_primary=True).first()
        total = primary.cells.filter(plan.total_cell).values("floor", "target", "stretch").first()
    target = int(result.org.value)
    out: dict[str, Scaled | None] = {}
    for name, factor in (("floor", plan.floor_factor), ("stretch", plan.stretch_factor)):
        if factor is None:
            out[name] = None
            continue
        top = total.get(name) if total is not None and total.get("target") == target else None
        if top is None:
            top = round_half_up(Decimal(target) * factor)
        out[name] = scaled_levels(plan, result, top, kept.get(name, {}))
    return out


def kept_levels(scenario: Scenario) -> dict[str, dict[tuple, int]]:
    """The floor and the stretch of the cells a run keeps (as ``kept_cells``), where they have one."""
    plan = scenario.plan
    rows = (
        scenario.cells.filter(KEEP, region__isnull=True, segment__isnull=True)
        .exclude(plan.total_cell)
        .values("unit_id", "person_id", "period_kind", "period_start", "product_id", "floor", "stretch")
    )
    out: dict[str, dict[tuple, int]] = {"floor": {}, "stretch": {}}
    for r in rows:
        for name in out:
            if r[name] is not None:
                out[name][cell_key(r)] = r[name]
    return out


# --- weeks after months changed in place ----------------------------------------------------------


@dataclass
class _Segment:
    """Months in a row that did not change, joined by the weeks that straddle them with working
    days on both sides: per month the weeks that lie in it alone (``fulls``), between two
    months the week across them (``straddles``), and the parts inside the first and the last
    month of weeks that straddle into a changed month (``left``, ``right``: part indices)."""

    months: list[int]
    fulls: list[list[dt.date]]
    straddles: list[dt.date]
    left: int | None = None
    right: int | None = None


def _segments(
    parts: list[tuple[int, dt.date, int]], changed: set[int], n: int
) -> tuple[list[_Segment], set[dt.date]]:
    """The runs of unchanged months and the weeks a refit of ``changed`` rewrites: those with
    working days in a changed month. A part without working days (in a month that has some)
    is 0 in every fit, so a week does not join two months through it."""
    month_days = [0] * n
    for i, _anchor, d in parts:
        month_days[i] += d
    of_week: dict[dt.date, list[int]] = defaultdict(list)
    for k, (_i, anchor, _days) in enumerate(parts):
        of_week[anchor].append(k)

    def counts(k: int) -> bool:
        i, _anchor, d = parts[k]
        return d > 0 or month_days[i] == 0

    home = {
        anchor: sorted({parts[k][0] for k in ks if counts(k)} or {parts[k][0] for k in ks})
        for anchor, ks in of_week.items()
    }
    touched = {anchor for anchor, months in home.items() if set(months) & changed}
    linked = {months[0] for months in home.values() if len(months) > 1}
    runs: list[list[int]] = []
    for i in range(n):
        if i in changed:
            continue
        if runs and runs[-1][-1] == i - 1 and (i - 1) in linked:
            runs[-1].append(i)
        else:
            runs.append([i])
    out = []
    for run in runs:
        at = {u: j for j, u in enumerate(run)}
        segment = _Segment(run, [[] for _ in run], [None] * (len(run) - 1))
        for anchor, months in home.items():
            if anchor in touched:
                for k in of_week[anchor]:
                    i = parts[k][0]
                    if i in at and counts(k):
                        if i == run[0] and i - 1 in months:
                            segment.left = k
                        elif i == run[-1] and i + 1 in months:
                            segment.right = k
            elif months[0] in at:
                if len(months) == 1:
                    segment.fulls[at[months[0]]].append(anchor)
                else:
                    segment.straddles[at[months[0]]] = anchor
        out.append(segment)
    return out, touched


def _boundaries(
    org: Decomposed,
    parts: list[tuple[int, dt.date, int]],
    segments: list[_Segment],
    month_values: dict[str, np.ndarray],
    old: dict[str, dict[dt.date, int]],
) -> dict[str, dict[int, int]]:
    """node key -> {part index: value} for the parts, inside months that did not change, of
    weeks that straddle into a changed month: what those months' own stored weeks leave of
    them, so that each month still adds up. Read along the run of unchanged months from its
    fixed end, as the parts of the weeks between them must be (each between 0 and its week);
    two such parts around one run share its rest, split top down so that the children's add
    up to the parent's. Where a node's stored weeks and months disagree (no split fits), each
    part is its month's share by working days, at most its old week."""
    month_days = defaultdict(int)
    for i, _anchor, d in parts:
        month_days[i] += d
    out: dict[str, dict[int, int]] = defaultdict(dict)
    items = list(org.walk())
    for segment in segments:
        if segment.left is None and segment.right is None:
            continue
        first, last = segment.months[0], segment.months[-1]
        found = {}
        for item in items:
            key = item.node.key
            weeks, m = old.get(key, {}), month_values[key]
            k, lo, hi, incoming = 0, -np.inf, np.inf, 0
            for j, u in enumerate(segment.months):
                k += int(m[u]) - sum(weeks.get(a, 0) for a in segment.fulls[j]) - incoming
                if j < len(segment.straddles):
                    incoming = weeks.get(segment.straddles[j], 0)
                    lo, hi = max(lo, k - incoming), min(hi, k)
            caps, estimates = [], []
            for side, month in ((segment.left, first), (segment.right, last)):
                caps.append(0 if side is None else max(weeks.get(parts[side][1], 0), 0))
                days = month_days[month]
                share = Fraction(int(m[month]) * parts[side][2], days) if side is not None and days else 0
                estimates.append(min(max(round_half_up(share), 0), caps[-1]))
            # L (left) and R = k - L (right) between 0 and their old weeks, or 0 without them.
            lo, hi = max(lo, 0), min(hi, caps[0])
            lo, hi = max(lo, k - caps[1]), min(hi, k)
            if segment.left is None:
                hi = min(hi, 0)
            if segment.right is None:
                lo = max(lo, k)
            found[key] = (lo <= hi, k, int(lo) if lo <= hi else 0, int(hi) if lo <= hi else 0, estimates)
        chosen: dict[str, tuple[int, int]] = {}
        for item in items:
            key = item.node.key
            fits, k, lo, hi, estimates = found[key]
            if not fits:
                chosen[key] = (estimates[0], estimates[1])
            elif segment.left is None or segment.right is None:
                chosen[key] = (lo, k - lo)
            elif key not in chosen:  # the company: its rest by the two months' shares
                left = min(max(int(_spread(k, np.array(estimates))[0]), lo), hi)
                chosen[key] = (left, k - left)
            if segment.left is not None and segment.right is not None and item.children:
                kids = [c.node.key for c in item.children]
                rows = np.array(
                    [found[c][1] if found[c][0] else sum(found[c][4]) for c in kids], dtype=np.int64
                )
                cols = np.array(chosen[key], dtype=np.int64)
                if int(cols.sum()) != int(rows.sum()) or (cols < 0).any():
                    cols = _spread(int(rows.sum()), np.maximum(cols, 0))
                seed = np.array([found[c][4] for c in kids], dtype=np.float64)
                table = _fit(np.maximum(rows, 0), cols, seed=seed) if (rows >= 0).all() else None
                for c, child in enumerate(kids):
                    fits, k, lo, hi, estimates = found[child]
                    if not fits or table is None:
                        continue
                    left = min(max(int(table[c, 0]), lo), hi)
                    chosen[child] = (left, k - left)
        for key, (left, right) in chosen.items():
            if segment.left is not None:
                out[key][segment.left] = int(left)
            if segment.right is not None:
                out[key][segment.right] = int(right)
    return out


def refit_weeks(scenario: Scenario, months, *, user=None, reason: str = "") -> int:
    """Weeks that follow the months as they now stand, after months changed in place (an
    accepted change request, a restored version). Only the weeks of ``months``, the months whose
    targets changed (first days or any day of them), move: in those months the same fit as
    a run's, from every node's stored months and kept weeks, for the target and, by the plan's
    factors, the floor and the stretch (seeded with the new targets); a week that straddles
    into a month that did not change keeps there what that month's other weeks leave of it. So
    every node's weeks still add up to its months and its parent's weeks, and the months that
    did not change are not refitted: what they hold (a negative month, a month cell an import
    deleted) neither stops the refit nor moves their weeks. Only weeks whose value moves are
    written, each with a history row (``user``, ``reason``); a plan without weeks is left
    alone. Returns the weeks written."""
    from salestarget.targets.models import period_end

    plan = scenario.plan
    base = scenario.cells.filter(region__isnull=True, segment__isnull=True, product__isnull=True)
    names = ["target"] + [
        name for name, f in (("floor", plan.floor_factor), ("stretch", plan.stretch_factor)) if f is not None
    ]
    factor = {"floor": plan.floor_factor, "stretch": plan.stretch_factor}
    weeks_qs = base.filter(period_kind="week")
    kept_pks = set(weeks_qs.filter(KEEP).values_list("pk", flat=True))
    # Plain rows, not model instances: a 5,000-rep plan has 290,000 weeks.
    stored = {
        (node_key(unit, person), start): (pk, {"floor": floor, "target": target, "stretch": stretch})
        for pk, unit, person, start, floor, target, stretch in weeks_qs.values_list(
            "pk", "unit_id", "person_id", "period_start", "floor", "target", "stretch"
        )
    }
    if not stored:
        return 0
    all_months = plan_months(plan)
    index = {m.start: i for i, m in enumerate(all_months)}
    changed = {index[m.replace(day=1)] for m in months if m.replace(day=1) in index}
    if not changed:
        return 0
    n = len(all_months)
    try:  # the run's vacancies: they hold no cells, but their units' months count them
        vacancies = Rules.from_json({"vacancies": (scenario.rules or {}).get("vacancies") or []}).vacancies
    except DomainError:
        vacancies = ()
    tree = build_tree(plan, Rules(vacancies=vacancies))

    def tree_of(node: Node, depth: int) -> Decomposed:
        return Decomposed(node, 0, depth, node.name, children=[tree_of(c, depth + 1) for c in node.children])

    org = tree_of(tree.root, 0)
    values = {name: {key: np.zeros(n, dtype=np.int64) for key in tree.nodes} for name in names}
    has_months: set[str] = set()
    for unit, person, start, floor, target, stretch in base.filter(period_kind="month").values_list(
        "unit_id", "person_id", "period_start", "floor", "target", "stretch"
    ):
        key = node_key(unit, person)
        if key in tree.nodes and start in index:
            has_months.add(key)
            row = {"floor": floor, "target": target, "stretch": stretch}
            for name in names:
                value = row[name]
                if value is None:  # a floor emptied by hand: as the factor would make it
                    value = round_half_up(Decimal(target) * factor[name])
                values[name][key][index[start]] = value
    for item in org.walk():
        seats = [c.node.key for c in item.children if c.node.vacancy]
        if seats:  # a vacancy's months: what its unit's leave after its people's, shared evenly
            people = [c.node.key for c in item.children if not c.node.vacancy]
            for name in names:
                rest = values[name][item.node.key] - sum(
                    (values[name][k] for k in people), np.zeros(n, np.int64)
                )
                for j, value in enumerate(np.maximum(rest, 0).tolist()):
                    for key, share in zip(seats, _spread(value, np.ones(len(seats))).tolist(), strict=True):
                        values[name][key][j] = share
    parts = week_parts(all_months)
    segments, touched = _segments(parts, changed, n)
    parent_of = {child.node.key: item.node for item in org.walk() for child in item.children}
    new: dict[str, dict[str, dict[dt.date, int]]] = {}
    seed = None
    for name in names:
        old: dict[str, dict[dt.date, int]] = defaultdict(dict)
        kept: dict[str, dict[dt.date, int]] = defaultdict(dict)
        for (key, anchor), (pk, levels) in stored.items():
            if levels[name] is not None:
                old[key][anchor] = levels[name]
                if pk in kept_pks:
                    kept[key][anchor] = levels[name]
        bounds = _boundaries(org, parts, segments, values[name], old)
        try:
            fixed = _kept_around(parts, changed, touched, kept, bounds, parent_of, org.node)
            fitted = _fit_parts(org, values[name], parts, changed, fixed, seed=seed)
        except _WeekError as exc:
            if name == "target":
                raise _week_error(plan, all_months, exc) from exc
            try:  # a floor or stretch set by hand on a kept week does not stop the targets
                fitted = _fit_parts(org, values[name], parts, changed, {}, seed=seed)
            except _WeekError:
                continue
        if name == "target":
            seed = fitted
        level: dict[str, dict[dt.date, int]] = {}
        for key, part_values in fitted.items():
            if key not in has_months:
                continue
            weeks: dict[dt.date, int] = defaultdict(int)
            kept_parts = bounds.get(key, {})
            for k, (i, anchor, _days) in enumerate(parts):
                if anchor in touched:
                    weeks[anchor] += int(part_values[k]) if i in changed else kept_parts.get(k, 0)
            level[key] = weeks
        new[name] = level
    moved: dict[int, dict[str, int]] = {}
    created = []
    for key, weeks in new["target"].items():
        for anchor, target in weeks.items():
            now = {name: new[name][key][anchor] for name in new if key in new[name]}
            pk, levels = stored.get((key, anchor), (None, None))
            if pk is None:
                person = int(key[1:]) if key[0] == "p" else None
                created.append(
                    TargetCell(
                        scenario=scenario,
                        unit_id=None if person else int(key[1:]),
                        person_id=person,
                        period_kind="week",
                        period_start=anchor,
                        period_end=period_end("week", anchor),
                        floor=now.get("floor"),
                        target=target,
                        stretch=now.get("stretch"),
                        source=TargetCell.Source.SPLIT,
                    )
                )
            elif pk not in kept_pks and any(levels[name] != value for name, value in now.items()):
                moved[pk] = now
    changed_cells = list(TargetCell.objects.filter(pk__in=list(moved)))
    for cell in changed_cells:
        for name, value in moved[cell.pk].items():
            setattr(cell, name, value)
        cell.version += 1
    TargetCell.objects.bulk_update(changed_cells, ["target", "floor", "stretch", "version"], batch_size=2000)
    created = TargetCell.objects.bulk_create(created, batch_size=2000)
    history = TargetCell.history
    who = user if getattr(user, "pk", None) else None
    history.bulk_history_create(
        changed_cells, update=True, default_user=who, default_change_reason=reason[:100]
    )
    history.bulk_history_create(created, default_user=who, default_change_reason=reason[:100])
    return len(changed_cells) + len(created)


def _kept_around(
    parts: list[tuple[int, dt.date, int]],
    changed: set[int],
    touched: set[dt.date],
    kept: dict[str, dict[dt.date, int]],
    bounds: dict[str, dict[int, int]],
    parent_of: dict[str, Node],
    root: Node,
) -> dict[str, dict[int, int]]:
    """The parts inside the changed months of each kept week the refit rewrites: its value less
    its parts in months that did not change, split by working days when two changed months
    share it."""
    of_week: dict[dt.date, list[int]] = defaultdict(list)
    for k, (_i, anchor, _days) in enumerate(parts):
        of_week[anchor].append(k)
    out: dict[str, dict[int, int]] = defaultdict(dict)
    for key, weeks in kept.items():
        for anchor, value in weeks.items():
            idx = of_week.get(anchor, []) if anchor in touched else []
            inside = [k for k in idx if parts[k][0] in changed]
            if not inside:
                continue
            rest = value - sum(bounds.get(key, {}).get(k, 0) for k in idx if parts[k][0] not in changed)
            if rest < 0:
                raise _WeekError(parent_of.get(key, root), parts[inside[0]][0], kept=True)
            days = np.array([parts[k][2] for k in inside], dtype=np.int64)
            out[key].update(zip(inside, (int(v) for v in _spread(rest, days)), strict=True))
    return out


# --- storing --------------------------------------------------------------------------------------


def cell_key(cell) -> tuple:
    """(node key, period kind, period start, product id) of a stored cell."""
    return (
        node_key(cell["unit_id"], cell["person_id"]),
        cell["period_kind"],
        cell["period_start"],
        cell["product_id"],
    )


def kept_cells(scenario: Scenario) -> dict[tuple, int]:
    """The cells a run keeps: locked or set by hand, except the plan's total (the company's cell
    for the plan's period), which every run starts from."""
    plan = scenario.plan
    rows = (
        scenario.cells.filter(KEEP, region__isnull=True, segment__isnull=True)
        .exclude(plan.total_cell)
        .values("unit_id", "person_id", "period_kind", "period_start", "product_id", "target")
    )
    return {cell_key(r): r["target"] for r in rows}


def company_total(plan: Plan, scenario: Scenario) -> int:
    """The plan's total in ``scenario``, else the primary scenario's (a new scenario starts
    from the plan's total)."""
    total = scenario.cells.filter(plan.total_cell).values_list("target", flat=True).first()
    if total is None:
        primary = plan.scenarios.filter(is_primary=True).first()
        if primary is not None and primary.pk != scenario.pk:
            return company_total(plan, primary)
        raise DomainError(_("Set the plan's company total first; the decomposition splits it."))
    return int(total)


def do_decompose(
    user,
    scenario: Scenario,
    rules: Rules,
    *,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict:
    """Split the plan's company total into every cell of ``scenario`` by ``rules`` and store it:
    the cells the last run made are replaced, locked cells and cells set by hand are kept (and
    the rest is split around them). Draft plans only; the user must plan for the whole
    organisation. Returns counts for the page and the API."""
    from salestarget.targets.services import _check_may_plan

    if user is not None:  # None: the command line, with full rights (as `salestarget import`)
        _check_may_plan(user)
    plan = scenario.plan
    if plan.status != Plan.Status.DRAFT:
        raise DomainError(
            _("Only a draft plan is decomposed; a plan in force changes through a change request.")
        )
    if scenario.is_primary:
        from salestarget.targets.workflow import check_not_frozen

        check_not_frozen(plan, scenario.cells.exclude(KEEP))
    step = progress or (lambda phase, done, total: None)
    total = company_total(plan, scenario)
    kept = kept_cells(scenario)
    result = compute(plan, rules, total=total, kept=kept, progress=step)
    cells = _cells(plan, scenario, result, kept, _levels(plan, scenario, result, kept_levels(scenario)))
    splits = list(_splits(scenario, result))
    step("writing", 0, len(cells))
    with transaction.atomic():
        stale = scenario.cells.exclude(KEEP).exclude(plan.total_cell)
        stale._raw_delete(stale.db)
        scenario.splits.all()._raw_delete(scenario.splits.all().db)
        _insert(cells, step)
        Split.objects.bulk_create(splits)
        scenario.rules = rules.as_json()
        scenario.decomposed_at = timezone.now()
        scenario.save(update_fields=["rules", "decomposed_at"])
    warnings = [
        n.text(_lang(), currency=_currency())
        for item in result.org.walk()
        if item.split is not None
        for n in item.split.explanation.warnings
    ]
    return {
        "cells_written": len(cells),
        "cells_kept": len(kept),
        "people": result.tree.people,
        "units": sum(1 for k in result.tree.nodes if k.startswith("u")),
        "warnings": warnings[:50],
    }


def _lang() -> str:
    from salestarget.targets.labels import lang

    return lang()


def _currency() -> str:
    from salestarget.metrics.selectors import company_currency

    return company_currency()


COLUMNS = (
    "scenario_id",
    "unit_id",
    "person_id",
    "period_kind",
    "period_start",
    "period_end",
    "product_id",
    "floor",
    "target",
    "stretch",
    "locked",
    "source",
    "version",
)


def _cells(
    plan: Plan, scenario: Scenario, result: Result, kept: dict, levels: dict[str, Scaled | None]
) -> list[tuple]:
    """Every cell the run makes that is not kept, as rows of ``COLUMNS``: each node's period
    value (not the company's: that is the plan's total), its months, by line its lines' year
    and months, its weeks; their floor and stretch from ``levels`` (``_levels``: None without
    the plan's factor). Vacancies are part of their unit's values and hold no cells."""
    from salestarget.targets.models import period_end

    out: list[tuple] = []
    slot_keys = _slot_keys(plan, result.months, result.lines)
    root = result.tree.root.key
    scaled = [levels.get("floor"), levels.get("stretch")]
    ends: dict[tuple, dt.date] = {}

    def add(key, kind, start, product, value, of):
        if (key, kind, start, product) in kept:
            return
        # A person's cell names no unit (as targets.selectors reads them): it follows the person.
        person = int(key[1:]) if key[0] == "p" else None
        unit = None if person else int(key[1:])
        end = ends.get((kind, start))
        if end is None:
            end = ends[(kind, start)] = period_end(kind, start)
        floor, stretch = (None if level is None else int(of(level)) for level in scaled)
        out.append(
            (scenario.pk, unit, person, kind, start, end, product, floor, value, stretch, False, "split", 1)
        )

    n = len(result.months)
    for item in result.org.walk():
        key = item.node.key
        if item.node.vacancy:
            continue
        if key != root:
            add(key, plan.period_kind, plan.period_start, None, item.value, lambda lv, key=key: lv.year[key])
        slots = result.slots.get(key)
        if slots is not None:
            for s, ((kind, start, product), value) in enumerate(zip(slot_keys, slots.tolist(), strict=True)):
                add(key, kind, start, product, value, lambda lv, key=key, s=s: lv.slots[key][s])
            for p, (pk, _name) in enumerate(result.lines):
                span = slice(n * (p + 1), n * (p + 2))
                add(
                    key,
                    plan.period_kind,
                    plan.period_start,
                    pk,
                    int(sum(slots[span])),
                    lambda lv, key=key, span=span: lv.slots[key][span].sum(),
                )
        for anchor, value in result.weeks.get(key, {}).items():
            add(key, "week", anchor, None, value, lambda lv, key=key, anchor=anchor: lv.weeks[key][anchor])
    return out


def _insert(rows: list[tuple], step) -> None:
    """Rows of ``COLUMNS`` into the cells' table in batches: COPY on PostgreSQL, one prepared
    statement on SQLite. A decomposition writes hundreds of thousands of cells of a draft,
    which model instances would make ten times slower; the history of a draft starts when
    people change its cells."""
    from django.db import connection

    table = TargetCell._meta.db_table
    names = ", ".join(COLUMNS)
    batch = 20000
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One COPY for the whole run, rows adapted by psycopg's C writer while the server
            # stores the previous ones: 0.7 s for 286k rows, against 1.1 s for the text built
            # here and sent in batches (bench/plan_decompose.py, 2026-12-02).
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for start in range(0, len(rows), batch):
                    for row in rows[start : start + batch]:
                        copy.write_row(row)
                    step("writing", min(start + batch, len(rows)), len(rows))
            return
        marks = ", ".join(["%s"] * len(COLUMNS))
        sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"
        for start in range(0, len(rows), batch):
            cursor.executemany(
                sql,
                [(*r[:4], r[4].isoformat(), r[5].isoformat(), *r[6:]) for r in rows[start : start + batch]],
            )
            step("writing", min(start + batch, len(rows)), len(rows))


def _splits(scenario: Scenario, result: Result) -> list[Split]:
    root = result.tree.root.key
    out = [
        Split(
            scenario=scenario,
            axis=Split.Axis.TIME,
            parent=root,
            keys=[m.start.isoformat() for m in result.months],
            explanation=result.month_split.to_dict(),
        )
    ]
    if result.product_split is not None:
        out.append(
            Split(
                scenario=scenario,
                axis=Split.Axis.PRODUCT,
                parent=root,
                keys=[pk for pk, _ in result.lines],
                explanation=result.product_split.to_dict(),
            )
        )
    for item in result.org.walk():
        if item.split is not None:
            out.append(
                Split(
                    scenario=scenario,
                    axis=Split.Axis.ORG,
                    parent=item.node.key,
                    keys=[child.node.key for child in item.children],
                    explanation=item.split.explanation.to_dict(),
                )
            )
    return out


# --- preview, the background job, the explanation -------------------------------------------------


def preview(user, scenario: Scenario, rules: Rules, *, lang: str = "zh", depth: int = 2) -> dict:
    """What ``do_decompose`` would make, without writing: the company's months and the values
    down to ``depth`` (the regions and teams) with each split's explanation and warnings; quick
    enough for a page (the organisation and the company's months only)."""
    from salestarget.targets.services import _check_may_plan

    if user is not None:  # None: the command line
        _check_may_plan(user)
    plan = scenario.plan
    total = company_total(plan, scenario)
    kept = kept_cells(scenario)
    result = compute(plan, rules, total=total, kept=kept, slots=False)
    currency = _currency()
    rows = []
    explained = []
    for item in result.org.walk():
        if item.depth > depth or item.node.vacancy:
            continue
        rows.append({"key": item.node.key, "name": item.node.name, "depth": item.depth, "value": item.value})
        if item.split is not None and item.depth < depth:
            explained.append(
                {"name": item.node.name, "text": item.split.explanation.text(lang, currency=currency)}
            )
    month_values = result.month_split.values
    return {
        "total": total,
        "rows": rows,
        "months": [
            {"start": m.start.isoformat(), "label": m.label(lang), "value": int(v)}
            for m, v in zip(result.months, month_values, strict=True)
        ],
        "month_text": result.month_split.text(lang, currency=currency),
        "product_text": result.product_split.text(lang, currency=currency) if result.product_split else "",
        "explanations": explained,
        "warnings": [
            n.text(lang, currency=currency)
            for item in result.org.walk()
            if item.split is not None
            for n in item.split.explanation.warnings
        ][:50],
        "people": result.tree.people,
        "cells_kept": len(kept),
    }


def do_start_decomposition(user, scenario: Scenario, rules: Rules) -> str:
    """Check everything a run checks before it starts, then queue it as a background job
    (``targets.tasks.decompose_scenario``); returns the job's id, kept on the scenario so its
    page can show the progress."""
    from salestarget.targets.services import _check_may_plan
    from salestarget.targets.tasks import decompose_scenario

    _check_may_plan(user)
    if scenario.plan.status != Plan.Status.DRAFT:
        raise DomainError(
            _("Only a draft plan is decomposed; a plan in force changes through a change request.")
        )
    company_total(scenario.plan, scenario)
    with transaction.atomic():
        job_id = str(decompose_scenario.enqueue(scenario.pk, rules.as_json(), user.pk).id)
        scenario.job_id = job_id
        scenario.rules = rules.as_json()
        scenario.save(update_fields=["job_id", "rules"])
    return job_id


def why(user, cell: TargetCell, lang: str = "zh") -> list[dict]:
    """ "Why is my target this number?": the chain from the company total to ``cell``, one step
    per level (its method, inputs, weights and adjustments, in words), then the months, the
    product line or the week, and whether a person set or locked the cell. ``cell`` must
    already be one ``user`` may see (``TargetCell.objects.restrict(user)``)."""
    from salestarget.actuals.summary import shown
    from salestarget.targets.models import Plan as PlanModel

    scenario = cell.scenario
    plan = scenario.plan
    currency = _currency()
    org = dict(scenario.splits.filter(axis=Split.Axis.ORG).values_list("parent", "keys"))
    parent_of = {key: parent for parent, keys in org.items() for key in keys}
    key = node_key(cell.unit_id, cell.person_id)
    chain = [key]
    while chain[-1] in parent_of:
        chain.append(parent_of[chain[-1]])
    chain.reverse()
    explanations = dict(
        scenario.splits.filter(axis=Split.Axis.ORG, parent__in=chain).values_list("parent", "explanation")
    )
    steps = []
    how = {
        PlanModel.TotalMethod.TYPED: _("typed by the planner"),
        PlanModel.TotalMethod.RECOMMENDATION: _("the recommendation reached with a chance of %(chance)s%%")
        % {"chance": plan.total_chance},
        PlanModel.TotalMethod.NAIVE: _("last year × (1 + %(growth)s%%), the naive method")
        % {"growth": (plan.total_growth_bp or 0) / 100},
    }.get(plan.total_method, _("not recorded"))
    total = company_total(plan, scenario)
    steps.append(
        {
            "title": str(_("Company total")),
            "text": str(
                _("%(total)s; how it was set: %(how)s.")
                % {"total": shown(total, plan.metric, lang), "how": how}
            ),
        }
    )
    for parent, child in zip(chain, chain[1:], strict=False):
        data = explanations.get(parent)
        if data is None:
            continue
        explanation = Explanation.from_dict(data)
        label = explanation.labels[org[parent].index(child)]
        steps.append({"title": label, "text": explanation.text(lang, label=label, currency=currency)})
    if cell.period_kind in ("month", "week") or cell.product_id:
        steps.extend(_period_steps(scenario, cell, chain, lang, currency))
    if cell.locked or cell.source != TargetCell.Source.SPLIT:
        last = cell.history.order_by("-history_date").select_related("history_user").first()
        who = getattr(last.history_user, "username", "") if last else ""
        text = TargetCell.Source(cell.source).label
        if cell.locked:
            text = _("%(source)s and locked: a re-run of the decomposition keeps it.") % {"source": text}
        else:
            text = _("%(source)s: a re-run of the decomposition keeps it.") % {"source": text}
        if who:
            text = f"{text} " + _("Last changed by %(user)s on %(date)s.") % {
                "user": who,
                "date": timezone.localtime(last.history_date).date().isoformat(),
            }
        steps.append({"title": str(_("Set by hand")), "text": str(text)})
    return steps


def _period_steps(
    scenario: Scenario, cell: TargetCell, chain: list[str], lang: str, currency: str
) -> list[dict]:
    splits = {
        axis: data
        for axis, data in scenario.splits.filter(axis__in=[Split.Axis.TIME, Split.Axis.PRODUCT]).values_list(
            "axis", "explanation"
        )
    }
    steps = []
    if cell.product_id and Split.Axis.PRODUCT in splits:
        explanation = Explanation.from_dict(splits[Split.Axis.PRODUCT])
        from salestarget.catalog.models import Product

        name = Product.objects.filter(pk=cell.product_id).values_list("name", flat=True).first()
        if name in explanation.labels:
            steps.append(
                {
                    "title": str(_("Product lines")),
                    "text": explanation.text(lang, label=name, currency=currency),
                }
            )
    if cell.period_kind in ("month", "week") and Split.Axis.TIME in splits:
        explanation = Explanation.from_dict(splits[Split.Axis.TIME])
        month = cell.period_start.replace(day=1) if cell.period_kind == "month" else None
        label = None
        if month is not None and month.isoformat() in explanation.inputs.get("starts", []):
            label = explanation.labels[explanation.inputs["starts"].index(month.isoformat())]
        starts = explanation.inputs.get("starts", [])
        names = None  # the months in the reader's language, not the one they were decomposed in
        if len(starts) == len(explanation.labels):
            months = [dt.date.fromisoformat(s) for s in starts]
            names = [Period("month", m, add_months(m, 1) - dt.timedelta(days=1)).label(lang) for m in months]
        steps.append(
            {
                "title": str(_("Months")),
                "text": explanation.text(
                    lang, label=label if label in explanation.labels else None, currency=currency, names=names
                ),
            }
        )
        if len(chain) > 1:
            steps.append(
                {
                    "title": str(_("Consistency")),
                    "text": str(
                        _(
                            "Below the company, each node's months follow its parent's and are fitted "
                            "(raking with exact rounding) so that its months add up to its year and, "
                            "under every parent, the children's months add up to the parent's month."
                        )
                    ),
                }
            )
    if cell.period_kind == "week":
        steps.append(
            {
                "title": str(_("Weeks")),
                "text": str(
                    _(
                        "Weeks start on Monday. Each month's target is split over the days of each "
                        "week inside that month by working days (the company's calendar); a week that "
                        "straddles two months adds its two parts."
                    )
                ),
            }
        )
    return steps
