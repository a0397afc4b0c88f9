"""The "what if we had used it last year" report behind issue 5's backtest page.

Managers trust a recommended target only after seeing how it would have fared, so this
replays a past year: forecast it from the history before it, set the targets the engine
would have recommended, and compare with what happened and with the two rules people use
without a model (last year + 10%, and last year's months as they were).
"""

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from salestarget.engine.forecast import (
    BATCH_CANDIDATES,
    DEFAULT_PROBABILITIES,
    LEVELS,
    SEASON,
    SeriesInput,
    forecast_many,
)

RULE_OF_THUMB_GROWTH = 1.10
FORECAST, RULE, NAIVE = "forecast", "last_year_plus_10", "seasonal_naive"


@dataclass(frozen=True)
class SeriesBacktest:
    """One series' replayed year; sums rather than averages so reports can pool exactly."""

    key: str
    model: str
    months: int
    actual_total: int
    forecast_total: int
    targets: dict[float, int]
    reached: dict[float, bool]
    rule_target: int | None
    # Last year's same months summed (SeasonalNaive's total); None without them.
    naive_total: int | None
    abs_error: dict[str, float | None]
    actual_abs: float
    inside: dict[int, int]

    def to_dict(self) -> dict:
        return {
            "key": self.key,
            "model": self.model,
            "months": self.months,
            "actual_total": self.actual_total,
            "forecast_total": self.forecast_total,
            "targets": {f"{p:g}": t for p, t in self.targets.items()},
            "reached": {f"{p:g}": r for p, r in self.reached.items()},
            "rule_target": self.rule_target,
            "naive_total": self.naive_total,
            "abs_error": dict(self.abs_error),
            "actual_abs": self.actual_abs,
            "inside": {str(level): n for level, n in self.inside.items()},
        }


@dataclass(frozen=True)
class BacktestReport:
    """Pooled figures: MAE in fen per month, WAPE as a ratio, calibration and coverage as shares.

    Point-forecast comparisons use only series with a full year before the held-out one, so
    the three methods are scored on the same months.
    """

    holdout: int
    series: list[SeriesBacktest]
    skipped: list[str]
    pooled: dict[str, dict[str, float | None]]
    calibration: dict[float, float | None]
    rule_reached: float | None
    coverage: dict[int, float | None]
    models: dict[str, int]

    def to_dict(self) -> dict:
        return {
            "holdout": self.holdout,
            "series": [s.to_dict() for s in self.series],
            "skipped": list(self.skipped),
            "pooled": {k: dict(v) for k, v in self.pooled.items()},
            "calibration": {f"{p:g}": share for p, share in self.calibration.items()},
            "rule_reached": self.rule_reached,
            "coverage": {str(level): share for level, share in self.coverage.items()},
            "models": dict(self.models),
        }


def backtest_year(
    histories: Mapping[str, Sequence[float] | np.ndarray],
    *,
    holdout: int = SEASON,
    working_days: Mapping[str, Sequence[float] | np.ndarray] | None = None,
    references: Mapping[str, Sequence[float] | np.ndarray] | None = None,
    probabilities: Sequence[float] = DEFAULT_PROBABILITIES,
    candidates: Sequence[str] = BATCH_CANDIDATES,
    n_jobs: int | None = None,
) -> BacktestReport:
    """Replay the last ``holdout`` months of each history (and working days and references, if given).

    Series whose held-out months contain unknown (NaN) figures are skipped: whether a target
    was reached cannot be judged on a partial year.
    """
    inputs, actuals, skipped = [], {}, []
    for key, raw in histories.items():
        y = np.asarray(raw, dtype=float)
        if y.size <= holdout or not np.all(np.isfinite(y[-holdout:])):
            skipped.append(key)
            continue
        wd = None if working_days is None else np.asarray(working_days[key], dtype=float)
        ref = None if references is None else np.asarray(references[key], dtype=float)
        inputs.append(
            SeriesInput(
                key=key,
                history=y[:-holdout],
                working_days=None if wd is None else wd[:-holdout],
                target_working_days=None if wd is None else wd[-holdout:],
                reference=None if ref is None else ref[:-holdout],
            )
        )
        actuals[key] = y
    forecasts = forecast_many(inputs, holdout, candidates=candidates, n_jobs=n_jobs)
    rows = [_replay(forecasts[k], actuals[k], holdout, probabilities) for k in actuals]
    return BacktestReport(
        holdout=holdout,
        series=rows,
        skipped=skipped,
        pooled=_pooled(rows, holdout),
        calibration={p: _share([r.reached[p] for r in rows]) for p in probabilities},
        rule_reached=_share([r.actual_total >= r.rule_target for r in rows if r.rule_target is not None]),
        coverage={
            level: _ratio(sum(r.inside[level] for r in rows), sum(r.months for r in rows)) for level in LEVELS
        },
        models=dict(Counter(r.model for r in rows)),
    )


