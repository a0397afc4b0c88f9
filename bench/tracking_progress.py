"""Tracking reads (issue 15): how long the progress of a node takes, against one GROUP BY over the
raw facts for the same figure, and the dashboard page.

Generates the demo company (``--size medium`` by default: 400 reps, three years of history and a
published plan) into a temporary data directory, then times, at 25 November of the plan's year:
- ``progress``: every figure of a node and its children (tracking.progress), p50 and p95 of 20
  runs, for the company, a region, a team and a rep over the year, quarter, month and year to date;
- the node's year-to-date actual read alone (tracking.progress.credited: month rollups for whole
  months, day rollups at the edges) against one GROUP BY over the facts, side by side;
- the dashboard page (HTML and its data) through Django's test client, as the administrator: the
  company's, and a rep's, which also ranks the rep among every rep of the company (排名); the
  wallboard (the office TV's), and the leaderboard's page and API;
- the whole company's tracking table, computed and written to xlsx (the median of three runs).
Every read is timed as the first after a write: figures computed, not remembered (core.memo).

Run ``python bench/tracking_progress.py [--size small|medium|large] [--write]``; with
SALESTARGET_DATABASE_URL set it runs on that PostgreSQL database (emptied first; VACUUM ANALYZE
before timing, as autovacuum would do after a load). ``--keep DIR``
keeps the SQLite data directory (or, on PostgreSQL, the database) and reuses the demo already
generated there on the next run: the large demo takes minutes to generate.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
HEADING = "## Tracking reads (issue 15)"
TODAY = dt.date(2026, 11, 25)
AS_OF = TODAY - dt.timedelta(days=1)


def samples(fn, runs: int = 20) -> list[float]:
    fn()
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, round(0.95 * len(values)) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=["small", "medium", "large"], default="medium")
    parser.add_argument("--write", action="store_true", help="record the figures in bench/RESULTS.md")
    parser.add_argument("--keep", metavar="DIR", help="data directory kept between runs (reuses its demo)")
    args = parser.parse_args()
    if args.keep:
        Path(args.keep).mkdir(parents=True, exist_ok=True)
    os.environ["SALESTARGET_HOME"] = args.keep or tempfile.mkdtemp(prefix="st-tracking-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salestarget.settings")
    os.environ.setdefault("SALESTARGET_ALLOWED_HOSTS", "testserver")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    import django
    from django.conf import settings

    django.setup()
    # Every read as the first after a write: the figures computed, not remembered (core.memo
    # keeps them until the next write; bench/tracking_concurrency.py measures what that gives).
    settings.CACHES["memo"] = {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}
    from django.core.cache import caches
    from django.core.cache.backends.dummy import DummyCache

    assert isinstance(caches["memo"], DummyCache)
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Sum
    from django.test import Client

    from salestarget.actuals.models import DailyRollup, Fact, MonthRollup, UnitMonthRollup
    from salestarget.demo.generator import generate
    from salestarget.metrics.models import Metric
    from salestarget.org.models import Membership, OrgUnit
    from salestarget.tracking import progress as tracking

    call_command("migrate", verbosity=0)
    reuse = bool(args.keep) and OrgUnit.objects.exists()
    generated = None
    if not reuse:
        if OrgUnit.objects.exists():  # an earlier company in this database: empty it, keep the seeds
            import importlib

            from django.apps import apps

            call_command("flush", "--no-input", verbosity=0)
            importlib.import_module("salestarget.metrics.migrations.0002_seed_standard_metrics").seed(
                apps, None
            )
        started = time.perf_counter()
        generate(seed=42, size=args.size, today=TODAY)
        generated = time.perf_counter() - started
    if connection.vendor == "postgresql":
        # As autovacuum would after a load: the visibility map lets the unit rollups' covering
        # index answer without visiting the table.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    admin = get_user_model().objects.filter(username="bench-admin").first() or (
        get_user_model().objects.create_superuser("bench-admin", None, "bench-only-password")
    )
    metric = Metric.objects.get(code="sales")
    plan = tracking.in_force(metric, AS_OF)
    company = OrgUnit.objects.get(parent__isnull=True)
    region = OrgUnit.objects.filter(parent=company).order_by("code").first()
    team = OrgUnit.objects.filter(parent=region).order_by("code").first()
    rep = (
        Membership.objects.filter(unit=team, role=Membership.Role.MEMBER)
        .order_by("person__code")
        .first()
        .person
    )
    nodes = [
        ("company", tracking.unit_node(company), Fact.objects.all()),
        ("region", tracking.unit_node(region), Fact.objects.filter(unit__path__startswith=region.path)),
        ("team", tracking.unit_node(team), Fact.objects.filter(unit__path__startswith=team.path)),
        ("rep", tracking.person_node(rep), Fact.objects.filter(person=rep)),
    ]
    rows = []
    for label, node, _facts in nodes:
        for kind in ("year", "quarter", "month", "ytd"):
            times = samples(lambda node=node, kind=kind: tracking.progress(admin, plan, node, kind, AS_OF))
            rows.append((label, kind, statistics.median(times), p95(times)))
    reads = []
    start = AS_OF.replace(month=1, day=1)
    for label, node, facts in nodes:
        ours = samples(lambda node=node: tracking.credited(admin, metric, [node], start, AS_OF))
        raw = facts.filter(kind=metric.fact_kind, date__gte=start, date__lte=AS_OF)
        group_by = samples(lambda raw=raw: list(raw.values("kind").annotate(v=Sum("amount"))), runs=5)
        assert tracking.credited(admin, metric, [node], start, AS_OF)[node.key] == (
            raw.aggregate(v=Sum("amount"))["v"] or 0
        ), label
        reads.append((label, statistics.median(ours), p95(ours), statistics.median(group_by)))
    client = Client()
    client.force_login(admin)
    url = f"/tracking/?plan={plan.pk}&period=month&as_of={AS_OF.isoformat()}"
    assert client.get(url).status_code == 200
    page = samples(lambda: client.get(url), runs=20)
    rep_url = f"{url}&person={rep.pk}"
    assert b"kpi-rank" in client.get(rep_url).content  # the rank is on the page
    rep_page = samples(lambda: client.get(rep_url), runs=10)
    # The office TV's page (the company's figures, its regions' bars, the top ten reps) and the
    # leaderboard: its first page of 100 reps, and the API's.
    query = f"plan={plan.pk}&period=month&as_of={AS_OF.isoformat()}"
    wall = samples(lambda: client.get(f"/tracking/wallboard/?{query}"), runs=10)
    board_page = samples(lambda: client.get(f"/tracking/leaderboard/?{query}"), runs=10)
    board_api = samples(lambda: client.get(f"/api/v1/tracking/leaderboard?{query}"), runs=10)
    answer = client.get(f"/api/v1/tracking/leaderboard?{query}").json()
    board_rows = len(answer["rows"])
    ranked = answer.get("count", board_rows)  # all of them, on one page, before pages (02f72de)
    import time_machine

    with time_machine.travel(dt.datetime.combine(TODAY, dt.time(9)), tick=True):  # figures up to AS_OF
        assert client.get("/").status_code == 200
        home = samples(lambda: client.get("/"), runs=20)
    from salestarget.tracking.table import as_xlsx, tracking_table
    from salestarget.tracking.views import STATUS_LABELS

    # Three runs, their median: on a shared two-core machine one run now and then takes twice as
    # long as the next (18.9 s once, 7.0-7.3 s in four runs around it).
    tables = []
    for _ in range(3):
        started = time.perf_counter()
        table = tracking_table(admin, plan, "month", AS_OF)
        as_xlsx(table, "zh", STATUS_LABELS)
        tables.append(time.perf_counter() - started)
    table_seconds, table_rows = statistics.median(tables), len(table.rows)
    counts = (
        Fact.objects.count(),
        DailyRollup.objects.count(),
        MonthRollup.objects.count(),
        UnitMonthRollup.objects.count(),
    )
    db = connection.vendor
    heading = f"{HEADING} — {db}, {args.size}"
    lines = [
        heading,
        "",
        f"Measured {dt.datetime.now(dt.UTC).date()} (UTC) on nproc {os.cpu_count()}, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}, {db}. `python bench/tracking_progress.py --size {args.size}`: "
        f"the {args.size} demo ({counts[0]:,} facts, {counts[1]:,} day rollup rows, {counts[2]:,} month "
        f"rollup rows, {counts[3]:,} unit-month rows; "
        + (f"generated in {generated:.0f} s" if generated else "generated by an earlier run")
        + f"), as of {AS_OF}, owner credit, as the administrator. "
        "Goals: progress p95 <= 200 ms and >= 50x faster than one GROUP BY over the raw facts; "
        "dashboard page p95 <= 500 ms.",
        "",
        "| node | period | progress (node and children) p50 | p95 |",
        "| --- | --- | --- | --- |",
        *(f"| {n} | {k} | {a * 1000:.0f} ms | {b * 1000:.0f} ms |" for n, k, a, b in rows),
        "",
        "| node | year-to-date actual: rollups p50 | p95 | GROUP BY over the facts p50 | ratio |",
        "| --- | --- | --- | --- | --- |",
        *(
            f"| {n} | {a * 1000:.1f} ms | {b * 1000:.1f} ms | {g * 1000:.1f} ms | {g / a:.0f}x |"
            for n, a, b, g in reads
        ),
        "",
        f"Dashboard page (company, this month): p50 {statistics.median(page) * 1000:.0f} ms, "
        f"p95 {p95(page) * 1000:.0f} ms; a rep's, with their rank among all the company's reps: p50 "
        f"{statistics.median(rep_page) * 1000:.0f} ms, p95 {p95(rep_page) * 1000:.0f} ms. Home page (the "
        "year so far, its months and regions, and this "
        f"month's target cards): p50 {statistics.median(home) * 1000:.0f} ms, p95 {p95(home) * 1000:.0f} ms.",
        "",
        f"Wallboard (the company's figures, its regions and the top ten of {ranked:,} reps): p50 "
        f"{statistics.median(wall) * 1000:.0f} ms, p95 {p95(wall) * 1000:.0f} ms. Leaderboard page: p50 "
        f"{statistics.median(board_page) * 1000:.0f} ms, p95 {p95(board_page) * 1000:.0f} ms; the API's "
        f"leaderboard ({board_rows:,} rows by default): p50 {statistics.median(board_api) * 1000:.0f} ms, "
        f"p95 {p95(board_api) * 1000:.0f} ms.",
        "",
        f"Whole-company tracking table (this month and the year to date, {table_rows:,} rows, to xlsx): "
        f"{table_seconds:.1f} s, the median of three runs ({min(tables):.1f}-{max(tables):.1f} s; goal <= 10 s).",
        "",
        "Status at this scale: "
        + "; ".join(
            f"{goal} {'met' if ok else '**not met**'}"
            for goal, ok in (
                ("progress p95 <= 200 ms", max(b for *_x, b in rows) <= 0.2),
                ("dashboard and wallboard p95 <= 500 ms", max(p95(page), p95(rep_page), p95(wall)) <= 0.5),
                ("tracking table <= 10 s", table_seconds <= 10),
                ("50x faster than one GROUP BY", min(g / a for _n, a, _b, g in reads) >= 50),
            )
        )
        + "."
        + (
            ""
            if args.size == "large"
            else " The goals are set for the large demo (5,000 reps, ~10M facts): `--size large`."
        ),
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        old = RESULTS.read_text()
        pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
        new = pattern.sub(text + "\n", old) if pattern.search(old) else old.rstrip() + "\n\n" + text
        RESULTS.write_text(new)


if __name__ == "__main__":
    main()
