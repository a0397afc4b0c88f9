"""Recommended targets backed by sales history, with the chance of reaching them.

Directors set targets as "last year + 10%"; this service replaces that rule with a forecast
of the scope's own history (engine.forecast) and states the result as a probability, then
adds the director's own knowledge (market growth, prices, new business, hires, departures)
as explicit lines, so that every fen of the recommendation can be traced.

Everything reads ``DailyRollup.objects.restrict(user)``: a scope the user may not look at
raises ``ScopeNotVisible`` instead of quietly returning a smaller number.  The planning
screens call ``recommend()``; the web page, the API and the CLI are thin wrappers around it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field

import numpy as np
from django.db.models import Min, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from salestarget.actuals.models import DailyRollup
from salestarget.catalog.models import Product, Region
from salestarget.engine.backtest import BacktestReport, backtest_year
from salestarget.engine.calendar import FiscalCalendar, Period, add_months, working_day_counts
from salestarget.engine.forecast import (
    BASELINE,
    BATCH_CANDIDATES,
    COMBINATION,
    MEAN_MODEL,
    SHARED_SEASON,
    SINGLE_CANDIDATES,
    SeriesForecast,
    SeriesInput,
    forecast_many,
)
from salestarget.metrics.models import FiscalSettings, Metric
from salestarget.org.models import OrgUnit, Person
from salestarget.org.permissions import Action, scope_of
from salestarget.targets.models import TargetCell
from salestarget.targets.selectors import published_cells

# Five years is enough for seasonal models; older sales describe a different company.
HISTORY_MONTHS = 60
# Beyond three years ahead a monthly forecast is a guess, not a recommendation.
MAX_HORIZON = 36
# Months of history shown on the chart before the forecast starts.
CHART_HISTORY_MONTHS = 24
# A rep counts as active in the scope when they sold in the last year of history.
ACTIVE_MONTHS = 12
CURVE_POINTS = 41
DEFAULT_P = 0.8
DEFAULT_RAMP_MONTHS = 3
BACKTEST_PROBABILITIES = (0.5, 0.8)

_VALUE_FIELDS = {
    Metric.Aggregation.SUM_AMOUNT: "amount",
    Metric.Aggregation.SUM_PROFIT: "profit",
    Metric.Aggregation.SUM_QUANTITY: "quantity",
    Metric.Aggregation.COUNT: "rows",
}


class ScopeNotVisible(LookupError):
    """The requested unit or person does not exist or lies outside what the user may see.

    One exception for both cases, so that a 404 does not reveal which ids exist.
    """


def fiscal_calendar() -> FiscalCalendar:
    fs = FiscalSettings.current()
    return FiscalCalendar(start_month=fs.fy_start_month, week_start=fs.week_start, country=fs.country)


def _lang() -> str:
    return "en" if (get_language() or "zh").startswith("en") else "zh"


def model_label(name: str) -> str:
    """Words a director reads, then the engine's name for an analyst: 去年同月 (SeasonalNaive)."""
    words = {
        BASELINE: _("Last year's months"),
        COMBINATION: _("Average of the models"),
        SHARED_SEASON: _("Own level, shared season"),
        MEAN_MODEL: _("Average month"),
        "AutoETS": _("Exponential smoothing"),
        "AutoETS(AZN)": _("Exponential smoothing"),
        "AutoTheta": _("Theta method"),
        "DynamicOptimizedTheta": _("Theta method"),
    }.get(name)
    return f"{words} ({name})" if words else name


def _month_start(value) -> dt.date:
    day = value.date() if isinstance(value, dt.datetime) else value
    return day.replace(day=1)


def _months(first: dt.date, last: dt.date) -> list[dt.date]:
    count = (last.year - first.year) * 12 + last.month - first.month + 1
    return [add_months(first, i) for i in range(max(count, 0))]


def _month_periods(starts: list[dt.date]) -> list[Period]:
    return [Period("month", m, add_months(m, 1) - dt.timedelta(days=1)) for m in starts]


def _working_days(cal: FiscalCalendar, starts: list[dt.date]) -> np.ndarray:
    """Working days per month: always working days (not the progress basis), because sales
    follow the office calendar and the Spring Festival moves between January and February."""
    return working_day_counts(_month_periods(starts), cal.country, "working").astype(float)


# --------------------------------------------------------------------------- scope and period


