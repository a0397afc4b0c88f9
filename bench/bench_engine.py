"""Engine benchmark (issue 3): raking a 12M-cell table and decomposing a 5,000-rep tree.

Run ``python bench/bench_engine.py`` (add ``--write`` to replace the "## Engine (issue 3)" section of
bench/RESULTS.md with the figures). Targets: raking + exact rounding of 5,000 reps x 200 products x
12 months <= 5 s wall and <= 2 GB peak RSS; decomposition of a 6-level tree with 5,000 reps <= 1 s.
The numpy floor (three full reductions of a same-size array) shows how far raking is from the cost of
simply reading the data a few times.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from salestarget.engine.allocate import apportion  # noqa: E402
from salestarget.engine.calendar import FiscalCalendar  # noqa: E402
from salestarget.engine.hierarchy import Node, Rule, decompose  # noqa: E402
from salestarget.engine.raking import rake  # noqa: E402

REPS, PRODUCTS, MONTHS = 5_000, 200, 12
FANOUT = (4, 5, 5, 5, 10)  # company -> 4 regions -> 20 provinces -> 100 cities -> 500 teams -> 5,000 reps
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
HEADING = "## Engine (issue 3)"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kib = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    return (
        f"nproc {os.cpu_count()}, {cpu}, {mem_kib / 1024**2:.1f} GiB RAM, Python {platform.python_version()}, "
        f"numpy {np.__version__}"
    )


def bench_raking(runs: int) -> dict[str, float]:
    rng = np.random.default_rng(2026)
    seed = rng.gamma(2.0, 1.0, (REPS, PRODUCTS, MONTHS))  # last year's sales shape, float64 (96 MB)
    total = 1_000_000_000_000  # 100亿元 in fen
    marginals = [
        apportion(total, rng.uniform(0.5, 1.5, REPS)),
        apportion(total, rng.pareto(1.5, PRODUCTS) + 0.1),
        apportion(total, rng.uniform(0.7, 1.3, MONTHS)),
    ]
    rss_before = peak_rss_mb()
    floor = []
    for _ in range(runs):
        start = time.perf_counter()
        for axis in range(3):
            (seed * 1.0001).sum(axis=axis)
        floor.append(time.perf_counter() - start)
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = rake(seed, marginals)
        times.append(time.perf_counter() - start)
    values = result.values
    exact = all(
        (values.sum(axis=tuple(a for a in range(3) if a != axis)) == m).all()
        for axis, m in enumerate(marginals)
    )
    if not exact:
        raise SystemExit("raking result is not exact")
    return {
        "rake_median": statistics.median(times),
        "rake_max": max(times),
        "floor_median": statistics.median(floor),
        "iterations": result.iterations,
        "max_error": result.max_error,
        "rss_before": rss_before,
        "rss_peak": peak_rss_mb(),
    }


def build_tree(rng: np.random.Generator) -> Node:
    count = 0
    tiers = "ABCD"

    def node(depth: int) -> Node:
        nonlocal count
        count += 1
        if depth == len(FANOUT):
            return Node(
                f"rep{count}",
                f"销售{count}",
                history=rng.integers(0, 5_000_000_00, 3).tolist(),
                tier=tiers[count % 4],
                hire_date=dt.date(2026, 1 + count % 12, 1) if count % 10 == 0 else None,
            )
        return Node(f"org{count}", f"组织{count}", [node(depth + 1) for _ in range(FANOUT[depth])])

    return node(0)


def bench_hierarchy(runs: int) -> dict[str, float]:
    rng = np.random.default_rng(3)
    root = build_tree(rng)
    rules = {
        1: Rule("history", 1_000_000, {"recency": [1, 2, 3]}),
        2: Rule("history", 1_000_000),
        3: Rule("history", 10_000, {"min_share": 0.2}),
        4: Rule("history", 10_000),
        5: Rule("capability", 100, {"period": FiscalCalendar().year(2026)}),
    }
    times, reps = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        result = decompose(root, 1_000_000_000_000, rules)
        times.append(time.perf_counter() - start)
        reps = sum(1 for item in result.walk() if not item.children)
    return {"tree_median": statistics.median(times), "tree_max": max(times), "reps": reps}


def ok(good: bool) -> str:
    return "met" if good else "MISSED"


def section(r: dict[str, float], h: dict[str, float]) -> str:
    ratio = r["rake_median"] / r["floor_median"]
    return f"""{HEADING}

Measured {dt.date.today().isoformat()} on {machine()}. `python bench/bench_engine.py --write`.

| case | median | worst | target | status |
| --- | --- | --- | --- | --- |
| rake + exact rounding, {REPS:,} reps x {PRODUCTS} products x {MONTHS} months (12M cells) | {r["rake_median"]:.2f} s | {r["rake_max"]:.2f} s | <= 5 s | {ok(r["rake_max"] <= 5)} |
| numpy floor: 3 x `(arr * scalar).sum(axis)` over the same float64 array | {r["floor_median"]:.2f} s | | | ratio {ratio:.1f}x |
| peak RSS of the process (after building the seed: {r["rss_before"]:.0f} MB) | {r["rss_peak"]:.0f} MB | | <= 2048 MB | {ok(r["rss_peak"] <= 2048)} |
| hierarchical decomposition, 6 levels, {int(h["reps"]):,} reps | {h["tree_median"] * 1000:.0f} ms | {h["tree_max"] * 1000:.0f} ms | <= 1 s | {ok(h["tree_max"] <= 1)} |

Raking converged in {int(r["iterations"])} iterations (max marginal deviation before rounding
{r["max_error"]:.2g} fen); every org, product and month total of the integer result is exact. The tree uses
history at the four upper levels (万元, then 百元 units) and capability with new-hire ramps for reps (元).
"""


def write(text: str) -> None:
    existing = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    pattern = re.compile(rf"^{re.escape(HEADING)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(existing):
        updated = pattern.sub(lambda _: text + "\n", existing)
    else:
        updated = existing.rstrip("\n") + "\n\n" + text
    RESULTS.write_text(updated.rstrip("\n") + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    args = parser.parse_args()
    hierarchy = bench_hierarchy(args.runs)
    raking = bench_raking(args.runs)
    text = section(raking, hierarchy)
    print(text)
    if args.write:
        write(text)


if __name__ == "__main__":
    main()
