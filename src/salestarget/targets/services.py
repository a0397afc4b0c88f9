"""Writes to target plans: every form, API call and command goes through these ``do_*``
functions, which check permission (``restrict``'s reach for CHANGE), validate with
``DomainError`` (a clear message in the user's language) and write in one transaction; the
models' history records who changed what and when.

A plan covers the whole organisation, so setting one up takes a change reach over every top
unit: an administrator, sales operations, or the manager of the company (the sales director).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from salestarget.core.api_contract import MAX_AMOUNT
from salestarget.core.errors import DomainError
from salestarget.engine.calendar import Period
from salestarget.engine.rounding import round_half_up
from salestarget.metrics.models import Metric
from salestarget.org.models import OrgUnit
from salestarget.org.permissions import Action, scope_of
from salestarget.targets.models import Plan, PlanLevel, Scenario, TargetCell

PLAN_KINDS = ("year", "half", "quarter")


@dataclass(frozen=True)
class LevelSpec:
    """A depth of the organisation (0 = the company), its rounding unit in the metric's minor
    units and its over-assignment in basis points."""

    depth: int
    rounding_unit: int = 1
    over_assignment_bp: int = 0


def may_plan(user) -> bool:
    """Whether ``user``'s change reach covers every top unit of the organisation."""
    return reaches_whole_organisation(user, Action.CHANGE)


def reaches_whole_organisation(user, action: Action) -> bool:
    """Whether ``user``'s reach for ``action`` covers every top unit: for VIEW, whether the whole
    company's history (which the chance of a plan's total rests on) is theirs to see."""
    reach = scope_of(user).reach(action)
    if reach.everything:
        return True
    if not reach.paths:
        return False
    roots = OrgUnit.objects.filter(parent__isnull=True)
    return roots.exists() and not roots.exclude(reach.units_q("")).exists()


def _check_may_plan(user) -> None:
    if not may_plan(user):
        raise PermissionDenied(
            gettext("Only those who look after the whole organisation may set up target plans.")
        )


def do_create_plan(
    user,
    *,
    metric: Metric,
    period: Period,
    name: str = "",
    by_product: bool = False,
    by_region: bool = False,
    by_segment: bool = False,
    floor_factor: Decimal | None = None,
    stretch_factor: Decimal | None = None,
    levels: Sequence[LevelSpec] = (),
) -> Plan:
    """A draft plan for ``metric`` over ``period`` (a fiscal year, half or quarter), with its
    baseline scenario. Drafts may sit side by side; only one per metric and period can be in force."""
    _check_may_plan(user)
    if period.kind not in PLAN_KINDS:
        raise DomainError(_("A plan covers a fiscal year, a half year or a quarter."))
    if not metric.active:
        raise DomainError(_("The metric %(metric)s is not in use."), metric=metric.name)
    if metric.aggregation == Metric.Aggregation.RATIO:
        # Decomposition splits a total so that the parts add up; a ratio's parts do not.
        raise DomainError(
            _(
                "“%(metric)s” is a ratio, and a plan splits a total that adds up: plan its numerator "
                "(%(numerator)s) and its denominator (%(denominator)s) instead."
            ),
            metric=metric.name,
            numerator=metric.numerator.name if metric.numerator else "—",
            denominator=metric.denominator.name if metric.denominator else "—",
        )
    _check_factors(floor_factor, stretch_factor)
    depths = [level.depth for level in levels]
    if len(set(depths)) != len(depths):
        raise DomainError(_("Each level of the organisation may be given once."))
    for level in levels:
        if level.depth < 0 or level.rounding_unit < 1 or level.rounding_unit > MAX_AMOUNT:
            raise DomainError(
                _("Level %(depth)s: the rounding unit must be a whole number of at least 1."),
                depth=level.depth,
            )
        if not 0 <= level.over_assignment_bp <= 10000:
            raise DomainError(
                _("Level %(depth)s: the over-assignment must lie between 0%% and 100%%."), depth=level.depth
            )
    name = name.strip() or default_name(metric, period)
    if len(name) > 100:
        raise DomainError(_("The name may have at most 100 characters."))
    with transaction.atomic():
        plan = Plan.objects.create(
            name=name,
            fiscal_year=period.fiscal_year,
            period_kind=period.kind,
            period_start=period.start,
            metric=metric,
            by_product=by_product,
            by_region=by_region,
            by_segment=by_segment,
            floor_factor=floor_factor,
            stretch_factor=stretch_factor,
            created_by=user if getattr(user, "pk", None) else None,
        )
        Scenario.objects.create(plan=plan, name=gettext("Baseline"), is_primary=True)
        PlanLevel.objects.bulk_create(
            [
                PlanLevel(
                    plan=plan,
                    depth=level.depth,
                    rounding_unit=level.rounding_unit,
                    over_assignment_bp=level.over_assignment_bp,
                )
                for level in levels
            ]
        )
    return plan