@dataclass(frozen=True)
class TargetScope:
    """Any combination of a unit subtree, a person, a product subtree and a region subtree."""

    unit: OrgUnit | None = None
    person: Person | None = None
    product: Product | None = None
    region: Region | None = None

    def label(self) -> str:
        parts = [str(x.name) for x in (self.unit, self.person, self.product, self.region) if x is not None]
        return " · ".join(parts) or _("Everything you can see")

    def to_dict(self) -> dict:
        def ref(obj):
            return None if obj is None else {"id": obj.pk, "code": obj.code, "name": obj.name}

        return {
            "unit": ref(self.unit),
            "person": ref(self.person),
            "product": ref(self.product),
            "region": ref(self.region),
            "label": self.label(),
        }


def selectable_units(user):
    """Units a user may ask about: their managed subtrees (everything for an admin).

    A rep's own team is not offered: its total includes colleagues' sales they may not see.
    """
    reach = scope_of(user).reach(Action.VIEW)
    if not (reach.everything or reach.paths):
        return OrgUnit.objects.none()
    return OrgUnit.objects.filter(reach.units_q(""))


def selectable_people(user):
    return Person.objects.restrict(user)


def resolve_scope(
    user,
    *,
    unit_id: int | None = None,
    person_id: int | None = None,
    product_id: int | None = None,
    region_id: int | None = None,
) -> TargetScope:
    """Look the ids up within what the user may see; with no unit or person, default to the
    user's own responsibility (the company, the managed unit, or the rep themselves)."""
    reach = scope_of(user).reach(Action.VIEW)
    if reach.nothing:
        raise ScopeNotVisible(_("You have no sales data to plan for."))

    def pick(qs, pk):
        if pk is None:
            return None
        obj = qs.filter(pk=pk).first()
        if obj is None:
            raise ScopeNotVisible(_("No such unit, person, product or region among those you may see."))
        return obj

    unit = pick(selectable_units(user), unit_id)
    person = pick(selectable_people(user), person_id)
    product = pick(Product.objects.restrict(user), product_id)
    region = pick(Region.objects.restrict(user), region_id)
    if unit is None and person is None:
        if reach.everything:
            roots = list(OrgUnit.objects.filter(parent__isnull=True)[:2])
            unit = roots[0] if len(roots) == 1 else None
        elif reach.paths:
            unit = OrgUnit.objects.filter(path=reach.paths[0]).first()
        else:
            person = Person.objects.get(pk=reach.person_id)
    return TargetScope(unit=unit, person=person, product=product, region=region)


def resolve_period(
    cal: FiscalCalendar,
    year: int | None = None,
    quarter: int | None = None,
    month: int | None = None,
    today: dt.date | None = None,
    *,
    half: int | None = None,
) -> Period:
    """A fiscal year, one of its halves or quarters, or one of its (calendar) months; next year
    by default."""
    today = today or timezone.localdate()
    fy = year if year is not None else cal.fiscal_year_of(today) + 1
    if not 2000 <= fy <= 2100:
        raise ValueError(_("The year must lie between 2000 and 2100."))
    if sum(x is not None for x in (half, quarter, month)) > 1:
        raise ValueError(_("Choose one part of the year: a half, a quarter or a month."))
    period = cal.year(fy)
    if half is not None:
        if half not in (1, 2):
            raise ValueError(_("The half year must be 1 or 2."))
        return period.children("half")[half - 1]
    if quarter is not None:
        if not 1 <= quarter <= 4:
            raise ValueError(_("The quarter must be 1 to 4."))
        return period.children("quarter")[quarter - 1]
    if month is not None:
        if not 1 <= month <= 12:
            raise ValueError(_("The month must be 1 to 12."))
        return next(m for m in period.children("month") if m.start.month == month)
    return period


def metric_for(code: str) -> Metric:
    """Metrics that are sums of rollup columns; ratios and distinct counts cannot be summed
    over months and so cannot be forecast this way."""
    metric = Metric.objects.filter(code=code, active=True).first()
    if metric is None or metric.aggregation not in _VALUE_FIELDS:
        raise ValueError(_("Targets can be recommended only for summable metrics such as sales."))
    return metric


def _rollups(user, metric: Metric, scope: TargetScope):
    rows = DailyRollup.objects.restrict(user).filter(kind=metric.fact_kind)
    if metric.stage:
        rows = rows.filter(stage=metric.stage)
    if scope.unit is not None:
        rows = rows.filter(unit_id__in=OrgUnit.objects.filter(path__startswith=scope.unit.path).values("pk"))
    if scope.person is not None:
        rows = rows.filter(person_id=scope.person.pk)
    if scope.product is not None:
        rows = rows.filter(
            product_id__in=Product.objects.filter(path__startswith=scope.product.path).values("pk")
        )
    if scope.region is not None:
        rows = rows.filter(
            region_id__in=Region.objects.filter(path__startswith=scope.region.path).values("pk")
        )
    return rows


