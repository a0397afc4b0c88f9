"""Defects QA found on the tracking screens of the demo (2026-12-04), each checked on a page."""

from __future__ import annotations

import json
import re

import pytest

from salestarget.actuals.services import do_import_fact_rows
from tests.tracking.test_progress import published, sales_rows  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db

AS_OF = "2024-07-15"


def script(html: str, name: str) -> dict:
    found = re.search(rf'<script id="{name}" type="application/json">(.*?)</script>', html, re.S)
    return json.loads(found.group(1))


def test_a_days_curve_shows_its_point(published, login):  # noqa: F811
    """The day view's cumulative chart was empty axes: one point, drawn by a line without symbols."""
    c = published
    assert do_import_fact_rows(c.admin, "order", sales_rows(c), source="erp").ok
    client = login("admin")
    day = script(
        client.get(
            "/tracking/", {"plan": c.plan.pk, "period": "day", "as_of": "2024-07-10"}
        ).content.decode(),
        "tracking-curve",
    )
    assert len(day["xAxis"]["data"]) == 1 and day["xAxis"]["boundaryGap"] is True
    assert all(series["showSymbol"] and len(series["data"]) == 1 for series in day["series"])
    month = script(
        client.get("/tracking/", {"plan": c.plan.pk, "period": "month", "as_of": AS_OF}).content.decode(),
        "tracking-curve",
    )
    assert len(month["xAxis"]["data"]) > 1 and not any(series["showSymbol"] for series in month["series"])


def test_the_wallboard_link_keeps_the_date(published, login):  # noqa: F811
    """The dashboard's 数据看板 link left out as_of, so a board opened from a past date showed today."""
    c = published
    html = (
        login("admin")
        .get("/tracking/", {"plan": c.plan.pk, "period": "month", "as_of": AS_OF})
        .content.decode()
    )
    link = re.search(r'<a href="([^"]+)" data-testid="wallboard-link"', html).group(1)
    assert "as_of=2024-07-15" in link.replace("&amp;", "&")


def test_the_wallboard_has_the_apps_icon(published, login):  # noqa: F811
    """Without one the browser asked for /favicon.ico on every refresh of the TV: a 404 each time."""
    c = published
    html = login("admin").get("/tracking/wallboard/", {"plan": c.plan.pk, "as_of": AS_OF}).content.decode()
    assert '<link rel="icon" href="data:image/svg+xml,' in html


def test_the_home_year_bar_judges_nothing_the_tracking_pages_judge_otherwise(published, login):  # noqa: F811
    """The home page coloured the year "behind" (orange) against a straight line of time while the
    dashboard, by the plan's own months, said 正常: the bar now shows time progress as a marker."""
    import datetime as dt

    import time_machine

    c = published
    assert do_import_fact_rows(c.admin, "order", sales_rows(c), source="erp").ok
    with time_machine.travel(dt.datetime(2024, 7, 16, 9, 0)):
        html = login("admin").get("/").content.decode()
    bar = re.search(r'<div class="progress-bar[^"]*" data-testid="home-year-bar"', html)
    assert bar and "status-" not in bar.group(0)
    assert 'title="时间进度"' in html


def test_a_reps_wallboard_has_no_empty_ranking(published, login):  # noqa: F811
    """A rep has no one below them: their wallboard showed a large empty chart."""
    c = published
    assert do_import_fact_rows(c.admin, "order", sales_rows(c), source="erp").ok
    rep = login("rep_sh1").get("/tracking/wallboard/", {"plan": c.plan.pk, "as_of": AS_OF}).content.decode()
    assert 'data-testid="wb-bars"' not in rep and 'data-testid="wb-actual"' in rep
    team = login("lead_sh").get("/tracking/wallboard/", {"plan": c.plan.pk, "as_of": AS_OF}).content.decode()
    assert 'data-testid="wb-bars"' in team


def test_the_chance_stands_beside_the_projection_it_rests_on(published, login):  # noqa: F811
    """QA: two projections above the target beside a 5% chance read as a contradiction; the
    chance's own projection (history and pace) was small print under it. It is now a figure of
    its own, labelled, with the chance and what history expected under it."""
    from salestarget.actuals.summary import shown
    from salestarget.metrics.models import Metric

    c = published
    assert do_import_fact_rows(c.admin, "order", sales_rows(c), source="erp").ok
    client = login("lead_sh")
    query = {"plan": c.plan.pk, "period": "month", "as_of": AS_OF}
    f = client.get("/api/v1/tracking/progress", query).json()["figures"]
    html = client.get("/tracking/", query).content.decode()
    sales = Metric.objects.get(code="sales")
    projection = re.search(r'data-testid="kpi-projection">([^<]*)<', html).group(1)
    assert "预测（历史结合节奏）" in html and projection == shown(f["projection"], sales, "zh")
    prior = re.search(r'data-testid="kpi-prior">([^<]*)<', html).group(1)
    assert (
        prior == f"历史预期 {shown(f['prior'], sales, 'zh')}，并计入当前节奏"
        if f["prior"]
        else "历史数据不足" in prior
    )
