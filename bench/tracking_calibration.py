"""Benchmark for issue 15: is the mid-period projection better than a run-rate, and is its chance honest?

Why: the tracking page's selling point is a projection to the period's end with a calibrated chance
of reaching the target. This replays past periods of the public Superstore data as if each working
day were "today", with a plan made from history, and measures

* the absolute percentage error (APE) of the engine's blended ``projection`` against the period's
  final actual, next to (a) the straight run-rate (``Pace.run_rate``) and (b) last year's shape of
  the same period (actual to date / the share last year had reached at the same point);
* the calibration of ``chance``: among targets given chance p, the share actually reached, and the
  ``spread`` that would calibrate it best.

How: ``PYTHONPATH=src python bench/tracking_calibration.py [--write]`` from the repository root
(``--write`` replaces the "Tracking" section of bench/RESULTS.md). Superstore needs no Django and
no database; the demo company is generated with Django into a throw-away SQLite database. About a
minute on two cores.

Method in short (the RESULTS.md section spells it out):

* Superstore nodes: the company, each Region, each Segment, each Region x Segment, each Category
  (23); the demo company (small, generated into a throw-away SQLite database): the company, its
  regions, teams and 12 reps, credited to the unit each order line was booked to.
* Periods: every month and quarter of the years with a full previous year of data.
* Plan ("blend"): half the same period last year x (1 + g), g = the node's growth of the last 12
  months over the 12 before, clipped to [-50%, +50%] (0 without 24 months of history), half the last
  12 months' level; a quarter's months are weighted by their own blend plans. The other plans and the
  other credibilities of the pace seen are reported as variants. "last 12 months x the company's
  season" (``season_weights``), the best plan on Superstore, is also replayed in full, side by side.
* Calibration targets: the plan x 0.85, 0.95, 1.0, 1.05, 1.15. The spread is searched on Superstore
  only; the demo company is the held-out check.
* Working days: the engine's calendar, country "US" for Superstore and "CN" for the demo.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import platform
import sys
import time
from dataclasses import dataclass
from decimal import Decimal
from functools import cache, partial
from pathlib import Path

import numpy as np
import pandas as pd

from salestarget.engine.calendar import working_days
from salestarget.engine.forecast import SeriesInput, forecast_many
from salestarget.engine.pace import (
    PRIOR_MONTHS,
    SPREAD,
    Segment,
    history_prior,
    normal_chance,
    pace,
    spread_of,
)
from salestarget.engine.rounding import round_half_up

DATA = Path("/work/shared/data/superstore/Sample - Superstore.csv")
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
SECTION = "## Tracking: projection error and chance calibration (issue 15)"
MULTIPLES = (0.85, 0.95, 1.0, 1.05, 1.15)
# Stretch targets, as directors set them ("last year + 30%"): replayed too, reported apart (the
# calibration goal is measured on MULTIPLES, as every earlier run measured it).
STRETCH = (1.3, 1.5)
BUCKETS = (0.10, 0.25, 0.50, 0.75)
GROWTH_CLIP = 0.5
DEFAULT_SPREAD = SPREAD  # the engine's
DEMO_SIZE = "small"
DEMO_TODAY = dt.date(2026, 11, 25)
SEASON_PLAN = "last 12 months x the company's season"
# A recent level, for nodes whose level moves (a rep ramping up, a team that lost a member): the
# node's share of the company over fewer or more heavily weighted recent months (added 2026-12-04).
RECENT = {
    "last 3 months x the company's season": {"months": 3},
    "last 6 months x the company's season": {"months": 6},
    "last 12 months weighted (half-life 3 months) x the company's season": {"months": 12, "halflife": 3},
}
HALF_RECENT = "half blend, half last 3 months x the company's season"
PLANS = (
    "blend",
    SEASON_PLAN,
    "last year x growth",
    "last year",
    "last 12 months",
    *RECENT,
    HALF_RECENT,
    "the product's recommendation",
)


def _buhlmann(s, spread, noise, *, kappa: float):
    return s / (s + spread**2 / kappa)


def _day_noise(s, spread, noise, *, kappa: float):
    return s / (s + noise / kappa)


# Credibility of the pace seen, w(s, spread, noise): powers of the share s, and Buhlmann's
# s / (s + k), which trusts a steady node's pace sooner than a lumpy one's (kappa: the variance of
# plans' errors it assumes). k = spread^2 / kappa takes the node's steadiness from its monthly
# totals, which also vary with the season; k = noise / kappa from the scatter of its working days
# within each month (``day_noise``), which is the pace's own sampling error and nothing else.
TRUST = {
    "s": lambda s, spread, noise: s,
    "s^2": lambda s, spread, noise: s**2,
    "sqrt(s)": lambda s, spread, noise: np.sqrt(s),
    **{f"s / (s + spread^2 / {kappa})": partial(_buhlmann, kappa=kappa) for kappa in (0.01, 0.02, 0.04)},
    **{f"s / (s + day noise / {kappa})": partial(_day_noise, kappa=kappa) for kappa in (0.01, 0.04, 0.08)},
}
SPREADS = tuple(round(x, 3) for x in np.arange(0.05, 1.5001, 0.05))
BANDS = ((0.5, 0.45, 0.55), (0.8, 0.75, 0.85), (0.9, 0.85, 0.95))  # (nominal, low, high)
GOAL_RATIO = 0.8
GOAL_PP = 5.0


# --- data -------------------------------------------------------------------------------------------


def load_sales(path: Path = DATA) -> pd.DataFrame:
    """Order lines with their date and the sales in integer cents (Decimal, rounded half up)."""
    df = pd.read_csv(path, encoding="utf-8-sig", dtype={"Sales": str})
    df["date"] = pd.to_datetime(df["Order Date"], format="%d/%m/%y").dt.date
    df["cents"] = [round_half_up(Decimal(s) * 100) for s in df["Sales"]]
    return df[["date", "Region", "Segment", "Category", "cents"]]


def node_masks(df: pd.DataFrame) -> dict[str, np.ndarray]:
    """Row selections of the 23 nodes: company, regions, segments, region x segment, categories."""
    nodes = {"Company": np.ones(len(df), dtype=bool)}
    for region in sorted(df["Region"].unique()):
        nodes[f"Region {region}"] = (df["Region"] == region).to_numpy()
    for segment in sorted(df["Segment"].unique()):
        nodes[f"Segment {segment}"] = (df["Segment"] == segment).to_numpy()
    for region in sorted(df["Region"].unique()):
        for segment in sorted(df["Segment"].unique()):
            nodes[f"{region} x {segment}"] = (
                (df["Region"] == region) & (df["Segment"] == segment)
            ).to_numpy()
    for category in sorted(df["Category"].unique()):
        nodes[f"Category {category}"] = (df["Category"] == category).to_numpy()
    return nodes


@dataclass(frozen=True)
class Daily:
    """Cumulative daily sales per node: ``cum[n, i]`` = node n's cents on days before ``origin + i``."""

    origin: dt.date
    names: list[str]
    cum: np.ndarray
    country: str  # the working-day calendar
    last: dt.date  # the last day of data: periods ending later are not replayed
    parents: dict[str, str | None]  # each node's smallest node holding all its rows (None: the top)

    def total(self, n: int, start: dt.date, end: dt.date) -> int:
        """Node n's sales over [start, end], inclusive."""
        return int(self.cum[n, (end - self.origin).days + 1] - self.cum[n, (start - self.origin).days])


