"""Monthly sales forecasts that become target recommendations with an attainment probability.

Targets are set on a period total (a quarter, a year), so everything here ends in the
distribution of that total: ``probability_of_reaching`` and ``target_for_probability`` are
the two questions a sales manager asks.  Both are judged on that total too (issue 17): the
model (SeasonalNaive, a statsforecast or numpy candidate, or their equal-weight combination)
is chosen by its error on the period total over rolling origins, once for a batch of
comparable series (a panel: a team's reps, a level's units), and the total's distribution is
learned from those errors, standardised and pooled over the panel: a month-by-month winner
can lose on the total, and a normal with an assumed correlation between months promised
chances that real panels did not keep.

This module must stay free of Django: the web layer computes working days, loads actuals
and passes plain arrays of fen (minor units) in.
"""

import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np

from salestarget.engine.explain import Note

# statsforecast (with numba, scipy, statsmodels) and pandas take seconds to import, so they are
# imported by the functions that fit models (_model, _statsforecast), not here: the CLI and the
# web app import this module through the targets app, and most commands never forecast.

SEASON = 12
# Seasonal candidates need two full seasons to estimate a seasonal pattern at all; below
# that the backtest could not show them to be better than the baseline.
MIN_MODEL_MONTHS = 2 * SEASON
# Rolling origins, each forecasting the period a target set then would have covered.  Three
# windows at least where history allows (see backtest_windows for the rule when it does not);
# more than six cost time (each is a fit of every candidate) for windows that would overlap
# the earlier ones almost entirely.
MIN_ORIGINS = 3
MAX_ORIGINS = 6
# A single model replaces the default (SeasonalNaive or the combination) only when its backtest
# MAE is at least this much lower: with ~20 held-out points a smaller edge is mostly luck.
GUARD_MARGIN = 0.10
LEVELS = (80, 95)
# Weight, in backtest points, of the prior belief that the model's own intervals are right.
CALIBRATION_PRIOR_POINTS = 12
# Correlation between the forecast errors of different months of the target period (see
# docs/forecast.md): errors share a level error, so the total is wider than independent
# months would suggest, but far from perfectly correlated.  Only the prior and the scale the
# backtest's total errors are measured in: the chance itself is learned from those errors.
TOTAL_CORRELATION = 0.3
# Where the total's distribution is pinned by the backtest: quantiles of the standardised
# total errors at these levels, extended linearly beyond (see _interpolate).
QUANTILE_LEVELS = (0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98)
_LEVEL_Z = np.array([NormalDist().inv_cdf(q) for q in QUANTILE_LEVELS])
DEFAULT_PROBABILITIES = (0.5, 0.8)
# A month this many robust standard deviations (log scale) above the series' usual month is a
# one-off such as a single large deal, unless it repeats (see _cap_spikes).  2.5 is Leys et al.'s
# (2013) default for MAD-based outliers; bench/RESULTS.md has how it was chosen.
SPIKE_MADS = 2.5
# The same calendar month of another year at least this share as far above the usual line (in
# logs) makes a spike a season: a year-end rush that was a bit stronger one year stays a season.
SEASON_SHARE = 0.5
# Below this many series a process pool costs more than it saves (break-even ~150 measured).
PARALLEL_FROM_SERIES = 200
# A young series (fewer than MIN_MODEL_MONTHS months since its first sale, see docs/forecast.md):
# its level is the mean of its last YOUNG_RECENT_MONTHS months (deseasonalised when a reference
# lends a season), and it needs sales in YOUNG_MIN_SALES_MONTHS of them.  Its monthly noise is
# at least YOUNG_MIN_CV of the level: a handful of months cannot show how much a month varies.
YOUNG_RECENT_MONTHS = 6
YOUNG_MIN_SALES_MONTHS = 3
YOUNG_MIN_CV = 0.15
# Without a reference season a young series is forecast at its recent level only when it ramped
# up: its months a year before its recent ones averaged below this share of the recent level.
# Otherwise last year's months carry its own season (a short record of an established business).
YOUNG_RAMP_SHARE = 0.7
# A young series' total is normal but cannot fall below 0: its spread is capped so that at
# most 10% of the probability lies below zero.
_Z90 = NormalDist().inv_cdf(0.9)

BASELINE = "SeasonalNaive"
COMBINATION = "Combination"
# A level model on the series divided by its reference's seasonal indices (see _season_indices).
SHARED_SEASON = "SharedSeason"
SHARED_LEVEL_MODEL = "AutoETS(AZN)"
# Last twelve months' level, deseasonalised, times the season: the series' own indices and its
# reference's averaged (see _seasonal_level).  It keeps SeasonalNaive's year of level but not
# last year's luck in each month, which is what a quarter's total needs.
SEASONAL_LEVEL = "SeasonalLevel"
MEAN_MODEL = "Mean"
SINGLE_CANDIDATES = ("AutoETS", "AutoTheta", "AutoARIMA")
# Per series on 36 months, AutoARIMA costs ~120 ms, the full AutoETS ~24 ms (nine seasonal
# specifications optimised), AutoTheta ~4 ms.  Batch calls (thousands of reps x products,
# 5,000 series within a minute on two cores) therefore use the cheap members of each family:
# non-seasonal additive-error ETS for level and (damped) trend, three fits instead of fifteen.
# The season comes from SeasonalLevel (numpy, no fit) and, with a reference, SharedSeason;
# SeasonalNaive and the combination are always added.  DynamicOptimizedTheta was the seasonal
# member until issue 17: on the development panels the period totals were as good without it
# (bench/RESULTS.md), and its fits at three backtest origins and with intervals made 5,000
# series take 71 s instead of the minute they must fit in.
BATCH_CANDIDATES = ("AutoETS(AZN)",)

_Z80 = NormalDist().inv_cdf(0.9)
# Every statsforecast model the engine fits, by the name its forecasts carry (see _model).
MODELS = (BASELINE, "AutoETS", "AutoTheta", "AutoARIMA", "AutoETS(AZN)", "DynamicOptimizedTheta")


