"""Recommended targets backed by sales history, with the chance of reaching them.

Directors set targets as "last year + 10%"; this service replaces that rule with a forecast
of the scope's own history (engine.forecast) and states the result as a probability, then
adds the director's own knowledge (market growth, prices, new business, hires, departures)
as explicit lines, so that every fen of the recommendation can be traced.

Two steps: :func:`forecast_basis` reads the scope's history and fits the models (seconds),
:func:`compose` adds the adjustments and the chance to it (no model fitting). ``recommend``
does both; the page, the API and the command use ``targets.stored.recommend``, which keeps
the basis so that a second visit or a changed adjustment fits nothing again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from salestarget.core.errors import DomainError
from salestarget.engine.cadence import DAILY, Cadence
from salestarget.engine.calendar import Period, add_months
from salestarget.engine.forecast import (
    BASELINE,
    BATCH_CANDIDATES,
    SINGLE_CANDIDATES,
    SeriesForecast,
    SeriesInput,
    forecast_many,
)
from salestarget.engine.rounding import round_half_up
from salestarget.metrics.models import Metric
from salestarget.metrics.selectors import company_currency, fiscal_calendar
from salestarget.org.models import Person
from salestarget.targets import history
from salestarget.targets.adjustments import (
    DEFAULT_P,
    DEFAULT_RAMP_MONTHS,
    Adjustments,
    Line,
    adjustment_lines,
)
from salestarget.targets.labels import lang, model_words, month_label
from salestarget.targets.scope import TargetScope
from salestarget.targets.selectors import existing_target

# Beyond three years ahead a monthly forecast is a guess, not a recommendation.
MAX_HORIZON = 36
CURVE_POINTS = 41


# --------------------------------------------------------------------------- the costly part


@dataclass
class Basis:
    """What a recommendation takes from the history and the models, before adjustments and
    chance: the scope's months, their forecast, and each active rep's forecast for the
    bottom-up view (``rep_forecasts`` None when there is none to show)."""

    scope: TargetScope
    metric: Metric
    period: Period
    history_start: dt.date | None
    history_end: dt.date
    history: list[int]
    forecast: SeriesForecast
    active_reps: list[int]
    rep_forecasts: dict[int, SeriesForecast] | None
    last_year_actual: int
    # The complete period ``last_year_actual`` sums (see history.comparison_period).
    last_year_period: Period | None = None
    # Reps whose own history is too short to forecast: {person id: months of own sales},
    # estimated from the team's per-rep level (see _new_rep_estimates).
    new_reps: dict[int, int] = field(default_factory=dict)
    # The rhythm of the scope's data, which sets each month's exposure (history.exposure).
    cadence: Cadence = DAILY

    @property
    def history_months(self) -> list[dt.date]:
        return history.months(self.history_start, self.history_end) if self.history_start else []

    @property
    def forecast_months(self) -> list[dt.date]:
        return history.months(add_months(self.history_end, 1), self.period.end.replace(day=1))


def history_end_for(period: Period, today: dt.date) -> dt.date:
    """The last month of history: the last complete month, or the month before the period
    when the period has already begun (a target is set before its period, and recommending
    one for a running period from its own first months would mix tracking into planning)."""
    return min(add_months(today.replace(day=1), -1), add_months(period.start, -1))


def forecast_basis(
    user,
    scope: TargetScope,
    period: Period,
    *,
    metric: str = "sales",
    bottom_up: bool = True,
    today: dt.date | None = None,
) -> Basis:
    """Read the history of ``scope`` that ``user`` may see and forecast it up to the end of
    ``period`` (and, with ``bottom_up``, every active rep of a team or company scope)."""
    today = today or timezone.localdate()
    cal = fiscal_calendar()
    the_metric = history.metric_for(metric)
    value_field = history.value_field(the_metric)
    history_end = history_end_for(period, today)
    rows = history.rollups(user, the_metric, scope, *history.window(history_end))
    period_months = [m.start for m in period.children("month")]
    forecast_months = history.months(add_months(history_end, 1), period_months[-1])
    if len(forecast_months) > MAX_HORIZON:
        raise DomainError(gettext_lazy("The period lies too far ahead to forecast (at most 36 months)."))
    history_start = history.first_month(rows, history_end, history.HISTORY_MONTHS)
    history_months = history.months(history_start, history_end) if history_start else []
    sums = history.monthly(rows, value_field, history_start, history_end) if history_start else {}
    values = [sums.get((None, m), 0) for m in history_months]

    horizon = len(forecast_months)
    period_start = horizon - len(period_months)
    wd_hist, wd_future, cadence = history.exposure(cal, rows, history_months, forecast_months)
    key = "scope"
    own = np.asarray(values, dtype=float)
    reference = history.reference(user, the_metric, scope, value_field, history_months, own)
    inputs = [SeriesInput(key, own, wd_hist, wd_future, reference)]
    forecast = forecast_many(inputs, horizon, period_start=period_start, candidates=SINGLE_CANDIDATES)[key]

    credited = history.credited(user, the_metric, scope)
    reps = history.active_reps(credited, history_end)
    rep_forecasts, new_reps = None, {}
    if bottom_up and scope.person is None:
        # Every current member of the team counts, not only those who already sold: a hire of
        # two months has no sales yet and would otherwise vanish from the bottom-up table.
        reps = sorted(set(reps) | set(history.active_members(user, scope, today)))
        if reps and history_months:
            rep_forecasts, own_months = _rep_forecasts(
                credited, value_field, reps, history_months, own, wd_hist, wd_future, period_start
            )
            new_reps = _new_rep_estimates(
                rep_forecasts, own_months, history.started(reps), period_months, history_end
            )
    comparison = history.comparison_period(period, history_end)
    return Basis(
        scope=scope,
        metric=the_metric,
        period=period,
        history_start=history_start,
        history_end=history_end,
        history=values,
        forecast=forecast,
        active_reps=reps,
        rep_forecasts=rep_forecasts,
        last_year_actual=history.last_year_actual(rows, value_field, comparison),
        last_year_period=comparison,
        new_reps=new_reps,
        cadence=cadence,
    )


def _rep_forecasts(
    rows, value_field, reps, months, reference, wd_hist, wd_future, period_start
) -> tuple[dict[int, SeriesForecast], dict[int, int]]:
    """Forecast every active rep of the scope on the same months as the top-down series.

    A rep's months before their first sale are unknown (NaN), not zero, so a recent joiner is
    forecast from their own short record instead of looking like years of slump.  The scope's
    own months are every rep's reference: a rep shares the team's season.  Also returns how
    many months of own history each rep has (0 for a member without a sale yet).
    """
    sums = (
        history.monthly(rows.filter(person_id__in=reps), value_field, months[0], months[-1], by="person_id")
        if months
        else {}
    )
    inputs, own_months = [], {}
    for rep in reps:
        y = np.array([sums.get((rep, m), 0) for m in months], dtype=float)
        seen = [i for i, m in enumerate(months) if (rep, m) in sums]
        y[: seen[0] if seen else len(months)] = np.nan
        own_months[rep] = len(months) - seen[0] if seen else 0
        inputs.append(SeriesInput(str(rep), y, wd_hist, wd_future, reference if months else None))
    forecasts = forecast_many(inputs, len(wd_future), period_start=period_start, candidates=BATCH_CANDIDATES)
    return {rep: forecasts[str(rep)] for rep in reps}, own_months


# A rep with less of their own history than this is estimated from the team, not forecast.
NEW_REP_MONTHS = 6
NEW_REP_MODEL = "TeamPerRep"


def _new_rep_estimates(
    forecasts: dict[int, SeriesForecast],
    own_months: dict[int, int],
    started: dict[int, dt.date],
    period_months: list[dt.date],
    history_end: dt.date,
) -> dict[int, int]:
    """Replace the forecast of every rep with fewer than ``NEW_REP_MONTHS`` months of history by
    the established reps' average period total, scaled month by month by a linear ramp-up
    (``DEFAULT_RAMP_MONTHS`` from the day they started), or by their own forecast when that is
    higher.  Returns {rep: months of own sales} for the reps so estimated."""
    new = {rep: n for rep, n in own_months.items() if n < NEW_REP_MONTHS}
    if not new:
        return {}
    established = [fc for rep, fc in forecasts.items() if rep not in new]
    expected = sum(fc.total_mean for fc in established)
    per_month = expected / len(established) / len(period_months) if established else 0.0
    cv = sum(fc.total_sigma for fc in established) / expected if expected > 0 else 1.0
    out = {}
    for rep, n in new.items():
        since = started.get(rep) or add_months(history_end, 1 - n)
        ramp = [
            min(1.0, (_months_between(since, m) + 1) / DEFAULT_RAMP_MONTHS)
            if m >= since.replace(day=1)
            else 0.0
            for m in period_months
        ]
        own = forecasts[rep]
        total = round(per_month * sum(ramp))
        if total > own.total_mean:
            forecasts[rep] = dataclasses.replace(
                own, model=NEW_REP_MODEL, total_mean=total, total_sigma=round(total * cv)
            )
        out[rep] = n
    return out


def _months_between(first: dt.date, month: dt.date) -> int:
    return (month.year - first.year) * 12 + month.month - first.month


# --------------------------------------------------------------------------- the recommendation


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
    last_year_period: Period | None = None
    cadence: Cadence = DAILY

    @property
    def last_year_label(self) -> str:
        """The complete period "last year" stands for, e.g. 2025年: never a year still running."""
        return self.last_year_period.label(lang()) if self.last_year_period else _("Last year")

    @property
    def period_label(self) -> str:
        return self.period.label(lang())

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
    def rule_of_thumb_label(self) -> str:
        return _("%(period)s + 10%%") % {"period": self.last_year_label}

    @property
    def vs_last_year_label(self) -> str:
        return _("vs. %(period)s") % {"period": self.last_year_label}

    @property
    def rule_of_thumb(self) -> int:
        """What "last year + 10%" would have said, for comparison: ``last_year_period`` is the
        last complete one, so a year still running is never taken for a whole year."""
        return round_half_up(Fraction(self.last_year_actual) * Fraction(11, 10))

    @property
    def rule_probability(self) -> float:
        return self.probability_of(self.rule_of_thumb)

    @property
    def expected_probability(self) -> float:
        """The chance of the expected total: not always 50%, since the backtest's errors may
        put the median beside the forecast (issue 17)."""
        return self.probability_of(self.expected)

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
            "last_year_period": None
            if self.last_year_period is None
            else {
                "start": self.last_year_period.start.isoformat(),
                "end": self.last_year_period.end.isoformat(),
                "label": self.last_year_label,
            },
            "rule_of_thumb": {"target": self.rule_of_thumb, "probability": self.rule_probability},
            "existing_target": None
            if self.existing_target is None
            else {"target": self.existing_target, "probability": self.existing_probability},
            "bottom_up": None if self.bottom_up is None else self.bottom_up.to_dict(),
            "warnings": list(self.warnings),
        }


def check_probability(p: float) -> None:
    if not 0 < p < 1:
        raise DomainError(gettext_lazy("The probability must lie strictly between 0% and 100%."))


def compose(
    user, basis: Basis, p: float = DEFAULT_P, adjustments: Adjustments | None = None
) -> Recommendation:
    """The recommended target reached with probability ``p``, after ``adjustments``."""
    check_probability(p)
    adjustments = adjustments or Adjustments()
    forecast, period = basis.forecast, basis.period
    period_months = [m.start for m in period.children("month")]
    lines_adj, factor = adjustment_lines(
        adjustments, forecast.total_mean, period_months, len(basis.active_reps)
    )
    baseline_line = Line(
        "baseline",
        _("Forecast from history (%(model)s)") % {"model": model_words(forecast.model)},
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
            _("Safety margin for the chance of %(p)s") % {"p": f"{p:.0%}"},
            recommended - expected,
        ),
        Line("recommended", _("Recommended target"), recommended),
    ]
    history_months = basis.history_months
    return Recommendation(
        scope=basis.scope,
        metric=basis.metric,
        period=period,
        p=p,
        adjustments=adjustments,
        history_start=basis.history_start,
        history_end=basis.history_end,
        history_months=history_months,
        history=basis.history,
        forecast_months=basis.forecast_months,
        forecast=forecast,
        outcome=outcome,
        lines=lines,
        expected=expected,
        recommended=recommended,
        last_year_actual=basis.last_year_actual,
        existing_target=existing_target(user, basis.metric.code, basis.scope, period),
        bottom_up=None
        if basis.rep_forecasts is None
        else _bottom_up(basis.rep_forecasts, p, forecast, basis.new_reps),
        warnings=_warning_texts(forecast, history_months),
        last_year_period=basis.last_year_period,
        cadence=basis.cadence,
    )


def _new_rep_note(months: int, model: str) -> str:
    values = {"n": months, "min": NEW_REP_MONTHS, "ramp": DEFAULT_RAMP_MONTHS}
    if model == NEW_REP_MODEL:
        return (
            _(
                "%(n)d months of sales (fewer than %(min)d): estimated from the team's per-rep level, "
                "ramping up over %(ramp)d months from the hire date"
            )
            % values
        )
    return _("%(n)d months of sales (fewer than %(min)d): estimated from their own recent months") % values


def _warning_texts(forecast: SeriesForecast, months: list[dt.date]) -> list[str]:
    """The engine's notes in the user's language, with month positions shown as months."""
    language, currency = lang(), company_currency().code
    texts = []
    for note in forecast.warnings:
        if "positions" in note.params:
            labels = [month_label(months[i], language) for i in note.params["positions"]]
            note = dataclasses.replace(note, params={**note.params, "labels": labels})
        texts.append(note.text(language, currency))
    return texts


def _bottom_up(
    forecasts: dict[int, SeriesForecast], p: float, top_down: SeriesForecast, new_reps: dict[int, int]
) -> BottomUp:
    names = dict(Person.objects.filter(pk__in=list(forecasts)).values_list("pk", "name"))
    out = [
        {
            "person_id": rep,
            "name": names.get(rep, str(rep)),
            "model": fc.model,
            "expected": fc.total_mean,
            "recommended": fc.target_for_probability(p),
            "note": _new_rep_note(new_reps[rep], fc.model) if rep in new_reps else "",
        }
        for rep, fc in forecasts.items()
    ]
    out.sort(key=lambda r: -r["expected"])
    return BottomUp(
        reps=out,
        expected_total=sum(r["expected"] for r in out),
        recommended_total=sum(r["recommended"] for r in out),
        top_down_expected=top_down.total_mean,
        top_down_recommended=top_down.target_for_probability(p),
    )
