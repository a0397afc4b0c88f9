"""Issue 15: the plan's incentive line (激励线) is shown where achievements are: the dashboard (its
line, and a mark on each child at or above it), the leaderboard, the wallboard and the tracking
table (page, CSV and xlsx); and the dashboard says how much is still to go."""

from __future__ import annotations

import csv
import html as entities
import io
import re

import pytest
from python_calamine import CalamineWorkbook

from salestarget.actuals.services import do_import_fact_rows
from salestarget.actuals.summary import shown
from salestarget.targets.services import do_set_tracking
from tests.tracking.test_progress import published, sales_rows  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db

AS_OF = "2024-07-15"
QUERY = f"period=month&as_of={AS_OF}"


def set_incentive_line(c, pct: int | None = 40, ranking: str = "managers") -> None:
    """The plan's tracking lines as by default, with an incentive line at ``pct``: at 40%, 陈二
    (rep_sh2) is above it with 50.0% of July's target by the 15th, 陈一 (rep_sh1) below with 15.0%."""
    do_set_tracking(
        c.admin,
        c.plan,
        warning_line_pct=60,
        lagging_below_pct=80,
        ahead_above_pct=120,
        incentive_line_pct=pct,
        ranking=ranking,
    )
    c.plan.refresh_from_db()


@pytest.fixture
def incentive(published):  # noqa: F811
    """The published plan's July sales, with an incentive line at 40% (``set_incentive_line``)."""
    c = published
    assert do_import_fact_rows(c.admin, "order", sales_rows(c), source="erp").ok
    set_incentive_line(c)
    return c


def element(html: str, test_id: str) -> str:
    """The markup of the element with ``test_id`` (a row, a list item or a leaf: none of them holds
    another element of its own tag)."""
    found = re.search(rf'<(\w+)[^>]*data-testid="{test_id}"[^>]*>.*?</\1>', html, re.S)
    assert found, test_id
    return found.group(0)


def text(html: str, test_id: str) -> str:
    return entities.unescape(" ".join(re.sub(r"<[^>]+>", " ", element(html, test_id)).split()))


def marked(html: str, test_id: str) -> bool:
    """Whether the element with ``test_id`` carries the incentive mark."""
    return 'data-testid="incentive"' in element(html, test_id)


def test_the_dashboard_shows_the_line_and_marks_who_reached_it(incentive, login):
    c = incentive
    client = login("lead_sh")
    progress = client.get(f"/api/v1/tracking/progress?plan={c.plan.pk}&{QUERY}").json()
    reached = {child["node"]["id"]: child["figures"]["incentive"] for child in progress["children"]}
    assert reached == {c.rep_sh1.pk: False, c.rep_sh2.pk: True}
    html = client.get(f"/tracking/?plan={c.plan.pk}&{QUERY}").content.decode()
    assert text(html, "kpi-incentive-line") == "激励线 40%"
    assert marked(html, f"child-person-{c.rep_sh2.pk}")
    assert not marked(html, f"child-person-{c.rep_sh1.pk}")
    assert 'aria-label="已达激励线（40%）"' in element(html, f"child-person-{c.rep_sh2.pk}")
    gap = progress["figures"]["gap"]
    assert gap > 0
    assert text(html, "kpi-gap") == f"还差 {shown(gap, c.plan.metric, 'zh')}"


def test_a_target_passed_says_by_how_much(incentive, login):
    c = incentive
    client = login("rep_sh2")
    big = {**sales_rows(c)[5], "external_id": "BIG", "date": "2024-07-12", "amount": "50000.00"}
    assert do_import_fact_rows(c.admin, "order", [big], source="erp").ok  # 90,000.01 of 80,000.00
    f = client.get(f"/api/v1/tracking/progress?plan={c.plan.pk}&{QUERY}").json()["figures"]
    assert f["gap"] < 0 and f["incentive"]
    html = client.get(f"/tracking/?plan={c.plan.pk}&{QUERY}").content.decode()
    assert text(html, "kpi-gap") == f"超出 {shown(-f['gap'], c.plan.metric, 'zh')}"


def test_without_an_incentive_line_nothing_is_marked(published, login):  # noqa: F811
    c = published
    assert do_import_fact_rows(c.admin, "order", sales_rows(c), source="erp").ok
    client = login("lead_sh")
    html = client.get(f"/tracking/?plan={c.plan.pk}&{QUERY}").content.decode()
    assert 'data-testid="incentive"' not in html and 'data-testid="kpi-incentive-line"' not in html
    text = client.get(f"/tracking/table/?plan={c.plan.pk}&{QUERY}&format=csv").content.decode("utf-8-sig")
    assert "激励线" not in text.splitlines()[0]


def test_the_leaderboard_and_the_wallboard_mark_it(incentive, login):
    c = incentive
    client = login("lead_sh")
    board = client.get(f"/tracking/leaderboard/?plan={c.plan.pk}&{QUERY}").content.decode()
    assert marked(board, f"rank-{c.rep_sh2.pk}") and not marked(board, f"rank-{c.rep_sh1.pk}")
    wall = client.get(f"/tracking/wallboard/?plan={c.plan.pk}&{QUERY}").content.decode()
    shown_marks = element(wall, "wb-top").count('data-testid="incentive"')
    assert shown_marks >= 1 and shown_marks == sum(
        r["figures"]["incentive"]
        for r in client.get(f"/api/v1/tracking/leaderboard?plan={c.plan.pk}&{QUERY}").json()["rows"]
        if r["rank"] is not None and r["rank"] <= 10
    )


def test_the_tracking_table_has_a_column_for_it(incentive, login):
    c = incentive
    client = login("admin")
    url = f"/tracking/table/?plan={c.plan.pk}&{QUERY}"
    page = client.get(url).content.decode()
    assert marked(page, f"row-person-{c.rep_sh2.pk}") and not marked(page, f"row-person-{c.rep_sh1.pk}")
    lines = list(csv.reader(io.StringIO(client.get(url + "&format=csv").content.decode("utf-8-sig"))))
    assert lines[0][-1] == "2024年7月 达激励线（40%）"
    by_code = {line[0]: line for line in lines[1:]}
    assert by_code[c.rep_sh2.code][-1] == "是" and by_code[c.rep_sh1.code][-1] == ""
    book = client.get(url + "&format=xlsx").content
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(book)).get_sheet_by_index(0).to_python()
    assert sheet[2][-1] == lines[0][-1]
    rows = {r[0]: r for r in sheet[3:]}
    assert rows[c.rep_sh2.code][-1] == "是" and rows[c.rep_sh1.code][-1] == ""
