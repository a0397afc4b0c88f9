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
from salestarget.engine.calendar import Period, week_anchor
from salestarget.engine.explain import Explanation
from salestarget.engine.hierarchy import Decomposed, Node, Rule, decompose
from salestarget.engine.raking import rake, round_table
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


def _fit(rows: np.ndarray, cols: np.ndarray, fixed: dict[tuple[int, int], int] | None = None) -> np.ndarray:
    """Children x slots: row i adds up to ``rows[i]``, column j to ``cols[j]``, cells in
    ``fixed`` keep their values and the rest follows the columns' shape, exactly (raking, then
    controlled rounding). ``rows`` and ``cols`` must have the same total."""
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
    elif free.all():
        # Nothing fixed: the fitted table of a product seed is known exactly, only rounding is left.
        total = float(r.sum())
        exact = np.outer(r.astype(np.float64), c.astype(np.float64) / total)
        try:
            out += round_table(exact, r, c)
        except AllocationError:
            out += _transport(r, c, free)
    else:
        seed = np.outer(r.astype(np.float64), np.maximum(c, 0).astype(np.float64)) * free
        try:
            values = rake(seed, [r, c]).values.astype(np.int64)
        except AllocationError:
            values = None
        if values is None or values[~free].any():
            values = _transport(r, c, free)
        out += values
    return out


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
        _weeks(result, kept, step)
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
    values: np.ndarray, parent: np.ndarray, kids: list[str], months: list[Period], lines: list, kept: dict
) -> np.ndarray:
    """The children's months (and lines x months) under one parent. First the months: each
    child's add up to its year, the children's to the parent's months. Then, month by month,
    each child's month over the lines, the children's adding up to the parent's line-month.
    Every axis adds up; kept cells keep their values."""
    n = len(months)
    total = int(values.sum())
    parent_months = parent[:n]
    cols = parent_months if int(parent_months.sum()) == total else apportion(total, parent_months)
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
        line_cols = (
            flat if int(flat.sum()) == total else apportion(total, flat if flat.sum() else np.ones(len(flat)))
        )
        line_fixed = {
            (i, p * n + j): kept[(key, "month", m.start, pk)]
            for i, key in enumerate(kids)
            for p, (pk, _name) in enumerate(lines)
            for j, m in enumerate(months)
            if (key, "month", m.start, pk) in kept
        }
        by_line = _fit(values, line_cols, line_fixed)
        return np.concatenate([by_line.reshape(len(kids), len(lines), n).sum(axis=1), by_line], axis=1)
    table = _fit(values, cols, fixed)
    if not lines:
        return table
    parent_lines = parent[n:].reshape(len(lines), n)
    out = np.zeros((len(kids), len(lines), n), dtype=np.int64)
    for j, m in enumerate(months):
        column = table[:, j]
        line_cols = parent_lines[:, j]
        if int(line_cols.sum()) != int(column.sum()):
            line_cols = apportion(int(column.sum()), line_cols if line_cols.sum() else np.ones(len(lines)))
        cell_fixed = {
            (i, p): kept[(key, "month", m.start, pk)]
            for i, key in enumerate(kids)
            for p, (pk, _name) in enumerate(lines)
            if (key, "month", m.start, pk) in kept
        }
        out[:, :, j] = _fit(column, line_cols, cell_fixed)
    return np.concatenate([table, out.reshape(len(kids), -1)], axis=1)


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