def _model(name: str):
    """A fresh statsforecast model object for one of ``MODELS``."""
    from statsforecast.models import AutoARIMA, AutoETS, AutoTheta, DynamicOptimizedTheta, SeasonalNaive

    factories = {
        BASELINE: lambda: SeasonalNaive(season_length=SEASON),
        "AutoETS": lambda: AutoETS(season_length=SEASON),
        "AutoTheta": lambda: AutoTheta(season_length=SEASON),
        "AutoARIMA": lambda: AutoARIMA(season_length=SEASON),
        "AutoETS(AZN)": lambda: AutoETS(season_length=SEASON, model="AZN", alias="AutoETS(AZN)"),
        "DynamicOptimizedTheta": lambda: DynamicOptimizedTheta(season_length=SEASON),
    }
    return factories[name]()


@dataclass(frozen=True, eq=False)
class SeriesInput:
    """One series to forecast; working days are optional but must come in pairs.

    ``history`` is fen per month, oldest first, ending with the last complete month.  NaN
    marks a month whose figure is unknown (not a month without sales: pass 0 for that).
    ``reference`` is the same months of a broader series the scope belongs to (its team, the
    whole company): its season, estimated from many more sales, is steadier than a rep's own,
    and the shared-season candidate forecasts the series on it.
    """

    key: str
    history: np.ndarray
    working_days: np.ndarray | None = None
    target_working_days: np.ndarray | None = None
    reference: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class SeriesForecast:
    """Forecast of the next ``horizon`` months and of the target period's total.

    Amounts are fen.  The target period is the horizon months from ``period_start`` on, so a
    forecast made in November for next calendar year uses ``horizon=14, period_start=2``.

    The period total is ``total_mean + total_sigma * D``: ``total_quantiles`` are D's quantiles
    at ``QUANTILE_LEVELS``, learned from the backtest's total errors (empty: D is standard
    normal, for series too short to backtest).  Their median need not be 0: a method that
    ran high in the backtest has its 50% target below its forecast.  Location and scale stay
    plain numbers so an adjustment can move and widen the total without touching its shape.
    """

    key: str
    model: str
    backtest: dict[str, dict[str, float]]
    mean: np.ndarray
    lo: dict[int, np.ndarray]
    hi: dict[int, np.ndarray]
    period_start: int
    total_mean: int
    total_sigma: int
    history_months: int
    filled_months: int
    per_working_day: bool
    interval_scale: float
    nonnegative: bool
    warnings: tuple[Note, ...] = field(default=())
    total_quantiles: tuple[float, ...] = ()
    # How the model was judged: this many rolling origins, each scored on a total of this many
    # months (see backtest_windows); 0 when the history was too short to backtest.
    backtest_windows: int = 0
    backtest_window_months: int = 0
    # The series' own windows' total errors (actual minus forecast) in units of the spread the
    # total has here: how its targets would have fared in the backtest (``backtest_reached``).
    backtest_errors: tuple[float, ...] = ()

    def probability_of_reaching(self, target: int) -> float:
        """Chance that the period total reaches ``target``."""
        if self.nonnegative and target <= 0:
            return 1.0
        if self.total_sigma <= 0:
            return 1.0 if self.total_mean >= target else 0.0
        x = (target - self.total_mean) / self.total_sigma
        if self.total_quantiles:
            x = _interpolate(x, np.asarray(self.total_quantiles), _LEVEL_Z)
        return 1.0 - NormalDist().cdf(x)

    def target_for_probability(self, p: float) -> int:
        """Highest whole-fen target still reached with probability at least ``p``.

        Rounded down rather than to nearest so that the promise "p% chance" holds exactly.
        """
        if not 0.0 < p < 1.0:
            raise ValueError(f"probability must be strictly between 0 and 1, got {p}")
        if self.total_sigma <= 0:
            target = self.total_mean
        else:
            # 1 - p rounds to exactly 1.0 (or 0.0) for p within 2^-53 of 0 (or 1), which inv_cdf
            # refuses: the nearest representable probability is the same promise.
            q = min(max(1.0 - p, math.nextafter(0.0, 1.0)), math.nextafter(1.0, 0.0))
            target = math.floor(self.total_mean + self.total_sigma * self._standard_quantile(q))
        return max(target, 0) if self.nonnegative else target

    def _standard_quantile(self, q: float) -> float:
        """The quantile ``q`` of D, the total in units of ``total_sigma`` from ``total_mean``."""
        u = NormalDist().inv_cdf(q)
        return _interpolate(u, _LEVEL_Z, np.asarray(self.total_quantiles)) if self.total_quantiles else u

    def backtest_reached(self, p: float) -> tuple[int, int]:
        """(reached, windows): in how many of the series' backtest windows a target set with
        chance ``p`` would have been reached, the sentence a director checks a chance by."""
        if not self.backtest_errors or not self.total_quantiles:
            return 0, 0
        threshold = self._standard_quantile(1.0 - p)
        return sum(e >= threshold for e in self.backtest_errors), len(self.backtest_errors)

    def recommendations(self, probabilities: Sequence[float] = DEFAULT_PROBABILITIES) -> dict[float, int]:
        return {p: self.target_for_probability(p) for p in probabilities}

    def to_dict(self, probabilities: Sequence[float] = DEFAULT_PROBABILITIES) -> dict:
        return {
            "key": self.key,
            "model": self.model,
            "backtest": {m: {k: _json_float(v) for k, v in s.items()} for m, s in self.backtest.items()},
            "mean": [int(v) for v in self.mean],
            "lo": {str(level): [int(v) for v in arr] for level, arr in self.lo.items()},
            "hi": {str(level): [int(v) for v in arr] for level, arr in self.hi.items()},
            "period_start": self.period_start,
            "total_mean": self.total_mean,
            "total_sigma": self.total_sigma,
            "recommendations": {f"{p:g}": t for p, t in self.recommendations(probabilities).items()},
            "history_months": self.history_months,
            "filled_months": self.filled_months,
            "per_working_day": self.per_working_day,
            "interval_scale": self.interval_scale,
            "warnings": [n.to_dict() for n in self.warnings],
            "total_quantiles": [float(v) for v in self.total_quantiles],
            "backtest_windows": self.backtest_windows,
            "backtest_window_months": self.backtest_window_months,
            "backtest_errors": [float(v) for v in self.backtest_errors],
        }


