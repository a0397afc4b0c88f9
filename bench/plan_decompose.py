"""Decompose a 5,000-rep plan (issue 13): the company total over 10 regions, 500 teams and 5,000
reps, 12 months and 3 product lines, stored, as the background job does it (with progress).

    python bench/plan_decompose.py --db sqlite
    python bench/plan_decompose.py --db postgresql     # database st_bench_plan on 127.0.0.1
    python bench/plan_decompose.py --db sqlite --write # record the figures in bench/RESULTS.md

Inputs: three years of monthly sales per rep (one product line each, seasonal), tiers A-D, one
rep in ten hired in the last months (ramp). Rules: regions by history, teams and reps by
capability, months by seasonality on working days, lines by history; then the same with weeks.
Goal from the issue: <= 10 s as a job.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import platform
import random
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from plan_workbook import REGIONS, REPS_PER_TEAM, TEAMS_PER_REGION, setup  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
HEADING = "## Decomposing a 5,000-rep plan (issue 13)"
RULES = {
    "levels": [
        {"depth": 1, "method": "history", "years": 3, "recency": [1, 2, 3]},
        {"depth": 2, "method": "capability"},
        {"depth": 3, "method": "capability", "ramp": [0.25, 0.5, 0.75, 1]},
    ],
    "months": "seasonality",
    "products": "history",
}


def build() -> tuple:
    """The organisation, three product lines, three years of sales, and a draft plan by
    product line with its total (not what is measured)."""
    from salestarget.actuals.models import DailyRollup
    from salestarget.catalog.models import Product
    from salestarget.metrics.models import Metric
    from salestarget.metrics.selectors import fiscal_calendar
    from salestarget.org.models import Membership, OrgUnit, Person
    from salestarget.targets.models import Plan, Scenario, TargetCell

    rng = random.Random(13)
    company = OrgUnit.objects.create(code="HQ", name="公司", kind=OrgUnit.Kind.COMPANY)
    lines = [Product.objects.create(code=f"L{i}", name=f"产品线{i}") for i in range(3)]
    teams, people = [], []
    for r in range(REGIONS):
        region = OrgUnit.objects.create(
            code=f"R{r:02d}", name=f"区域{r}", kind=OrgUnit.Kind.REGION, parent=company
        )
        for t in range(TEAMS_PER_REGION):
            team = OrgUnit.objects.create(code=f"T{r:02d}{t:02d}", name=f"团队{r}-{t}", parent=region)
            teams.append(team)
            for p in range(REPS_PER_TEAM):
                hired = dt.date(2026, rng.randint(6, 11), 1) if rng.random() < 0.1 else dt.date(2020, 1, 1)
                people.append(
                    (
                        team,
                        Person(
                            code=f"P{r:02d}{t:02d}{p:02d}",
                            name=f"销售{r}-{t}-{p}",
                            hire_date=hired,
                            tier=rng.choice("ABCD"),
                        ),
                    )
                )
    Person.objects.bulk_create([p for _team, p in people], batch_size=2000)
    Membership.objects.bulk_create(
        [Membership(person=p, unit=team, valid_from=p.hire_date) for team, p in people], batch_size=2000
    )
    rollups = []
    for k, (team, person) in enumerate(people):
        level = rng.randint(50_000_00, 500_000_00)
        for m in range(36):
            month = dt.date(2024 + m // 12, m % 12 + 1, 15)
            if month < person.hire_date:
                continue
            season = 1 + 0.3 * math.sin(2 * math.pi * (month.month - 3) / 12)
            rollups.append(
                DailyRollup(
                    day=month,
                    kind="order",
                    person_id=person.pk,
                    unit_id=team.pk,
                    product_id=lines[k % 3].pk,
                    amount=round(level * season),
                    rows=1,
                )
            )
    DailyRollup.objects.bulk_create(rollups, batch_size=5000)
    year = fiscal_calendar().year(2027)
    plan = Plan.objects.create(
        name="2027 销售额目标", fiscal_year=2027, metric=Metric.objects.get(code="sales"), by_product=True
    )
    scenario = Scenario.objects.create(plan=plan, name="基准方案", is_primary=True)
    TargetCell.objects.create(
        scenario=scenario, unit=company, period_kind="year", period_start=year.start, target=300_000_000_00
    )
    return plan, scenario, len(people), len(rollups)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--write", action="store_true")
    parser.add_argument(
        "--factors",
        action="store_true",
        help="floor 90%% and stretch 120%% of the target, split top-down as well",
    )
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="st-decompose-bench-"))
    setup(args.db, home)
    from django.contrib.auth import get_user_model

    from salestarget.jobs import progress
    from salestarget.targets import decomposition
    from salestarget.targets.models import TargetCell

    plan, scenario, reps, facts = build()
    if args.factors:
        from decimal import Decimal

        from salestarget.targets.services import levels_of

        plan.floor_factor, plan.stretch_factor = Decimal("0.9"), Decimal("1.2")
        plan.save()
        total = scenario.cells.get()
        total.floor, total.stretch = (levels_of(plan, total.target)[k] for k in ("floor", "stretch"))
        total.save()
    admin = get_user_model().objects.create_superuser("bench", password="bench-only-password")
    bar = progress.Progress("bench-decompose", unit="cells")

    def step(phase, done, total):
        bar.update(done, total=total, phase=phase)

    figures = {}
    for label, rules in (("without weeks", RULES), ("with weeks", {**RULES, "weeks": True})):
        start = time.perf_counter()
        result = decomposition.do_decompose(
            admin, scenario, decomposition.Rules.from_json(rules), progress=step
        )
        seconds = time.perf_counter() - start
        cells = TargetCell.objects.filter(scenario=scenario).count()
        assert cells == result["cells_written"] + 1, (cells, result)
        figures[label] = (seconds, cells)
        print(f"{args.db} {label}: {seconds:.1f} s, {cells:,} cells, {reps:,} reps, {facts:,} rollup rows")
    # An accepted change request that moves months refits every week of the plan in its
    # transaction (issue 14): here July moves from one team to another.
    teams = TargetCell.objects.filter(
        scenario=scenario, period_kind="month", person=None, product=None, unit__depth=2
    ).order_by("unit__code", "period_start")
    july = [c for c in teams if c.period_start.month == 7][:2]
    july[0].target, july[1].target = july[0].target - 100_00, july[1].target + 100_00
    TargetCell.objects.bulk_update(july, ["target"])
    start = time.perf_counter()
    written = decomposition.refit_weeks(scenario, {july[0].period_start}, user=admin, reason="bench")
    seconds = time.perf_counter() - start
    figures["weeks refit after a change"] = (seconds, written)
    print(f"{args.db} weeks refit after a change: {seconds:.1f} s, {written:,} weeks written")
    if args.write:
        record(args.db, figures, reps)


def record(db: str, figures: dict, reps: int) -> None:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import os

    rows = "\n".join(
        f"| {db} | {label} | {reps:,} | {cells:,} | {seconds:.1f} s |"
        for label, (seconds, cells) in figures.items()
    )
    block = (
        f"{HEADING}\n\n"
        f"`python bench/plan_decompose.py --db {db}` on {dt.date.today()}, {os.cpu_count()} cores ({cpu}), "
        f"Python {platform.python_version()}. Goal: <= 10 s as a job.\n\n"
        "| database | run | reps | cells stored (written) | time |\n|---|---|---|---|---|\n" + rows + "\n"
    )
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(HEADING) + r".*?(?=\n## |\Z)", re.S)
    if pattern.search(text) and f"| {db} |" in pattern.search(text).group(0):
        section = pattern.search(text).group(0)
        kept = [
            line
            for line in section.splitlines()
            if line.startswith("| ") and not line.startswith(f"| {db} |")
        ]
        kept = [line for line in kept if not line.startswith("| database")]
        block = block.rstrip("\n") + "\n" + "\n".join(kept) + "\n"
        text = pattern.sub(block.rstrip("\n"), text)
    elif pattern.search(text):
        text = pattern.sub(pattern.search(text).group(0).rstrip("\n") + "\n" + rows, text)
    else:
        text = text.rstrip("\n") + "\n\n" + block
    RESULTS.write_text(text)


if __name__ == "__main__":
    main()
