"""QA's defects in a browser: on the recommendation page, the chance chart's mark lines
"推荐" and "<year> + 10%" close together print their labels apart, at 1440 and 390 px."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from tests.browser.conftest import screenshot
from tests.browser.test_issue12 import SIZES, fits
from tests.targets.conftest import write_history

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The rectangles (canvas pixels) of the texts named, as ECharts drew them (rotation included).
LABELS = """([el, names]) => {
  const chart = echarts.getInstanceByDom(el);
  const boxes = [];
  for (const item of chart.getZr().storage.getDisplayList()) {
    const text = item.style && item.style.text;
    if (!names.includes(text)) continue;
    const box = item.getBoundingRect().clone();
    item.updateTransform();
    if (item.transform) box.applyTransform(item.transform);
    boxes.push({text, x: box.x, y: box.y, width: box.width, height: box.height});
  }
  return boxes;
}"""


def overlap(a: dict, b: dict) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


@pytest.mark.parametrize("size", SIZES)
def test_close_mark_lines_print_their_labels_apart(page_for, live_server, company, size):
    from salestarget.metrics.selectors import fiscal_calendar
    from salestarget.org.models import OrgUnit
    from salestarget.targets.forms import RecommendForm
    from salestarget.targets.scope import TargetScope, resolve_period
    from salestarget.targets.stored import recommend
    from tests.targets.conftest import user

    write_history(company)
    admin = user("admin")
    period = resolve_period(fiscal_calendar())
    rec = recommend(admin, TargetScope(unit=OrgUnit.objects.get(code="HQ")), period, 0.8)
    # A growth adjustment that brings the recommendation next to last year + 10%, as on the demo.
    growth = round((rec.rule_of_thumb / rec.recommended - 1) * 100 + 0.1, 1)
    query = {**RecommendForm.defaults(), "growth_pct": growth}
    page = page_for("admin", company.password, phone=size == "phone")
    page.set_viewport_size(SIZES[size])
    page.goto(f"{live_server.url}/targets/recommend/?{urlencode(query)}", timeout=120_000)
    chart = page.locator("[data-echarts=chart-probability]")
    chart.scroll_into_view_if_needed()
    page.wait_for_selector("[data-echarts=chart-probability] canvas")
    page.wait_for_timeout(500)  # the chart's first animation
    names = ["推荐", rec.rule_of_thumb_label]
    boxes = chart.evaluate(f"el => ({LABELS})([el, {json.dumps(names)}])")
    assert sorted(b["text"] for b in boxes) == sorted(names), boxes
    assert not overlap(*boxes), boxes
    assert fits(page, SIZES[size]["width"])
    screenshot(page, f"recommend-marks-{size}-page")
    chart.screenshot(path=str(screenshot(page, f"recommend-marks-{size}")))


@pytest.mark.parametrize("size", SIZES)
def test_a_region_manager_on_a_plan_created_published(page_for, live_server, company, size):
    """The demo's plan as 华东's manager: the company total without a chance computed from 华东
    alone (a line says why), a history that does not claim "nothing submitted yet", no empty
    "设定方式:", and no "上一级" above 华东 on the commitments page."""
    from tests.targets.test_plan_page_defects import demo_plan

    write_history(company)
    plan = demo_plan(company)
    page = page_for("director_east", company.password, phone=size == "phone")
    page.set_viewport_size(SIZES[size])
    page.goto(f"{live_server.url}/targets/plans/{plan.pk}/")
    assert page.get_by_test_id("plan-total").is_visible()
    assert page.get_by_test_id("plan-chance").count() == 0
    assert page.get_by_test_id("plan-chance-hidden").is_visible()
    assert page.get_by_test_id("plan-history-unrecorded").is_visible()
    text = page.locator("main").inner_text()
    assert "尚未提交" not in text and "设定方式" not in text
    assert fits(page, SIZES[size]["width"])
    screenshot(page, f"plan-created-published-director-{size}")
    page.goto(f"{live_server.url}/targets/plans/{plan.pk}/commitments/")
    assert "上一级" not in page.locator("nav[aria-label]").last.inner_text()
    assert page.locator(f"a[href='?unit={company.hq.pk}']").count() == 0