def _reference(user, metric: Metric, scope: TargetScope, value_field: str, months: list[dt.date], own):
    """The same months of everything the user sees: the broader series whose season the scope shares.

    A rep's or a product's months are few sales and much chance; the season of the user's
    whole company (a manager's whole subtree) is the same calendar seen through far more sales.
    """
    if scope == TargetScope() or not months:
        return own
    sums = _monthly(_rollups(user, metric, TargetScope()), value_field, months[0], months[-1])
    return np.array([sums.get((None, m), 0) for m in months], dtype=float)


def _monthly(rows, value_field: str, first: dt.date, last: dt.date, by: str | None = None) -> dict:
    """{(group, month): sum} (group None when ``by`` is None) for the months first..last."""
    keys = ["m"] + ([by] if by else [])
    qs = (
        rows.filter(day__gte=first, day__lt=add_months(last, 1))
        .annotate(m=TruncMonth("day"))
        .values(*keys)
        .annotate(v=Sum(value_field))
    )
    return {(r[by] if by else None, _month_start(r["m"])): int(r["v"] or 0) for r in qs}


# --------------------------------------------------------------------------- adjustments


@dataclass(frozen=True)
class Adjustments:
    """What a director knows that the history does not: all optional, all in fen or percent.

    Hires ramp up linearly to ``hire_productivity`` (fen per month) over ``ramp_months``
    starting in ``hire_month``; departures stop selling from ``departure_month`` on at
    ``departure_productivity`` per month, by default an average active rep of the scope.
    """

    growth_pct: float = 0.0
    price_pct: float = 0.0
    new_business: int = 0
    hires: int = 0
    hire_month: dt.date | None = None
    hire_productivity: int = 0
    ramp_months: int = DEFAULT_RAMP_MONTHS
    departures: int = 0
    departure_month: dt.date | None = None
    departure_productivity: int | None = None

    def __post_init__(self):
        if self.growth_pct <= -100 or self.price_pct <= -100:
            raise ValueError(_("A change at or below -100% would leave nothing to sell."))
        if self.hires < 0 or self.departures < 0 or self.hire_productivity < 0:
            raise ValueError(_("Headcount changes and productivity cannot be negative."))
        if self.departure_productivity is not None and self.departure_productivity < 0:
            raise ValueError(_("Headcount changes and productivity cannot be negative."))
        if self.ramp_months < 1:
            raise ValueError(_("The ramp-up takes at least one month."))

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        for key in ("hire_month", "departure_month"):
            out[key] = None if out[key] is None else out[key].isoformat()
        return out


@dataclass(frozen=True)
class Line:
    """One step of the explanation; the amounts of all lines before "recommended" add up to it."""

    code: str
    label: str
    amount: int
    note: str = ""

    def to_dict(self) -> dict:
        return {"code": self.code, "label": self.label, "amount": self.amount, "note": self.note}


def _months_from(months: list[dt.date], start: dt.date | None) -> list[int]:
    """Months since ``start`` (0 = the start month) for each period month on or after it."""
    start = _month_start(start) if start else months[0]
    return [(m.year - start.year) * 12 + m.month - start.month for m in months if m >= start]


def _adjustment_lines(
    adj: Adjustments, baseline: int, months: list[dt.date], active_reps: int
) -> tuple[list[Line], float]:
    """The adjustment lines and the factor by which they scale the forecast's uncertainty.

    Growth and price scale the whole baseline (price on the grown volume), so they scale
    its spread too; the additive items are the director's own figures and add no spread.
    """
    lines = []
    growth = round(baseline * adj.growth_pct / 100)
    if adj.growth_pct:
        lines.append(Line("growth", _("Market growth"), growth, f"{adj.growth_pct:+g}%"))
    if adj.price_pct:
        price = round((baseline + growth) * adj.price_pct / 100)
        lines.append(Line("price", _("Price change"), price, f"{adj.price_pct:+g}%"))
    if adj.new_business:
        lines.append(Line("new_business", _("New products or regions"), int(adj.new_business)))
    if adj.hires and adj.hire_productivity:
        shares = sum(min(1.0, (k + 1) / adj.ramp_months) for k in _months_from(months, adj.hire_month))
        amount = round(adj.hires * adj.hire_productivity * shares)
        note = _("%(n)d new, ramp %(r)d months, %(m).1f full-productivity months") % {
            "n": adj.hires,
            "r": adj.ramp_months,
            "m": shares,
        }
        lines.append(Line("hires", _("New hires"), amount, note))
    if adj.departures:
        per_rep = adj.departure_productivity
        if per_rep is None:
            per_rep = round(baseline / len(months) / active_reps) if active_reps else 0
        lost = len(_months_from(months, adj.departure_month))
        note = _("%(n)d leaving, %(m)d months without their sales") % {"n": adj.departures, "m": lost}
        lines.append(Line("departures", _("Departures"), -adj.departures * per_rep * lost, note))
    factor = (1 + adj.growth_pct / 100) * (1 + adj.price_pct / 100)
    return lines, factor