def do_set_tracking(
    user,
    plan: Plan,
    *,
    warning_line_pct: int,
    lagging_below_pct: int,
    ahead_above_pct: int,
    incentive_line_pct: int | None,
    ranking: str,
) -> Plan:
    """The plan's tracking lines (pace below the warning line: at risk; below the lagging line:
    lagging; above the ahead line: ahead; the incentive line on achievement) and who sees its
    leaderboard. They change no target, so they may change in any status; the history keeps them."""
    _check_may_plan(user)
    values = (warning_line_pct, lagging_below_pct, ahead_above_pct)
    if any(isinstance(v, bool) or not isinstance(v, int) for v in values) or not (
        0 < warning_line_pct <= lagging_below_pct < 100 < ahead_above_pct <= 1000
    ):
        raise DomainError(
            _(
                "The lines must satisfy 0 < warning ≤ lagging < 100 < ahead ≤ 1000 (percent of what the "
                "plan expected by the date); got %(warning)s, %(lagging)s, %(ahead)s."
            ),
            warning=warning_line_pct,
            lagging=lagging_below_pct,
            ahead=ahead_above_pct,
        )
    if incentive_line_pct is not None and (
        isinstance(incentive_line_pct, bool)
        or not isinstance(incentive_line_pct, int)
        or not 1 <= incentive_line_pct <= 1000
    ):
        raise DomainError(_("The incentive line is a percentage of the target from 1 to 1000."))
    if ranking not in Plan.Ranking.values:
        raise DomainError(_("Unknown choice “%(value)s”."), value=ranking)
    with transaction.atomic():
        locked = Plan.objects.select_for_update().get(pk=plan.pk)
        locked.warning_line_pct, locked.lagging_below_pct, locked.ahead_above_pct = values
        locked.incentive_line_pct = incentive_line_pct
        locked.ranking = ranking
        locked._change_reason = "tracking"
        locked.save()
    plan.refresh_from_db()
    return plan


def default_name(metric: Metric, period: Period) -> str:
    from salestarget.targets.labels import lang

    return gettext("%(period)s %(metric)s target") % {"period": period.label(lang()), "metric": metric.name}


def _check_factors(floor_factor: Decimal | None, stretch_factor: Decimal | None) -> None:
    if floor_factor is not None and not Decimal(0) < floor_factor <= Decimal(1):
        raise DomainError(_("The floor factor must lie above 0 and at most 1 (e.g. 0.9)."))
    if stretch_factor is not None and not Decimal(1) <= stretch_factor <= Decimal(10):
        raise DomainError(_("The stretch factor must lie between 1 and 10 (e.g. 1.2)."))


@dataclass(frozen=True)
class PlanTotal:
    """The company total a plan starts from, how it was set, and the chance of reaching it
    according to the recommendation (None when the metric cannot be forecast or has no history)."""

    amount: int
    method: str
    chance: float | None
    cell: TargetCell