def daily(df: pd.DataFrame, masks: dict[str, np.ndarray], country: str) -> Daily:
    """``df``: one row per fact with ``date`` and ``cents``; ``masks``: each node's rows."""
    origin = dt.date(min(df["date"]).year, 1, 1)
    last = max(df["date"])
    days = (dt.date(last.year, 12, 31) - origin).days + 1
    index = np.array([(d - origin).days for d in df["date"]])
    cents = df["cents"].to_numpy(dtype=np.int64)
    cum = np.zeros((len(masks), days + 1), dtype=np.int64)
    for n, mask in enumerate(masks.values()):
        np.cumsum(
            np.bincount(index[mask], weights=cents[mask], minlength=days).astype(np.int64), out=cum[n, 1:]
        )
    return Daily(origin, list(masks), cum, country, last, parents(masks))


def parents(masks: dict[str, np.ndarray]) -> dict[str, str | None]:
    """Each node's parent: the smallest other node whose rows include all of its rows."""
    sizes = {name: int(mask.sum()) for name, mask in masks.items()}
    out: dict[str, str | None] = {}
    for name, mask in masks.items():
        holders = [
            other
            for other, m in masks.items()
            if other != name and sizes[other] > sizes[name] and not np.any(mask & ~m)
        ]
        out[name] = min(holders, key=sizes.__getitem__) if holders else None
    return out


# --- periods, calendar and plan ---------------------------------------------------------------------


def month_end(start: dt.date) -> dt.date:
    nxt = dt.date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