# --------------------------------------------------------------------------- recommendation


@dataclass
class BottomUp:
    """Per-rep recommendations beside the top-down one (both before adjustments).

    The sum of per-rep targets at p is below the top-down target at p when p > 50%: reps'
    bad months partly cancel out in a team, so a team can commit to more than the sum of
    individually safe targets. The gap is exactly that difference, shown so nobody is surprised.
    """

    reps: list[dict]
    expected_total: int
    recommended_total: int
    top_down_expected: int
    top_down_recommended: int

    @property
    def gap(self) -> int:
        return self.top_down_recommended - self.recommended_total

    def to_dict(self) -> dict:
        return {
            "reps": self.reps,
            "expected_total": self.expected_total,
            "recommended_total": self.recommended_total,
            "top_down_expected": self.top_down_expected,
            "top_down_recommended": self.top_down_recommended,
            "gap": self.gap,
        }


@dataclass
class Recommendation:
    scope: TargetScope
    metric: Metric
    period: Period
    p: float
    adjustments: Adjustments
    history_start: dt.date | None
    history_end: dt.date
    history_months: list[dt.date]
    history: list[int]
    forecast_months: list[dt.date]
    forecast: SeriesForecast
    outcome: SeriesForecast
    lines: list[Line]
    expected: int
    recommended: int
    last_year_actual: int
    existing_target: int | None
    bottom_up: BottomUp | None
    warnings: list[str] = field(default_factory=list)

    @property
    def period_label(self) -> str:
        return self.period.label(_lang())

    @property
    def baseline(self) -> int:
        return self.forecast.total_mean

    @property
    def model(self) -> str:
        return self.forecast.model

    def probability_of(self, target: int) -> float:
        """Chance that the period reaches ``target``, adjustments included."""
        return self.outcome.probability_of_reaching(target)

    def target_for(self, p: float) -> int:
        return self.outcome.target_for_probability(p)

    @property
    def existing_probability(self) -> float | None:
        return None if self.existing_target is None else self.probability_of(self.existing_target)

    @property
    def rule_of_thumb(self) -> int:
        """What "last year + 10%" would have said, for comparison."""
        return round(self.last_year_actual * 1.1)

    @property
    def rule_probability(self) -> float:
        return self.probability_of(self.rule_of_thumb)

    @property
    def growth_vs_last_year(self) -> float | None:
        return self.recommended / self.last_year_actual - 1 if self.last_year_actual > 0 else None

    @property
    def accuracy(self) -> dict:
        """Backtest MAE/WAPE of the chosen model and of SeasonalNaive (empty for short histories)."""
        scores = self.forecast.backtest
        return {m: scores[m] for m in (self.model, BASELINE) if m in scores}

    def ladder(self, probabilities=(0.5, 0.7, 0.8, 0.9, 0.95)) -> list[tuple[float, int]]:
        return [(q, self.target_for(q)) for q in probabilities]

    def curve(self) -> list[tuple[int, float]]:
        """(target, probability) points of the S-curve around the expected total."""
        mean, sigma = self.outcome.total_mean, self.outcome.total_sigma
        spread = 3 * sigma if sigma > 0 else abs(mean) / 2
        if spread == 0:
            return []
        low = max(0, mean - spread) if self.outcome.nonnegative else mean - spread
        high = mean + spread
        steps = np.linspace(low, high, CURVE_POINTS)
        return [(round(t), self.probability_of(round(t))) for t in steps]

    def to_dict(self) -> dict:
        return {
            "scope": self.scope.to_dict(),
            "metric": {"code": self.metric.code, "name": self.metric.name, "decimals": self.metric.decimals},
            "period": {
                "kind": self.period.kind,
                "start": self.period.start.isoformat(),
                "end": self.period.end.isoformat(),
                "label": self.period_label,
            },
            "p": self.p,
            "adjustments": self.adjustments.to_dict(),
            "history_start": self.history_start.isoformat() if self.history_start else None,
            "history_end": self.history_end.isoformat(),
            "history": [
                {"month": m.isoformat(), "value": v}
                for m, v in zip(self.history_months, self.history, strict=True)
            ],
            "forecast_months": [m.isoformat() for m in self.forecast_months],
            "forecast": self.forecast.to_dict(),
            "model": self.model,
            "accuracy": self.accuracy,
            "baseline": self.baseline,
            "lines": [line.to_dict() for line in self.lines],
            "expected": self.expected,
            "expected_sigma": self.outcome.total_sigma,
            "recommended": self.recommended,
            "ladder": {f"{q:g}": t for q, t in self.ladder()},
            "last_year_actual": self.last_year_actual,
            "rule_of_thumb": {"target": self.rule_of_thumb, "probability": self.rule_probability},
            "existing_target": None
            if self.existing_target is None
            else {"target": self.existing_target, "probability": self.existing_probability},
            "bottom_up": None if self.bottom_up is None else self.bottom_up.to_dict(),
            "warnings": list(self.warnings),
        }


