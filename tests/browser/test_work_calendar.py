"""The working calendar page on a phone (390 px, issue 13): an administrator starts 2026 from
the built-in days, adds a company day off and saves; the estimated 2027 says so."""

from __future__ import annotations

import pytest

from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_the_calendar_on_a_phone(page_for, live_server, company):
    page = page_for("admin", company.password, phone=True)
    page.goto(f"{live_server.url}/settings/calendar/?year=2027")
    assert page.get_by_test_id("calendar-estimated").is_visible()
    fits(page)
    screenshot(page, "settings-calendar-2027-390")
    page.goto(f"{live_server.url}/settings/calendar/?year=2026")
    page.get_by_test_id("copy-library").click()
    page.wait_for_load_state("networkidle")
    text = page.input_value("textarea[name=days]")
    assert "2026-02-14,workday" in text
    page.fill("textarea[name=days]", text + "\n2026-12-31,company_off,年终盘点")
    page.click("main button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.locator(".alert-success").is_visible()
    assert "年终盘点" in page.get_by_test_id("days-off").inner_text()
    fits(page)
    screenshot(page, "settings-calendar-2026-390")