def do_set_plan_total(
    user,
    plan: Plan,
    *,
    method: str,
    amount: int | None = None,
    chance: int | None = None,
    growth_bp: int | None = None,
    today: dt.date | None = None,
) -> PlanTotal:
    """Set the whole organisation's target for the plan's period: typed (``amount``, in the
    metric's minor units), the recommendation reached with ``chance`` percent, or last year's
    actual × (1 + ``growth_bp``/10000), the naive method. Floor and stretch follow the plan's
    factors. Only a draft plan's total changes here; a plan in force changes through change
    requests."""
    _check_may_plan(user)
    if plan.status != Plan.Status.DRAFT:
        raise DomainError(
            _("Only a draft plan's total can be set; a plan in force changes through a change request.")
        )
    root = _single_root()
    period = plan_period(plan)
    recommendation = plan_recommendation(user, plan, chance or 80, today)
    if method == Plan.TotalMethod.TYPED:
        if amount is None or not 0 <= amount <= MAX_AMOUNT:
            raise DomainError(_("Type the total: a number from 0 up to the largest amount the app holds."))
    elif method == Plan.TotalMethod.RECOMMENDATION:
        if chance is None or not 50 <= chance <= 99:
            raise DomainError(
                _("Choose the chance of reaching the target between %(low)s%% and %(high)s%%."),
                low=50,
                high=99,
            )
        if recommendation is None:
            raise DomainError(
                _("There is no recommendation for this metric and period: type the total instead.")
            )
        amount = recommendation.recommended
    elif method == Plan.TotalMethod.NAIVE:
        if growth_bp is None or not -10000 < growth_bp <= 100000:
            raise DomainError(
                _("The growth must lie above %(low)s%% and at most %(high)s%%."), low=-100, high="+1000"
            )
        last = _last_year_actual(user, plan, period, today)
        amount = round_half_up(Decimal(last) * (Decimal(10000) + growth_bp) / Decimal(10000))
    else:
        raise DomainError(
            _("Choose how the total is set: typed, the recommendation or last year plus growth.")
        )
    scenario = plan.scenarios.get(is_primary=True)
    values = {"target": amount, **levels_of(plan, amount)}
    try:
        with transaction.atomic():
            cell, _created = TargetCell.objects.update_or_create(
                scenario=scenario,
                unit=root,
                person=None,
                period_kind=plan.period_kind,
                period_start=plan.period_start,
                product=None,
                region=None,
                segment=None,
                defaults=values,
            )
            plan.total_method = method
            plan.total_chance = chance if method == Plan.TotalMethod.RECOMMENDATION else None
            plan.total_growth_bp = growth_bp if method == Plan.TotalMethod.NAIVE else None
            plan.save(update_fields=["total_method", "total_chance", "total_growth_bp"])
    except IntegrityError as exc:  # a concurrent save of the same cell
        raise DomainError(_("Someone saved this total at the same moment; reload and try again.")) from exc
    odds = recommendation.probability_of(amount) if recommendation is not None else None
    return PlanTotal(amount=amount, method=method, chance=odds, cell=cell)


def levels_of(plan: Plan, target: int) -> dict[str, int | None]:
    """Floor and stretch of ``target`` by the plan's factors (None where set independently)."""
    out: dict[str, int | None] = {}
    for name, factor in (("floor", plan.floor_factor), ("stretch", plan.stretch_factor)):
        out[name] = None if factor is None else round_half_up(Decimal(target) * factor)
    return out


def plan_period(plan: Plan) -> Period:
    from salestarget.metrics.selectors import fiscal_calendar

    year = fiscal_calendar().year(plan.fiscal_year)
    if plan.period_kind == Plan.PeriodKind.YEAR:
        return year
    return next(p for p in year.children(plan.period_kind) if p.start == plan.period_start)


def _single_root() -> OrgUnit:
    roots = list(OrgUnit.objects.filter(parent__isnull=True)[:2])
    if len(roots) != 1:
        raise DomainError(
            _("The organisation needs exactly one top unit (the company) to hold the plan's total.")
        )
    return roots[0]


def plan_recommendation(user, plan: Plan, chance: int = 80, today: dt.date | None = None):
    """The recommendation for the whole organisation over the plan's period, reached with
    ``chance`` percent (80 when out of range), or None for a metric that cannot be forecast
    (ratios, distinct counts) or has no history."""
    from salestarget.targets.scope import TargetScope
    from salestarget.targets.stored import recommend

    if not 50 <= chance <= 99:
        chance = 80
    period = plan_period(plan)
    try:
        return recommend(
            user, TargetScope(), period, chance / 100, metric=plan.metric.code, bottom_up=False, today=today
        )
    except DomainError:
        return None


def _last_year_actual(user, plan: Plan, period: Period, today: dt.date | None) -> int:
    """The complete same period a year (or more) back, in the metric's minor units."""
    from django.db.models import Sum
    from django.utils import timezone

    from salestarget.actuals.credit import COLUMNS, to_units, total_rows
    from salestarget.targets import history

    if plan.metric.aggregation not in COLUMNS:
        raise DomainError(_("Last year plus growth works for summed metrics such as sales."))
    from salestarget.targets.recommendations import history_end_for

    back = history.comparison_period(period, history_end_for(period, today or timezone.localdate()))
    column, money = COLUMNS[plan.metric.aggregation]
    rows = total_rows(user, plan.metric, since=back.start, until=back.end)
    return to_units(int(rows.aggregate(v=Sum(column))["v"] or 0), money, plan.metric.decimals)