def _json_float(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _interpolate(x: float, xs: np.ndarray, ys: np.ndarray) -> float:
    """Piecewise-linear through (xs, ys), both increasing, extended by the end segments' slopes.

    Between the D quantiles and the normal scores of their levels this is the total's
    distribution: the backtest pins its body, and beyond the outermost quantile, where a
    backtest has too few errors to say anything, the tails continue as the last segment
    does instead of stopping at a probability of 2% or 98%.
    """
    if x < xs[0]:
        return float(ys[0] + (x - xs[0]) * (ys[1] - ys[0]) / (xs[1] - xs[0]))
    if x > xs[-1]:
        return float(ys[-1] + (x - xs[-1]) * (ys[-1] - ys[-2]) / (xs[-1] - xs[-2]))
    return float(np.interp(x, xs, ys))


@dataclass
class _Prepared:
    """``y`` is the actual history in fen; ``z`` is what the models fit: per working day, spikes capped."""

    key: str
    y: np.ndarray
    z: np.ndarray
    mult_hist: np.ndarray
    mult_future: np.ndarray
    nonnegative: bool
    filled: int
    per_working_day: bool
    warnings: list[Note]
    # The reference per working day, and its seasonal indices over the whole history; both
    # None when there is no usable reference.
    ref: np.ndarray | None = None
    season: np.ndarray | None = None
    # Fewer than MIN_MODEL_MONTHS months since the first sale, with recent sales: forecast by
    # _young_forecast, never by model selection.
    young: bool = False


def forecast_series(
    history: Sequence[float] | np.ndarray,
    horizon: int,
    *,
    working_days: Sequence[float] | np.ndarray | None = None,
    target_working_days: Sequence[float] | np.ndarray | None = None,
    period_start: int = 0,
    candidates: Sequence[str] = SINGLE_CANDIDATES,
    key: str = "series",
) -> SeriesForecast:
    """Forecast one series; the full candidate set including AutoARIMA is affordable here."""
    inp = SeriesInput(
        key=key,
        history=np.asarray(history, dtype=float),
        working_days=None if working_days is None else np.asarray(working_days, dtype=float),
        target_working_days=None
        if target_working_days is None
        else np.asarray(target_working_days, dtype=float),
    )
    return forecast_many([inp], horizon, period_start=period_start, candidates=candidates)[key]


def forecast_many(
    series: Iterable[SeriesInput],
    horizon: int,
    *,
    period_start: int = 0,
    candidates: Sequence[str] = BATCH_CANDIDATES,
    n_jobs: int | None = None,
    total_correlation: float = TOTAL_CORRELATION,
    pool: bool = True,
) -> dict[str, SeriesForecast]:
    """Forecast many series with one StatsForecast call per stage instead of one per series.

    Stage one fits every model at every backtest origin of every series (point forecasts
    only); stage two refits each series' chosen model(s) on the full history, with intervals.
    ``n_jobs=None`` uses every core for large batches only; results do not depend on it.

    With ``pool`` the batch is a panel: one model is chosen for all its series by their
    errors on the period total (_panel_model), and the total's distribution is learned from
    the standardised backtest errors of all of them, so pass series that belong together (a
    team's reps, the units of one level).  Without ``pool`` each series chooses from its own
    windows and its result never depends on its batch.
    """
    if horizon < 1:
        raise ValueError("horizon must be at least 1 month")
    if not 0 <= period_start < horizon:
        raise ValueError("period_start must lie within the horizon")
    unknown = set(candidates) - set(MODELS)
    if unknown:
        raise ValueError(f"unknown candidate models: {sorted(unknown)}")
    candidates = tuple(c for c in dict.fromkeys(candidates) if c != BASELINE)
    prepared = [_prepare(s, horizon) for s in series]
    keys = [p.key for p in prepared]
    if len(set(keys)) != len(keys):
        raise ValueError("series keys must be unique")
    if n_jobs is None:
        n_jobs = -1 if len(prepared) >= PARALLEL_FROM_SERIES else 1

    modelled = [i for i, p in enumerate(prepared) if p.z.size >= MIN_MODEL_MONTHS and not p.young]
    backtests = _run_backtests([prepared[i] for i in modelled], candidates, horizon, period_start, n_jobs)
    scored = [_score(bt, prepared[i]) for i, bt in zip(modelled, backtests, strict=True)]
    panel_model = _panel_model(scored) if pool else None
    choices = {i: _choose(sc, prepared[i], panel_model) for i, sc in zip(modelled, scored, strict=True)}
    final = _run_final(prepared, choices, horizon, n_jobs)
    rho = total_correlation
    standardised = {i: _standardised(choice, final[i][1], rho) for i, choice in choices.items()}
    panel = np.concatenate([np.zeros(0), *standardised.values()])
    results = {}
    for i, p in enumerate(prepared):
        shape, windows, own = None, (0, 0), np.zeros(0)
        if i in choices:
            choice = choices[i]
            model, scores = choice.model, choice.scores
            mean_z, sigma_z = final[i]
            scale = _interval_scale(choice, sigma_z)
            shape = _total_shape(panel if pool else standardised[i], scale)
            windows = (len(choice.total_errors), choice.window_mult.shape[1])
            own = standardised[i]
        elif p.young:
            model, mean_z, sigma_z = _young_forecast(p.z, p.season, horizon)
            scores, scale = {}, 1.0
            p.warnings.append(Note("short_history", {"months": _own_months(p.y), "model": model}))
        else:
            model, mean_z, sigma_z = _short_history_forecast(p.z, horizon)
            scores, scale = {}, 1.0
            if p.z.size:
                p.warnings.append(Note("short_history", {"months": int(p.z.size), "model": model}))
        results[p.key] = _assemble(
            p, model, scores, scale, mean_z, sigma_z, period_start, rho, shape, windows, own
        )
    return results


def _prepare(inp: SeriesInput, horizon: int) -> _Prepared:
    y = np.asarray(inp.history, dtype=float)
    if y.ndim != 1:
        raise ValueError(f"{inp.key}: history must be one-dimensional")
    if (inp.working_days is None) != (inp.target_working_days is None):
        raise ValueError(f"{inp.key}: give working days for both history and target months, or neither")
    per_day = inp.working_days is not None
    if inp.reference is not None and np.shape(inp.reference) != y.shape:
        raise ValueError(f"{inp.key}: the reference must cover the same months as the history")
    if per_day:
        wd = np.asarray(inp.working_days, dtype=float)
        wd_future = np.asarray(inp.target_working_days, dtype=float)
        if wd.shape != y.shape or wd_future.shape != (horizon,):
            raise ValueError(f"{inp.key}: working days must match the history length and the horizon")
        if not (np.all(np.isfinite(wd)) and np.all(wd > 0) and np.all(np.isfinite(wd_future))):
            raise ValueError(f"{inp.key}: working days must be positive")
        if np.any(wd_future < 0):
            raise ValueError(f"{inp.key}: target working days must not be negative")
    else:
        wd = np.ones_like(y)
        wd_future = np.ones(horizon)
    notes: list[Note] = []
    known = np.flatnonzero(np.isfinite(y))
    if known.size == 0:
        notes.append(Note("forecast_no_history"))
        empty = np.zeros(0)
        return _Prepared(inp.key, empty, empty, empty, wd_future, True, 0, per_day, notes)
    # Months before the first known figure predate the series (a rep who joined later);
    # dropping them keeps a launch from looking like a slump.
    first = int(known[0])
    y, wd = y[first:], wd[first:]
    known = known - first
    filled = y.size - known.size
    if filled:
        # A gap is a missing report, not a month without sales (the caller passes 0 for
        # that), so interpolation is less wrong than zero-filling, which would invent a slump.
        y = np.interp(np.arange(y.size), known, y[known])
        notes.append(Note("months_interpolated", {"count": int(filled)}))
    # A few months of returns do not make a business negative: where the history's total is
    # positive, forecasts and targets keep their floor at zero (issue 17: two return months of
    # -5.97 and -19.97 in 1.76M of sales had made a p=0.8 target of -284.55).
    negative = bool(np.any(y < 0))
    nonnegative = not negative or float(y.sum()) > 0
    if negative:
        notes.append(Note("returns_floored" if nonnegative else "negative_months"))
    if not np.any(y):
        notes.append(Note("history_all_zero"))
    young = _is_young(y)
    # A young series' first months cannot repeat in an earlier year: capping would take its
    # ramp-up or its new level for one-offs.
    z, spikes = (y / wd, []) if young else _cap_spikes(y / wd)
    if spikes:
        positions = [first + t for t in spikes]
        notes.append(
            Note("spikes_capped", {"positions": positions, "labels": [f"#{i + 1}" for i in positions]})
        )
    ref = season = None
    if inp.reference is not None:
        # The reference's one-offs are capped as the series' are: a team's one big deal is
        # not next year's season for each of its reps.
        ref = _cap_spikes(np.asarray(inp.reference, dtype=float)[first:] / wd)[0]
        season = _season_indices(ref) if np.all(np.isfinite(ref)) else None
        if season is None:
            ref = None
        if young and season is None:
            # A young series' own months are too few for a season, but the reference may
            # reach further back than the series: take the season from all of it.
            season = _full_reference_season(np.asarray(inp.reference, dtype=float), inp.working_days, first)
    return _Prepared(inp.key, y, z, wd, wd_future, nonnegative, filled, per_day, notes, ref, season, young)


def _own_months(y: np.ndarray) -> int:
    """Months since the first month with sales (or returns)."""
    active = np.flatnonzero(y)
    return int(y.size - active[0]) if active.size else 0


def _is_young(y: np.ndarray) -> bool:
    """Fewer than two seasons since the first sale, at least a season of it, and recent sales."""
    own = _own_months(y)
    recent = y[-YOUNG_RECENT_MONTHS:]
    return SEASON <= own < MIN_MODEL_MONTHS and np.count_nonzero(recent > 0) >= YOUNG_MIN_SALES_MONTHS


def _ramped_up(z: np.ndarray) -> bool:
    """Whether the months a year before the recent ones were well below the recent level."""
    k = min(YOUNG_RECENT_MONTHS, z.size - SEASON)
    if k <= 0:
        return True
    recent = float(np.mean(z[-k:]))
    year_before = float(np.mean(z[z.size - SEASON - k : z.size - SEASON]))
    return recent > 0 and year_before < YOUNG_RAMP_SHARE * recent


def _full_reference_season(reference: np.ndarray, working_days, first: int) -> np.ndarray | None:
    """Seasonal indices of the whole reference, aligned to the series' positions from ``first`` on."""
    if reference.size < MIN_MODEL_MONTHS or not np.all(np.isfinite(reference)):
        return None
    wd = np.ones_like(reference) if working_days is None else np.asarray(working_days, dtype=float)
    indices = _season_indices(_cap_spikes(reference / wd)[0])
    return None if indices is None else np.roll(indices, -first)


def _cap_spikes(z: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Cap one-off spikes, such as a single large deal, at the top of the series' usual range.

    SeasonalNaive would repeat such a month next year and the fitted models chase it, yet no
    director plans on a one-off.  Only the fit sees the capped months: the backtest scores and
    calibrates against the actual figures.  A spike beside another, or matched by the same
    month of another year, is a level shift or a season (Double 11) and is left alone; so
    capping needs two full seasons.  The usual range follows the series' growth (the median
    change over a year), so a growing business's latest peak is not mistaken for a spike, and
    median and MAD keep the spike itself from moving the line.  Returns the series and the
    capped positions.
    """
    positive = z > 0
    if z.size < MIN_MODEL_MONTHS or np.count_nonzero(positive) < SEASON:
        return z, []
    months = np.arange(z.size)
    logs = np.log(np.where(positive, z, 1.0))
    both = positive[SEASON:] & positive[:-SEASON]
    yearly = (logs[SEASON:] - logs[:-SEASON])[both]
    growth = float(np.median(yearly)) / SEASON if yearly.size else 0.0
    residual = logs[positive] - growth * months[positive]
    centre = float(np.median(residual))
    spread = 1.4826 * float(np.median(np.abs(residual - centre)))
    if spread <= 0:
        return z, []
    usual = centre + growth * months
    line = np.exp(usual + SPIKE_MADS * spread)
    over = z > line
    # Above the usual line, in logs, per working day; months without sales are far below it.
    excess = np.where(positive, logs - usual, -np.inf)
    spikes = [int(t) for t in np.flatnonzero(over) if not _repeats(int(t), over, excess)]
    if not spikes:
        return z, []
    capped = z.copy()
    capped[spikes] = line[spikes]
    return capped, spikes


def _season_indices(ref: np.ndarray) -> np.ndarray | None:
    """Multiplicative seasonal indices of ``ref`` by position modulo 12 (classical decomposition).

    Each month is divided by the centred 2x12 moving average around it, so growth does not
    leak into the season, and the ratios of each calendar month are averaged over the years.
    None without two full seasons, or when a year of the reference had no sales, where a
    ratio would say nothing.
    """
    n = ref.size
    if n < MIN_MODEL_MONTHS:
        return None
    trend = np.convolve(ref, np.r_[0.5, np.ones(SEASON - 1), 0.5] / SEASON, mode="valid")
    if np.any(trend <= 0):
        return None
    half = SEASON // 2
    ratio = ref[half : n - half] / trend
    position = np.arange(half, n - half) % SEASON
    indices = np.array([ratio[position == k].mean() for k in range(SEASON)])
    if np.any(indices <= 0):
        return None
    return indices / indices.mean()


def _seasonal(indices: np.ndarray, start: int, stop: int) -> np.ndarray:
    return indices[np.arange(start, stop) % SEASON]


def _repeats(t: int, over: np.ndarray, excess: np.ndarray) -> bool:
    """A neighbour over the line too, or the same month of another year at least half as far
    above the usual line: a new level, or a season that recurs at a comparable scale."""
    if (t > 0 and over[t - 1]) or (t + 1 < over.size and over[t + 1]):
        return True
    return any(excess[s] >= SEASON_SHARE * excess[t] for s in range(t % SEASON, over.size, SEASON) if s != t)


def backtest_windows(n: int, horizon: int, period_start: int = 0) -> tuple[list[int], int, int]:
    """(origins, lead, months): the backtest's rolling origins (training lengths, most recent
    last) and the window each one scores, the total of ``months`` months
    from ``lead`` months after the origin.

    Each window asks the question the forecast will answer: a period of the same length, the
    same lead time ahead.  Where the history cannot hold ``MIN_ORIGINS`` such windows after
    the ``MIN_MODEL_MONTHS`` of training a seasonal candidate needs (a year's target from
    three years of history), the simpler rule: the period starts at the origin and is
    shortened until three windows fit, so a year is judged on totals of ten months rather than
    on a single year.  A history with room for fewer still gets the windows it has room for.
    """
    room = n - MIN_MODEL_MONTHS
    if room <= 0:
        return [], 0, 0
    lead, months = period_start, horizon - period_start
    if room < lead + months + MIN_ORIGINS - 1:
        lead, months = 0, max(1, min(months, room - (MIN_ORIGINS - 1)))
    # Windows side by side where there is room (different seasons, different luck), closer
    # where there is not, down to a month apart.
    spare = room - lead - months
    step = max(1, min(months, spare // (MIN_ORIGINS - 1)))
    count = min(MAX_ORIGINS, spare // step + 1)
    return [n - lead - months - k * step for k in range(count - 1, -1, -1)], lead, months


@dataclass
class _Backtest:
    origins: list[int]
    lead: int
    months: int
    mean: dict[str, np.ndarray]


@dataclass
class _Choice:
    """The chosen model with its backtest errors, kept to calibrate the final intervals: its
    monthly errors (with each month's step ahead and working days) for the monthly bands, its
    errors on each window's total for the total's distribution."""

    model: str
    members: tuple[str, ...]
    scores: dict[str, dict[str, float]]
    errors: np.ndarray
    steps: np.ndarray
    mult: np.ndarray
    total_errors: np.ndarray
    window_mult: np.ndarray
    lead: int = 0


def _run_backtests(
    prepared: list[_Prepared], candidates: tuple[str, ...], horizon: int, period_start: int, n_jobs: int
) -> list[_Backtest]:
    plans = [backtest_windows(p.z.size, horizon, period_start) for p in prepared]
    chunks = [p.z[:t] for p, (ts, _, _) in zip(prepared, plans, strict=True) for t in ts]
    if not chunks:
        return [_Backtest(ts, lead, months, {}) for ts, lead, months in plans]
    # One call for every origin of every series: each forecasts as far as the longest window
    # needs, and scores its own.
    h = max(lead + months for ts, lead, months in plans if ts)
    mean = _statsforecast(chunks, (BASELINE, *candidates), h, n_jobs, with_sigma=False)[0]
    shared = _shared_season_backtests(prepared, [ts for ts, _, _ in plans], h, n_jobs) if candidates else {}
    out, row = [], 0
    for i, (ts, lead, months) in enumerate(plans):
        by_model = {m: v[row : row + len(ts)] for m, v in mean.items()}
        if i in shared:
            by_model[SHARED_SEASON] = shared[i]
        level = [_seasonal_level(prepared[i], t, h) for t in ts] if candidates else []
        if level and all(f is not None for f in level):
            by_model[SEASONAL_LEVEL] = np.array([f[0] for f in level])
        if candidates:
            by_model[COMBINATION] = np.mean(list(by_model.values()), axis=0)
        out.append(_Backtest(ts, lead, months, by_model))
        row += len(ts)
    return out


def _shared_season_backtests(
    prepared: list[_Prepared], origins: list[list[int]], h: int, n_jobs: int
) -> dict[int, np.ndarray]:
    """The shared-season candidate at every origin, its indices from the reference up to the origin."""
    jobs = []
    for i, (p, ts) in enumerate(zip(prepared, origins, strict=True)):
        if p.ref is None or not ts:
            continue
        indices = [_season_indices(p.ref[:t]) for t in ts]
        if all(ix is not None for ix in indices):
            jobs.append((i, ts, indices))
    if not jobs:
        return {}
    chunks = [
        prepared[i].z[:t] / _seasonal(ix, 0, t) for i, ts, ixs in jobs for t, ix in zip(ts, ixs, strict=True)
    ]
    level = _statsforecast(chunks, (SHARED_LEVEL_MODEL,), h, n_jobs, with_sigma=False)[0][SHARED_LEVEL_MODEL]
    out, row = {}, 0
    for i, ts, ixs in jobs:
        out[i] = np.array(
            [level[row + k] * _seasonal(ix, t, t + h) for k, (t, ix) in enumerate(zip(ts, ixs, strict=True))]
        )
        row += len(ts)
    return out


@dataclass
class _Scored:
    """Every candidate's errors on one series' backtest windows: per month and per total."""

    backtest: _Backtest
    month_errors: dict[str, np.ndarray]
    total_errors: dict[str, np.ndarray]
    scores: dict[str, dict[str, float]]
    mult: np.ndarray


def _score(bt: _Backtest, p: _Prepared) -> _Scored | None:
    """Every model's errors on the windows' totals (None without a window).

    The total is what a target is set on: a model that wins month by month can still lose on
    the sum (issue 17 found the engine 10% better than SeasonalNaive per month and 14-34%
    worse on the six-month total).  Errors are measured in fen after the same working-day
    scaling and zero floor as the final forecast, so the backtest scores what the user would
    actually have been shown.
    """
    if not bt.origins:
        return None
    window = slice(bt.lead, bt.lead + bt.months)
    positions = np.array([np.arange(t + bt.lead, t + bt.lead + bt.months) for t in bt.origins])
    actual = p.y[positions]
    mult = p.mult_hist[positions]
    actual_totals = actual.sum(axis=1)
    abs_actual = float(np.abs(actual_totals).sum())
    month_errors, total_errors, scores = {}, {}, {}
    for m, mean in bt.mean.items():
        pred = mean[:, window] * mult
        if p.nonnegative:
            pred = np.maximum(pred, 0)
        month_errors[m] = actual - pred
        total_errors[m] = actual_totals - pred.sum(axis=1)
        total_abs = float(np.abs(total_errors[m]).sum())
        scores[m] = {
            "mae": total_abs / len(bt.origins),
            "wape": total_abs / abs_actual if abs_actual else math.nan,
            "month_mae": float(np.abs(month_errors[m]).mean()),
        }
    return _Scored(bt, month_errors, total_errors, scores, mult)


def _panel_model(scored: list[_Scored]) -> str | None:
    """The model a panel's backtest supports for all its series (None for fewer than two).

    One series has three to six windows: picking the best of five candidates on so few
    totals mostly picks luck, and on Superstore per-series choice forecast the year's total
    worse than last year's (1.04x SeasonalNaive's error) where one choice for the panel beat
    it (0.92x).  Each series weighs the same, its errors as a share of its actual totals
    (WAPE), so the panel's few large series do not decide for the rest.
    """
    usable = [
        sc for sc in scored if sc is not None and all(math.isfinite(v["wape"]) for v in sc.scores.values())
    ]
    if len(usable) < 2:
        return None
    common = set.intersection(*(set(sc.scores) for sc in usable))
    wape = {m: float(np.mean([sc.scores[m]["wape"] for sc in usable])) for m in common}
    if COMBINATION not in wape:
        return BASELINE if BASELINE in wape else None
    # The combination is the panel's default: averaging methods is the one choice that forecast
    # competitions (and these panels) keep rewarding.  Another model, SeasonalNaive included,
    # must beat it by GUARD_MARGIN on the panel.
    best = min((m for m in wape if m != COMBINATION), key=wape.__getitem__)
    return best if wape[best] < (1 - GUARD_MARGIN) * wape[COMBINATION] else COMBINATION


def _choose(sc: _Scored | None, p: _Prepared, panel_model: str | None) -> _Choice:
    """The panel's model where the panel chose one, else the series' own (_select)."""
    if sc is None:
        p.warnings.append(Note("no_backtest"))
        empty = np.zeros(0)
        return _Choice(BASELINE, (BASELINE,), {}, empty, empty.astype(int), empty, empty, np.zeros((0, 0)))
    bt, total_errors = sc.backtest, sc.total_errors
    contenders = tuple(m for m in bt.mean if m != BASELINE)
    if panel_model in bt.mean:
        model = panel_model
        honest = total_errors[model]
    else:
        model = _select({m: s["mae"] for m, s in sc.scores.items()}, contenders)
        honest = _unseen_errors(total_errors, contenders) if len(bt.origins) > 1 else total_errors[model]
    members = tuple(m for m in bt.mean if m != COMBINATION) if model == COMBINATION else (model,)
    steps = np.tile(np.arange(bt.lead, bt.lead + bt.months), len(bt.origins))
    errors = sc.month_errors[model].ravel()
    return _Choice(model, members, sc.scores, errors, steps, sc.mult.ravel(), honest, sc.mult, bt.lead)


def _unseen_errors(total_errors: dict[str, np.ndarray], contenders: tuple[str, ...]) -> np.ndarray:
    """Each window's total error of the model the rule picks from the other windows.

    The chosen model's own errors flatter it: it was chosen for having the smallest.  Leaving
    each window out of the choice measures choosing-then-forecasting on a window it has not seen.
    """
    windows = len(next(iter(total_errors.values())))
    out = []
    for k in range(windows):
        others = {m: float(np.abs(np.delete(e, k)).mean()) for m, e in total_errors.items()}
        out.append(total_errors[_select(others, contenders)][k])
    return np.array(out)


def _select(mae: dict[str, float], contenders: tuple[str, ...]) -> str:
    """SeasonalNaive, then the combination, then a single model, each needing to beat the last.

    The combination only has to beat SeasonalNaive (ties stay with the baseline): it contains
    the baseline, so it cannot stray far.  A single model must beat both by GUARD_MARGIN,
    because picking the argmin of four noisy backtest scores mostly picks noise; on short
    series this ordering was more accurate than a plain argmin in the development backtests.
    """
    if not contenders:
        return BASELINE
    current = COMBINATION if mae[COMBINATION] < mae[BASELINE] else BASELINE
    singles = [m for m in contenders if m != COMBINATION]
    best = min(singles, key=mae.__getitem__)
    return best if mae[best] < (1 - GUARD_MARGIN) * mae[current] else current


def _total_sd(s: np.ndarray, rho: float) -> float:
    """Spread of a sum of months with spreads ``s`` whose errors correlate by ``rho``."""
    return math.sqrt((1 - rho) * float(np.sum(s**2)) + rho * float(np.sum(s)) ** 2)


def _standardised(choice: _Choice, sigma_z: np.ndarray, rho: float) -> np.ndarray:
    """The chosen model's errors on the windows' totals, each in units of the spread the model
    itself gives such a total (its final fit's spreads at the window's steps, in that window's
    working days): comparable across series of any size, so a panel can pool them."""
    if not choice.total_errors.size:
        return np.zeros(0)
    months = choice.window_mult.shape[1]
    steps = sigma_z[choice.lead : choice.lead + months]
    sd = np.array([_total_sd(steps * mult, rho) for mult in choice.window_mult])
    usable = sd > 0
    return choice.total_errors[usable] / sd[usable]


def _total_shape(errors: np.ndarray, scale: float) -> np.ndarray:
    """Quantiles, at ``QUANTILE_LEVELS``, of a total's error in units of the model's spread.

    The backtest's standardised total errors pin them, blended with the prior (the model's
    own normal, widened by the monthly calibration ``scale``) by how many errors there are: a
    lone series' three to six windows move it a little, a panel's hundreds decide.
    """
    prior = _LEVEL_Z * scale
    if not errors.size:
        return prior
    weight = errors.size / (errors.size + CALIBRATION_PRIOR_POINTS)
    q = weight * np.quantile(errors, QUANTILE_LEVELS) + (1 - weight) * prior
    # Strictly increasing, so the distribution has a density everywhere and inverts.
    return np.maximum.accumulate(q) + 1e-9 * np.arange(q.size)


def _interval_scale(choice: _Choice, sigma_z: np.ndarray) -> float:
    """Conformal-style widening factor: 80% of backtest errors should fall inside the band.

    Model intervals assume the model is right; real sales jump more.  Each backtest error is
    measured against the final model's spread at the same horizon step (fitting intervals at
    every origin would cost a quarter of the batch time).  The factor is shrunk towards 1 in
    log space because a series has only a couple of dozen backtest points.
    """
    sigma = sigma_z[choice.steps] * choice.mult
    usable = sigma > 0
    if not np.any(usable):
        return 1.0
    z = np.abs(choice.errors[usable] / sigma[usable])
    raw = float(np.quantile(z, 0.8)) / _Z80
    if raw <= 0:
        return 1.0
    weight = z.size / (z.size + CALIBRATION_PRIOR_POINTS)
    return float(math.exp(weight * math.log(raw)))


def _run_final(
    prepared: list[_Prepared], choices: dict[int, _Choice], horizon: int, n_jobs: int
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Refit each series' chosen model, or every member of its combination, on the whole history.

    Series needing the same statsforecast models share one call.  A combination's spread is
    the average of its members' spreads, which overstates the spread of their average (their
    errors are not perfectly correlated); the backtest calibration corrects it.
    """
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, choice in choices.items():
        plain = tuple(m for m in choice.members if m not in (SHARED_SEASON, SEASONAL_LEVEL))
        if plain:
            groups.setdefault(plain, []).append(i)
    fits: dict[int, dict[str, tuple[np.ndarray, np.ndarray]]] = {i: {} for i in choices}
    for models, idx in groups.items():
        mean, sigma = _statsforecast([prepared[i].z for i in idx], models, horizon, n_jobs, with_sigma=True)
        for row, i in enumerate(idx):
            fits[i].update({m: (mean[m][row], sigma[m][row]) for m in models})
    shared = [i for i, choice in choices.items() if SHARED_SEASON in choice.members]
    if shared:
        chunks = [prepared[i].z / _seasonal(prepared[i].season, 0, prepared[i].z.size) for i in shared]
        mean, sigma = _statsforecast(chunks, (SHARED_LEVEL_MODEL,), horizon, n_jobs, with_sigma=True)
        for row, i in enumerate(shared):
            n = prepared[i].z.size
            season = _seasonal(prepared[i].season, n, n + horizon)
            fits[i][SHARED_SEASON] = (
                mean[SHARED_LEVEL_MODEL][row] * season,
                sigma[SHARED_LEVEL_MODEL][row] * season,
            )
    for i, choice in choices.items():
        if SEASONAL_LEVEL in choice.members:
            fits[i][SEASONAL_LEVEL] = _seasonal_level(prepared[i], prepared[i].z.size, horizon)
    return {
        i: (
            np.mean([fits[i][m][0] for m in choice.members], axis=0),
            np.mean([fits[i][m][1] for m in choice.members], axis=0),
        )
        for i, choice in choices.items()
    }


