"""Credited reads (issue 12, item 2): what following the metric's credit rule costs a page.

Generates the small demo company into a temporary data directory (SQLite), then times, for the
admin, a regional director, a team lead and a rep, the home page's figures and the actuals
summary by person and by unit for the year so far, with the sales metric credited by owner (the
rollups themselves: the baseline) and by territory (the view; in the demo every sale is held by
about seven people: rep, lead, director, VP and overlapping territories). Each figure is the
median of five runs after one warm-up.

Run ``python bench/credit_reads.py`` (add ``--write`` to replace the section of bench/RESULTS.md).
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
HEADING = "## Credited reads (issue 12)"
TODAY = dt.date(2026, 11, 25)
USERS = ("admin", "director_east", "lead_sh1", "rep_sh1")


def timed(fn, runs: int = 5) -> float:
    fn()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="record the figures in bench/RESULTS.md")
    args = parser.parse_args()
    os.environ["SALESTARGET_HOME"] = tempfile.mkdtemp(prefix="st-credit-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salestarget.settings")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from salestarget.actuals.models import DailyRollup, TerritoryCredit
    from salestarget.actuals.summary import actuals_summary
    from salestarget.demo.generator import generate
    from salestarget.metrics.models import Metric
    from salestarget.web.dashboard import home_summary

    call_command("migrate", verbosity=0)
    generate(seed=42, size="small", today=TODAY)
    get_user_model().objects.create_superuser("admin", None, None)  # no password: never signs in
    users = {u.username: u for u in get_user_model().objects.filter(username__in=USERS)}
    metric = Metric.objects.get(code="sales")
    start, end = dt.date(2026, 1, 1), TODAY - dt.timedelta(days=1)
    rows = []
    for rule in (Metric.Credit.OWNER, Metric.Credit.TERRITORY):
        metric.credit_rule = rule
        metric.save()
        for name in USERS:
            user = users[name]
            rows.append(
                (
                    rule,
                    name,
                    timed(lambda user=user: home_summary(user, today=TODAY)),
                    timed(lambda user=user: actuals_summary(user, metric, start, end, "person")),
                    timed(lambda user=user: actuals_summary(user, metric, start, end, "unit")),
                )
            )
    credited = TerritoryCredit.objects.filter(kind="order").count()
    rollups = DailyRollup.objects.filter(kind="order").count()
    owner = {name: r for rule, name, *r in rows if rule == Metric.Credit.OWNER}
    lines = [
        HEADING,
        "",
        f"Measured {dt.date.today()} on nproc {os.cpu_count()}, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}, SQLite. `python bench/credit_reads.py --write`: the small demo "
        f"({rollups:,} order rollup rows; {credited:,} territory credit rows, "
        f"{credited / rollups:.1f} people per sale), the year to {end}, median of 5 runs.",
        "",
        "| credit | user | home page figures | summary by person | summary by unit | territory / owner (home, person, unit) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for rule, name, home, person, unit in rows:
        ratio = ""
        if rule == Metric.Credit.TERRITORY:
            base = owner[name]
            ratio = ", ".join(f"{t / b:.1f}x" for t, b in zip((home, person, unit), base, strict=True))
        lines.append(f"| {rule} | {name} | {home:.3f} s | {person:.3f} s | {unit:.3f} s | {ratio} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        old = RESULTS.read_text()
        pattern = re.compile(rf"^{re.escape(HEADING)}\n.*?(?=^## |\Z)", re.S | re.M)
        new = pattern.sub(text + "\n", old) if pattern.search(old) else old.rstrip() + "\n\n" + text
        RESULTS.write_text(new)


if __name__ == "__main__":
    main()
