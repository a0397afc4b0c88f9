"""The home page's charts as people see them (issue 12, items 9 and 11): the region ring's
shares read "华东 33.4%", one decimal each, adding up to 100.0%, nothing cut off or overlapping
at 1440 px or on a 390 px phone, a region of net refunds named under the ring, not in it; in English the axes speak as the cards do ("35M", not
"35,000,000")."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from tests.browser.conftest import screenshot
from tests.factories import RegionFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RING = "[data-echarts=chart-regions]"


@pytest.fixture
def three_regions(company):
    from salestarget.actuals.services import do_import_fact_rows

    day = timezone.localdate().replace(day=1).isoformat()
    rows = []
    for n, (code, name) in enumerate(
        [("EC", "华东及长三角地区"), ("SC", "华南及港澳地区"), ("NC", "华北地区")]
    ):
        RegionFactory(code=code, name=name)
        rows.append({"external_id": f"R{n}", "date": day, "amount": "1000000", "region": code})
    # A region whose refunds outweigh its sales: no slice, named under the ring instead.
    RegionFactory(code="NW", name="西北地区")
    rows.append({"external_id": "R3", "date": day, "amount": "-2500", "region": "NW"})
    assert do_import_fact_rows(company.admin, "order", rows, source="erp").ok
    return company


def _english(page, live_server):
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
    page.goto(f"{live_server.url}/")
    page.wait_for_selector(RING)


def _ring_labels(page) -> list[str]:
    return page.evaluate(
        f"""() => {{
        const chart = echarts.getInstanceByDom(document.querySelector('{RING}'));
        const option = chart.getOption();
        return option.series[0].data.map((d) => option.legend[0].formatter(d.name));
    }}"""
    )


@pytest.mark.parametrize("phone", [False, True], ids=["1440", "390"])
@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_region_ring_and_the_axes(page_for, three_regions, live_server, phone, language):
    page = page_for("admin", three_regions.password, phone=phone)
    if phone:
        page.set_viewport_size({"width": 390, "height": 844})
    else:
        page.set_viewport_size({"width": 1440, "height": 900})
    if language == "en":
        _english(page, live_server)
    page.wait_for_selector(RING)
    labels = _ring_labels(page)
    assert sorted(labels) == sorted(["华东及长三角地区 33.4%", "华南及港澳地区 33.3%", "华北地区 33.3%"]), (
        labels
    )
    assert sum(Decimal(label.rsplit(" ", 1)[1].rstrip("%")) for label in labels) == Decimal("100.0")
    refunds = page.get_by_test_id("net-refunds").inner_text()
    named = "退款多于销售（未计入环形图）：西北地区 -2,500" if language == "zh" else "西北地区 -¥2,500"
    assert named in refunds, refunds
    fen = 3_500_000_000
    # Renminbi: no symbol in Chinese (as always), ¥ in English (issue 12, item 16).
    expected = "3500万" if language == "zh" else "¥35M"
    assert page.evaluate(f"window.stFormat.cny({fen})") == expected
    # The axis of the monthly chart uses the same words as the cards above it.
    axis = page.evaluate(
        """() => echarts.getInstanceByDom(document.querySelector('[data-echarts=chart-monthly]'))
            .getOption().yAxis[0].axisLabel.formatter(3500000000)"""
    )
    assert axis == expected
    if phone:
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.locator(RING).scroll_into_view_if_needed()
    screenshot(page, f"home-charts-{language}-{'390' if phone else '1440'}")
