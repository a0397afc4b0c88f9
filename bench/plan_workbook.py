"""Plans to Excel and back (issue 13): export a 5,000-rep plan to xlsx, then import the file into
an empty draft plan and again over itself (every cell unchanged).

    python bench/plan_workbook.py --db sqlite
    python bench/plan_workbook.py --db postgresql     # database st_bench_plan on 127.0.0.1
    python bench/plan_workbook.py --db sqlite --write # record the figures in bench/RESULTS.md

The plan: a company, 10 regions, 500 teams and 5,000 reps; every unit and rep has 12 month
cells with target, floor and stretch (about 66,000 cells, each with its history row). Goals from
the issue: export <= 10 s, import <= 15 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PG_URL = "postgresql://postgres@127.0.0.1:5432/st_bench_plan"
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
HEADING = "## Plans to Excel and back (issue 13)"
REGIONS, TEAMS_PER_REGION, REPS_PER_TEAM = 10, 50, 10


def setup(db: str, home: Path) -> None:
    os.environ["SALESTARGET_HOME"] = str(home)
    if db == "postgresql":
        os.environ["SALESTARGET_DATABASE_URL"] = PG_URL
        for sql in ("DROP DATABASE IF EXISTS st_bench_plan", "CREATE DATABASE st_bench_plan"):
            subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql], check=True)
    else:
        os.environ.pop("SALESTARGET_DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "salestarget.settings"
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def build_plan():
    """The organisation and a plan with every cell, written in bulk (not what is measured)."""
    from salestarget.metrics.models import Metric
    from salestarget.metrics.selectors import fiscal_calendar
    from salestarget.org.models import Membership, OrgUnit, Person
    from salestarget.targets.models import Plan, Scenario, TargetCell

    rng = random.Random(13)
    company = OrgUnit.objects.create(code="HQ", name="公司", kind=OrgUnit.Kind.COMPANY)
    units, people = [company], []
    for r in range(REGIONS):
        region = OrgUnit.objects.create(
            code=f"R{r:02d}", name=f"区域{r}", kind=OrgUnit.Kind.REGION, parent=company
        )
        units.append(region)
        for t in range(TEAMS_PER_REGION):
            team = OrgUnit.objects.create(code=f"T{r:02d}{t:02d}", name=f"团队{r}-{t}", parent=region)
            units.append(team)
            for p in range(REPS_PER_TEAM):
                people.append(
                    (
                        team,
                        Person(
                            code=f"P{r:02d}{t:02d}{p:02d}",
                            name=f"销售{r}-{t}-{p}",
                            hire_date=dt.date(2020, 1, 1),
                        ),
                    )
                )
    Person.objects.bulk_create([p for _team, p in people], batch_size=2000)
    Membership.objects.bulk_create(
        [Membership(person=p, unit=team, valid_from=dt.date(2020, 1, 1)) for team, p in people],
        batch_size=2000,
    )
    year = fiscal_calendar().year(2027)
    plan = Plan.objects.create(
        name="2027 销售额目标", fiscal_year=2027, metric=Metric.objects.get(code="sales")
    )
    scenario = Scenario.objects.create(plan=plan, name="基准方案", is_primary=True)
    months = year.children("month")
    cells = []
    owners = [{"unit": u} for u in units] + [{"person": p} for _team, p in people]
    for owner in owners:
        for month in months:
            target = rng.randrange(10_000_00, 5_000_000_00)
            cells.append(
                TargetCell(
                    scenario=scenario,
                    period_kind="month",
                    period_start=month.start,
                    target=target,
                    floor=target * 9 // 10,
                    stretch=target * 6 // 5,
                    **owner,
                )
            )
    TargetCell.objects.bulk_create(cells, batch_size=5000)
    return plan, len(people), len(cells)


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="st-plan-bench-"))
    setup(args.db, home)
    from salestarget.targets.models import Plan, Scenario, TargetCell
    from salestarget.targets.workbook import do_import_plan_workbook, export_plan

    plan, reps, cells = build_plan()
    export_s, content = timed(lambda: export_plan(plan, lang="zh", fmt="xlsx"))
    path = home / "plan.xlsx"
    path.write_bytes(content)
    empty = Plan.objects.create(name="导入", fiscal_year=2027, metric=plan.metric)
    Scenario.objects.create(plan=empty, name="基准方案", is_primary=True)
    into_empty_s, first = timed(lambda: do_import_plan_workbook(None, empty, path))
    again_s, second = timed(lambda: do_import_plan_workbook(None, empty, path))
    assert first.ok and second.ok, (first.errors, second.errors)

    def key(scenario_plan):
        rows = TargetCell.objects.filter(scenario__plan=scenario_plan).values_list(
            "unit__code", "person__code", "period_start", "target", "floor", "stretch"
        )
        return sorted(rows, key=lambda r: (r[0] or "", r[1] or "", r[2]))

    exact = key(plan) == key(empty)
    lines = [
        f"{HEADING} — {args.db}",
        "",
        f"Measured {dt.date.today()} on nproc {os.cpu_count()}, {platform.machine()}, Python "
        f"{platform.python_version()}. `python bench/plan_workbook.py --db {args.db} --write`: {reps:,} reps in "
        f"{REGIONS * TEAMS_PER_REGION:,} teams, {cells:,} month cells with target, floor and stretch; the "
        f"workbook is {len(content) / 1e6:.1f} MB. Import into an empty draft writes every cell and its history "
        f"row; the second import finds every cell unchanged. Export then import reproduces the plan exactly: {exact}.",
        "",
        "| step | seconds | goal | status |",
        "| --- | --- | --- | --- |",
        f"| export to xlsx | {export_s:.1f} | <= 10 | {'met' if export_s <= 10 else 'missed'} |",
        f"| import into an empty draft | {into_empty_s:.1f} | <= 15 | {'met' if into_empty_s <= 15 else 'missed'} |",
        f"| import again (nothing changes) | {again_s:.1f} | <= 15 | {'met' if again_s <= 15 else 'missed'} |",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        heading = f"{HEADING} — {args.db}"
        old = RESULTS.read_text()
        pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
        RESULTS.write_text(
            pattern.sub(text + "\n", old) if pattern.search(old) else old.rstrip() + "\n\n" + text
        )


if __name__ == "__main__":
    main()