def _seasonal_level(p: _Prepared, t: int, h: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The SeasonalLevel candidate from the first ``t`` months: (mean, spread) of the next ``h``.

    The season is the average of the series' own indices and its reference's, each from the
    months up to ``t`` only, whichever exist (None when neither does): a rep's own season is
    noisy, the company's is not quite theirs.  The level is the mean of the last twelve
    deseasonalised months.  The spread is how far those deseasonalised months of the last
    two years strayed from their mean, as for a level forecast a year ahead.
    """
    if t < MIN_MODEL_MONTHS:
        return None
    z = p.z[:t]
    found = [
        ix
        for ix in (_season_indices(z), None if p.ref is None else _season_indices(p.ref[:t]))
        if ix is not None
    ]
    if not found:
        return None
    season = np.mean(found, axis=0)
    flat = z[t - MIN_MODEL_MONTHS :] / _seasonal(season, t - MIN_MODEL_MONTHS, t)
    level = float(np.mean(flat[-SEASON:]))
    noise = float(np.std(flat, ddof=1)) * math.sqrt(1 + 1 / SEASON)
    future = _seasonal(season, t, t + h)
    return level * future, noise * future


def _statsforecast(
    chunks: list[np.ndarray], models: Sequence[str], h: int, n_jobs: int, *, with_sigma: bool
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Forecast every chunk with every model in one call; rows of the result follow ``chunks``.

    Time is an integer month index (freq=1): the engine only needs positions, and it avoids
    calendar arithmetic on what may be fiscal months.
    """
    import pandas as pd
    from statsforecast import StatsForecast

    lengths = np.array([c.size for c in chunks])
    df = pd.DataFrame(
        {
            "unique_id": np.repeat(np.arange(len(chunks)), lengths),
            "ds": np.concatenate([np.arange(n) for n in lengths]),
            "y": np.concatenate(chunks),
        }
    )
    sf = StatsForecast(
        models=[_model(m) for m in models],
        freq=1,
        n_jobs=n_jobs,
        fallback_model=_model(BASELINE),
    )
    # Constant and all-zero series make the Theta decomposition divide by zero on the way to a
    # perfectly usable flat forecast; data problems are reported in SeriesForecast.warnings.
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        out = sf.forecast(df=df, h=h, level=[80] if with_sigma else None)
    # statsforecast 1.x returned unique_id as the index unless NIXTLA_ID_AS_COL was set.
    if "unique_id" not in out.columns:
        out = out.reset_index()
    out = out.sort_values(["unique_id", "ds"], kind="stable")
    mean, sigma = {}, {}
    for m in models:
        mean[m] = out[m].to_numpy(dtype=float).reshape(len(chunks), h)
        if with_sigma:
            width = out[f"{m}-hi-80"].to_numpy(dtype=float) - out[f"{m}-lo-80"].to_numpy(dtype=float)
            sigma[m] = np.nan_to_num(width / (2 * _Z80), nan=0.0).reshape(len(chunks), h)
    return mean, sigma


def _short_history_forecast(z: np.ndarray, horizon: int) -> tuple[str, np.ndarray, np.ndarray]:
    """Fallbacks that need no fitting, for histories too short to select a model.

    With at least a season, last year's month is the best guess (SeasonalNaive, widening by
    year like statsforecast's); below that only the level is known.  With one or two months
    the spread cannot be estimated, so a coefficient of variation of 100% keeps the
    probabilities honest rather than confidently wrong.
    """
    n = z.size
    steps = np.arange(horizon)
    if n == 0:
        return MEAN_MODEL, np.zeros(horizon), np.zeros(horizon)
    if n >= SEASON:
        mean = z[n - SEASON + steps % SEASON]
        diffs = z[SEASON:] - z[:-SEASON]
        base = (
            math.sqrt(float(np.mean(diffs**2)))
            if diffs.size >= 2
            else float(np.std(z, ddof=1)) * math.sqrt(2)
        )
        return BASELINE, mean, base * np.sqrt(steps // SEASON + 1)
    level = float(np.mean(z))
    spread = float(np.std(z, ddof=1)) * math.sqrt(1 + 1 / n) if n >= 3 else abs(level)
    return MEAN_MODEL, np.full(horizon, level), np.full(horizon, spread)


def _young_forecast(
    z: np.ndarray, season: np.ndarray | None, horizon: int
) -> tuple[str, np.ndarray, np.ndarray]:
    """A young series' recent level, times the reference's season when there is one.

    Without a reference season, only a series that ramped up is forecast so; otherwise it
    gets the short-history fallback (SeasonalNaive).  Either way _assemble keeps its total
    from a zero target by capping the total's spread.

    Last year's months of a young series are its ramp-up, not its season, and their
    differences from this year's are its growth, not its noise.  The level is the mean of the
    last six months (twelve once the ramp-up is over), deseasonalised; its spread is the
    level's standard error plus independent monthly noise, both estimated from those months.
    """
    if season is None and not _ramped_up(z):
        # No ramp-up and no borrowed season: a short record of an established business, whose
        # last year's months are the best guess of its season.
        return _short_history_forecast(z[z.size - _own_months(z) :], horizon)
    n = z.size
    own = _own_months(z)
    flat = z[n - own :] / (np.ones(own) if season is None else _seasonal(season, n - own, n))
    # The last YOUNG_RECENT_MONTHS months, or twice as many once the ramp-up is over (the
    # months before them reached the ramp share of their level): fewer months, more luck.
    k = min(YOUNG_RECENT_MONTHS, own)
    earlier = flat[-2 * k : -k]
    if own >= 2 * k and float(np.mean(earlier)) >= YOUNG_RAMP_SHARE * float(np.mean(flat[-k:])):
        k *= 2
    recent = flat[-k:]
    future_season = np.ones(horizon) if season is None else _seasonal(season, n, n + horizon)
    level = float(np.mean(recent))
    noise = max(float(np.std(recent, ddof=1)), YOUNG_MIN_CV * abs(level))
    spread = noise * math.sqrt(1 + 1 / k)
    model = MEAN_MODEL if season is None else SHARED_SEASON
    return model, level * future_season, spread * future_season


def _assemble(
    p: _Prepared,
    model: str,
    scores: dict,
    scale: float,
    mean_z: np.ndarray,
    sigma_z: np.ndarray,
    period_start: int,
    rho: float,
    shape: np.ndarray | None = None,
    windows: tuple[int, int] = (0, 0),
    own: np.ndarray | None = None,
) -> SeriesForecast:
    """The forecast in fen; with ``shape`` (see _total_shape) the total's distribution is the
    backtest's, its spread the distance between its 10% and 90% quantiles as a normal's."""
    mean = mean_z * p.mult_future
    if p.nonnegative:
        mean = np.maximum(mean, 0)
    sigma = scale * sigma_z * p.mult_future
    lo, hi = {}, {}
    for level in LEVELS:
        half = NormalDist().inv_cdf(0.5 + level / 200) * sigma
        low = mean - half
        lo[level] = np.rint(np.maximum(low, 0) if p.nonnegative else low).astype(np.int64)
        hi[level] = np.rint(mean + half).astype(np.int64)
    period = slice(period_start, None)
    total_mean = float(np.sum(mean[period]))
    quantiles: tuple[float, ...] = ()
    errors: tuple[float, ...] = ()
    if shape is None:
        total_var = _total_sd(sigma[period], rho) ** 2
    else:
        model_sd = _total_sd((sigma_z * p.mult_future)[period], rho)
        q10, q90 = np.interp((0.1, 0.9), QUANTILE_LEVELS, shape)
        spread = (q90 - q10) / (2 * _Z90)
        if model_sd > 0 and spread > 0:
            total_var = (model_sd * spread) ** 2
            quantiles = tuple(float(v) for v in shape / spread)
            errors = () if own is None else tuple(float(v) for v in own / spread)
        else:
            total_var = 0.0
    if p.young and p.nonnegative and total_mean > 0:
        total_var = min(total_var, (total_mean / _Z90) ** 2)
    return SeriesForecast(
        key=p.key,
        model=model,
        backtest=scores,
        mean=np.rint(mean).astype(np.int64),
        lo=lo,
        hi=hi,
        period_start=period_start,
        total_mean=round(total_mean),
        total_sigma=round(math.sqrt(total_var)),
        history_months=int(p.y.size),
        filled_months=p.filled,
        per_working_day=p.per_working_day,
        interval_scale=scale,
        nonnegative=p.nonnegative,
        warnings=tuple(p.warnings),
        total_quantiles=quantiles,
        backtest_windows=windows[0],
        backtest_window_months=windows[1],
        backtest_errors=errors,
    )
