"""CLI start-up (issue 11): how long `salestarget` commands take to start, against a bare
`django.setup()` of the same settings in the same Python.

    python bench/cli_startup.py [--runs 15] [--markdown]

Every case runs in a fresh process against a migrated SQLite database in a temporary
SALESTARGET_HOME. Rounds run every case once, in turn, so a load that comes and goes (other jobs
on the machine) reaches all cases alike; the figures are medians over the rounds, after one
warm-up round. Wall time is what a user waits; CPU time (user + system of the child) moves less
with other load. With `hyperfine` installed, wall times come from it instead.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BARE = "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'salestarget.settings'; django.setup()"
# What every command paid before issue 11: the forecasting libraries imported on the way to the
# URLconf (system checks -> api.py -> targets -> engine.forecast -> statsforecast, pandas).
EAGER = (
    "import sys, statsforecast.models, pandas; from salestarget.cli import main; sys.exit(main(sys.argv[1:]))"
)


def salestarget() -> list[str]:
    """The console script installed next to this Python, else the module."""
    script = Path(sys.executable).with_name("salestarget")
    return [str(script)] if script.exists() else [sys.executable, "-m", "salestarget.cli"]


def cases() -> list[tuple[str, list[str]]]:
    st = salestarget()
    return [
        ("bare `django.setup()`", [sys.executable, "-c", BARE]),
        ("`salestarget --help`", [*st, "--help"]),
        ("`salestarget batches`", [*st, "batches"]),
        ("`salestarget import --help`", [*st, "import", "--help"]),
        (
            "`salestarget batches`, forecasting libraries imported first (as before)",
            [sys.executable, "-c", EAGER, "batches"],
        ),
    ]


def environment(home: Path, pycache: Path | None) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("SALESTARGET_") and k != "DJANGO_SETTINGS_MODULE"
    }
    env["SALESTARGET_HOME"] = str(home)
    if pycache is not None:
        # As an installed copy runs: modules load from cached bytecode (kept in a temporary
        # folder, so neither the source tree nor site-packages is written), not compiled anew.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one run of ``cmd``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def hyperfine_medians(named: list[tuple[str, list[str]]], env: dict[str, str], runs: int) -> dict[str, float]:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run(
            ["hyperfine", "--warmup", "1", "--runs", str(runs), "-N", "--export-json", out.name]
            + [shlex.join(cmd) for _, cmd in named],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        results = json.loads(Path(out.name).read_text())["results"]
    return {name: r["median"] for (name, _), r in zip(named, results, strict=True)}


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import django

    return f"nproc {os.cpu_count()}, {cpu}, Python {platform.python_version()}, Django {django.get_version()}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="rounds after the warm-up (default 15)")
    parser.add_argument("--markdown", action="store_true", help="print a section for bench/RESULTS.md")
    parser.add_argument(
        "--no-hyperfine", action="store_true", help="time with subprocess even if hyperfine is installed"
    )
    parser.add_argument(
        "--no-bytecode-cache",
        action="store_true",
        help="keep PYTHONDONTWRITEBYTECODE as it is (every run then compiles what it imports)",
    )
    args = parser.parse_args()

    named = cases()
    with tempfile.TemporaryDirectory(prefix="st-cli-bench-") as tmp:
        home = Path(tmp) / "home"
        env = environment(home, None if args.no_bytecode_cache else Path(tmp) / "pycache")
        bytecode = "compiled on every run" if args.no_bytecode_cache else "bytecode cached"
        subprocess.run([*salestarget(), "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)
        load_before = os.getloadavg()[0]
        wall: dict[str, list[float]] = {name: [] for name, _ in named}
        cpu: dict[str, list[float]] = {name: [] for name, _ in named}
        for round_ in range(args.runs + 1):
            for name, cmd in named:
                w, c = timed(cmd, env)
                if round_:  # the first round warms the disk cache and the bytecode
                    wall[name].append(w)
                    cpu[name].append(c)
        medians = {name: statistics.median(wall[name]) for name, _ in named}
        tool = "subprocess + time.perf_counter"
        if shutil.which("hyperfine") and not args.no_hyperfine:
            medians = hyperfine_medians(named, env, args.runs)
            tool = "hyperfine"
        load_after = os.getloadavg()[0]

    cpu_medians = {name: statistics.median(values) for name, values in cpu.items()}
    bare = named[0][0]
    rows = [
        f"| {name} | {medians[name]:.2f} s | {medians[name] / medians[bare]:.2f}x "
        f"| {cpu_medians[name]:.2f} s | {cpu_medians[name] / cpu_medians[bare]:.2f}x |"
        for name, _ in named
    ]
    header = [
        "| command | wall (median) | wall / bare | CPU (median) | CPU / bare |",
        "| --- | --- | --- | --- | --- |",
    ]
    if args.markdown:
        print("## CLI start-up (issue 11)\n")
        print(
            f"Measured {dt.date.today().isoformat()} on {machine()}. `python bench/cli_startup.py "
            f"--runs {args.runs}`: {tool}, median of {args.runs} rounds after a warm-up, each case a fresh "
            f"process ({bytecode}) against a migrated SQLite database in a temporary SALESTARGET_HOME; load average "
            f"{load_before:.1f} before, {load_after:.1f} after.\n"
        )
    else:
        print(
            f"{machine()}; {tool}; {bytecode}; {args.runs} runs; load average {load_before:.1f} -> {load_after:.1f}"
        )
    print("\n".join(header + rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