def _weeks(result: Result, kept: dict, step) -> None:
    """Weeks (Monday first) from each node's months by working days, fitted under each parent
    month by month so the children's weeks add up to the parent's. A kept week (locked or set
    by hand) keeps its value: split over its parts by working days, those parts are fixed and
    the node's other weeks of the month take the rest."""
    parts = week_parts(result.months)
    by_month: dict[int, list[int]] = defaultdict(list)
    for index, (i, _anchor, _days) in enumerate(parts):
        by_month[i].append(index)
    fixed = _kept_week_parts(parts, kept)
    part_values: dict[str, np.ndarray] = {}
    root = result.tree.root.key
    root_parts = np.zeros(len(parts), dtype=np.int64)
    for i, idx in by_month.items():
        days = np.array([parts[k][2] for k in idx], dtype=np.int64)
        cols = apportion(int(result.slots[root][i]), days if days.sum() else np.ones(len(idx)))
        root_fixed = {(0, pos): fixed[root][k] for pos, k in enumerate(idx) if k in fixed.get(root, {})}
        try:
            root_parts[idx] = _fit(np.array([int(result.slots[root][i])]), cols, root_fixed)[0]
        except AllocationError as exc:
            raise _weeks_do_not_fit(result.tree.root.name) from exc
    part_values[root] = root_parts
    inner = [item for item in result.org.walk() if item.children]
    for done, item in enumerate(inner):
        step("weeks", done, len(inner))
        parent = part_values[item.node.key]
        kids = item.children
        table = np.zeros((len(kids), len(parts)), dtype=np.int64)
        for i, idx in by_month.items():
            rows = np.array([result.slots[c.node.key][i] for c in kids], dtype=np.int64)
            cols = parent[idx]
            if int(cols.sum()) != int(rows.sum()):
                cols = apportion(int(rows.sum()), cols if cols.sum() else np.ones(len(idx)))
            kids_fixed = {
                (c, pos): fixed[child.node.key][k]
                for c, child in enumerate(kids)
                for pos, k in enumerate(idx)
                if k in fixed.get(child.node.key, {})
            }
            try:
                table[:, idx] = _fit(rows, cols, kids_fixed)
            except AllocationError as exc:
                raise _weeks_do_not_fit(item.node.name) from exc
        for i, child in enumerate(kids):
            part_values[child.node.key] = table[i]
    for key, values in part_values.items():
        weeks: dict[dt.date, int] = defaultdict(int)
        for (_i, anchor, _days), value in zip(parts, values.tolist(), strict=True):
            weeks[anchor] += value
        result.weeks[key] = dict(weeks)


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


def refit_weeks(scenario: Scenario, *, user=None, reason: str = "") -> int:
    """Weeks that follow the months as they now stand, after months changed in place (an
    accepted change request, a restored version): the same fit as a run's, from the stored
    months of every node and the kept weeks, so every node's weeks still add up to its months
    and its parent's weeks. Only weeks whose value moves are written, each with a history row
    (``user``, ``reason``); a plan without weeks is left alone. Returns the weeks written."""
    from decimal import Decimal

    from salestarget.engine.rounding import round_half_up
    from salestarget.targets.models import period_end

    plan = scenario.plan
    base = scenario.cells.filter(region__isnull=True, segment__isnull=True, product__isnull=True)
    # Plain rows, not model instances: a 5,000-rep plan has 290,000 weeks.
    stored = {
        (node_key(unit, person), "week", start, None): (pk, target)
        for pk, unit, person, start, target in base.filter(period_kind="week").values_list(
            "pk", "unit_id", "person_id", "period_start", "target"
        )
    }
    if not stored:
        return 0
    kept = {
        (node_key(unit, person), "week", start, None): target
        for unit, person, start, target in base.filter(KEEP, period_kind="week").values_list(
            "unit_id", "person_id", "period_start", "target"
        )
    }
    months = plan_months(plan)
    index = {m.start: i for i, m in enumerate(months)}
    tree = build_tree(plan, Rules())  # vacancies hold no cells, so none take part
    slots = {key: np.zeros(len(months), dtype=np.int64) for key in tree.nodes}
    has_months: set[str] = set()
    for unit, person, start, target in base.filter(period_kind="month").values_list(
        "unit_id", "person_id", "period_start", "target"
    ):
        key = node_key(unit, person)
        if key in slots and start in index:
            slots[key][index[start]] = target
            has_months.add(key)

    def tree_of(node: Node, depth: int) -> Decomposed:
        return Decomposed(node, 0, depth, node.name, children=[tree_of(c, depth + 1) for c in node.children])

    result = Result(tree, tree_of(tree.root, 0), months, None, [], None, slots)
    _weeks(result, kept, lambda *_: None)
    moved: dict[int, int] = {}
    created = []
    factors = [None if f is None else Decimal(f) for f in (plan.floor_factor, plan.stretch_factor)]
    for key, weeks in result.weeks.items():
        if key not in has_months:
            continue
        for anchor, value in weeks.items():
            pk, target = stored.get((key, "week", anchor, None), (None, None))
            if pk is not None:
                if target != value:
                    moved[pk] = value
                continue
            person = int(key[1:]) if key[0] == "p" else None
            floor, stretch = (None if f is None else round_half_up(value * f) for f in factors)
            created.append(
                TargetCell(
                    scenario=scenario,
                    unit_id=None if person else int(key[1:]),
                    person_id=person,
                    period_kind="week",
                    period_start=anchor,
                    period_end=period_end("week", anchor),
                    floor=floor,
                    target=value,
                    stretch=stretch,
                    source=TargetCell.Source.SPLIT,
                )
            )
    changed = list(TargetCell.objects.filter(pk__in=list(moved)))
    for cell in changed:
        cell.target = moved[cell.pk]
        floor, stretch = (None if f is None else round_half_up(cell.target * f) for f in factors)
        cell.floor = floor if factors[0] is not None else cell.floor
        cell.stretch = stretch if factors[1] is not None else cell.stretch
        cell.version += 1
    TargetCell.objects.bulk_update(changed, ["target", "floor", "stretch", "version"], batch_size=2000)
    created = TargetCell.objects.bulk_create(created, batch_size=2000)
    history = TargetCell.history
    who = user if getattr(user, "pk", None) else None
    history.bulk_history_create(changed, update=True, default_user=who, default_change_reason=reason[:100])
    history.bulk_history_create(created, default_user=who, default_change_reason=reason[:100])
    return len(changed) + len(created)


