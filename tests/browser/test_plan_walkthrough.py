"""Issue 13's "done when", in a browser: a sales director creates next year's sales plan, adopts
the recommendation at 80%, decomposes it in the wizard (regions by history, teams by capability,
reps by capability with a ramp, months by the seasons on working days, weeks too), previews it,
runs it as a job and reads why a rep's month target is what it is; then edits and locks a cell
in the grid, runs the decomposition again (the lock holds), copies the scenario, compares the
two and promotes the copy. Screenshots at 1440 and 390 px."""

from __future__ import annotations

import pytest
from django.utils import timezone

from tests.browser.conftest import screenshot
from tests.browser.test_issue12 import SIZES, fits
from tests.targets.conftest import write_history

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Added to the rep's first month in the grid: small beside a rep's year, so the lock fits.
RAISE_YUAN = 1_234


def both_sizes(page, name: str) -> None:
    """A screenshot at each size, checking that nothing is wider than the screen."""
    for size in ("desktop", "phone"):
        page.set_viewport_size(SIZES[size])
        page.wait_for_timeout(300)  # the charts follow their container's size
        assert fits(page, SIZES[size]["width"]), f"{name} is wider than the {size}"
        screenshot(page, f"issue13-{name}-{size}")
    page.set_viewport_size(SIZES["desktop"])


def wait_until_done(page) -> None:
    finished = "[data-testid=decompose-progress][data-state=done], [data-testid=decompose-progress][data-state=failed]"
    page.wait_for_selector(finished, timeout=60_000)
    card = page.get_by_test_id("decompose-progress")
    assert card.get_attribute("data-state") == "done", card.inner_text()


def eventually(check, seconds: float = 15) -> None:
    """The grid saves in the background: wait for what it saved to be in the database."""
    import time

    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "the grid did not save in time"
        time.sleep(0.2)


def run_wizard(page) -> None:
    page.get_by_test_id("wizard-run").click()
    page.wait_for_url("**/progress/")
    wait_until_done(page)


