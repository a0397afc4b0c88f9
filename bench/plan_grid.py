"""The target grid (issue 13): load the grid of a node with 50 children x 12 months through the
API, and save one edited cell, as the page does.

    SALESTARGET_HOME=$(mktemp -d) python bench/plan_grid.py --db sqlite
    SALESTARGET_HOME=$(mktemp -d) SALESTARGET_DATABASE_URL=postgresql://postgres:postgres@127.0.0.1:5432/salestarget_bench_grid \
        python bench/plan_grid.py --db postgresql
    ... --write                                   # record the figures in bench/RESULTS.md

The node: a region with 25 teams and 25 reps of its own (50 children), each with a year cell and
12 month cells of target, floor and stretch, inside a company of 10 such regions; read by the
region's manager (scoped reads, not an admin's shortcut). Goals from the issue: load p95 <= 300 ms,
one edit saved p95 <= 200 ms. Times are whole requests through Django's test client (session,
middleware, JSON), 100 of each after 5 warm-ups.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_PG = "postgresql://postgres:postgres@127.0.0.1:5432/salestarget_bench_grid"
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
HEADING = "## Target grid (issue 13)"
REGIONS, TEAMS, REPS = 10, 25, 25
RUNS, WARM = 100, 5


def setup(db: str) -> None:
    os.environ.setdefault("SALESTARGET_HOME", tempfile.mkdtemp(prefix="st-grid-bench-"))
    if db == "postgresql":
        url = os.environ.setdefault("SALESTARGET_DATABASE_URL", DEFAULT_PG)
        name = url.rsplit("/", 1)[1]
        admin = url.rsplit("/", 1)[0] + "/postgres"
        for sql in (f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}"):
            subprocess.run(["psql", admin, "-qc", sql], check=True)
    else:
        os.environ.pop("SALESTARGET_DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "salestarget.settings"
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def build():
    """The company and a draft plan with every cell, written in bulk (not what is measured)."""
    from django.contrib.auth import get_user_model

    from salestarget.metrics.models import Metric
    from salestarget.metrics.selectors import fiscal_calendar
    from salestarget.org.models import Membership, OrgUnit, Person
    from salestarget.targets.models import Plan, Scenario, TargetCell

    since = dt.date(2020, 1, 1)
    company = OrgUnit.objects.create(code="HQ", name="公司", kind=OrgUnit.Kind.COMPANY)
    owners, people, members = [{"unit": company}], [], []
    node = manager = None
    for r in range(REGIONS):
        region = OrgUnit.objects.create(
            code=f"R{r:02d}", name=f"区域{r}", kind=OrgUnit.Kind.REGION, parent=company
        )
        owners.append({"unit": region})
        for t in range(TEAMS):
            team = OrgUnit.objects.create(code=f"T{r:02d}{t:02d}", name=f"团队{r}-{t}", parent=region)
            owners.append({"unit": team})
        for p in range(REPS):
            people.append((region, Person(code=f"P{r:02d}{p:02d}", name=f"销售{r}-{p}", hire_date=since)))
        if node is None:
            node = region
            user = get_user_model().objects.create_user("director", password="bench-only")
            manager = Person.objects.create(code="M00", name="区域总监", hire_date=since, user=user)
            members.append(
                Membership(person=manager, unit=region, role=Membership.Role.MANAGER, valid_from=since)
            )
    Person.objects.bulk_create([p for _u, p in people], batch_size=2000)
    members += [Membership(person=p, unit=u, valid_from=since) for u, p in people]
    Membership.objects.bulk_create(members, batch_size=2000)
    owners += [{"person": p} for _u, p in people]
    year = fiscal_calendar().year(2027)
    plan = Plan.objects.create(
        name="2027 销售额目标", fiscal_year=2027, metric=Metric.objects.get(code="sales")
    )
    scenario = Scenario.objects.create(plan=plan, name="基准方案", is_primary=True)
    periods = [year, *year.children("month")]
    cells = []
    for i, owner in enumerate(owners):
        for period in periods:
            target = 1_000_000_00 + i * 1000 + period.start.month
            cells.append(
                TargetCell(
                    scenario=scenario,
                    period_kind=period.kind,
                    period_start=period.start,
                    target=target,
                    floor=target * 9 // 10,
                    stretch=target * 6 // 5,
                    **owner,
                )
            )
    TargetCell.objects.bulk_create(cells, batch_size=5000)
    return plan, scenario, node, len(cells)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    setup(args.db)
    from django.test import Client

    plan, scenario, node, cells = build()
    client = Client(HTTP_HOST="localhost")
    assert client.login(username="director", password="bench-only")
    grid_url = f"/api/v1/targets/plans/{plan.pk}/grid?scenario_id={scenario.pk}&unit_id={node.pk}"
    cells_url = f"/api/v1/targets/plans/{plan.pk}/cells"

    loads = []
    for i in range(WARM + RUNS):
        start = time.perf_counter()
        response = client.get(grid_url)
        elapsed = time.perf_counter() - start
        assert response.status_code == 200, response.content[:300]
        if i >= WARM:
            loads.append(elapsed)
    data = response.json()
    children = len(data["rows"]) - 1
    assert children == TEAMS + REPS, children
    row = data["rows"][7]
    saves = []
    for i in range(WARM + RUNS):
        cell = row["cells"]["m03"]
        body = {
            "scenario_id": scenario.pk,
            "changes": [
                {"id": cell["id"], "version": cell["version"], "field": "target", "value": 5_000_00 + i}
            ],
        }
        start = time.perf_counter()
        response = client.post(cells_url, json.dumps(body), content_type="application/json")
        elapsed = time.perf_counter() - start
        assert response.status_code == 200, response.content[:300]
        row["cells"]["m03"] = response.json()["cells"][0]
        if i >= WARM:
            saves.append(elapsed)

    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        found = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.M)
        cpu = found.group(1).strip() if found else cpu

    def ms(value: float) -> str:
        return f"{value * 1000:.0f} ms"

    load95, save95 = percentile(loads, 95), percentile(saves, 95)
    lines = [
        f"{HEADING} — {args.db}",
        "",
        f"Measured {dt.date.today()} on nproc {os.cpu_count()}, {cpu}, Python {platform.python_version()}. "
        f"`python bench/plan_grid.py --db {args.db} --write`: the grid of a region with {children} children "
        f"({TEAMS} teams, {REPS} reps) x the year and 12 months, read by the region's manager through "
        f"`GET /api/v1/targets/plans/{{id}}/grid`, in a plan of {cells:,} cells; one month cell edited through "
        f"`POST …/cells` (conditional update on its version, history row). {RUNS} requests each after {WARM} "
        "warm-ups, Django's test client (session, middleware, JSON included).",
        "",
        "| step | median | p95 | goal | status |",
        "| --- | --- | --- | --- | --- |",
        f"| load the grid | {ms(statistics.median(loads))} | {ms(load95)} | p95 <= 300 ms | "
        f"{'met' if load95 <= 0.3 else 'missed'} |",
        f"| save one edit | {ms(statistics.median(saves))} | {ms(save95)} | p95 <= 200 ms | "
        f"{'met' if save95 <= 0.2 else 'missed'} |",
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
