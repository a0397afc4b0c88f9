"""Issue 12 in a browser: the 404 a rep gets for another's batch is the app's page at phone and
desktop widths; the batch page and org page as an admin sees them."""

from __future__ import annotations

import pytest

from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"desktop": {"width": 1440, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture
def lead_batch(company):
    from salestarget.actuals.models import ImportBatch
    from salestarget.actuals.services import do_import_fact_rows

    rows = [
        {"external_id": "V1", "date": "2024-03-01", "amount": "1234567.89", "person": company.rep_sh2.code}
    ]
    result = do_import_fact_rows(company.lead_sh.user, "order", rows, source="lead-sheet")
    return ImportBatch.objects.get(pk=result.batch_id)


def fits(page, width: int) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= width


def in_language(page, live_server, language: str) -> None:
    if language == "en":
        page.context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("size", SIZES)
def test_a_rep_on_anothers_batch_gets_the_apps_404(
    page_for, live_server, company, lead_batch, size, language, settings
):
    settings.DEBUG = False
    page = page_for("rep_sz", company.password, phone=size == "phone")
    page.set_viewport_size(SIZES[size])
    in_language(page, live_server, language)
    response = page.goto(f"{live_server.url}/actuals/batches/{lead_batch.pk}/")
    assert response.status == 404
    assert ("页面不存在" if language == "zh" else "Page not found") in page.title()
    assert page.locator(".st-navbar").count() == 1
    assert page.locator("[data-testid=error-page] a[href='/']").is_visible()
    assert fits(page, SIZES[size]["width"])
    screenshot(page, f"issue12-404-{size}-{language}")


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("size", SIZES)
def test_the_batch_and_org_pages(page_for, live_server, company, lead_batch, size, language):
    page = page_for("admin", company.password, phone=size == "phone")
    page.set_viewport_size(SIZES[size])
    in_language(page, live_server, language)
    page.goto(f"{live_server.url}/actuals/batches/{lead_batch.pk}/")
    total = page.locator("[data-testid=batch-total-order]").inner_text().strip()
    # Renminbi: no symbol in Chinese, ¥ in English (issue 12, item 16).
    assert total == ("123.46万" if language == "zh" else "¥1.23M")
    assert fits(page, SIZES[size]["width"])
    screenshot(page, f"issue12-batch-{size}-{language}")
    page.goto(f"{live_server.url}/org/")
    assert page.locator("[data-testid=headcount-HQ]").inner_text().strip() == "8"
    assert fits(page, SIZES[size]["width"])
    screenshot(page, f"issue12-org-{size}-{language}")
