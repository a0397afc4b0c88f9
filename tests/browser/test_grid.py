"""Issue 13, the target grid in a browser: a director types a value and sees the children's total
and the mismatch with the parent change, undoes it, locks a cell, pastes a block copied from
Excel, and meets a conflict with a colleague's edit without losing what they typed; 1440 and
390 px."""

from __future__ import annotations

import datetime as dt

import pytest

from salestarget.metrics.models import Metric
from salestarget.metrics.selectors import fiscal_calendar
from salestarget.targets.grid import CellChange, do_save_cells
from salestarget.targets.models import TargetCell
from salestarget.targets.services import do_create_plan
from tests.browser.conftest import screenshot
from tests.browser.test_issue12 import SIZES, fits

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MONTHS = [dt.date(2027, m, 1) for m in range(1, 13)]


@pytest.fixture
def plan(company):
    plan = do_create_plan(
        company.admin, metric=Metric.objects.get(code="sales"), period=fiscal_calendar().year(2027)
    )
    scenario = plan.scenarios.get(is_primary=True)
    for unit, yuan in ((company.east, 300), (company.sh, 100), (company.hz, 200)):
        TargetCell.objects.create(
            scenario=scenario, unit=unit, period_kind="year", period_start=MONTHS[0], target=yuan * 12 * 100
        )
        for month in MONTHS:
            TargetCell.objects.create(
                scenario=scenario, unit=unit, period_kind="month", period_start=month, target=yuan * 100
            )
    return plan


def target(unit, month: int) -> TargetCell:
    return TargetCell.objects.get(unit=unit, period_kind="month", period_start=MONTHS[month - 1])


def cell(page, name: str, field: str):
    return page.locator(
        f'#st-grid .tabulator-row:has-text("{name}") .tabulator-cell[tabulator-field="{field}"]'
    )


def total(page, field: str):
    return page.locator(f'#st-grid .tabulator-calcs-bottom .tabulator-cell[tabulator-field="{field}"]')


def settled(page) -> None:
    page.wait_for_function("window.stGrid && window.stGrid.pendingCount() === 0")
    page.evaluate("window.stGrid.saving()")
    page.wait_for_timeout(400)
    page.evaluate("window.stGrid.saving()")


def type_into(page, name: str, field: str, text: str) -> None:
    cell(page, name, field).click()
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def paste(page, text: str) -> None:
    page.evaluate(
        """(text) => {
            const data = new DataTransfer();
            data.setData("text/plain", text);
            const target = document.querySelector("#st-grid .tabulator-tableholder") || document.querySelector("#st-grid");
            const event = new ClipboardEvent("paste", {clipboardData: data, bubbles: true, cancelable: true});
            target.dispatchEvent(event);
        }""",
        text,
    )


