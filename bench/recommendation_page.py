"""Benchmark: the target recommendation page, first visit against a stored one (issue 11).

    python bench/recommendation_page.py                  # small demo company, fresh SQLite file
    python bench/recommendation_page.py --size medium    # 400 reps
    python bench/recommendation_page.py --db postgresql  # database st_bench_recommend on 127.0.0.1

Builds the demo company (``salestarget.demo.generator.generate``) in an empty database and
requests /targets/recommend/ through Django's test client as an administrator: the company
scope, next fiscal year, bottom-up over every active rep (what the page shows by default).

* first visit, new process: the forecasting libraries are imported by this request;
* first visit: no stored forecast (deleted before each run), libraries loaded;
* stored: the same page again;
* other adjustments: growth, price and hires changed, the stored forecast reused;
* after a fact batch: one order imported, so the stored forecast is stale and computed again;
* refresh job: ``refresh_recommendations`` after another batch, then the page (stored again).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PG_URL = "postgresql://postgres@127.0.0.1:5432/st_bench_recommend"
PAGE = "/targets/recommend/"


def setup_django(db: str, home: Path) -> None:
    os.environ["SALESTARGET_HOME"] = str(home)
    if db == "postgresql":
        os.environ["SALESTARGET_DATABASE_URL"] = PG_URL
    else:
        os.environ.pop("SALESTARGET_DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "salestarget.settings"
    import django

    django.setup()
    from django.test.utils import setup_test_environment

    setup_test_environment()  # lets the test client's "testserver" host in


def psql(sql: str) -> None:
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql], check=True)


def build_company(db: str, size: str):
    from django.core.management import call_command

    from salestarget.demo.generator import generate

    if db == "postgresql":
        psql("DROP DATABASE IF EXISTS st_bench_recommend")
        psql("CREATE DATABASE st_bench_recommend")
    call_command("migrate", verbosity=0)
    return generate(seed=42, size=size)


def timed(client, params=None) -> float:
    start = time.perf_counter()
    response = client.get(PAGE, params or {})
    elapsed = time.perf_counter() - start
    assert response.status_code == 200 and response.context["rec"] is not None, response.status_code
    return elapsed


def import_order(n: int) -> None:
    import datetime as dt

    from salestarget.actuals.services import do_import_fact_rows
    from salestarget.org.models import Person

    rep = Person.objects.filter(user__isnull=False).order_by("pk").first()
    day = (dt.date.today().replace(day=1) - dt.timedelta(days=1)).isoformat()
    row = {"external_id": f"BENCH-{n}", "date": day, "amount": "1000.00", "person": rep.code}
    result = do_import_fact_rows(None, "order", [row], source="bench")
    assert result.ok, result.errors


def machine() -> str:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--size", choices=["small", "medium"], default="small")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median shown)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="st-bench-") as tmp:
        setup_django(args.db, Path(tmp))
        summary = build_company(args.db, args.size)
        from django.contrib.auth import get_user_model
        from django.db import connection
        from django.test import Client

        from salestarget.targets.forms import RecommendForm
        from salestarget.targets.models import StoredForecast
        from salestarget.targets.tasks import refresh_recommendations

        admin = get_user_model().objects.create_superuser("bench-admin", "bench@example.com", None)
        client = Client()
        client.force_login(admin)
        median = statistics.median
        new_process = timed(client)

        def first_visit() -> float:
            StoredForecast.objects.all().delete()
            return timed(client)

        first = [first_visit() for _ in range(args.repeat)]
        stored = [timed(client) for _ in range(args.repeat)]
        queries = []
        with connection.execute_wrapper(
            lambda execute, sql, *rest: queries.append(sql) or execute(sql, *rest)
        ):
            timed(client)
        what_if = {"p_pct": 70, "price_pct": 2, "hires": 3, "hire_productivity": "200000", "ramp_months": 4}
        what_if["year"] = RecommendForm.defaults()["year"]
        adjusted = [timed(client, {**what_if, "growth_pct": 5 + i}) for i in range(args.repeat)]
        stale = []
        for i in range(args.repeat):
            import_order(i)
            stale.append(timed(client))
        import_order(args.repeat)
        start = time.perf_counter()
        refreshed = refresh_recommendations.call()
        job = time.perf_counter() - start
        after_job = timed(client)
        report = {
            "database": connection.vendor,
            "size": args.size,
            "reps": summary.counts["reps"],
            "facts": summary.counts["facts"],
            "first_visit_new_process_s": round(new_process, 2),
            "first_visit_s": round(median(first), 2),
            "stored_s": round(median(stored), 3),
            "stored_queries": len(queries),
            "other_adjustments_s": round(median(adjusted), 3),
            "after_fact_batch_s": round(median(stale), 2),
            "refresh_job_s": round(job, 2),
            "refresh_job_computed": refreshed,
            "after_refresh_job_s": round(after_job, 3),
            "stored_rows": StoredForecast.objects.count(),
            "runs": {"first": [round(t, 2) for t in first], "stored": [round(t, 3) for t in stored]},
            "load_average": os.getloadavg(),
            "machine": machine(),
        }
        print(json.dumps(report, indent=2))
        connection.close()
        if args.db == "postgresql":
            psql("DROP DATABASE IF EXISTS st_bench_recommend")
    return 0


if __name__ == "__main__":
    sys.exit(main())