def _weeks_do_not_fit(name: str) -> DomainError:
    return DomainError(
        _(
            "Under %(unit)s, the weeks locked or set by hand cannot be kept while every week "
            "adds up to its month: unlock some of them or change their values."
        ),
        unit=name,
    )


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
    from salestarget.targets.services import _check_may_plan, levels_of

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
    cells = _cells(plan, scenario, result, kept, levels_of)
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


def _cells(plan: Plan, scenario: Scenario, result: Result, kept: dict, levels_of) -> list[tuple]:
    """Every cell the run makes that is not kept, as rows of ``COLUMNS``: each node's period
    value (not the company's: that is the plan's total), its months, by line its lines' year
    and months, its weeks. Vacancies are part of their unit's values and hold no cells."""
    from decimal import Decimal

    from salestarget.engine.rounding import round_half_up
    from salestarget.targets.models import period_end

    out: list[tuple] = []
    slot_keys = _slot_keys(plan, result.months, result.lines)
    root = result.tree.root.key
    factors = [None if f is None else Decimal(f) for f in (plan.floor_factor, plan.stretch_factor)]
    ends: dict[tuple, dt.date] = {}

    def add(key, kind, start, product, value):
        if (key, kind, start, product) in kept:
            return
        # A person's cell names no unit (as targets.selectors reads them): it follows the person.
        person = int(key[1:]) if key[0] == "p" else None
        unit = None if person else int(key[1:])
        end = ends.get((kind, start))
        if end is None:
            end = ends[(kind, start)] = period_end(kind, start)
        floor, stretch = (None if f is None else round_half_up(value * f) for f in factors)
        out.append(
            (scenario.pk, unit, person, kind, start, end, product, floor, value, stretch, False, "split", 1)
        )

    for item in result.org.walk():
        key = item.node.key
        if item.node.vacancy:
            continue
        if key != root:
            add(key, plan.period_kind, plan.period_start, None, item.value)
        slots = result.slots.get(key)
        if slots is not None:
            for (kind, start, product), value in zip(slot_keys, slots.tolist(), strict=True):
                add(key, kind, start, product, value)
            n = len(result.months)
            for p, (pk, _name) in enumerate(result.lines):
                add(key, plan.period_kind, plan.period_start, pk, int(sum(slots[n * (p + 1) : n * (p + 2)])))
        for anchor, value in result.weeks.get(key, {}).items():
            add(key, "week", anchor, None, value)
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
        steps.append(
            {
                "title": str(_("Months")),
                "text": explanation.text(
                    lang, label=label if label in explanation.labels else None, currency=currency
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