def _replay(fc, y: np.ndarray, holdout: int, probabilities: Sequence[float]) -> SeriesBacktest:
    actual = y[-holdout:]
    train = y[:-holdout]
    last_year = train[-SEASON:] if train.size >= SEASON and np.all(np.isfinite(train[-SEASON:])) else None
    # The rule of thumb repeats last year's months, so it only covers a horizon up to a season.
    if last_year is not None and holdout <= SEASON:
        naive = last_year[:holdout]
        rule = naive * RULE_OF_THUMB_GROWTH
        abs_error = {
            FORECAST: float(np.abs(actual - fc.mean).sum()),
            RULE: float(np.abs(actual - rule).sum()),
            NAIVE: float(np.abs(actual - naive).sum()),
        }
        rule_target = round(float(rule.sum()))
        naive_total = round(float(naive.sum()))
    else:
        abs_error = {FORECAST: float(np.abs(actual - fc.mean).sum()), RULE: None, NAIVE: None}
        rule_target = naive_total = None
    actual_total = round(float(actual.sum()))
    targets = {p: fc.target_for_probability(p) for p in probabilities}
    return SeriesBacktest(
        key=fc.key,
        model=fc.model,
        months=holdout,
        actual_total=actual_total,
        forecast_total=fc.total_mean,
        targets=targets,
        reached={p: actual_total >= t for p, t in targets.items()},
        rule_target=rule_target,
        naive_total=naive_total,
        abs_error=abs_error,
        actual_abs=float(np.abs(actual).sum()),
        inside={level: int(np.sum((actual >= fc.lo[level]) & (actual <= fc.hi[level]))) for level in LEVELS},
    )


def _pooled(rows: list[SeriesBacktest], holdout: int) -> dict[str, dict[str, float | None]]:
    comparable = [r for r in rows if r.abs_error[RULE] is not None]
    months = len(comparable) * holdout
    actual_abs = sum(r.actual_abs for r in comparable)
    methods = (FORECAST, RULE, NAIVE)
    # What a target is set on (issue 17): each one's total over the held-out months.
    totals = {
        FORECAST: [r.forecast_total for r in comparable],
        RULE: [r.rule_target for r in comparable],
        NAIVE: [r.naive_total for r in comparable],
    }
    return {
        "mae": {m: _ratio(sum(r.abs_error[m] for r in comparable), months) for m in methods},
        "wape": {m: _ratio(sum(r.abs_error[m] for r in comparable), actual_abs) for m in methods},
        "total_mae": {
            m: _ratio(
                sum(abs(r.actual_total - t) for r, t in zip(comparable, totals[m], strict=True)),
                len(comparable),
            )
            for m in methods
        },
    }


def _share(flags: list[bool]) -> float | None:
    return _ratio(sum(flags), len(flags))


def _ratio(num: float, den: float) -> float | None:
    return float(num) / den if den and math.isfinite(num) else None
