"""Issue 13 in a browser: a director creates next year's sales plan and adopts the
recommendation at 80% as its company total, beside the SMART panel; zh and en, 1440 and 390 px."""

from __future__ import annotations

import pytest
from django.utils import timezone

from tests.browser.conftest import screenshot
from tests.browser.test_issue12 import SIZES, fits, in_language
from tests.targets.conftest import write_history

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("size", SIZES)
def test_a_director_creates_a_plan_and_sets_its_total(page_for, live_server, company, size, language):
    write_history(company)
    page = page_for("vp", company.password, phone=size == "phone")
    page.set_viewport_size(SIZES[size])
    in_language(page, live_server, language)
    page.goto(f"{live_server.url}/targets/plans/")
    form = page.get_by_test_id("new-plan")
    form.locator("[name=year]").fill(str(timezone.localdate().year + 1))
    form.locator("[name=floor_pct]").fill("90")
    form.locator("[name=stretch_pct]").fill("120")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    assert "/targets/plans/" in page.url and page.get_by_test_id("smart").is_visible()
    page.locator("#method-recommendation").check()
    page.get_by_test_id("set-total").locator("[name=chance]").fill("80")
    page.get_by_test_id("set-total").locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_test_id("plan-total").is_visible()
    assert page.get_by_test_id("plan-chance").inner_text().strip() in {"79%", "80%", "81%"}
    assert fits(page, SIZES[size]["width"])
    screenshot(page, f"issue13-plan-{size}-{language}")
