"""Admin, manager and rep sign in; each sees only what they may, in Chinese."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def sales(company):
    """Orders this year for a rep in 上海组 and one in 深圳组, rolled up."""
    from salestarget.actuals import rollups
    from salestarget.actuals.models import Fact, ImportBatch

    batch = ImportBatch.objects.create(kind="order", source="test", status=ImportBatch.Status.APPLIED)
    day = dt.date.today() - dt.timedelta(days=1)  # the home page counts up to yesterday
    rows = [
        (company.rep_sh1, company.sh, company.shanghai, 12_345_600),
        (company.rep_sz, company.sz, company.guangdong, 8_800_000),
    ]
    for i, (person, unit, region, amount) in enumerate(rows):
        Fact.objects.create(
            kind="order",
            date=day,
            amount=amount,
            person=person,
            unit=unit,
            region=region,
            source="test",
            external_id=str(i),
            batch=batch,
        )
    rollups.add_batch(batch.pk)
    return company


def test_admin_sees_the_whole_company(page_for, sales):
    page = page_for("admin", sales.password)
    assert page.locator("h1").first.inner_text().startswith("全公司")
    assert "首页" in page.locator("nav").inner_text()
    assert page.get_by_test_id("sales-ytd").inner_text() == "21.15万"
    page.wait_for_selector("[data-echarts] canvas")
    screenshot(page, "home-admin")
    page.click("text=组织")
    body = page.locator("main").inner_text()
    assert "上海组" in body and "深圳组" in body
    screenshot(page, "org-admin")


def test_manager_sees_only_their_subtree(page_for, sales):
    page = page_for("lead_sh", sales.password)
    assert "上海组" in page.locator("h1").first.inner_text()
    assert page.get_by_test_id("sales-ytd").inner_text() == "12.35万"
    screenshot(page, "home-manager")
    page.click("text=组织")
    body = page.locator("main").inner_text()
    assert "陈一" in body and "陈二" in body
    assert "深圳组" not in body and "黄深" not in body
    screenshot(page, "org-manager")


def test_rep_sees_only_their_own_data_on_a_phone(page_for, sales):
    page = page_for("rep_sz", sales.password, phone=True)
    assert "黄深" in page.locator("h1").first.inner_text()
    assert page.get_by_test_id("sales-ytd").inner_text() == "8.8万"
    screenshot(page, "home-rep-phone")
    response = page.goto(page.url.rstrip("/") + f"/org/people/{sales.rep_sh1.pk}/")
    assert response.status == 404 and "页面不存在" in page.title()


def test_login_page_is_chinese(browser, live_server):
    ctx = browser.new_context(locale="zh-CN", extra_http_headers={"Accept-Language": "zh-CN"})
    page = ctx.new_page()
    page.goto(f"{live_server.url}/")
    assert "登录" in page.content()
    screenshot(page, "login")
    ctx.close()


def test_the_admin_gives_a_viewer_role_on_the_users_page(page_for, company):
    from salestarget.org.models import RoleAssignment

    page = page_for("admin", company.password)
    page.set_viewport_size({"width": 1440, "height": 900})
    page.click("text=用户与角色")
    page.wait_for_load_state("networkidle")
    assert "lead_sh" in page.locator("main").inner_text()
    screenshot(page, "users-admin")
    page.click("main >> text=rep_hz")
    page.check("input[name=viewer]")
    page.select_option("select[name=viewer_unit]", label="华东")
    page.click("main form button:has-text('保存')")
    page.wait_for_load_state("networkidle")
    assert "只读查看 · 华东" in page.locator("main").inner_text()
    assert RoleAssignment.objects.get(user__username="rep_hz").unit == company.east
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "user-roles-phone")
