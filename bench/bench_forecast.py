"""Benchmark for issue 5: batch speed on synthetic data and accuracy on the public Superstore data.

Run from the repository root: ``python bench/bench_forecast.py [--jobs 1 2] [--series 5000]``.
It prints the figures that go into bench/RESULTS.md; it is a script rather than a timed test
because wall time depends on the machine.
"""

import argparse
import os
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from salestarget.engine.backtest import backtest_year
from salestarget.engine.forecast import BATCH_CANDIDATES, SeriesInput, forecast_many

MONTHS = 36
HORIZON = 12


def synthetic_series(count: int, months: int, seed: int = 20261125) -> list[SeriesInput]:
    """Rep x product style series: shared calendar seasonality plus individual level, trend, noise.

    A tenth are intermittent (frequent zero months) and a few are dead (all zeros), because
    that is what a real product catalogue looks like.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(months)
    calendar = 1 + 0.25 * np.cos(2 * np.pi * (t - 11) / 12) - 0.15 * (t % 12 == 1)
    level = rng.lognormal(mean=np.log(2e6), sigma=1.5, size=count)
    trend = rng.normal(0.004, 0.01, size=count)
    strength = rng.uniform(0, 1.5, size=count)
    noise = rng.uniform(0.05, 0.5, size=count)
    out = []
    for i in range(count):
        seasonal = 1 + strength[i] * (calendar - 1)
        y = level[i] * (1 + trend[i]) ** t * seasonal * rng.lognormal(0, noise[i], months)
        if i % 10 == 0:
            y[rng.random(months) < 0.35] = 0
        if i % 250 == 0:
            y[:] = 0
        out.append(SeriesInput(key=f"s{i}", history=np.rint(y).astype(np.int64)))
    return out


def bench_batch(count: int, jobs: int, shared_season: bool) -> dict:
    series = synthetic_series(count, MONTHS)
    if shared_season:
        # As a bottom-up run does: every rep x product borrows the season of their total.
        total = np.sum([s.history for s in series], axis=0)
        series = [SeriesInput(s.key, s.history, reference=total) for s in series]
    start = time.perf_counter()
    results = forecast_many(series, HORIZON, n_jobs=jobs)
    recommendations = [r.recommendations() for r in results.values()]
    wall = time.perf_counter() - start
    models = pd.Series([r.model for r in results.values()]).value_counts().to_dict()
    return {"series": count, "jobs": jobs, "wall_s": wall, "models": models, "n": len(recommendations)}


def find_superstore() -> Path | None:
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "data" / "superstore" / "Sample - Superstore.csv"
        if candidate.is_file():
            return candidate
    return None


def superstore_series(path: Path) -> dict[str, np.ndarray]:
    """Region x sub-category monthly sales in fen; a month without orders is a real zero."""
    df = pd.read_csv(path, encoding="utf-8-sig")
    df["month"] = pd.to_datetime(df["Order Date"], format="%d/%m/%y").dt.to_period("M")
    df["fen"] = (df["Sales"] * 100).round().astype(np.int64)
    months = pd.period_range(df["month"].min(), df["month"].max(), freq="M")
    grouped = df.groupby(["Region", "Sub-Category", "month"])["fen"].sum()
    out = {}
    for (region, sub), s in grouped.groupby(level=[0, 1]):
        s = s.droplevel([0, 1]).reindex(months, fill_value=0)
        out[f"{region}/{sub}"] = s.to_numpy(dtype=np.int64)
    return out


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if "MemTotal" in line
        )
    except OSError:
        mem_kb = 0
    return (
        f"nproc={os.cpu_count()}, CPU={cpu}, RAM={mem_kb / 2**20:.1f} GiB, Python {platform.python_version()}"
    )


def peak_rss_mib() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--series", type=int, default=5000)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--skip-superstore", action="store_true")
    parser.add_argument(
        "--shared-season", action="store_true", help="give every batch series the total as its reference"
    )
    args = parser.parse_args()
    print(machine())
    print(f"batch candidates: SeasonalNaive + {', '.join(BATCH_CANDIDATES)}")
    forecast_many(synthetic_series(20, MONTHS), HORIZON)  # JIT warm-up, as in a running server
    for jobs in args.jobs:
        r = bench_batch(args.series, jobs, args.shared_season)
        own, children = peak_rss_mib()
        print(
            f"batch: {r['series']} series x {MONTHS} months, h={HORIZON}, n_jobs={jobs}"
            f"{', shared season' if args.shared_season else ''}: "
            f"{r['wall_s']:.1f} s wall; peak RSS so far main {own:.0f} MiB, worker {children:.0f} MiB; "
            f"models {r['models']}; load average {os.getloadavg()[0]:.1f}"
        )
    if args.skip_superstore:
        return 0
    path = find_superstore()
    if path is None:
        print("Superstore data not found; skipped")
        return 0
    histories = superstore_series(path)
    # Every series borrows the season of the whole store, as a rep borrows the company's.
    store = np.sum(list(histories.values()), axis=0)
    start = time.perf_counter()
    report = backtest_year(histories, holdout=12, references=dict.fromkeys(histories, store))
    wall = time.perf_counter() - start
    pooled = report.pooled
    ratio = pooled["mae"]["forecast"] / pooled["mae"]["seasonal_naive"]
    print(f"superstore: {len(histories)} series, train 2019-2021, hold out 2022 ({wall:.1f} s)")
    print(f"  models chosen: {report.models}")
    print(f"  pooled monthly MAE (fen): {pooled['mae']}")
    print(f"  pooled monthly WAPE: {pooled['wape']}")
    print(f"  MAE ratio chosen/SeasonalNaive: {ratio:.3f} (target <= 0.9)")
    print(f"  monthly interval coverage: {report.coverage} (80% target 0.70-0.90)")
    print(f"  share of yearly targets reached: {report.calibration}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
