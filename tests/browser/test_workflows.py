"""The work people come for, in a real browser: a sales-ops person imports the real export
through the column-mapping wizard, a rep files the daily report on a phone, a team lead asks
for a recommended target, an admin looks at what a people import changed."""

from __future__ import annotations

import csv
import datetime as dt

import pytest

from tests.actuals.conftest import superstore_csv, write_csv
from tests.browser.conftest import screenshot
from tests.targets.conftest import add_one_off_deal, write_history

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_superstore_export_through_the_import_wizard(page_for, company, live_server, job_worker):
    from salestarget.actuals.models import Fact

    path = superstore_csv()
    if path is None:
        pytest.skip("../shared/data/superstore is not here")
    page = page_for("admin", company.password)
    page.goto(f"{live_server.url}/actuals/import/")
    page.select_option("select[name=kind]", "order")
    page.set_input_files("input[name=file]", str(path))
    page.click("button:has-text('下一步')")
    page.wait_for_selector("select[name=map_external_id]")
    # Guessed from the English headers; the id column is the user's choice.
    assert page.input_value("select[name=map_date]") == "Order Date"
    assert page.input_value("select[name=map_amount]") == "Sales"
    page.select_option("select[name=map_external_id]", "Row ID")
    page.check("input[name=create_missing]")
    page.click("button[value=preview]")
    page.wait_for_selector(".alert-success")
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = sum(1 for _ in csv.reader(f)) - 1
    summary = page.locator(".alert-success").inner_text()
    assert f"读取 {rows} 行" in summary and "产品 " in summary and "客户 " in summary, summary
    screenshot(page, "import-preview")
    page.click("button[value=confirm]")
    page.wait_for_url("**/actuals/batches/*/")
    assert Fact.objects.filter(source="file").count() == rows
    screenshot(page, "import-batch")


def test_a_rep_files_the_daily_report_on_a_phone(page_for, company, live_server):
    from salestarget.actuals.models import Fact

    page = page_for("rep_sh1", company.password, phone=True)
    page.goto(f"{live_server.url}/actuals/daily/")
    page.fill("input[name=order-0-customer]", "新客户甲")
    page.fill("input[name=order-0-amount]", "1200.50")
    page.fill("input[name=visit-0-customer]", "老客户乙")
    # Nothing may stick out sideways on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "daily-report-phone")
    page.click("button:has-text('提交日报')")
    page.wait_for_load_state("networkidle")
    screenshot(page, "daily-report-phone-sent")
    facts = Fact.objects.filter(source="daily", person=company.rep_sh1)
    assert sorted(facts.values_list("kind", flat=True)) == ["order", "visit"]
    assert facts.get(kind="order").amount == 120050


def test_a_team_lead_gets_a_recommended_target_with_charts(page_for, company, live_server):
    history = write_history(company)
    deal_month = add_one_off_deal(history.rep_sh1, history.sh, 60_000_000)
    page = page_for("lead_sh", history.password)
    page.goto(f"{live_server.url}/targets/recommend/")
    page.wait_for_selector("[data-echarts] canvas")
    assert page.get_by_test_id("recommended").inner_text().strip()
    assert f"{deal_month.year}年{deal_month.month}月" in page.locator("main").inner_text()
    assert "深圳组" not in page.locator("main").inner_text()
    screenshot(page, "recommend-manager")


def test_an_admin_sees_and_undoes_a_people_import(page_for, company, live_server, tmp_path):
    from salestarget.actuals.services import do_import_master
    from salestarget.org.models import Person

    path = write_csv(
        tmp_path / "people.csv",
        [["工号", "姓名", "部门", "生效日期"], [company.rep_sh1.code, "陈一（新）", "SZ", "2024-07-01"]],
    )
    batch = do_import_master(company.admin, path, "people").batch_id
    page = page_for("admin", company.password)
    page.goto(f"{live_server.url}/actuals/batches/{batch}/")
    changes = page.get_by_test_id("master-changes").inner_text()
    assert "陈一（新）" in changes and "SZ" in changes
    screenshot(page, "master-batch")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button:has-text('回滚该批次')")
    page.wait_for_selector(".alert-success")
    assert Person.objects.get(pk=company.rep_sh1.pk).name == company.rep_sh1.name
    assert company.rep_sh1.unit_on(dt.date(2024, 8, 1)) == company.sh


def test_a_director_replays_last_year(page_for, company, live_server):
    write_history(company)
    page = page_for("admin", company.password)
    page.goto(f"{live_server.url}/targets/recommend/backtest/")
    calibration = page.get_by_test_id("calibration").inner_text()
    assert "80%" in calibration
    body = page.locator("main").inner_text()
    assert "陈一" in body and "黄深" in body
    # The sentence now also compares the year's totals (issue 17).
    assert "去年同期各月之和偏差" in page.get_by_test_id("accuracy-sentence").inner_text()
    screenshot(page, "backtest-admin")
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # The technical details, with the total's error beside the monthly ones, fit a phone too.
    page.get_by_test_id("technical-details").locator("summary").click()
    assert page.get_by_test_id("total-mae-forecast").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "backtest-admin-390")