@pytest.mark.parametrize("size", SIZES)
def test_a_director_edits_the_grid(page_for, live_server, company, plan, size):
    page = page_for("director_east", company.password, phone=size == "phone")
    page.set_viewport_size(SIZES[size])
    page.goto(f"{live_server.url}/targets/plans/{plan.pk}/")
    page.get_by_test_id("plan-grid").click()
    page.wait_for_load_state("networkidle")
    assert f"unit={company.east.pk}" in page.url or page.locator("h1").inner_text().find("华东") >= 0
    assert total(page, "m01").inner_text().strip() == "300"
    assert "st-mismatch" not in (cell(page, "华东", "m01").get_attribute("class") or "")

    # Type a value: the children's total and the parent's mismatch follow at once; it is saved.
    type_into(page, "上海组", "m01", "150.5")
    assert total(page, "m01").inner_text().strip() == "350.50"
    assert "st-mismatch" in cell(page, "华东", "m01").get_attribute("class")
    settled(page)
    assert target(company.sh, 1).target == 150_50 and target(company.sh, 1).source == "manual"
    if size == "desktop":
        screenshot(page, "issue13-grid-typed-desktop")

    # Undo puts the old value back, and saves that too.
    cell(page, "杭州组", "m02").click()
    page.keyboard.press("Control+z")
    settled(page)
    assert target(company.sh, 1).target == 100_00
    assert total(page, "m01").inner_text().strip() == "300"

    # Lock a cell with Ctrl+L: it shows as locked and cannot be typed into.
    cell(page, "杭州组", "m02").click()
    page.keyboard.press("Control+l")
    settled(page)
    assert target(company.hz, 2).locked
    page.wait_for_function(
        """() => document.querySelector('#st-grid .tabulator-row .tabulator-cell[tabulator-field="m02"].st-locked')"""
    )

    # Paste a 2 x 2 block copied from Excel (tab-separated, thousands separators).
    # Rows run by code: 杭州组 (HZ) above 上海组 (SH).
    cell(page, "杭州组", "m04").click()
    paste(page, "1,000\t2000.25\r\n3000\t4000\r\n")
    settled(page)
    assert [target(company.hz, 4).target, target(company.hz, 5).target] == [1000_00, 2000_25]
    assert [target(company.sh, 4).target, target(company.sh, 5).target] == [3000_00, 4000_00]

    # A colleague saves the same cell meanwhile: this page gets a clear conflict, keeps what was
    # typed, and the colleague's value stands until the user saves theirs again.
    theirs = target(company.sh, 6)
    do_save_cells(
        company.lead_sh.user,
        plan.scenarios.get(),
        [CellChange(id=theirs.pk, version=theirs.version, field="target", value=777_00)],
    )
    type_into(page, "上海组", "m06", "888")
    page.get_by_test_id("grid-conflict").wait_for(state="visible")
    message = page.get_by_test_id("grid-conflict").inner_text()
    assert "777" in message and "888" in message
    assert cell(page, "上海组", "m06").inner_text().strip() == "888"
    assert "st-conflict" in cell(page, "上海组", "m06").get_attribute("class")
    assert target(company.sh, 6).target == 777_00
    assert fits(page, SIZES[size]["width"])
    screenshot(page, f"issue13-grid-conflict-{size}")
    page.locator("#grid-keep-mine").click()
    settled(page)
    assert target(company.sh, 6).target == 888_00


def test_a_plan_in_force_is_never_saved_from_the_grid_and_a_reps_grid_is_read_only(
    page_for, live_server, company, plan
):
    from salestarget.targets.models import Plan

    Plan.objects.filter(pk=plan.pk).update(status=Plan.Status.APPROVED)
    page = page_for("director_east", company.password)
    page.goto(f"{live_server.url}/targets/plans/{plan.pk}/grid/?unit={company.sh.pk}")
    assert page.get_by_test_id("grid-read-only").is_visible()
    type_into(page, "上海组", "m01", "5")
    page.wait_for_timeout(500)
    assert target(company.sh, 1).target == 100_00
    # Published: what is typed waits to be sent as a change request; nothing is saved.
    Plan.objects.filter(pk=plan.pk).update(status=Plan.Status.PUBLISHED)
    page.goto(f"{live_server.url}/targets/plans/{plan.pk}/grid/?unit={company.sh.pk}")
    assert page.get_by_test_id("grid-request-mode").is_visible()
    type_into(page, "上海组", "m01", "5")
    page.get_by_test_id("grid-request").wait_for(state="visible")
    page.wait_for_timeout(500)
    assert target(company.sh, 1).target == 100_00

    Plan.objects.filter(pk=plan.pk).update(status=Plan.Status.DRAFT)
    rep = page_for("rep_sh1", company.password, phone=True)
    rep.goto(f"{live_server.url}/targets/plans/{plan.pk}/grid/")
    rows = rep.locator("#st-grid .tabulator-row").all_inner_texts()
    assert any("陈一" in r for r in rows) and not any("陈二" in r for r in rows)
    assert fits(rep, 390)
