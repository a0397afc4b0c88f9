"""Issue 12 in a browser, zh and en at 1440 and 390 px: the credited monthly summary (item 2)
keeps its names on screen and scrolls its months sideways on a phone; the facts list names
opportunity stages in the user's language (item 8); the facts list and a lead's tabs fit a phone
in English too (item 10)."""

from __future__ import annotations

import pytest

from tests.browser.conftest import screenshot
from tests.browser.test_issue12 import SIZES, fits, in_language

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def credited(company):
    from salestarget.actuals.services import do_import_fact_rows
    from salestarget.metrics.models import Metric
    from salestarget.org.models import TerritoryAssignment

    TerritoryAssignment.objects.create(
        person=company.rep_sh1, region=company.shanghai, valid_from="2024-01-01"
    )
    TerritoryAssignment.objects.create(person=company.lead_sh, region=company.china, valid_from="2024-01-01")
    orders = [
        {
            "external_id": f"O{n}",
            "date": f"2024-{n % 12 + 1:02d}-15",
            "amount": f"{12345.67 * (n + 1):.2f}",
            "person": company.rep_sh2.code,
            "region": company.shanghai.code if n % 3 else company.guangdong.code,
        }
        for n in range(24)
    ]
    assert do_import_fact_rows(company.admin, "order", orders, source="erp").ok
    stages = [
        {
            "external_id": f"S{n}",
            "date": "2024-03-02",
            "amount": "1000",
            "person": company.rep_sh1.code,
            "stage": s,
        }
        for n, s in enumerate(["lead", "qualified", "proposal", "won"])
    ]
    assert do_import_fact_rows(company.admin, "opportunity", stages, source="crm").ok
    Metric.objects.filter(code="sales").update(credit_rule=Metric.Credit.TERRITORY)
    return company


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("size", SIZES)
def test_the_credited_summary(page_for, live_server, credited, size, language):
    page = page_for("admin", credited.password, phone=size == "phone")
    page.set_viewport_size(SIZES[size])
    in_language(page, live_server, language)
    page.goto(f"{live_server.url}/actuals/summary/?start=2024-01-01&end=2024-12-31")
    table = page.get_by_test_id("summary-table")
    assert table.is_visible()
    # The lead holds every territory: credited with all 24 orders though on none of them.
    assert credited.lead_sh.name in table.inner_text()
    assert fits(page, SIZES[size]["width"]), "the page itself must not scroll sideways"
    first = page.locator("[data-testid=summary-table] tbody td").first.bounding_box()
    assert first["x"] >= 0 and first["x"] + first["width"] <= SIZES[size]["width"]
    screenshot(page, f"issue12-summary-{size}-{language}")
    page.goto(f"{live_server.url}/actuals/summary/?start=2024-01-01&end=2024-12-31&by=unit")
    assert credited.sh.name in page.get_by_test_id("summary-table").inner_text()
    screenshot(page, f"issue12-summary-units-{size}-{language}")


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("size", SIZES)
def test_stages_in_the_facts_list(page_for, live_server, credited, size, language):
    page = page_for("admin", credited.password, phone=size == "phone")
    page.set_viewport_size(SIZES[size])
    in_language(page, live_server, language)
    page.goto(f"{live_server.url}/actuals/?kind=opportunity")
    text = page.locator("main").inner_text()
    words = ["线索", "已确认", "方案"] if language == "zh" else ["Lead", "Qualified", "Proposal"]
    if size == "desktop":  # the stage column is for wide screens
        for word in words:
            assert word in text
        if language == "zh":
            assert "qualified" not in text and "proposal" not in text
    assert fits(page, SIZES[size]["width"])
    screenshot(page, f"issue12-stages-{size}-{language}")


@pytest.mark.parametrize("size", SIZES)
def test_a_leads_tabs_and_amounts_in_english(page_for, live_server, credited, size):
    page = page_for("lead_sh", credited.password, phone=size == "phone")
    page.set_viewport_size(SIZES[size])
    in_language(page, live_server, "en")
    page.goto(f"{live_server.url}/actuals/")
    assert fits(page, SIZES[size]["width"])
    tab = page.get_by_role("link", name="Team reports")
    box = tab.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= SIZES[size]["width"]
    amounts = page.get_by_test_id("fact-amount")
    assert amounts.count() > 0 and amounts.first.is_visible()
    screenshot(page, f"issue12-phones-lead-{size}-en")