def shift_months(d: dt.date, n: int) -> dt.date:
    i = d.year * 12 + d.month - 1 + n
    return dt.date(i // 12, i % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    kind: str  # "month" or "quarter"
    months: tuple[dt.date, ...]  # first days of its months

    @property
    def start(self) -> dt.date:
        return self.months[0]

    @property
    def end(self) -> dt.date:
        return month_end(self.months[-1])

    def last_year(self) -> Period:
        return Period(self.kind, tuple(shift_months(m, -12) for m in self.months))

    @property
    def label(self) -> str:
        if self.kind == "month":
            return self.start.strftime("%Y-%m")
        return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"


def periods(years: range) -> list[Period]:
    out = []
    for year in years:
        out += [Period("month", (dt.date(year, m, 1),)) for m in range(1, 13)]
        out += [Period("quarter", tuple(dt.date(year, q + i, 1) for i in range(3))) for q in (1, 4, 7, 10)]
    return out


def working_dates(start: dt.date, end: dt.date, country: str) -> list[dt.date]:
    """The working days in [start, end], from the engine's calendar."""
    out, d = [], start
    while d <= end:
        if working_days(d, d, country):
            out.append(d)
        d += dt.timedelta(days=1)
    return out


def growth(data: Daily, n: int, start: dt.date) -> float:
    """The node's last 12 months over the 12 before, clipped; 0 without 24 months of history."""
    first = shift_months(start, -24)
    if first < data.origin:
        return 0.0
    mid = shift_months(start, -12)
    before = data.total(n, first, mid - dt.timedelta(days=1))
    recent = data.total(n, mid, start - dt.timedelta(days=1))
    if before <= 0:
        return 0.0
    return float(np.clip(recent / before - 1, -GROWTH_CLIP, GROWTH_CLIP))


def plans(data: Daily, n: int, period: Period) -> dict[str, int]:
    """The plans a planner could make from history for node n and the period (see PLANS).

    "blend" is the one replayed by default: half the same period last year x (1 + g), half the last
    12 months' level (their sales x the period's months / 12), as a planner weighs "去年同期" against
    the recent run. A single month's last-year value can be far off (one big order a year before).
    It is what the app's projection starts from (``engine.pace.history_prior``, computed by it
    here; 0 where it cannot say). SEASON_PLAN is the sum of ``season_weights``."""
    ly = period.last_year()
    ly_total = data.total(n, ly.start, ly.end)
    level = data.total(n, shift_months(period.start, -12), period.start - dt.timedelta(days=1))
    last_year = Decimal(ly_total) * Decimal(str(1 + growth(data, n, period.start)))
    recent = Decimal(level) * len(period.months) / 12
    out = {
        "blend": prior_of(data, n, period) or 0,
        SEASON_PLAN: sum(season_weights(data, n, period)),
        "last year x growth": round_half_up(last_year),
        "last year": ly_total,
        "last 12 months": round_half_up(recent),
        **{name: recent_season(data, n, period, **how) for name, how in RECENT.items()},
    }
    out[HALF_RECENT] = (out["blend"] + out["last 3 months x the company's season"]) // 2
    return out


def recent_season(data: Daily, n: int, period: Period, *, months: int, halflife: float | None = None) -> int:
    """SEASON_PLAN with the node's level read from its share of the company over its last
    ``months`` months (each month weighted 0.5^(age / halflife) when a half-life is given) instead
    of over its last 12: a level that has moved shows sooner, at the price of more noise."""
    last_12 = (shift_months(period.start, -12), period.start - dt.timedelta(days=1))
    company_12 = data.total(0, *last_12)
    node = company = 0.0
    for age in range(months):
        m = shift_months(period.start, -1 - age)
        weight = 1.0 if halflife is None else 0.5 ** (age / halflife)
        node += weight * data.total(n, m, month_end(m))
        company += weight * data.total(0, m, month_end(m))
    if company <= 0 or company_12 <= 0:
        return 0
    g = 1 + growth(data, 0, period.start)
    level = node / company * company_12
    return round(
        sum(
            level * data.total(0, m, month_end(m)) / company_12 * g ** ((6.5 + k) / 12)
            for k, m in enumerate(period.last_year().months)
        )
    )


def prior_of(data: Daily, n: int, period: Period) -> int | None:
    """What the node's 24 months before the period expect of it, as the app computes it
    (``engine.pace.history_prior``; the period's months are whole)."""
    history = [
        data.total(n, m, month_end(m))
        for m in (shift_months(period.start, -i) for i in range(PRIOR_MONTHS, 0, -1))
    ]
    return history_prior(history, [(k, 1) for k in range(len(period.months))])


def recommended_plans(data: Daily, period: Period) -> list[int]:
    """Every node's 50% target for the period as the product recommends it from the months before
    (``engine.forecast``, with working days and the company's months as the reference season, as
    ``targets.recommendations`` passes them): the plan of a planner who takes the app's advice."""
    months = [
        shift_months(data.origin, i)
        for i in range((period.start.year - data.origin.year) * 12 + period.start.month - data.origin.month)
    ]

    def days(ms):
        return np.array([len(working_dates(m, month_end(m), data.country)) for m in ms], dtype=float)

    def history(n: int) -> np.ndarray:
        return np.array([data.total(n, m, month_end(m)) for m in months], dtype=float)

    past, ahead, company = days(months), days(period.months), history(0)
    inputs = [SeriesInput(name, history(n), past, ahead, company) for n, name in enumerate(data.names)]
    out = forecast_many(inputs, len(period.months), n_jobs=1)
    return [out[name].target_for_probability(0.5) for name in data.names]


def month_weights(data: Daily, n: int, period: Period) -> list[int]:
    """The blend plan's months (the weights of a quarter's segments): each month half last year's
    month x (1 + g), half a twelfth of the last 12 months, both as of the period's start."""
    g = Decimal(str(1 + growth(data, n, period.start)))
    level = Decimal(data.total(n, shift_months(period.start, -12), period.start - dt.timedelta(days=1)))
    return [
        round_half_up((Decimal(data.total(n, m, month_end(m))) * g + level / 12) / 2)
        for m in period.last_year().months
    ]


def season_weights(data: Daily, n: int, period: Period) -> list[int]:
    """SEASON_PLAN's months, as of the period's start:
    the node's last 12 months x the company's (node 0's) same month last year over the company's
    last 12 months x the company's growth (``growth``) over the months from the middle of those 12
    to the middle of the month. A rep's own last-year month is one big order more or less, and a
    rep's own growth as noisy; the whole business's season and growth are steady, and a Spring
    Festival in January moves the company's January with it."""
    last_12 = (shift_months(period.start, -12), period.start - dt.timedelta(days=1))
    level, company = Decimal(data.total(n, *last_12)), data.total(0, *last_12)
    if company <= 0:
        return [0 for _ in period.months]
    g = 1 + growth(data, 0, period.start)
    return [
        round_half_up(level * data.total(0, m, month_end(m)) / company * Decimal(g ** ((6.5 + k) / 12)))
        for k, m in enumerate(period.last_year().months)
    ]


@cache
def _working_index(origin: dt.date, month: dt.date, country: str) -> np.ndarray:
    return np.array([(d - origin).days for d in working_dates(month, month_end(month), country)], dtype=int)


def day_noise(data: Daily, n: int, period: Period) -> float:
    """The relative variance of the period's total that comes from its days alone, as the node's
    last 12 months show it: each month's sum of squared deviations of its working days' sales from
    their mean, over the month's total squared (the variance of a total of days drawn alike),
    averaged over the months that sold anything and divided by the period's months. NaN with fewer
    than 6 such months. Its square root is how far a perfectly planned month still lands from plan
    by chance; the pace seen at share s carries noise / s of it."""
    values = []
    for i in range(12, 0, -1):
        month = shift_months(period.start, -i)
        if month < data.origin:
            continue
        index = _working_index(data.origin, month, data.country)
        days = (data.cum[n, index + 1] - data.cum[n, index]).astype(float)
        total = days.sum()
        if total > 0:
            values.append(float(((days - days.mean()) ** 2).sum() / total**2))
    return float(np.mean(values)) / len(period.months) if len(values) >= 6 else math.nan


# --- replay -----------------------------------------------------------------------------------------


def replay(data: Daily, replayed: str = "blend") -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per node x period x as-of working day x target multiple, with the engine's figures
    for the plan named ``replayed``; and the other plans per node and period, for the variants table."""
    rows, other = [], []
    for period in periods(range(data.origin.year + 1, data.last.year + 1)):
        if period.end > data.last:
            continue
        ly = period.last_year()
        days = working_dates(period.start, period.end, data.country)
        ly_days = working_dates(ly.start, ly.end, data.country)
        month_days = [working_dates(m, month_end(m), data.country) for m in period.months]
        recommended = recommended_plans(data, period)
        for n in range(len(data.names)):
            plan = {**plans(data, n, period), PLANS[-1]: recommended[n]}
            final = data.total(n, period.start, period.end)
            if plan[replayed] <= 0 or final <= 0:
                continue
            other.append((data.names[n], period.label, *plan.values()))
            weights = (season_weights if replayed == SEASON_PLAN else month_weights)(data, n, period)
            history = [
                data.total(n, m, month_end(m))
                for m in (shift_months(period.start, -i) for i in range(12, 0, -1))
            ]
            spread = spread_of(history, len(period.months))
            noise = day_noise(data, n, period)
            rows += _replay_node(
                data,
                n,
                period,
                days,
                ly_days,
                month_days,
                weights,
                plan[replayed],
                final,
                spread,
                noise,
                plan["blend"] or None,
            )
    return pd.DataFrame(
        rows,
        columns=[
            "node",
            "period",
            "kind",
            "k",
            "days",
            "actual",
            "final",
            "multiple",
            "target",
            "share",
            "projection",
            "run_rate",
            "ly_shape",
            "chance",
            "spread",
            "noise",
            "base",
        ],
    ), pd.DataFrame(other, columns=["node", "period", *PLANS])


def _replay_node(
    data: Daily,
    n: int,
    period: Period,
    days: list[dt.date],
    ly_days: list[dt.date],
    month_days: list[list[dt.date]],
    weights: list[int],
    plan: int,
    final: int,
    spread: float,
    noise: float,
    prior: int | None,
) -> list[tuple]:
    rows = []
    ly_start = ly_days[0].replace(day=1)
    ly_total = data.total(n, ly_start, month_end(ly_days[-1]))
    for k, today in enumerate(days, start=1):
        actual = data.total(n, period.start, today)
        segments = [
            Segment(weight=w, working_days=len(md), elapsed=sum(d <= today for d in md))
            for w, md in zip(weights, month_days, strict=True)
        ]
        ly_shape = _ly_shape(data, n, actual, k, len(days), ly_days, ly_start, ly_total)
        for m in MULTIPLES + STRETCH:
            target = round_half_up(Decimal(plan) * Decimal(str(m)))
            p = pace(actual, target, segments, spread=spread, prior=prior)
            rows.append(
                (
                    data.names[n],
                    period.label,
                    period.kind,
                    k,
                    len(days),
                    actual,
                    final,
                    m,
                    target,
                    float(p.expected_share),
                    p.projection,
                    p.run_rate,
                    ly_shape,
                    p.chance,
                    spread,
                    noise,
                    prior or target,
                )
            )
    return rows


def _ly_shape(
    data: Daily,
    n: int,
    actual: int,
    k: int,
    days: int,
    ly_days: list[dt.date],
    ly_start: dt.date,
    ly_total: int,
) -> float:
    """actual / the share of last year's period done by its working day at the same elapsed share.

    The k-th of N working days maps to last year's working day round(k * N_ly / N) (half up); last
    year's share is its sales from the period start through that day over its period total. Where
    that share is 0 (nothing sold yet last year) the run-rate stands in."""
    k_ly = math.floor(k * len(ly_days) / days + 0.5)
    share = data.total(n, ly_start, ly_days[k_ly - 1]) / ly_total if k_ly >= 1 and ly_total > 0 else 0.0
    if share <= 0:
        return actual * days / k
    return actual / share


# --- analysis ---------------------------------------------------------------------------------------


def at_buckets(df: pd.DataFrame) -> pd.DataFrame:
    """Plan-level rows (multiple 1.0) at the first working day with elapsed share >= each bucket."""
    plan = df[df["multiple"] == 1.0].copy()
    plan["elapsed"] = plan["k"] / plan["days"]
    parts = []
    for b in BUCKETS:
        hit = plan[plan["elapsed"] >= b - 1e-12]
        first = hit.loc[hit.groupby(["node", "period"])["k"].idxmin()].copy()
        first["bucket"] = b
        parts.append(first)
    out = pd.concat(parts)
    for col in ("projection", "run_rate", "ly_shape"):
        out[f"ape_{col}"] = (out[col] - out["final"]).abs() / out["final"]
        out[f"err_{col}"] = out[col] / out["final"] - 1
    return out


def error_table(b: pd.DataFrame) -> pd.DataFrame:
    g = b.groupby(["kind", "bucket"])
    out = pd.DataFrame(
        {
            "n": g.size(),
            "proj_median": g["ape_projection"].median(),
            "proj_mean": g["ape_projection"].mean(),
            "rr_median": g["ape_run_rate"].median(),
            "rr_mean": g["ape_run_rate"].mean(),
            "ly_median": g["ape_ly_shape"].median(),
            "ly_mean": g["ape_ly_shape"].mean(),
            "proj_bias": g["err_projection"].median(),
            "rr_bias": g["err_run_rate"].median(),
            "wins": g.apply(lambda x: (x["ape_projection"] < x["ape_run_rate"]).mean(), include_groups=False),
        }
    )
    out["ratio_median"] = out["proj_median"] / out["rr_median"]
    out["ratio_mean"] = out["proj_mean"] / out["rr_mean"]
    return out


def level(node: str) -> str:
    if node == "Company":
        return "company"
    if " x " in node:
        return "region x segment"
    return node.split(" ", 1)[0].lower()


def level_table(b: pd.DataFrame) -> pd.DataFrame:
    """Median APE at 50% elapsed by node level: small nodes are lumpy, the company is not."""
    half = b[b["bucket"] == 0.5].assign(level=lambda x: x["node"].map(level))
    g = half.groupby(["kind", "level"])
    out = pd.DataFrame(
        {
            "n": g.size(),
            "proj": g["ape_projection"].median(),
            "rr": g["ape_run_rate"].median(),
            "ly": g["ape_ly_shape"].median(),
        }
    )
    out["ratio"] = out["proj"] / out["rr"]
    return out


def variants(b: pd.DataFrame, other: pd.DataFrame) -> pd.DataFrame:
    """Median APE ratio to the run-rate for every plan x credibility tried, per kind and bucket.

    The bucket rows' expected share follows the replayed plan's months whatever the plan's level, so
    the projection is recomputed here exactly as engine.pace._projection does, in floats."""
    b = b.merge(other, on=["node", "period"])
    share, actual = b["share"].to_numpy(), b["actual"].to_numpy(dtype=float)
    spread = b["spread"].to_numpy()
    noise = b["noise"].fillna(b["noise"].median()).to_numpy()
    rr = (b["run_rate"] / b["final"] - 1).abs()
    out = []
    for plan in PLANS:
        target = b[plan].to_numpy(dtype=float)
        for trust, credibility in TRUST.items():
            w = credibility(share, spread, noise)
            with np.errstate(divide="ignore", invalid="ignore"):
                pace_seen = np.where((share > 0) & (target > 0), actual / (target * share), 1.0)
            projection = actual + target * (1 - share) * (w * pace_seen + 1 - w)
            ape = pd.Series(np.abs(projection / b["final"].to_numpy() - 1), index=b.index)
            for (kind, bucket), idx in b.groupby(["kind", "bucket"]).groups.items():
                out.append((plan, trust, kind, bucket, ape[idx].median() / rr[idx].median()))
    return pd.DataFrame(out, columns=["plan", "trust", "kind", "bucket", "ratio"])


# The pace seen, shrunk toward the parent's instead of toward the plan: q(node) = w x pace(node) +
# (1 - w) x q(parent), q(top) = w x pace(top) + 1 - w. A month where the whole team sells above plan
# says something about each of its reps' second half; the replay says whether it helps.
CHAINED = {key: TRUST[key] for key in ("s^2", "s / (s + spread^2 / 0.01)", "s / (s + day noise / 0.01)")}


def chained(b: pd.DataFrame, rows: pd.DataFrame, parent: dict[str, str | None]) -> pd.DataFrame:
    """Median APE ratio to the run-rate of the replayed plan with the pace shrunk toward the parent's."""
    b = b.reset_index(drop=True)
    r = rows[rows["multiple"] == 1.0].copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        r["pace"] = np.where(
            (r["share"] > 0) & (r["target"] > 0), r["actual"] / (r["target"] * r["share"]), 1.0
        )

    def depth(node: str) -> int:
        return 0 if parent[node] is None else 1 + depth(parent[node])

    r["depth"] = r["node"].map(depth)
    r["parent"] = r["node"].map(parent)
    at = ["node", "period", "k"]
    rr = (b["run_rate"] / b["final"] - 1).abs()
    out = []
    for trust, credibility in CHAINED.items():
        q = pd.Series(dtype=float)
        for _, level in r.groupby("depth", sort=True):
            above = pd.MultiIndex.from_frame(level[["parent", "period", "k"]])
            q_parent = q.reindex(above).fillna(1.0).to_numpy()
            noise = level["noise"].fillna(r["noise"].median()).to_numpy()
            w = credibility(level["share"].to_numpy(), level["spread"].to_numpy(), noise)
            mine = pd.Series(
                w * level["pace"].to_numpy() + (1 - w) * q_parent, index=pd.MultiIndex.from_frame(level[at])
            )
            q = pd.concat([q, mine]) if len(q) else mine
        seen = q.reindex(pd.MultiIndex.from_frame(b[at])).to_numpy()
        projection = b["actual"].to_numpy() + b["target"].to_numpy() * (1 - b["share"].to_numpy()) * seen
        ape = pd.Series(np.abs(projection / b["final"].to_numpy() - 1), index=b.index)
        for (kind, bucket), idx in b.groupby(["kind", "bucket"]).groups.items():
            out.append(
                (
                    "the replayed plan, pace shrunk toward the parent's",
                    trust,
                    kind,
                    bucket,
                    ape[idx].median() / rr[idx].median(),
                )
            )
    return pd.DataFrame(out, columns=["plan", "trust", "kind", "bucket", "ratio"])


# What the goal asks of the plan: the same projection with a plan that knew the final (exactly, or
# off by a lognormal factor of the given sd, drawn once per node and period with a fixed seed). Not
# a method anyone could use; it says how good a plan the ratio <= 0.8 needs on these data.
BOUNDS = {
    "bound: a plan equal to the final": 0.0,
    "bound: a plan off the final by lognormal(0.1)": 0.1,
    "bound: a plan off the final by lognormal(0.2)": 0.2,
}


def bounds(b: pd.DataFrame) -> pd.DataFrame:
    share, actual, final = b["share"].to_numpy(), b["actual"].to_numpy(float), b["final"].to_numpy(float)
    rr = (b["run_rate"] / b["final"] - 1).abs()
    keys = b["node"] + " " + b["period"]
    out = []
    for label, sd in BOUNDS.items():
        rng = np.random.default_rng(15)
        off = dict(zip(keys.unique(), rng.normal(0.0, sd, keys.nunique()), strict=True))
        target = final * np.exp(keys.map(off).to_numpy())
        for trust, w in (("none (w = 0)", 0.0), ("s^2", share**2)):
            pace_seen = actual / (target * np.where(share > 0, share, 1.0))
            projection = actual + target * (1 - share) * (w * pace_seen + 1 - w)
            ape = pd.Series(np.abs(projection / final - 1), index=b.index)
            for (kind, bucket), idx in b.groupby(["kind", "bucket"]).groups.items():
                out.append((label, trust, kind, bucket, ape[idx].median() / rr[idx].median()))
    return pd.DataFrame(out, columns=["plan", "trust", "kind", "bucket", "ratio"])


def variant_lines(v: pd.DataFrame) -> list[str]:
    cols = [(k, b) for k in ("month", "quarter") for b in (0.25, 0.5, 0.75)]
    lines = [
        "| level the projection starts from | credibility of the pace | "
        + " | ".join(f"{k} {b:.0%}" for k, b in cols)
        + " |",
        "| --- | --- | " + " | ".join("---" for _ in cols) + " |",
    ]
    for (plan, trust), g in v.groupby(["plan", "trust"], sort=False):
        r = g.set_index(["kind", "bucket"])["ratio"]
        lines.append(
            f"| {plan} | {trust} | " + " | ".join(f"{r.get((k, b), math.nan):.2f}" for k, b in cols) + " |"
        )
    return lines


def far_plans(rows: pd.DataFrame) -> dict:
    """How far the history-made plans of months can be from what happened."""
    plans = rows[(rows["multiple"] == 1.0) & (rows["k"] == 1) & (rows["kind"] == "month")]
    ratio = plans["target"] / plans["final"]
    worst = plans.loc[ratio.idxmax()]
    return {
        "far_plans": float((ratio > 3).mean()),
        "worst_plan": float(ratio.max()),
        "worst_plan_at": f"{worst['node']}, {worst['period']}",
    }


def open_cases(df: pd.DataFrame, multiples=MULTIPLES) -> pd.DataFrame:
    """Cases where the chance is informative: days left and the target not yet reached."""
    c = df[(df["k"] < df["days"]) & (df["actual"] < df["target"]) & df["multiple"].isin(multiples)].copy()
    c["reached"] = c["final"] >= c["target"]
    return c


def chances(c: pd.DataFrame, spread: float | np.ndarray, exponent: float = 0.5) -> np.ndarray:
    """The engine's normal chance at another spread: sd = spread x base x (1 - share)^exponent,
    base the level the projection starts from (the engine's exponent is 0.5; 1.5, the sd
    shrinking with the remaining volume, was tried)."""
    sd = spread * c["base"].to_numpy() * (1 - c["share"].to_numpy()) ** exponent
    return np.array(
        [
            normal_chance(float(m), float(s), float(t))
            for m, s, t in zip(c["projection"].to_numpy(), sd, c["target"].to_numpy(), strict=True)
        ]
    )


def from_target(c: pd.DataFrame) -> np.ndarray:
    """The chance as the engine gave it before 2026-12-04, when the projection started from the
    target instead of the node's history: base = target in both the projection and the sd."""
    share, actual, target = c["share"].to_numpy(), c["actual"].to_numpy(float), c["target"].to_numpy(float)
    trust = share**2
    with np.errstate(divide="ignore", invalid="ignore"):
        seen = np.where(share > 0, actual / (target * share), 1.0)
    point = actual + target * (1 - share) * np.where(share > 0, trust * seen + 1 - trust, 1.0)
    sd = c["spread"].to_numpy() * target * np.sqrt(1 - share)
    return np.array(
        [normal_chance(float(m), float(d), float(t)) for m, d, t in zip(point, sd, target, strict=True)]
    )


def stretch_rows(rows: pd.DataFrame) -> list[tuple]:
    """Per group of targets (the plan's band, each stretch): the share reached of targets given
    about 50% and 80%, with the engine's chance and with the chance started from the target."""
    out = []
    for label, multiples in (("plan x 0.85-1.15", MULTIPLES), *((f"plan x {m:g}", (m,)) for m in STRETCH)):
        c = open_cases(rows, multiples)
        reached = c["reached"].to_numpy()
        now = {nominal: (n, share) for nominal, n, _mean, share in bands(c["chance"].to_numpy(), reached)}
        before = {nominal: (n, share) for nominal, n, _mean, share in bands(from_target(c), reached)}
        out.append((label, now, before))
    return out


def bands(p: np.ndarray, reached: np.ndarray) -> list[tuple[float, int, float, float]]:
    """(nominal, cases, mean p, observed share reached) for p in each band."""
    out = []
    for nominal, lo, hi in BANDS:
        sel = (p >= lo) & (p <= hi)
        n = int(sel.sum())
        out.append(
            (
                nominal,
                n,
                float(p[sel].mean()) if n else math.nan,
                float(reached[sel].mean()) if n else math.nan,
            )
        )
    return out


def worst_gap(p: np.ndarray, reached: np.ndarray) -> float:
    """The goal's gap: at p~0.5 and p~0.8 (p~0.9 is reported, not a goal)."""
    return max(abs(obs - mean) for _, _, mean, obs in bands(p, reached)[:2]) * 100


def deciles(p: np.ndarray, reached: np.ndarray) -> list[tuple[str, int, float, float]]:
    out = []
    for i in range(10):
        lo, hi = i / 10, (i + 1) / 10
        sel = (p >= lo) & ((p < hi) if i < 9 else (p <= hi))
        n = int(sel.sum())
        out.append(
            (
                f"{lo:.1f}-{hi:.1f}",
                n,
                float(p[sel].mean()) if n else math.nan,
                float(reached[sel].mean()) if n else math.nan,
            )
        )
    return out


def search_spread(
    c: pd.DataFrame, exponent: float = 0.5
) -> tuple[list[tuple[float, float, float]], float, float]:
    """(spread, worst gap in pp at p~0.5/0.8, Brier) over the grid; the gap-best and Brier-best spreads."""
    reached = c["reached"].to_numpy()
    grid = []
    for s in SPREADS:
        p = chances(c, s, exponent)
        grid.append((s, worst_gap(p, reached), float(np.mean((p - reached) ** 2))))
    best_gap = min(grid, key=lambda r: r[1])[0]
    best_brier = min(grid, key=lambda r: r[2])[0]
    return grid, best_gap, best_brier


# --- report -----------------------------------------------------------------------------------------


def pct(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{x * 100:.1f}%"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    # UTC: Django's settings set TZ for the process, which would date a night run tomorrow.
    today = dt.datetime.now(dt.UTC).date()
    return (
        f"Measured {today} (UTC) on nproc {os.cpu_count()}, {cpu}, Python {platform.python_version()}, "
        f"numpy {np.__version__}, pandas {pd.__version__}"
    )


def error_lines(t: pd.DataFrame) -> list[str]:
    lines = [
        "| period | elapsed | periods | projection median / mean | run-rate median / mean "
        "| LY shape median / mean | ratio proj/run-rate median / mean | projection beats run-rate "
        "| bias (median) projection / run-rate |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for (kind, b), r in t.iterrows():
        lines.append(
            f"| {kind} | {b:.0%} | {int(r['n'])} | {pct(r['proj_median'])} / {pct(r['proj_mean'])} "
            f"| {pct(r['rr_median'])} / {pct(r['rr_mean'])} | {pct(r['ly_median'])} / {pct(r['ly_mean'])} "
            f"| {r['ratio_median']:.2f} / {r['ratio_mean']:.2f} | {pct(r['wins'])} | {r['proj_bias'] * 100:+.1f}% / {r['rr_bias'] * 100:+.1f}% |"
        )
    return lines


def level_lines(t: pd.DataFrame) -> list[str]:
    lines = [
        "| period | node level | periods | projection | run-rate | LY shape | ratio proj/run-rate |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for (kind, lv), r in t.iterrows():
        lines.append(
            f"| {kind} | {lv} | {int(r['n'])} | {pct(r['proj'])} | {pct(r['rr'])} | {pct(r['ly'])} "
            f"| {r['ratio']:.2f} |"
        )
    return lines


def third_lines(c: pd.DataFrame, spreads: list[tuple[str, np.ndarray]]) -> list[str]:
    """Worst calibration gap by elapsed third: where in the period the chance is off."""
    elapsed = (c["k"] / c["days"]).to_numpy()
    reached = c["reached"].to_numpy()
    thirds = (("first third", 0, 1 / 3), ("middle third", 1 / 3, 2 / 3), ("last third", 2 / 3, 1.0))
    lines = [
        "| spread | "
        + " | ".join(f"{name}: reached at p~0.5 / p~0.8 / p~0.9" for name, _, _ in thirds)
        + " |",
        "| --- | --- | --- | --- |",
    ]
    for spread, p in spreads:
        cells = []
        for _, lo, hi in thirds:
            sel = (elapsed > lo) & (elapsed <= hi)
            b = bands(p[sel], reached[sel])
            cells.append(" / ".join(f"{pct(obs)} (n {n:,})" for _, n, _, obs in b))
        lines.append(f"| {spread} | " + " | ".join(cells) + " |")
    return lines


def met(ok: bool) -> str:
    return "met" if ok else "**not met**"


def bias_note(t: pd.DataFrame) -> str:
    """Say plainly whether the median projection leans one way at 50% and 75% elapsed."""
    figures = {b: (t.loc[("month", b), "proj_bias"], t.loc[("quarter", b), "proj_bias"]) for b in (0.5, 0.75)}
    text = "; ".join(
        f"{b:.0%} elapsed {m * 100:+.1f}% (months), {q * 100:+.1f}% (quarters)"
        for b, (m, q) in figures.items()
    )
    worst = max(abs(x) for pair in figures.values() for x in pair)
    if worst < 0.03:
        return f"projection bias (median projection / final - 1): {text}: no material bias."
    return (
        f"projection bias (median projection / final - 1): {text}: the projection is **biased upwards late in "
        "the period** (compare the run-rate's bias in the table)."
        if max(x for pair in figures.values() for x in pair) >= 0.03
        else f"projection bias (median projection / final - 1): {text}: the projection is **biased downwards**."
    )


def uniformity_note(c: pd.DataFrame, p: np.ndarray, spread: str) -> str:
    """The bands pooled over the period can hide an opposite error early and late in it."""
    elapsed = (c["k"] / c["days"]).to_numpy()
    reached = c["reached"].to_numpy()
    early = bands(p[elapsed <= 1 / 3], reached[elapsed <= 1 / 3])
    late = bands(p[elapsed > 2 / 3], reached[elapsed > 2 / 3])
    return (
        f"pooled calibration hides the period's course: with {spread}, targets with p~0.5 were reached "
        f"{pct(early[0][3])} of the time in the first third and {pct(late[0][3])} in the last third, p~0.8 "
        f"{pct(early[1][3])} and {pct(late[1][3])}. The tails "
        f"are off too: p < 0.1 was reached {pct(float(reached[p < 0.1].mean()))} of the time."
    )


def write_section(text: str) -> None:
    old = RESULTS.read_text()
    start = old.find(SECTION)
    if start < 0:
        new = old.rstrip("\n") + "\n\n" + text
    else:
        nxt = old.find("\n## ", start + len(SECTION))
        new = old[:start] + text + ("" if nxt < 0 else "\n" + old[nxt + 1 :])
    RESULTS.write_text(new.rstrip("\n") + "\n")


def load_demo(size: str = "small") -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """The demo company's order lines (owner credit: the unit each was booked to on its date),
    generated into a throw-away SQLite database. Nodes: the company, each region, each team and
    the first 12 reps by code."""
    import tempfile

    os.environ["SALESTARGET_HOME"] = tempfile.mkdtemp(prefix="st-calibration-")
    os.environ.pop("SALESTARGET_DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salestarget.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from salestarget.actuals.models import Fact
    from salestarget.demo.generator import generate
    from salestarget.org.models import OrgUnit, Person

    call_command("migrate", verbosity=0)
    generate(seed=42, size=size, today=DEMO_TODAY)
    facts = pd.DataFrame(
        Fact.objects.filter(kind="order").values_list("date", "amount", "unit__path", "person__code"),
        columns=["date", "cents", "path", "person"],
    )
    masks = {"Company": np.ones(len(facts), dtype=bool)}
    for unit in OrgUnit.objects.filter(kind=OrgUnit.Kind.REGION).order_by("code"):
        masks[f"Region {unit.code}"] = facts["path"].str.startswith(unit.path).to_numpy()
    for unit in OrgUnit.objects.filter(kind=OrgUnit.Kind.TEAM).order_by("code"):
        masks[f"Team {unit.code}"] = (facts["path"] == unit.path).to_numpy()
    for code in (
        Person.objects.filter(facts__isnull=False)
        .distinct()
        .order_by("code")
        .values_list("code", flat=True)[:12]
    ):
        masks[f"Rep {code}"] = (facts["person"] == code).to_numpy()
    return facts[["date", "cents"]], masks


def run(data: Daily, search: bool, replayed: str = "blend") -> dict:
    """Replay ``data``; with ``search``, also look for the one pooled spread that calibrates it best."""
    t0 = time.perf_counter()
    rows, other = replay(data, replayed)
    buckets = at_buckets(rows)
    errors = error_table(buckets)
    cases = open_cases(rows).reset_index(drop=True)
    p_default = cases["chance"].to_numpy()
    res = {
        "data": data,
        "rows": rows,
        "errors": errors,
        "levels": level_table(buckets),
        "variants": pd.concat(
            [variants(buckets, other), chained(buckets, rows, data.parents), bounds(buckets)]
        ),
        **far_plans(rows),
        "cases": cases,
        "p_default": p_default,
        "p_pooled": chances(cases, DEFAULT_SPREAD),
        "check": float(np.max(np.abs(chances(cases, cases["spread"].to_numpy()) - p_default))),
        "bias_note": bias_note(errors),
        "node_periods": rows.groupby(["node", "period"]).ngroups,
        "distinct": cases.groupby(["node", "period", "multiple"]).ngroups,
        "spreads": rows.groupby(["node", "period"])["spread"].first(),
        "stretch": stretch_rows(rows),
    }
    if search:
        res["grid"], res["best"], res["best_brier"] = search_spread(cases)
        _, res["old_best"], _ = search_spread(cases, 1.5)
        res["p_old"] = chances(cases, res["old_best"], 1.5)
    res["seconds"] = time.perf_counter() - t0
    return res


def calibration_lines(c: pd.DataFrame, runs: list[tuple[str, np.ndarray]]) -> list[str]:
    """Bands for all cases, months and quarters under each (label, chances)."""
    months = c["kind"].to_numpy() == "month"
    rows = []
    for label, p in runs:
        rows += [
            (f"all, {label}", None, c, p),
            (f"months, {label}", None, c[months], p[months]),
            (f"quarters, {label}", None, c[~months], p[~months]),
        ]
    lines = [
        "| cases, sd | p in [0.45, 0.55]: n, mean p, reached | p in [0.75, 0.85]: n, mean p, reached "
        "| p in [0.85, 0.95]: n, mean p, reached | worst gap at 0.5 and 0.8 | goal (<= 5 pp) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for label, _, cc, p in rows:
        reached = cc["reached"].to_numpy()
        cells = [f"{n:,}, {pct(mean)}, {pct(obs)}" for _, n, mean, obs in bands(p, reached)]
        gap = worst_gap(p, reached)
        lines.append(f"| {label} | {' | '.join(cells)} | {gap:.1f} pp | {met(gap <= GOAL_PP)} |")
    return lines


def decile_lines(c: pd.DataFrame, p: np.ndarray) -> list[str]:
    lines = ["| p | n | mean p | reached |", "| --- | --- | --- | --- |"]
    for label, n, mean, obs in deciles(p, c["reached"].to_numpy()):
        lines.append(f"| {label} | {n:,} | {pct(mean)} | {pct(obs)} |")
    return lines


def goal_lines(res: dict, p: np.ndarray, spread: str) -> list[str]:
    t, c = res["errors"], res["cases"]
    m50, q50 = t.loc[("month", 0.5)], t.loc[("quarter", 0.5)]
    ratio_ok = m50["ratio_median"] <= GOAL_RATIO and q50["ratio_median"] <= GOAL_RATIO
    gap = worst_gap(p, c["reached"].to_numpy())
    return [
        f"- projection error <= {GOAL_RATIO} x run-rate's at 50% elapsed (median APE): months "
        f"{m50['ratio_median']:.2f}, quarters {q50['ratio_median']:.2f} (mean APE: {m50['ratio_mean']:.2f}, "
        f"{q50['ratio_mean']:.2f}): {met(ratio_ok)}.",
        f"- calibration within +-{GOAL_PP:g} pp at p = 0.5 and 0.8, with {spread}: worst gap "
        f"{gap:.1f} pp, {met(gap <= GOAL_PP)}.",
        f"- {res['bias_note']}",
        f"- {uniformity_note(c, p, spread)}",
    ]


def replayed_lines(runs: list[tuple[str, str, dict]]) -> list[str]:
    """The goals' figures under each plan replayed in full (its own months as the segments)."""
    lines = [
        "| data | plan replayed | ratio to the run-rate at 50%: months / quarters | bias at 50%: months / "
        "quarters | calibration: reached at p~0.5 / p~0.8, worst gap |",
        "| --- | --- | --- | --- | --- |",
    ]
    for data, plan, res in runs:
        t, c, p = res["errors"], res["cases"], res["p_default"]
        m50, q50 = t.loc[("month", 0.5)], t.loc[("quarter", 0.5)]
        reached = c["reached"].to_numpy()
        shares = {nominal: share for nominal, _n, _mean, share in bands(p, reached)}
        lines.append(
            f"| {data} | {plan} | {m50['ratio_median']:.2f} / {q50['ratio_median']:.2f} | "
            f"{m50['proj_bias']:+.1%} / {q50['proj_bias']:+.1%} | {pct(shares[0.5])} / {pct(shares[0.8])}, "
            f"{worst_gap(p, reached):.1f} pp |"
        )
    return lines


def stretch_lines(runs: list[tuple[str, dict]]) -> list[str]:
    lines = [
        "| data | targets | given ~50%: n, reached | given ~80%: n, reached | started from the target "
        "(before): given ~50% | given ~80% |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for data, res in runs:
        for label, now, before in res["stretch"]:
            cells = [f"{now[p][0]:,}, {pct(now[p][1])}" for p in (0.5, 0.8)]
            cells += [f"{before[p][0]:,}, {pct(before[p][1])}" for p in (0.5, 0.8)]
            lines.append(f"| {data} | {label} | " + " | ".join(cells) + " |")
    return lines


def spread_note(res: dict) -> str:
    v = res["spreads"]
    return (
        f"Per-node spreads (`engine.pace.spread_of`, the 12 months before each period): median "
        f"{v.median():.2f}, 10th-90th percentile {v.quantile(0.1):.2f}-{v.quantile(0.9):.2f}; "
        f"{(v == DEFAULT_SPREAD).mean():.1%} of node-periods fell back to the pooled {DEFAULT_SPREAD:g}."
    )


def report(
    sup: dict, demo: dict, seasoned: tuple[dict, dict], lines_read: int, first: dt.date, last: dt.date
) -> str:
    c = sup["cases"]
    d = demo["data"]
    engine_sd = "the per-node spread (engine)"
    pooled = f"one pooled spread {DEFAULT_SPREAD:g}"
    return "\n".join(
        [
            SECTION,
            "",
            f"{machine()}. `PYTHONPATH=src python bench/tracking_calibration.py --write`, run time "
            f"{sup['seconds'] + demo['seconds']:.0f} s (the demo's generation not counted).",
            "",
            "Engine as measured: projection = actual + base x (1 - s) x (w x pace + 1 - w), base what "
            "the node's 24 months before the period expect of it (`engine.pace.history_prior`, the "
            '"blend" plan below; since 2026-12-04, the target before), s the share of the period the '
            "plan's months expected by now, pace = actual / (base x s), credibility w = s^2; chance = "
            "P(N(projection, sd) >= target), sd = spread x base x sqrt(1 - s), spread = 0.75 x the "
            "coefficient of variation of the node's last 12 monthly totals / sqrt(the period's months) "
            f"(`engine.pace.spread_of`; {DEFAULT_SPREAD:g} with fewer than 6 months).",
            "",
            "### Superstore",
            "",
            f"Data: `Sample - Superstore.csv` ({lines_read:,} order lines, {first} to {last}; Sales "
            "converted to integer cents via Decimal, rounded half up). 23 nodes: the company, 4 regions, 3 "
            "segments, 12 region x segment, 3 categories. Replayed: every month and quarter of the years "
            f"with a full previous year, {sup['node_periods']:,} node-periods with a plan and a positive "
            "final actual. Working days: the engine's calendar, country US.",
            "",
            'Method. Plan per node and period (`plans()`, "blend"): half the same period last year x '
            "(1 + g), g = the node's sales of the 12 months before the period over the 12 before those, "
            "clipped to +-50% and 0 without 24 months of history, and half the last 12 months' sales x the "
            "period's months / 12; a quarter's segments are its months' blend plans. At each working day "
            "(as-of, inclusive) `engine.pace.pace` gives `projection` and `run_rate`; LY shape = actual to "
            "date / last year's share at the same point (working day round(k x N_ly / N)). Errors are APE "
            "against the period's final actual at the first working day whose elapsed share reaches the "
            "bucket, for the plan itself (multiple 1.0); bias is the median of projection / final - 1.",
            "",
            *error_lines(sup["errors"]),
            "",
            "Median APE at 50% elapsed by node level:",
            "",
            *level_lines(sup["levels"]),
            "",
            "Every variant tried: the median APE of the projection over the run-rate's, by the level "
            "the projection starts from (each plan a planner could make from history; the engine starts "
            "from the blend, `engine.pace.history_prior`) and by the credibility given to the pace seen (w as a function of s; Buhlmann's s / (s + spread^2 / "
            "kappa) trusts a steady node's pace sooner, added 2026-12-03: no better on either data set, not "
            "kept; s / (s + day noise / kappa), added later on 2026-12-03, measures the pace's own sampling error from "
            "the scatter of the node's working days within each of its last 12 months (`day_noise`: about "
            "0.20 for a demo rep's month, 0.05 a team's, 0.007 the company's), so a rep's pace is hardly "
            'trusted and the company\'s soon: no better either, not kept). The "bound" rows replay a plan '
            "that knew the final outcome (exactly, or off it by a lognormal factor, one draw per node and "
            'period): not a method, a measure of how good a plan the goal needs. "last 12 months x the '
            "company's season\" (added later on 2026-12-03) is the node's last 12 months shaped by the "
            "company's same months last year over its last 12: the best plan on Superstore (in this "
            "table it runs on the blend's months; replayed in full with its own below). "
            '"the product\'s recommendation" (added 2026-12-03) is the 50% target `engine.forecast` '
            "recommends from the months before the period, with working days and the company's months as "
            "the reference season, as the recommendation page asks it: the plan of a planner who takes the "
            "app's advice. The plans of a recent level (added 2026-12-04: the last 3 or 6 months, or the "
            "last 12 weighted with a half-life of 3 months, each as the node's share of the company's "
            "same months, shaped like the season plan; and half the blend, half the 3 months) ask whether "
            "a level that moved (a rep ramping up, a team that lost a member) is what the blend misses: "
            'they trade a level that follows for one that is noisier. "last year x growth" was the first '
            'plan replayed, "blend" the second. Of the '
            f"replayed plan's months, {sup['far_plans']:.1%} exceed 3x the final "
            f"(worst {sup['worst_plan']:.0f}x, {sup['worst_plan_at']}).",
            "",
            *variant_lines(sup["variants"]),
            "",
            "Calibration. Targets at the plan x "
            + ", ".join(f"{m:g}" for m in MULTIPLES)
            + "; every as-of working day with days left and the target not yet reached "
            f"({len(c):,} cases; {sup['distinct']:,} distinct node-period-multiple series, so the cases are "
            f"not independent). The chance is `Pace.chance` with the per-node spread; the vectorised "
            f"recomputation matches it within {sup['check']:.1e}. {spread_note(sup)} Tried before: one "
            f"spread for every node (grid {SPREADS[0]:g}..{SPREADS[-1]:g}, best {sup['best']:g}, Brier-best "
            f"{sup['best_brier']:g}; the engine keeps {DEFAULT_SPREAD:g} as its fallback), and the sd "
            f"shrinking with the remaining volume, spread x target x (1 - s)^1.5 (best {sup['old_best']:g}), "
            "which is off late in the period (thirds below).",
            "",
            *calibration_lines(
                c,
                [
                    (engine_sd, sup["p_default"]),
                    (pooled, sup["p_pooled"]),
                    (f"(1 - s)^1.5 sd, spread {sup['old_best']:g}", sup["p_old"]),
                ],
            ),
            "",
            "Reached share by elapsed third of the period (open cases, months and quarters together):",
            "",
            *third_lines(
                c,
                [
                    (engine_sd, sup["p_default"]),
                    (pooled, sup["p_pooled"]),
                    (f"(1 - s)^1.5, {sup['old_best']:g}", sup["p_old"]),
                ],
            ),
            "",
            "Deciles with the per-node spread:",
            "",
            *decile_lines(c, sup["p_default"]),
            "",
            "Goals (Superstore):",
            *goal_lines(sup, sup["p_default"], engine_sd),
            "",
            "### The demo company (held out)",
            "",
            f'`salestarget.demo.generator.generate(seed=42, size="{DEMO_SIZE}", today={DEMO_TODAY})` into a '
            f"temporary SQLite database; its order lines ({d.cum[0, -1] / 100:,.2f} yuan, {d.origin} to "
            f"{d.last}) credited to the unit each was booked to. {len(d.names)} nodes: the company, its "
            "regions, its teams and 12 reps. Working days: the engine's calendar, country CN (调休 "
            "included). The same plan and engine as chosen on Superstore, nothing tuned here; "
            f"{demo['node_periods']:,} node-periods, {len(demo['cases']):,} open cases. {spread_note(demo)}",
            "",
            *error_lines(demo["errors"]),
            "",
            *level_lines(demo["levels"]),
            "",
            *variant_lines(demo["variants"]),
            "",
            *calibration_lines(demo["cases"], [(engine_sd, demo["p_default"]), (pooled, demo["p_pooled"])]),
            "",
            *third_lines(demo["cases"], [(engine_sd, demo["p_default"]), (pooled, demo["p_pooled"])]),
            "",
            "Goals (demo company):",
            *goal_lines(demo, demo["p_default"], engine_sd),
            "",
            "### The plan replayed",
            "",
            f'Every figure above replays the blend plan. "{SEASON_PLAN}" (added later on 2026-12-03, '
            "every run replays both) is the node's sales of the 12 months before the "
            "period x the company's same month last year / the company's sales of those 12 months x "
            "(1 + g)^((6.5 + k) / 12) for the period's k-th month, g the company's growth as in the blend "
            "(from the middle of the 12 months to the middle of the month): a node's level shaped by the "
            "season and growth of the whole business, as the product's own plans cascade the company's "
            "season. Replayed in full, its months the quarter's segments, same engine:",
            "",
            *replayed_lines(
                [
                    ("Superstore", "blend", sup),
                    ("Superstore", SEASON_PLAN, seasoned[0]),
                    ("demo", "blend", demo),
                    ("demo", SEASON_PLAN, seasoned[1]),
                ]
            ),
            "",
            "Since 2026-12-04 the projection starts from the blend (the node's history) whatever the "
            "plan, so the season plan here only shapes the period (its months are the segments) and "
            "sets the targets whose chance is checked. Until then the projection started from the "
            "target, and this replay compared the two plans as starting levels: the season plan gave "
            "Superstore 0.71 / 0.66 (calibrated, 1.5 pp) and the demo 0.81 / 0.75 with p~0.5 too "
            "cautious (5.7 pp), better on Superstore and on the demo's quarters but not its months. "
            "Tried on the way, on both data sets (one-off scripts, same replay): the season plan without "
            "growth (demo 0.79 / 0.79 but biased low, p~0.5 reached 62%, a 12 pp gap), with half a year's "
            "growth, with the node's own growth, and with the company's months per working day (last "
            "year's month / its working days x this month's). None met both goals on the demo; the blend "
            "stayed the replayed plan, and is now where the projection starts.",
            "",
            "Prototypes over this replay's bucket rows since (one-off scripts, not engine runs; ratio of the "
            "median APE to the run-rate's at 50% elapsed, months / quarters; none kept): (1) 2026-12-04, the "
            "pace of order-line counts instead of amounts (a deal's size does not persist, how many deals "
            "come does): Superstore 0.70 / 0.73, demo 0.83 / 0.90. (2) 2026-12-04, a seasonal level in the "
            "history prior (half shaped by the node's own two years, or by the company's last year): demo "
            "0.85 / 0.87 and 0.82 / 0.86. (3) 2026-12-04, the pace's credibility per node, w = s / (s + day "
            "noise / t2), t2 the node's own prior's squared error over its last 12 months less their day "
            "noise (floors 0.002-0.02): Superstore 0.75 / 0.75-0.81, demo 0.80-0.81 / 0.83-0.90. (4) "
            "2026-12-04, top-down: a node's remainder is its share of the company's last 12 months (or 3, or "
            "6) x the company's projected remainder, scaled by its share of the company so far this period "
            "with credibility s^2, s or day-noise based. The three best on Superstore (0.67-0.68 / 0.71-0.74) "
            "gave the demo 0.80-0.83 / 0.79-0.88; of all 20 weightings none met both on the demo (best months "
            "0.77 with quarters 0.87, best quarters 0.76 with months 0.80). With the company's final known "
            "(an oracle, and a leaky one: it holds the node's own remainder) the same gave the demo 0.70 / "
            "0.63 and Superstore 0.59 / 0.48; on the demo no credibility tried (s^2, s, per node, full trust) "
            "projects the company's month better than its run-rate (0.95-1.11x). (5) A prior nobody has: the "
            "node's share of a 12-month window centred on the period (the future included, the period left "
            "out) x the company's actual months (leaky as above) gave the demo 0.72-0.74 / 0.68-0.73 and "
            "Superstore 0.65-0.72 / 0.53-0.57 (w = 0 or s^2), against 0.84 for the priors the app can "
            "compute.",
            "",
            "### Stretch targets",
            "",
            'Directors set targets above what history says ("last year + 30%"). Every run also '
            "replays targets at the blend plan x " + " and x ".join(f"{m:g}" for m in STRETCH) + " "
            "(open cases as above, both data sets), with the engine's chance and with the chance as it "
            "was when the projection started from the target (`from_target`): the stretch pulled the "
            "projection up with it, so its chance looked fair while the node headed for its history. "
            "Measured 2026-12-04 before the change, the same replay: targets 30% above the plan given "
            "about 50% were reached 25-30% of the time. The projection now starts from the node's own "
            "history (the target stands in only where 12 months are not known), so it is the same for "
            "every target and the target only decides what counts as reaching it:",
            "",
            *stretch_lines([("Superstore", sup), ("demo", demo)]),
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="replace the section in bench/RESULTS.md")
    args = parser.parse_args()
    if not DATA.exists():
        sys.exit(f"missing {DATA}")
    df = load_sales()
    sup_data = daily(df, node_masks(df), "US")
    sup = run(sup_data, search=True)
    demo_df, demo_masks = load_demo(DEMO_SIZE)
    demo_data = daily(demo_df, demo_masks, "CN")
    demo = run(demo_data, search=False)
    seasoned = run(sup_data, False, SEASON_PLAN), run(demo_data, False, SEASON_PLAN)
    text = report(sup, demo, seasoned, len(df), min(df["date"]), max(df["date"]))
    print(text)
    print("spread grid (spread, worst gap pp, Brier):")
    for spread, gap, brier in sup["grid"]:
        print(f"  {spread:5.3f}  {gap:5.1f}  {brier:.4f}")
    if args.write:
        write_section(text)
        print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
