"""The settings pages on a phone (390 px) and the charts in the company's currency (issue 12,
items 2 and 16): an administrator switches the company to US dollars on the phone, and the
home page's cards and chart axes show US$ / $ from then on."""

from __future__ import annotations

import pytest
from django.utils import timezone

from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def sales(company):
    from salestarget.actuals.services import do_import_fact_rows

    day = timezone.localdate().replace(day=1).isoformat()
    rows = [{"external_id": "S1", "date": day, "amount": "35000000", "person": company.rep_sh1.code}]
    assert do_import_fact_rows(company.admin, "order", rows, source="erp").ok
    return company


def fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_admin_switches_the_currency_on_a_phone(page_for, live_server, sales):
    page = page_for("admin", sales.password, phone=True)
    page.goto(f"{live_server.url}/settings/company/")
    fits(page)
    page.select_option("select[name=currency]", "USD")
    page.click("main button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.locator(".alert-success").is_visible()
    fits(page)
    screenshot(page, "settings-company-390")
    page.goto(f"{live_server.url}/")
    page.wait_for_selector("[data-echarts=chart-monthly]")
    assert page.evaluate("window.stFormat.cny(3500000000)") == "US$3500万"
    axis = page.evaluate(
        """() => echarts.getInstanceByDom(document.querySelector('[data-echarts=chart-monthly]'))
            .getOption().yAxis[0].axisLabel.formatter(350000000000)"""
    )
    assert axis == "US$35亿"
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
    page.goto(f"{live_server.url}/")
    page.wait_for_selector("[data-echarts=chart-monthly]")
    assert page.evaluate("window.stFormat.cny(350000000000)") == "$3.5B"
    assert page.evaluate("window.stFormat.cny(-3500000)") == "-$35K"


def test_a_metric_edited_on_a_phone(page_for, live_server, company):
    page = page_for("admin", company.password, phone=True)
    page.goto(f"{live_server.url}/settings/metrics/")
    fits(page)
    page.click("a[href='/settings/metrics/visits/']")
    page.wait_for_load_state("networkidle")
    fits(page)
    page.select_option("select[name=credit_rule]", "territory")
    page.click("main button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.locator(".alert-success").is_visible()
    assert page.get_by_test_id("change").count() == 1
    fits(page)
    screenshot(page, "settings-metric-390")
    from salestarget.metrics.models import Metric

    assert Metric.objects.get(code="visits").credit_rule == "territory"