def _last_complete_month(today: dt.date) -> dt.date:
    return add_months(today.replace(day=1), -1)


def recommend(
    user,
    scope: TargetScope,
    period: Period,
    p: float = DEFAULT_P,
    adjustments: Adjustments | None = None,
    *,
    metric: str = "sales",
    bottom_up: bool = True,
    today: dt.date | None = None,
) -> Recommendation:
    """The recommended target for ``scope`` in ``period`` that is reached with probability ``p``.

    History ends with the last complete month, or with the month before the period when the
    period has already begun: a target is set before its period, and recommending one for a
    running period from its own first months would mix tracking into planning.
    """
    if not 0 < p < 1:
        raise ValueError(_("The probability must lie strictly between 0% and 100%."))
    adjustments = adjustments or Adjustments()
    today = today or timezone.localdate()
    cal = fiscal_calendar()
    the_metric = metric_for(metric)
    value_field = _VALUE_FIELDS[the_metric.aggregation]
    rows = _rollups(user, the_metric, scope)

    history_end = min(_last_complete_month(today), add_months(period.start, -1))
    period_months = [m.start for m in period.children("month")]
    forecast_months = _months(add_months(history_end, 1), period_months[-1])
    if len(forecast_months) > MAX_HORIZON:
        raise ValueError(_("The period lies too far ahead to forecast (at most 36 months)."))
    first_day = rows.filter(day__lte=add_months(history_end, 1) - dt.timedelta(days=1)).aggregate(
        d=Min("day")
    )["d"]
    history_start = (
        max(_month_start(first_day), add_months(history_end, 1 - HISTORY_MONTHS)) if first_day else None
    )
    history_months = _months(history_start, history_end) if history_start else []
    sums = _monthly(rows, value_field, history_start, history_end) if history_start else {}
    history = [sums.get((None, m), 0) for m in history_months]

    horizon = len(forecast_months)
    period_start = horizon - len(period_months)
    wd_hist = _working_days(cal, history_months)
    wd_future = _working_days(cal, forecast_months)
    key = "scope"
    own = np.asarray(history, dtype=float)
    reference = _reference(user, the_metric, scope, value_field, history_months, own)
    inputs = [SeriesInput(key, own, wd_hist, wd_future, reference)]
    forecast = forecast_many(inputs, horizon, period_start=period_start, candidates=SINGLE_CANDIDATES)[key]

    reps = _active_reps(rows, value_field, history_end)
    lines_adj, factor = _adjustment_lines(adjustments, forecast.total_mean, period_months, len(reps))
    baseline_line = Line(
        "baseline",
        _("Forecast from history (%(model)s)") % {"model": model_label(forecast.model)},
        forecast.total_mean,
    )
    expected = forecast.total_mean + sum(line.amount for line in lines_adj)
    outcome = dataclasses.replace(
        forecast, total_mean=expected, total_sigma=round(forecast.total_sigma * factor)
    )
    recommended = outcome.target_for_probability(p)
    lines = [
        baseline_line,
        *lines_adj,
        Line("expected", _("Expected total"), expected),
        Line(
            "margin",
            _("Safety margin for a %(p)s chance") % {"p": f"{p:.0%}"},
            recommended - expected,
        ),
        Line("recommended", _("Recommended target"), recommended),
    ]
    bu = None
    if bottom_up and scope.person is None and reps:
        bu = _bottom_up(
            rows,
            value_field,
            reps,
            history_start,
            history_end,
            own,
            wd_hist,
            wd_future,
            period_start,
            p,
            forecast,
        )
    return Recommendation(
        scope=scope,
        metric=the_metric,
        period=period,
        p=p,
        adjustments=adjustments,
        history_start=history_start,
        history_end=history_end,
        history_months=history_months,
        history=history,
        forecast_months=forecast_months,
        forecast=forecast,
        outcome=outcome,
        lines=lines,
        expected=expected,
        recommended=recommended,
        last_year_actual=_last_year_actual(rows, value_field, period),
        existing_target=_existing_target(user, the_metric, scope, period),
        bottom_up=bu,
        warnings=_warning_texts(forecast, history_months),
    )


