"""Benchmark: a million order lines from CSV -> validated, stored, rolled up (issue 4).

    python bench/bench_import.py --db sqlite            # a fresh SQLite file in a temp dir
    python bench/bench_import.py --db postgresql        # database st_bench_import on 127.0.0.1
    python bench/bench_import.py --rows 200000 --db sqlite
    python bench/bench_import.py --format xlsx          # the same rows as a workbook

The CSV looks like an ERP export (Chinese headers, order number + line number, dates sorted,
UTF-8 with BOM); columns are guessed, nothing is mapped by hand. The import runs in a child
process so that its peak memory (ru_maxrss) is its own. Then the database's own bulk load of
the very same rows is timed for comparison: the import's fact rows are read back as tuples,
deleted, and inserted again in one transaction — executemany on SQLite, COPY on PostgreSQL.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PG_URL = "postgresql://postgres@127.0.0.1:5432/st_bench_import"


def setup_django(db: str, home: Path) -> None:
    os.environ["SALESTARGET_HOME"] = str(home)
    if db == "postgresql":
        os.environ["SALESTARGET_DATABASE_URL"] = PG_URL
    else:
        os.environ.pop("SALESTARGET_DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "salestarget.settings"
    import django

    django.setup()


def fresh_database(db: str) -> None:
    if db == "postgresql":
        for sql in ("DROP DATABASE IF EXISTS st_bench_import", "CREATE DATABASE st_bench_import"):
            subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql], check=True)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def master_data(reps: int, products: int, customers: int, regions: int) -> dict[str, list[str]]:
    import datetime as dt

    from salestarget.catalog.models import Customer, Product, Region
    from salestarget.org.models import Membership, OrgUnit, Person

    company = OrgUnit.objects.create(code="HQ", name="公司", kind=OrgUnit.Kind.COMPANY)
    teams = [OrgUnit.objects.create(code=f"T{t:02d}", name=f"销售{t}组", parent=company) for t in range(25)]
    people = Person.objects.bulk_create(
        [Person(code=f"S{i:04d}", name=f"销售{i}", hire_date=dt.date(2020, 1, 1)) for i in range(reps)]
    )
    Membership.objects.bulk_create(
        [
            Membership(person=p, unit=teams[i % len(teams)], valid_from=dt.date(2020, 1, 1))
            for i, p in enumerate(people)
        ]
    )
    for i in range(regions):
        Region.objects.create(code=f"R{i:02d}", name=f"区域{i}")
    for i in range(products):
        Product.objects.create(code=f"P{i:05d}", name=f"产品{i}")
    Customer.objects.bulk_create([Customer(code=f"C{i:06d}", name=f"客户{i}") for i in range(customers)])
    return {
        "reps": [p.code for p in people],
        "products": [f"P{i:05d}" for i in range(products)],
        "customers": [f"C{i:06d}" for i in range(customers)],
        "regions": [f"R{i:02d}" for i in range(regions)],
    }


def write_csv(path: Path, rows: int, codes: dict[str, list[str]], seed: int = 42) -> int:
    """Order lines sorted by date; each rep works one region and a portfolio of customers.
    Returns the file's total amount in fen."""
    import datetime as dt

    rnd = random.Random(seed)
    start = dt.date(2023, 1, 1)
    days = 3 * 365
    reps, customers, regions = codes["reps"], codes["customers"], codes["regions"]
    portfolio = len(customers) // len(reps)
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            ["订单号", "行号", "日期", "销售员", "产品编码", "客户编码", "区域", "数量", "金额", "毛利"]
        )
        order, line, total = 0, 3, 0
        for i in range(rows):
            if line >= rnd.randint(1, 4):
                order, line = order + 1, 0
            line += 1
            day = start + dt.timedelta(days=i * days // rows)
            if line == 1:
                r = rnd.randrange(len(reps))
                customer = customers[r * portfolio + rnd.randrange(portfolio)]
            qty = rnd.randint(1, 20)
            amount = rnd.randint(1_000, 5_000_000)
            total += amount
            w.writerow(
                [
                    f"SO{order:08d}",
                    line,
                    day.isoformat(),
                    reps[r],
                    rnd.choice(codes["products"]),
                    customer,
                    regions[r % len(regions)],
                    qty,
                    f"{amount // 100}.{amount % 100:02d}",
                    f"{amount * rnd.randint(5, 40) // 10000}.{rnd.randint(0, 99):02d}",
                ]
            )
    return total


def to_xlsx(csv_path: Path) -> Path:
    """The CSV's rows as a workbook, amounts and quantities as numbers (as Excel holds them)."""
    import xlsxwriter

    path = csv_path.with_suffix(".xlsx")
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet()
    with csv_path.open(encoding="utf-8-sig", newline="") as f:
        for r, row in enumerate(csv.reader(f)):
            sheet.write_row(r, 0, row if r == 0 else [*row[:7], *(float(v) for v in row[7:])])
    book.close()
    return path


def child_import(path: str) -> None:
    """Runs in its own process: the import, timed, with its peak memory."""
    from salestarget.actuals.services import do_import_facts

    t0 = time.perf_counter()
    result = do_import_facts(None, path, "order", source="bench")
    seconds = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_mb": peak_mb,
                "status": result.status,
                "rows_written": result.rows_written,
                "rows_skipped": result.rows_skipped,
                "errors": result.as_dict()["errors"][:3],
                "batch_id": result.batch_id,
                "amount_total": result.amount_total,
                "mapping": result.options.get("mapping"),
            }
        )
    )