def test_a_director_plans_next_year_from_total_to_promoted_scenario(
    page_for, live_server, company, job_worker
):
    from salestarget.targets.models import Plan, TargetCell

    write_history(company)
    year = timezone.localdate().year + 1
    page = page_for("vp", company.password)
    page.set_viewport_size(SIZES["desktop"])
    # The recommendation fits its forecasts on the first visit: slower than a page's usual wait.
    page.set_default_timeout(120_000)

    # The plan, and its total from the recommendation at 80%.
    page.goto(f"{live_server.url}/targets/plans/")
    form = page.get_by_test_id("new-plan")
    form.locator("[name=year]").fill(str(year))
    form.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    plan = Plan.objects.get(fiscal_year=year, metric__code="sales")
    page.locator("#method-recommendation").check()
    page.get_by_test_id("set-total").locator("[name=chance]").fill("80")
    page.get_by_test_id("set-total").locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_test_id("plan-total").is_visible()
    plan.refresh_from_db()
    assert (plan.total_method, plan.total_chance) == ("recommendation", 80)

    # The wizard: the issue's choices, a preview, then the run.
    page.get_by_test_id("plan-decompose").click()
    page.wait_for_load_state("networkidle")
    page.select_option("#level-1-method", "history")
    assert page.locator("#level-1-recency").is_visible() and not page.locator("#level-1-ramp").is_visible()
    page.select_option("#level-2-method", "capability")
    page.select_option("#level-3-method", "capability")
    assert page.locator("#level-3-ramp").is_visible() and not page.locator("#level-3-recency").is_visible()
    page.fill("#level-3-ramp", "0.25,0.5,0.75,1")
    page.select_option("#months", "seasonality")
    page.check("#weeks")
    page.get_by_test_id("wizard-preview").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_test_id("wizard-error").count() == 0
    preview = page.get_by_test_id("preview")
    assert preview.is_visible()
    assert page.get_by_test_id(f"preview-row-u{company.east.pk}").is_visible()
    assert page.get_by_test_id(f"preview-row-u{company.sh.pk}").is_visible()
    assert page.locator("[data-testid=preview-chart] canvas").count() == 1
    assert page.locator("#level-3-ramp").input_value() == "0.25,0.5,0.75,1"
    assert page.locator("#weeks").is_checked()
    both_sizes(page, "wizard-preview")
    run_wizard(page)
    assert int(page.get_by_test_id("cells-written").inner_text().replace(",", "")) > 0
    both_sizes(page, "decompose-progress")
    scenario = plan.scenarios.get(is_primary=True)
    assert scenario.cells.filter(person=company.rep_sh1, period_kind="week").exists()

    # Why is a rep's month target this number?
    cell = scenario.cells.get(
        person=company.rep_sh1, period_kind="month", period_start=plan.period_start, product__isnull=True
    )
    page.goto(f"{live_server.url}/targets/cells/{cell.pk}/why/")
    steps = page.locator("[data-testid=why-steps] > li")
    assert steps.count() >= 5
    assert page.get_by_test_id("why-owner").inner_text().strip() == company.rep_sh1.name
    titles = steps.locator(".fw-semibold").all_inner_texts()
    assert [t for t in titles if t in ("华东", "上海组", "陈一")] == ["华东", "上海组", "陈一"]
    both_sizes(page, "why")

    # The grid: type a new value into the rep's first month, lock it, and run again.
    page.goto(f"{live_server.url}/targets/plans/{plan.pk}/grid/?scenario={scenario.pk}&unit={company.sh.pk}")
    page.wait_for_function("window.stGrid && window.stGrid.table() && window.stGrid.table().getRows().length")
    column = page.evaluate(
        "() => JSON.parse(document.getElementById('grid-config').textContent).grid.columns"
        ".find(c => c.kind === 'month').key"
    )
    row = f"p{company.rep_sh1.pk}"
    shown = page.evaluate(
        "([row, column]) => window.stGrid.table().getRows().find(r => r.getData().key === row).getData()[column]",
        [row, column],
    )
    assert shown not in (None, ""), "the grid shows the rep's decomposed month"
    page.evaluate(
        """([row, column]) => {
            const cell = window.stGrid.table().getRows().find(r => r.getData().key === row).getCell(column);
            cell.getElement().setAttribute("data-pw", "edit-me");
        }""",
        [row, column],
    )
    locked = (cell.target // 100 + RAISE_YUAN) * 100
    page.locator("[data-pw=edit-me]").click()
    page.keyboard.type(str(locked // 100))
    page.keyboard.press("Enter")
    page.wait_for_function("window.stGrid.pendingCount() === 0", timeout=15_000)
    page.locator("[data-pw=edit-me]").click()
    page.keyboard.press("Control+l")
    page.wait_for_function(
        "() => document.querySelector('[data-pw=edit-me]').classList.contains('st-locked')", timeout=15_000
    )
    eventually(lambda: TargetCell.objects.filter(pk=cell.pk, locked=True).exists())
    cell.refresh_from_db()
    assert (cell.target, cell.locked) == (locked, True)
    same = scenario.cells.filter(person=company.rep_sh1, period_kind="month", period_start=plan.period_start)
    assert same.count() == 1
    screenshot(page, "issue13-grid-locked-desktop")

    page.goto(f"{live_server.url}/targets/plans/{plan.pk}/decompose/?scenario={scenario.pk}")
    assert page.locator("#level-3-method").input_value() == "capability"  # the last run's rules
    page.select_option("#level-1-method", "even")
    run_wizard(page)
    assert int(page.get_by_test_id("cells-kept").inner_text().replace(",", "")) >= 1
    cell.refresh_from_db()
    assert (cell.target, cell.locked) == (locked, True)
    months = TargetCell.objects.filter(scenario=scenario, person=company.rep_sh1, product__isnull=True)
    year_value = months.get(period_kind=plan.period_kind).target
    assert sum(months.filter(period_kind="month").values_list("target", flat=True)) == year_value

    # A copy of the scenario, decomposed its own way, compared with the plan, then promoted.
    page.goto(f"{live_server.url}/targets/plans/{plan.pk}/scenarios/")
    page.get_by_test_id(f"scenario-{scenario.pk}").get_by_test_id("copy").locator("button").click()
    page.wait_for_load_state("networkidle")
    copy = plan.scenarios.exclude(pk=scenario.pk).get()
    page.goto(f"{live_server.url}/targets/plans/{plan.pk}/decompose/?scenario={copy.pk}")
    page.select_option("#level-1-method", "history")
    page.select_option("#level-2-method", "even")
    run_wizard(page)
    page.goto(f"{live_server.url}/targets/plans/{plan.pk}/scenarios/")
    page.get_by_test_id("compare-chosen").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_test_id(f"compare-row-unit-{company.east.pk}").is_visible()
    both_sizes(page, "compare")
    page.goto(f"{live_server.url}/targets/plans/{plan.pk}/scenarios/")
    page.get_by_test_id(f"scenario-{copy.pk}").get_by_test_id("promote").locator("button").click()
    page.wait_for_load_state("networkidle")
    copy.refresh_from_db()
    assert copy.is_primary
    assert page.get_by_test_id(f"scenario-{copy.pk}").get_by_test_id("primary-badge").is_visible()