def _warning_texts(forecast: SeriesForecast, months: list[dt.date]) -> list[str]:
    """The engine's notes in the user's language, with month positions shown as months."""
    lang = _lang()
    texts = []
    for note in forecast.warnings:
        if "positions" in note.params:
            labels = [_month_label(months[i], lang) for i in note.params["positions"]]
            note = dataclasses.replace(note, params={**note.params, "labels": labels})
        texts.append(note.text(lang))
    return texts


def _active_reps(rows, value_field: str, history_end: dt.date) -> list[int]:
    since = add_months(history_end, 1 - ACTIVE_MONTHS)
    until = add_months(history_end, 1)
    active = rows.filter(day__gte=since, day__lt=until).exclude(person_id=0)
    return sorted(set(active.values_list("person_id", flat=True).distinct()))


def _bottom_up(
    rows,
    value_field,
    reps,
    history_start,
    history_end,
    reference,
    wd_hist,
    wd_future,
    period_start,
    p,
    top_down,
) -> BottomUp:
    """Forecast every active rep of the scope on the same months as the top-down series.

    A rep's months before their first sale are unknown (NaN), not zero, so a recent joiner is
    forecast from their own short record instead of looking like years of slump.  The scope's
    own months are every rep's reference: a rep shares the team's season.
    """
    months = _months(history_start, history_end)
    sums = _monthly(rows.filter(person_id__in=reps), value_field, history_start, history_end, by="person_id")
    inputs = []
    for rep in reps:
        y = np.array([sums.get((rep, m), 0) for m in months], dtype=float)
        seen = [i for i, m in enumerate(months) if (rep, m) in sums]
        y[: seen[0]] = np.nan
        inputs.append(SeriesInput(str(rep), y, wd_hist, wd_future, reference))
    forecasts = forecast_many(inputs, len(wd_future), period_start=period_start, candidates=BATCH_CANDIDATES)
    names = dict(Person.objects.filter(pk__in=reps).values_list("pk", "name"))
    out = []
    for rep in reps:
        fc = forecasts[str(rep)]
        out.append(
            {
                "person_id": rep,
                "name": names.get(rep, str(rep)),
                "model": fc.model,
                "expected": fc.total_mean,
                "recommended": fc.target_for_probability(p),
            }
        )
    out.sort(key=lambda r: -r["expected"])
    return BottomUp(
        reps=out,
        expected_total=sum(r["expected"] for r in out),
        recommended_total=sum(r["recommended"] for r in out),
        top_down_expected=top_down.total_mean,
        top_down_recommended=top_down.target_for_probability(p),
    )


def _last_year_actual(rows, value_field: str, period: Period) -> int:
    start, end = add_months(period.start, -12), add_months(period.end.replace(day=1), -11)
    return int(rows.filter(day__gte=start, day__lt=end).aggregate(v=Sum(value_field))["v"] or 0)


def _existing_target(user, metric: Metric, scope: TargetScope, period: Period) -> int | None:
    """The published target of exactly this scope and period, if the user may see it."""
    cells = published_cells(metric.code, period.fiscal_year).filter(
        pk__in=TargetCell.objects.restrict(user).values("pk"),
        period_kind=period.kind,
        period_start=period.start,
    )
    for name, obj in (("unit", scope.unit), ("product", scope.product), ("region", scope.region)):
        cells = cells.filter(**{name: obj}) if obj is not None else cells.filter(**{f"{name}__isnull": True})
    if scope.person is not None:
        cells = cells.filter(person=scope.person)
    elif scope.unit is not None:
        cells = cells.filter(person__isnull=True)
    else:
        return None
    return cells.aggregate(v=Sum("target"))["v"]


# --------------------------------------------------------------------------- backtest report