def bulk_load_baseline(batch_id: int) -> tuple[float, int]:
    """The database's own bulk load of the import's rows: same tuples, same table, one transaction."""
    from django.db import connection, transaction

    from salestarget.actuals.importers import INSERT_COLUMNS
    from salestarget.actuals.models import DailyRollup, Fact

    table, cols = Fact._meta.db_table, ", ".join(INSERT_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {cols} FROM {table} WHERE batch_id = %s ORDER BY id", [batch_id])
        rows = cursor.fetchall()
    if connection.vendor == "sqlite":
        rows = [(*r[:1], r[1].isoformat() if hasattr(r[1], "isoformat") else r[1], *r[2:]) for r in rows]
    DailyRollup.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table}")
    raw = connection.connection
    t0 = time.perf_counter()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with raw.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            raw.executemany(
                f"INSERT INTO {table} ({cols}) VALUES ({', '.join('?' * len(INSERT_COLUMNS))})", rows
            )
    return time.perf_counter() - t0, len(rows)


def machine() -> str:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    return f"{os.cpu_count()} cores, {cpu}, {mem_gb:.0f} GB RAM, Python {platform.python_version()}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--format", choices=["csv", "xlsx"], default="csv", help="xlsx: the same rows as a workbook"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--home", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        setup_django(args.db, Path(args.home))
        child_import(args.child)
        return 0
    with tempfile.TemporaryDirectory(prefix="st-bench-") as tmp:
        home = Path(tmp)
        setup_django(args.db, home)
        fresh_database(args.db)
        codes = master_data(reps=500, products=300, customers=20_000, regions=30)
        path = home / "orders.csv"
        file_total = write_csv(path, args.rows, codes)
        if args.format == "xlsx":
            path = to_xlsx(path)
        from django.db import connection

        connection.close()
        out = subprocess.run(
            [sys.executable, __file__, "--db", args.db, "--home", str(home), "--child", str(path)],
            check=True,
            capture_output=True,
            text=True,
        )
        run = json.loads(out.stdout.strip().splitlines()[-1])
        if run["status"] != "applied":
            print(json.dumps(run, ensure_ascii=False, indent=2))
            return 1
        again = json.loads(
            subprocess.run(
                [sys.executable, __file__, "--db", args.db, "--home", str(home), "--child", str(path)],
                check=True,
                capture_output=True,
                text=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        assert again["rows_written"] == 0, again
        from salestarget.actuals import rollups
        from salestarget.actuals.models import DailyRollup

        assert rollups.verify() == [], "rollups differ from the facts"
        rollup_rows = DailyRollup.objects.count()
        baseline, loaded = bulk_load_baseline(run["batch_id"])
        report = {
            "database": connection.vendor,
            "rows": args.rows,
            "format": args.format,
            "file_mb": round(path.stat().st_size / 1024**2, 1),
            "import_seconds": round(run["seconds"], 2),
            "rows_per_second": round(args.rows / run["seconds"]),
            "peak_memory_mb": round(run["peak_mb"]),
            "bulk_load_seconds": round(baseline, 2),
            "bulk_load_rows_per_second": round(loaded / baseline),
            "ratio_import_to_bulk_load": round(run["seconds"] / baseline, 2),
            "reimport_seconds": round(again["seconds"], 2),
            "reimport_rows_per_second": round(args.rows / again["seconds"]),
            "rollup_rows": rollup_rows,
            "total_matches_file": run["amount_total"] == file_total,
            "load_average": os.getloadavg(),
            "mapping": run["mapping"],
            "machine": machine(),
        }
        print(json.dumps(report, ensure_ascii=False, indent=2))
        if args.db == "postgresql":
            connection.close()
            subprocess.run(
                [
                    "psql",
                    "-h",
                    "127.0.0.1",
                    "-U",
                    "postgres",
                    "-qc",
                    "DROP DATABASE IF EXISTS st_bench_import",
                ],
                check=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
