"""Benchmark for issue 17 ("Recommendations judged by what they recommend"): the period total.

Why: a director is shown a target for a quarter, a half or a year, with a chance of reaching it.
Monthly errors say little about that: what matters is whether the forecast of the period's total
beats last year's same months (SeasonalNaive), and whether targets promised with chance p are
reached p of the time, never negative for a business that sells. This replays rolling cuts of
several panels (one ``forecast_many`` batch per panel and cut, as the app forecasts a company) and
scores the recommendations themselves.

How, from the repository root (about ten minutes on two cores with every panel and exposure)::

    PYTHONPATH=src python bench/forecast_panels.py [--panels ss-region-sub weekly] [--horizons 3 12]
        [--exposure cadence working none] [--variant SELECT_BY=month ...] [--quick] [--write]

``--variant NAME=VALUE`` sets a switch of ``salestarget.engine.forecast`` for the run (int, float or
str); ``--write`` replaces this run's subsection of the issue 17 section in bench/RESULTS.md.

Panels (monthly series in fen): Superstore region x sub-category and segment x category (public
sample, order dates, working days of country US); the demo company (generated with Django into a
throw-away SQLite database, as bench/tracking_calibration.py does) by rep (owner credit) and by
team x product line (working days of CN); a synthetic weekly panel (seeded: Friday facts, yearly
season, return weeks, new series, level shifts). Exposure: "cadence" (``engine.cadence``, detected
from each panel's fact dates: working days for daily data, export weekdays for weekly data),
"working" (working days) or "none".

Cuts: every month with >= 24 months of the panel's calendar before it and the whole horizon within
the data, stepped by the horizon (3, 6, 12); a series is scored when its history before the cut has
a known month and its test months are all known; SeasonalNaive's total (last year's same months)
needs those months known. Goals: total-error ratio <= 0.9, p=0.5/0.8/0.9 reached 45-55%, 75-85%,
85-95%, no negative target for a history with a positive total.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import inspect
import math
import os
import platform
import re
import shlex
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from salestarget.engine import cadence
from salestarget.engine import forecast as fc
from salestarget.engine.calendar import add_months, working_days

DATA = Path("/work/shared/data/superstore/Sample - Superstore.csv")
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
SECTION = "## Recommendations judged by their period total (issue 17)"
PANELS = ("ss-region-sub", "ss-segment-cat", "demo-reps", "demo-team-line", "weekly")
HORIZONS = (3, 6, 12)
EXPOSURES = ("cadence", "working", "none")
PROBABILITIES = (0.5, 0.8, 0.9)
BANDS = {0.5: (0.45, 0.55), 0.8: (0.75, 0.85), 0.9: (0.85, 0.95)}
GOAL_RATIO = 0.9
MIN_TRAIN = 24
DEMO_TODAY = dt.date(2026, 11, 25)
QUICK_SERIES = 40


@dataclass
class Panel:
    name: str
    months: list[dt.date]  # first days, one per column
    keys: list[str]
    values: np.ndarray  # (series, months) in fen; NaN = unknown month (before a series started)
    dates: set[dt.date]  # the days carrying facts, for the cadence
    country: str
    note: str


# --- panels -----------------------------------------------------------------------------------------


def month_index(dates: pd.Series, first: dt.date) -> np.ndarray:
    d = pd.to_datetime(dates)
    return ((d.dt.year - first.year) * 12 + d.dt.month - first.month).to_numpy()


def matrix(keys: pd.Series, index: np.ndarray, fen: np.ndarray, n: int) -> tuple[list[str], np.ndarray]:
    """Monthly sums per key; facts in month ``n`` or later (a partial month) are left out."""
    keep = (index >= 0) & (index < n)
    codes, uniques = pd.factorize(keys[keep], sort=True)
    out = np.zeros((len(uniques), n))
    np.add.at(out, (codes, index[keep]), fen[keep])
    return [str(u) for u in uniques], out


def superstore(by: tuple[str, str], name: str) -> Panel:
    df = pd.read_csv(DATA, encoding="utf-8-sig")
    df["date"] = pd.to_datetime(df["Order Date"], format="%d/%m/%y").dt.date
    first, last = min(df["date"]), max(df["date"])
    start = first.replace(day=1)
    n = (last.year - start.year) * 12 + last.month - start.month + 1
    fen = np.rint(df["Sales"].to_numpy(dtype=float) * 100)
    keys, values = matrix(df[by[0]] + "/" + df[by[1]], month_index(df["date"], start), fen, n)
    months = [add_months(start, k) for k in range(n)]
    note = f"{len(df):,} order lines {first} to {last}; months without orders are 0"
    return Panel(name, months, keys, values, set(df["date"]), "US", note)


def demo_facts() -> pd.DataFrame:
    """The demo company's order lines, generated as in bench/tracking_calibration.load_demo."""
    import atexit
    import shutil
    import tempfile

    home = tempfile.mkdtemp(prefix="st-panels-")
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    os.environ["SALESTARGET_HOME"] = home
    os.environ.pop("SALESTARGET_DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salestarget.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from salestarget.actuals.models import Fact
    from salestarget.demo.generator import generate

    call_command("migrate", verbosity=0)
    generate(seed=42, size="small", today=DEMO_TODAY)
    fields = ("date", "amount", "person__code", "unit__code", "product__parent__code")
    rows = Fact.objects.filter(kind="order").values_list(*fields)
    return pd.DataFrame(list(rows), columns=["date", "fen", "person", "team", "line"])


def demo(facts: pd.DataFrame, name: str) -> Panel:
    """Whole months from January three years before DEMO_TODAY up to the month before it. A rep's
    months before the first sale, after the last and the leaving month itself are unknown."""
    start = dt.date(DEMO_TODAY.year - 3, 1, 1)
    n = (DEMO_TODAY.year - start.year) * 12 + DEMO_TODAY.month - start.month
    index = month_index(facts["date"], start)
    fen = facts["fen"].to_numpy(dtype=float)
    by = facts["person"] if name == "demo-reps" else facts["team"] + "/" + facts["line"]
    keys, values = matrix(by, index, fen, n)
    if name == "demo-reps":
        span = pd.DataFrame({"key": by, "i": index}).groupby("key")["i"].agg(["min", "max"])
        for row, key in enumerate(keys):
            values[row, : span.at[key, "min"]] = np.nan
            if span.at[key, "max"] < n - 1:  # left: the leaving month is partial
                values[row, span.at[key, "max"] :] = np.nan
    months = [add_months(start, k) for k in range(n)]
    last = max(facts["date"])
    note = f"{len(facts):,} order lines {min(facts['date'])} to {last}; months to {months[-1]:%Y-%m}"
    return Panel(name, months, keys, values, set(facts["date"]), "CN", note)


def weekly(count: int = 300, years: int = 4, seed: int = 20261217) -> Panel:
    """Weekly facts on Fridays: yearly season, trend, noise, ~3% small return weeks; 15% of the
    series start mid-history (months before unknown), 15% shift level by +-30% at some week, and
    10% sell in only a third of the weeks, so that a month with just a return is negative."""
    rng = np.random.default_rng(seed)
    start = dt.date(2021, 1, 1)  # a Friday
    fridays = [start + dt.timedelta(weeks=k) for k in range(53 * years)]
    fridays = [d for d in fridays if d.year < start.year + years]
    w = len(fridays)
    week_month = np.array([(d.year - start.year) * 12 + d.month - 1 for d in fridays])
    season_pos = np.array([d.timetuple().tm_yday / 365.25 for d in fridays])
    weeks = np.arange(w)
    n = 12 * years
    values = np.zeros((count, n))
    new = rng.random(count) < 0.15
    shifted = rng.random(count) < 0.15
    sparse = rng.random(count) < 0.10
    kinds = Counter()
    for i in range(count):
        level = rng.lognormal(np.log(5e5), 1.0)
        amplitude, phase = rng.uniform(0.0, 0.45), 0.85 + rng.normal(0, 0.15)
        growth = rng.normal(0.03, 0.08) / 52
        y = level * np.exp(growth * weeks) * (1 + amplitude * np.cos(2 * np.pi * (season_pos - phase)))
        y *= rng.lognormal(0.0, rng.uniform(0.1, 0.5), w)
        if shifted[i]:
            y[rng.integers(52, w - 13) :] *= 1 + rng.choice([-0.3, 0.3])
            kinds["level shift"] += 1
        if sparse[i]:
            y[rng.random(w) > 1 / 3] = 0
            kinds["sparse"] += 1
        returns = rng.random(w) < 0.03
        y[returns] = -rng.uniform(0.02, 0.2, returns.sum()) * level
        kinds["return weeks"] += int(returns.sum())
        first_month = 0
        if new[i]:
            first_month = int(rng.integers(6, n - 6))
            ramp = 1 - np.exp(-(weeks - np.argmax(week_month >= first_month) + 1).clip(0) / 6)
            y *= ramp
            kinds["new"] += 1
        np.add.at(values[i], week_month, np.rint(y))
        values[i, :first_month] = np.nan
    months = [add_months(start, k) for k in range(n)]
    note = (
        f"{count} series x {w} Fridays {fridays[0]} to {fridays[-1]} (seed {seed}); {kinds['new']} new, "
        f"{kinds['level shift']} with a level shift, {kinds['sparse']} sparse, {kinds['return weeks']} return "
        f"weeks, {int(np.sum(values < 0))} negative months"
    )
    keys = [f"w{i:03d}" for i in range(count)]
    return Panel("weekly", months, keys, values, set(fridays), "CN", note)


def load(names: list[str]) -> list[Panel]:
    out, facts = [], None
    for name in names:
        t0 = time.perf_counter()
        if name == "ss-region-sub":
            panel = superstore(("Region", "Sub-Category"), name)
        elif name == "ss-segment-cat":
            panel = superstore(("Segment", "Category"), name)
        elif name.startswith("demo"):
            facts = demo_facts() if facts is None else facts
            panel = demo(facts, name)
        else:
            panel = weekly()
        long = int(np.sum(np.sum(np.isfinite(panel.values), axis=1) >= MIN_TRAIN))
        panel.note += f"; {len(panel.keys)} series, {long} with >= {MIN_TRAIN} known months"
        print(f"loaded {name}: {panel.note} ({time.perf_counter() - t0:.1f} s)", flush=True)
        out.append(panel)
    return out


def exposures(panel: Panel, kind: str) -> tuple[np.ndarray | None, str]:
    """The exposure per month of the panel's calendar, and a label for it."""
    if kind == "none":
        return None, "none"
    ends = [add_months(m, 1) - dt.timedelta(days=1) for m in panel.months]
    working = np.array([working_days(m, e, panel.country) for m, e in zip(panel.months, ends, strict=True)])
    if kind == "working":
        return working.astype(float), f"working days {panel.country}"
    found = cadence.detect(panel.dates)
    label = found.kind if found.weekday is None else f"{found.kind} (weekday {found.weekday})"
    return cadence.exposure(found, panel.months, working), label


# --- evaluation -------------------------------------------------------------------------------------


def cuts(n: int, horizon: int, quick: bool) -> list[int]:
    out = list(range(MIN_TRAIN, n - horizon + 1, horizon))
    return out[-1:] if quick else out


def evaluate(
    panel: Panel, horizon: int, exp: np.ndarray | None, quick: bool, jobs: int, lone: bool = False
) -> dict:
    rows, wall, models = [], 0.0, Counter()
    rows_idx = range(len(panel.keys))
    if quick:
        rows_idx = range(0, len(panel.keys), math.ceil(len(panel.keys) / QUICK_SERIES))
    # ``lone``: each series chooses and calibrates on its own windows, as the recommendation page
    # forecasts its one scope (a batch of one is a panel of one).
    kwargs = call_kwargs(jobs) | ({"pool": False} if lone else {})
    for cut in cuts(len(panel.months), horizon, quick):
        inputs, kept = [], []
        # As the app does (targets.history.reference): every series borrows the season of the
        # panel's total, the whole visible business.
        reference = np.nansum(panel.values[:, :cut], axis=0)
        for i in rows_idx:
            hist, test = panel.values[i, :cut], panel.values[i, cut : cut + horizon]
            if not np.any(np.isfinite(hist)) or not np.all(np.isfinite(test)):
                continue
            wd = (None, None) if exp is None else (exp[:cut], exp[cut : cut + horizon])
            inputs.append(fc.SeriesInput(panel.keys[i], hist, wd[0], wd[1], reference))
            kept.append(i)
        if not inputs:
            continue
        t0 = time.perf_counter()
        result = fc.forecast_many(inputs, horizon, period_start=0, **kwargs)
        wall += time.perf_counter() - t0
        for i in kept:
            f = result[panel.keys[i]]
            hist = panel.values[i, :cut]
            actual = float(panel.values[i, cut : cut + horizon].sum())
            last_year = panel.values[i, cut - 12 : cut - 12 + horizon]
            targets = [f.target_for_probability(p) for p in PROBABILITIES]
            models[f.model] += 1
            rows.append(
                {
                    "A": actual,
                    "F": float(f.total_mean),
                    "SN": float(last_year.sum()) if np.all(np.isfinite(last_year)) else math.nan,
                    **{f"reached {p}": actual >= t for p, t in zip(PROBABILITIES, targets, strict=True)},
                    "negative": sum(t < 0 for t in targets) if np.nansum(hist) > 0 else 0,
                }
            )
    return {"rows": pd.DataFrame(rows), "wall": wall, "models": models}


def call_kwargs(jobs: int) -> dict:
    """Arguments of forecast_many whose defaults were bound from a module constant: read them now,
    so that a variant of the constant (TOTAL_CORRELATION, BATCH_CANDIDATES) reaches the call."""
    params = inspect.signature(fc.forecast_many).parameters
    kwargs = {"n_jobs": jobs} if "n_jobs" in params else {}
    if "candidates" in params:
        kwargs["candidates"] = fc.BATCH_CANDIDATES
    for name in params:
        if (
            name.upper() in vars(fc)
            and name not in kwargs
            and params[name].default is not inspect.Parameter.empty
        ):
            kwargs[name] = getattr(fc, name.upper())
    return kwargs


def figures(rows: pd.DataFrame) -> dict:
    if rows.empty:
        return dict.fromkeys(("ratio", "bias", *PROBABILITIES), math.nan) | {"n": 0, "n_sn": 0, "negative": 0}
    sn = rows[rows["SN"].notna()]
    denominator = float((sn["A"] - sn["SN"]).abs().sum())
    positive = rows[rows["A"] > 0]
    return {
        "n": len(rows),
        "n_sn": len(sn),
        "ratio": float((sn["A"] - sn["F"]).abs().sum()) / denominator if denominator else math.nan,
        **{p: float(rows[f"reached {p}"].mean()) for p in PROBABILITIES},
        "negative": int(rows["negative"].sum()),
        "bias": float(((positive["F"] - positive["A"]) / positive["A"]).median())
        if len(positive)
        else math.nan,
    }


# --- report -----------------------------------------------------------------------------------------


def mark(value: float, ok: bool, text: str) -> str:
    return "n/a" if math.isnan(value) else f"{text} {'met' if ok else '**not met**'}"


def table(results: list[tuple[str, int, dict, float]]) -> list[str]:
    """``results``: (panel, horizon, figures, wall seconds) rows."""
    lines = [
        "| panel | h | series x cuts (with SN) | ratio \u2264 0.9 | p=0.5 reached 45-55% | p=0.8 reached 75-85% "
        "| p=0.9 reached 85-95% | negative targets = 0 | bias median (F-A)/A | wall s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for panel, horizon, f, wall in results:
        cells = [
            f"{f['n']:,} ({f['n_sn']:,})",
            mark(f["ratio"], f["ratio"] <= GOAL_RATIO, f"{f['ratio']:.3f}"),
        ]
        for p in PROBABILITIES:
            lo, hi = BANDS[p]
            cells.append(mark(f[p], lo <= f[p] <= hi, f"{f[p]:.1%}"))
        cells += [mark(0.0, f["negative"] == 0, str(f["negative"])), f"{f['bias']:+.1%}", f"{wall:.1f}"]
        lines.append(f"| {panel} | {horizon or 'all'} | " + " | ".join(cells) + " |")
    return lines


def pooled(name: str, horizon: int, parts: list[tuple[dict, float, pd.DataFrame]]) -> tuple:
    """Shares and counts over all series x cuts; the ratio as the mean of the panels' ratios, since
    summed errors would be those of the panel with the largest amounts alone."""
    f = figures(pd.concat([rows for _, _, rows in parts], ignore_index=True))
    ratios = [x["ratio"] for x, _, _ in parts if not math.isnan(x["ratio"])]
    f["ratio"] = float(np.mean(ratios)) if ratios else math.nan
    return name, horizon, f, sum(w for _, w, _ in parts)


def run(
    panels: list[Panel],
    horizons: list[int],
    kind: str,
    quick: bool,
    jobs: int,
    cache: dict,
    lone: bool = False,
) -> tuple[list[str], float]:
    """One exposure's table; ``cache`` keeps evaluations whose exposure another kind had already."""
    t0 = time.perf_counter()
    results, by_h, lines = [], {h: [] for h in horizons}, []
    for panel in panels:
        exp, label = exposures(panel, kind)
        lines.append(f"- {panel.name}: exposure {label}; {panel.note}.")
        for h in horizons:
            key = (panel.name, h, None if exp is None else exp.tobytes())
            if key not in cache:
                cache[key] = evaluate(panel, h, exp, quick, jobs, lone) | {"kind": kind}
            e = cache[key]
            f = figures(e["rows"])
            results.append((panel.name, h, f, e["wall"]))
            by_h[h].append((f, e["wall"], e["rows"]))
            share = ", ".join(
                f"{m} {c / max(sum(e['models'].values()), 1):.0%}" for m, c in e["models"].most_common()
            )
            reused = (
                f" (the same exposure as {e['kind']}'s: its results and wall time)"
                if e["kind"] != kind
                else ""
            )
            lines.append(f"  - h={h}: cuts {cuts(len(panel.months), h, quick)}; models {share}{reused}")
            print(f"  {kind} {panel.name} h={h}: {f['n']} series x cuts, {e['wall']:.1f} s", flush=True)
    results += [pooled("all panels", h, by_h[h]) for h in horizons]
    results.append(pooled("all panels", 0, [x for h in horizons for x in by_h[h]]))
    return table(results) + ["", *lines], time.perf_counter() - t0


def header(args: argparse.Namespace, changed: dict) -> list[str]:
    today = subprocess.run(["date", "-u"], capture_output=True, text=True, check=False).stdout.strip()
    source = Path(fc.__file__).read_bytes()
    dirty = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", fc.__file__], check=False).returncode
    engine = (
        f"forecast.py sha1 {hashlib.sha1(source).hexdigest()[:10]}{' (uncommitted changes)' if dirty else ''}"
    )
    switches = (
        ", ".join(f"{k}={v!r} (was {old!r})" for k, (v, old) in changed.items()) or "none (engine as is)"
    )
    return [
        f"Measured {today} on nproc {os.cpu_count()}, {platform.platform()}, Python {platform.python_version()}, "
        f"numpy {np.__version__}, pandas {pd.__version__}; n_jobs={args.jobs}"
        + (
            f"; quick: every k-th series (<= {QUICK_SERIES} per panel), the last cut only."
            if args.quick
            else "."
        ),
        f"Command: `PYTHONPATH=src python bench/forecast_panels.py {shlex.join(sys.argv[1:])}`",
        f"Engine: {engine}; switches set: {switches}. Candidates: SeasonalNaive + {', '.join(fc.BATCH_CANDIDATES)}.",
    ]


INTRO = (
    "Written by `bench/forecast_panels.py --write`; one subsection per run (engine switches, exposure, "
    "panels), newest last. Per panel and horizon h (months, period_start 0): rolling cuts with >= 24 "
    "months before them, stepped by h; one `forecast_many` batch per panel and cut. Ratio = sum|A-F| / "
    "sum|A-SN| over series x cuts with last year's months known (A the period's actual total, F "
    "`total_mean`, SN last year's same months); reached = share with A >= `target_for_probability(p)`; "
    "negative targets counted where the history's total is positive; bias = median (F-A)/A over A > 0. "
    "Pooled rows: shares over all series x cuts, ratio = mean of the panels' ratios."
)


def write(name: str, text: str) -> None:
    """Replace the subsection ``### run: name`` of SECTION in RESULTS.md, or append it; the other
    subsections (the hand-written summary among them) stay as they are."""
    old = RESULTS.read_text()
    start = old.find(SECTION)
    if start < 0:
        before, body, after = old.rstrip("\n") + "\n\n", "", ""
    else:
        end = old.find("\n## ", start + len(SECTION))
        end = len(old) if end < 0 else end + 1
        before, body, after = old[:start], old[start:end], old[end:]
    runs = re.split(r"(?m)^(?=### )", body)[1:]
    runs = [r.rstrip("\n") for r in runs if r.splitlines()[0] != f"### run: {name}"]
    section = "\n\n".join([SECTION, INTRO, *runs, f"### run: {name}\n\n{text}"]) + "\n"
    RESULTS.write_text(before + section + ("\n" + after if after else ""))


def parse_value(text: str) -> int | float | str:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--panels", nargs="+", choices=PANELS, default=list(PANELS))
    parser.add_argument("--horizons", nargs="+", type=int, default=list(HORIZONS))
    parser.add_argument("--exposure", nargs="+", choices=EXPOSURES, default=list(EXPOSURES))
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument(
        "--quick", action="store_true", help=f"<= {QUICK_SERIES} series per panel, last cut only"
    )
    parser.add_argument(
        "--jobs", type=int, default=1, help="forecast_many's n_jobs (1: the machine is shared)"
    )
    parser.add_argument(
        "--write", action="store_true", help="write this run's subsection of bench/RESULTS.md"
    )
    parser.add_argument(
        "--lone",
        action="store_true",
        help="each series alone (pool=False), as the recommendation page forecasts its scope",
    )
    args = parser.parse_args()
    changed = {}
    for item in args.variant:
        name, sep, value = item.partition("=")
        if not sep or not hasattr(fc, name):
            parser.error(f"--variant {item}: salestarget.engine.forecast has no switch {name!r}")
        changed[name] = (parse_value(value), getattr(fc, name))
        setattr(fc, name, changed[name][0])
    head = header(args, changed)
    print("\n".join(head), flush=True)
    if any(p.startswith("ss-") for p in args.panels) and not DATA.exists():
        sys.exit(f"missing {DATA}")
    panels = load(args.panels)
    fc.forecast_many([fc.SeriesInput("warm-up", np.arange(1.0, 37.0))], 3)  # JIT compilation, not timed
    variant = " ".join(f"{k}={v}" for k, (v, _) in changed.items()) or "defaults"
    cache: dict = {}
    for kind in args.exposure:
        lines, seconds = run(panels, args.horizons, kind, args.quick, args.jobs, cache, args.lone)
        name = f"{variant}, exposure {kind}" + (", each series alone" if args.lone else "")
        if args.panels != list(PANELS) or args.horizons != list(HORIZONS):
            name += f", panels {' '.join(args.panels)}, h {' '.join(map(str, args.horizons))}"
        name += ", quick" if args.quick else ""
        text = "\n".join(
            [*head[:1], f"Run time {seconds:.0f} s (data loading not counted).", *head[1:], "", *lines]
        )
        print(f"\n### run: {name}\n\n{text}\n", flush=True)
        if args.write:
            write(name, text)
            print(f"wrote {RESULTS}", flush=True)


if __name__ == "__main__":
    main()