@dataclass
class BacktestResult:
    """A replayed past year for every node at one level, with names for the keys."""

    year: int
    level: str
    period: Period
    metric: Metric
    report: BacktestReport
    names: dict[str, str]

    @property
    def period_label(self) -> str:
        return self.period.label(_lang())

    def rows(self) -> list[dict]:
        out = []
        for s in self.report.series:
            row = s.to_dict()
            row["name"] = self.names.get(s.key, s.key)
            out.append(row)
        return out

    def to_dict(self) -> dict:
        data = self.report.to_dict()
        data["series"] = self.rows()
        data["skipped"] = [{"key": k, "name": self.names.get(k, k)} for k in self.report.skipped]
        data.update(
            {
                "year": self.year,
                "level": self.level,
                "period": {"start": self.period.start.isoformat(), "end": self.period.end.isoformat()},
                "metric": self.metric.code,
            }
        )
        return data


def backtest_levels(user) -> list[tuple[str, str]]:
    """(value, label) choices: reps, and each unit depth the user manages."""
    levels = [("rep", _("Sales reps"))]
    depths = sorted(set(selectable_units(user).values_list("depth", flat=True)))
    levels += [(str(d), _("Units at level %(d)d") % {"d": d + 1}) for d in depths]
    return levels


def backtest(
    user, year: int, level: str = "rep", *, metric: str = "sales", today: dt.date | None = None
) -> BacktestResult:
    """Replay fiscal ``year``: what would have been recommended for each node, and how it went.

    ``level`` is "rep" or a unit depth ("0" the company, "1" its regions, ...); a unit's
    history is its whole subtree.  Only nodes the user may see are replayed.
    """
    today = today or timezone.localdate()
    cal = fiscal_calendar()
    the_metric = metric_for(metric)
    value_field = _VALUE_FIELDS[the_metric.aggregation]
    period = cal.year(year)
    if period.end >= today.replace(day=1):
        raise ValueError(_("Choose a fiscal year that has ended."))
    rows = _rollups(user, the_metric, TargetScope())
    end_month = period.end.replace(day=1)
    first = rows.filter(day__lte=period.end).aggregate(d=Min("day"))["d"]
    # No sales before the year's end gives an empty report rather than an error: "nothing to
    # replay" is a valid answer for a new team.
    start = max(_month_start(first), add_months(end_month, 1 - HISTORY_MONTHS)) if first else end_month
    months = _months(start, end_month)

    if level == "rep":
        people = selectable_people(user)
        names = {str(pk): name for pk, name in people.values_list("pk", "name")}
        sums = _monthly(
            rows.filter(person_id__in=people.values("pk")), value_field, start, end_month, "person_id"
        )
        keyed = {(str(k), m): v for (k, m), v in sums.items()}
    else:
        if not level.isdigit():
            raise ValueError(_("The level is 'rep' or a unit depth such as 1."))
        depth = int(level)
        units = list(selectable_units(user).filter(depth=depth).values_list("pk", "name", "path"))
        if not units:
            raise ValueError(_("You manage no units at that level."))
        names = {str(pk): name for pk, name, _path in units}
        sums = _monthly(rows, value_field, start, end_month, "unit_id")
        paths = dict(OrgUnit.objects.filter(pk__in={k for k, _m in sums}).values_list("pk", "path"))
        keyed = {}
        for (unit_id, m), v in sums.items():
            parts = paths.get(unit_id, "").strip("/").split("/")
            if len(parts) > depth and parts[depth] in names:
                keyed[(parts[depth], m)] = keyed.get((parts[depth], m), 0) + v
    histories = {}
    for key in sorted({k for k, _m in keyed}, key=lambda k: names.get(k, k)):
        y = np.array([keyed.get((key, m), 0) for m in months], dtype=float)
        seen = next(i for i, m in enumerate(months) if (key, m) in keyed)
        y[:seen] = np.nan
        histories[key] = y
    wd = _working_days(cal, months)
    everything = _monthly(rows, value_field, start, end_month)
    reference = np.array([everything.get((None, m), 0) for m in months], dtype=float)
    report = backtest_year(
        histories,
        holdout=12,
        working_days=dict.fromkeys(histories, wd),
        references=dict.fromkeys(histories, reference),
        probabilities=BACKTEST_PROBABILITIES,
    )
    return BacktestResult(
        year=year, level=level, period=period, metric=the_metric, report=report, names=names
    )


