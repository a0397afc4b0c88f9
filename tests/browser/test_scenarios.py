"""Issue 13 in a browser, scenarios (方案模拟): a director copies the plan's baseline, changes the
copy, compares the two side by side (table, bars per unit, months), drills into a region and
promotes the copy; at 1440 and 390 px."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from salestarget.engine.calendar import add_months
from salestarget.metrics.models import Metric
from salestarget.metrics.selectors import fiscal_calendar
from salestarget.targets.models import Scenario, TargetCell
from salestarget.targets.services import do_create_plan
from tests.browser.conftest import screenshot
from tests.browser.test_issue12 import SIZES, fits

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

YUAN = 100
# A decomposed baseline in yuan: the company, its regions and teams, and the people in them.
UNITS = {"hq": 300_000_000, "east": 180_000_000, "south": 120_000_000, "sh": 110_000_000, "hz": 70_000_000,
         "sz": 120_000_000}  # fmt: skip
PEOPLE = {"rep_sh1": 50_000_000, "rep_sh2": 40_000_000, "lead_sh": 20_000_000, "rep_hz": 70_000_000,
          "lead_sz": 30_000_000, "rep_sz": 90_000_000}  # fmt: skip
SEASON = [5, 6, 8, 8, 9, 9, 8, 8, 9, 9, 10, 11]  # percent of the year per month: 100 in all


def baseline(company):
    period = fiscal_calendar().year(timezone.localdate().year + 1)
    plan = do_create_plan(
        company.admin, metric=Metric.objects.get(code="sales"), period=period, floor_factor=Decimal("0.9")
    )
    scenario = plan.scenarios.get(is_primary=True)
    cells = []
    for name, yuan in UNITS.items():
        unit = getattr(company, name)
        key = {"scenario": scenario, "unit": unit}
        cells.append(
            TargetCell(**key, period_kind="year", period_start=plan.period_start, target=yuan * YUAN)
        )
        for m, pct in enumerate(SEASON):
            start = add_months(plan.period_start, m)
            cells.append(
                TargetCell(**key, period_kind="month", period_start=start, target=yuan * YUAN * pct // 100)
            )
    for name, yuan in PEOPLE.items():
        person = getattr(company, name)
        cells.append(
            TargetCell(
                scenario=scenario,
                person=person,
                unit=person.memberships.get().unit,
                period_kind="year",
                period_start=plan.period_start,
                target=yuan * YUAN,
            )
        )
    TargetCell.objects.bulk_create(cells)
    return plan


@pytest.mark.parametrize("size", SIZES)
def test_a_director_copies_compares_and_promotes_a_scenario(page_for, live_server, company, size):
    plan = baseline(company)
    page = page_for("vp", company.password, phone=size == "phone")
    page.set_viewport_size(SIZES[size])
    page.goto(f"{live_server.url}/targets/plans/{plan.pk}/")
    page.get_by_test_id("plan-scenarios").click()
    page.wait_for_load_state("networkidle")
    base = plan.scenarios.get(is_primary=True)
    page.get_by_test_id(f"scenario-{base.pk}").get_by_test_id("copy").locator("button").click()
    page.wait_for_load_state("networkidle")
    copy = Scenario.objects.get(plan=plan, is_primary=False)
    assert page.get_by_test_id(f"scenario-{copy.pk}").is_visible()
    assert page.locator(".alert-success").count() == 1
    # The copy shifts 2,000万 from 华南 to 华东 and lifts the company total by as much.
    for unit, change in ((company.east, 30_000_000), (company.south, -10_000_000), (company.hq, 20_000_000)):
        cell = TargetCell.objects.get(scenario=copy, unit=unit, person=None, period_kind="year")
        cell.target += change * YUAN
        cell.save()
    TargetCell.objects.filter(scenario=copy, unit=company.hq, period_kind="month", period_start__gte=add_months(
        plan.period_start, 9)).update(target=30_000_000 * YUAN)  # fmt: skip
    row = page.get_by_test_id(f"scenario-{copy.pk}")
    row.get_by_test_id("rename-toggle").click()
    row.get_by_test_id("rename").locator("[name=name]").fill("冲刺方案")
    row.get_by_test_id("rename").locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    assert (
        page.get_by_test_id(f"scenario-{copy.pk}").get_by_test_id("scenario-name").inner_text() == "冲刺方案"
    )
    assert fits(page, SIZES[size]["width"])
    screenshot(page, f"issue13-scenarios-{size}")

    page.get_by_test_id("compare-chosen").click()
    page.wait_for_load_state("networkidle")
    assert "/compare/" in page.url
    table = page.get_by_test_id("compare-table")
    assert table.get_by_test_id("compare-total").inner_text().split() == [
        company.hq.name, "3亿", "3.2亿", "+2,000万", "(+6.7%)"
    ]  # fmt: skip
    assert page.get_by_test_id("chart-bars").locator("canvas").count() == 1
    assert page.get_by_test_id("chart-months").locator("canvas").count() == 1
    assert page.get_by_test_id("chart-bars").bounding_box()["height"] > 200
    assert fits(page, SIZES[size]["width"])
    screenshot(page, f"issue13-compare-{size}")

    # A click on 华南's bar drills into 华南; the trail leads back, and the table's link into 华东.
    bars = page.get_by_test_id("chart-bars")
    bars.scroll_into_view_if_needed()
    box = bars.bounding_box()
    bar = page.evaluate(
        """(el) => echarts.getInstanceByDom(el).getModel().getSeriesByIndex(0).getData().getItemLayout(1)""",
        bars.element_handle(),
    )
    page.mouse.click(box["x"] + bar["x"] + bar["width"] / 2, box["y"] + bar["y"] + bar["height"] / 2)
    page.wait_for_url(f"**unit={company.south.pk}")
    page.wait_for_load_state("networkidle")
    assert page.get_by_test_id(f"compare-row-unit-{company.sz.pk}").is_visible()
    page.get_by_test_id("trail").get_by_role("link", name=company.hq.name).click()
    page.wait_for_load_state("networkidle")
    page.get_by_test_id("compare-table").get_by_role("link", name="华东").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_test_id(f"compare-row-unit-{company.sh.pk}").is_visible()
    assert page.get_by_test_id("trail").get_by_role("link", name=company.hq.name).is_visible()
    screenshot(page, f"issue13-compare-east-{size}")

    page.goto(f"{live_server.url}/targets/plans/{plan.pk}/scenarios/")
    page.get_by_test_id(f"scenario-{copy.pk}").get_by_test_id("promote").locator("button").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_test_id(f"scenario-{copy.pk}").get_by_test_id("primary-badge").is_visible()
    assert page.get_by_test_id(f"scenario-{base.pk}").get_by_test_id("primary-badge").count() == 0
    assert list(plan.scenarios.filter(is_primary=True)) == [copy]
    page.goto(f"{live_server.url}/targets/plans/{plan.pk}/")
    assert page.get_by_test_id("plan-total").inner_text().split()[1] == "3.2亿"
