"""The home page's cost on a kept bench database, for comparing two versions of the code side by side.

Why: the home page is what everyone opens every morning; at 5,000 reps it summed a day row per rep
for the whole year (about 10 s for the administrator) before it read the month and company grains.

How: build a database once with ``python bench/tracking_progress.py --size large --keep DIR`` (it
creates the ``bench-admin`` user), then time the home page as that user, on the bench's day, with
the code on ``PYTHONPATH``::

    SALESTARGET_HOME=DIR PYTHONPATH=src python bench/home_page.py [--runs 10]
    git worktree add /tmp/before <commit>
    SALESTARGET_HOME=DIR PYTHONPATH=/tmp/before/src python bench/home_page.py

Alternate the two a few times: the first run after generating a database reads cold pages.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salestarget.settings")
    os.environ.setdefault("SALESTARGET_ALLOWED_HOSTS", "testserver")
    import django

    django.setup()
    import time_machine
    from django.contrib.auth import get_user_model
    from django.test import Client

    import salestarget

    client = Client()
    client.force_login(get_user_model().objects.get(username="bench-admin"))
    # The bench's day (bench/tracking_progress.py: TODAY), so that its plan is in force.
    with time_machine.travel(dt.datetime(2026, 11, 25, 9, 0), tick=True):
        assert client.get("/").status_code == 200
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            client.get("/")
            times.append(time.perf_counter() - started)
    print(
        f"code {os.path.dirname(salestarget.__file__)}: home page p50 {statistics.median(times) * 1000:.0f} ms, "
        f"max {max(times) * 1000:.0f} ms, {args.runs} runs"
    )


if __name__ == "__main__":
    main()