def last_complete_year(today: dt.date | None = None) -> int:
    """The fiscal year before the current one: the latest that can be replayed in full."""
    cal = fiscal_calendar()
    return cal.fiscal_year_of(today or timezone.localdate()) - 1


def charts(rec: Recommendation) -> dict:
    """ECharts options for the page: history with the forecast band, and the S-curve.

    The bands are drawn as stacked areas (lower bound invisible, width on top) because
    ECharts has no native interval series; values stay fen and use the "cny" formatter.
    """
    lang = _lang()
    money = rec.metric.aggregation in (Metric.Aggregation.SUM_AMOUNT, Metric.Aggregation.SUM_PROFIT)
    fmt = "cny" if money else None
    shown = rec.history_months[-CHART_HISTORY_MONTHS:]
    hist = rec.history[-CHART_HISTORY_MONTHS:]
    labels = [_month_label(m, lang) for m in shown + rec.forecast_months]
    pad = [None] * len(shown)
    fc = rec.forecast
    mean = [int(v) for v in fc.mean]
    joined = [None] * (len(shown) - 1) + ([hist[-1]] if hist else []) + mean

    def band(level: int, color: str) -> list[dict]:
        lo = [int(v) for v in fc.lo[level]]
        width = [int(h) - int(lo_) for h, lo_ in zip(fc.hi[level], fc.lo[level], strict=True)]
        stack = f"band{level}"
        return [
            {
                "name": f"{level}%",
                "type": "line",
                "data": pad + lo,
                "stack": stack,
                "symbol": "none",
                "lineStyle": {"opacity": 0},
                "itemStyle": {"color": color},
                "tooltip": {"show": False},
            },
            {
                "name": f"{level}%",
                "type": "line",
                "data": pad + width,
                "stack": stack,
                "symbol": "none",
                "lineStyle": {"opacity": 0},
                "itemStyle": {"color": color},
                "areaStyle": {"color": color},
                "tooltip": {"show": False},
            },
        ]

    history_name, forecast_name = _("Actual"), _("Forecast")
    forecast_chart = {
        "tooltip": {"trigger": "axis", **({"valueFormatter": fmt} if fmt else {})},
        "legend": {"data": [history_name, forecast_name, "80%", "95%"], "top": 0},
        # The last month's label is centred on the right edge (no boundary gap): leave it room.
        "grid": {"left": 8, "right": 36, "top": 36, "bottom": 8, "containLabel": True},
        "xAxis": {"type": "category", "data": labels, "boundaryGap": False},
        "yAxis": {"type": "value", **({"axisLabel": {"formatter": fmt}} if fmt else {})},
        "series": [
            *band(95, "rgba(13,110,253,0.10)"),
            *band(80, "rgba(13,110,253,0.22)"),
            {
                "name": history_name,
                "type": "line",
                "data": hist + [None] * len(mean),
                "itemStyle": {"color": "#212529"},
            },
            {
                "name": forecast_name,
                "type": "line",
                "data": joined,
                "lineStyle": {"type": "dashed"},
                "itemStyle": {"color": "#0d6efd"},
            },
        ],
    }
    # Labels run along their lines so that nearby targets do not print over each other.
    marks = [_mark(rec.recommended, _("Recommended"))]
    if rec.existing_target is not None:
        marks.append(_mark(rec.existing_target, _("Current target")))
    if rec.last_year_actual > 0:
        marks.append(_mark(rec.rule_of_thumb, _("Last year + 10%")))
    probability_chart = {
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 8, "right": 24, "top": 24, "bottom": 8, "containLabel": True},
        "xAxis": {
            "type": "value",
            "scale": True,
            "axisLabel": {"hideOverlap": True, **({"formatter": fmt} if fmt else {})},
        },
        "yAxis": {"type": "value", "min": 0, "max": 100, "axisLabel": {"formatter": "{value}%"}},
        "series": [
            {
                "name": _("Chance of reaching"),
                "type": "line",
                "smooth": True,
                "symbol": "none",
                "data": [[t, round(q * 100, 1)] for t, q in rec.curve()],
                "itemStyle": {"color": "#198754"},
                "markLine": {"symbol": "none", "data": marks, "lineStyle": {"type": "dashed"}},
            }
        ],
    }
    return {"forecast": forecast_chart, "probability": probability_chart}


def _mark(x: int, label: str) -> dict:
    return {"xAxis": x, "label": {"formatter": label, "position": "insideEndTop"}}


def _month_label(month: dt.date, lang: str) -> str:
    return f"{month.year}-{month.month:02d}" if lang == "en" else f"{month.year}年{month.month}月"
