"""Issue 14 in a browser: a team lead commits lower than the top-down target and the region's
director reconciles (split half way); the lead submits the team's part, the director approves it,
the company's manager submits the plan, an administrator approves and publishes it; the lead then
changes a rep's published target in the grid, which becomes a change request with its reason, and
the director accepts it on the plan's page; the history shows every step with who, when and why.
Screenshots at 1440 and 390 px."""

from __future__ import annotations

import datetime as dt

import pytest

from salestarget.metrics.models import Metric
from salestarget.metrics.selectors import fiscal_calendar
from salestarget.targets.models import ChangeRequest, Plan, PlanEvent, TargetCell
from salestarget.targets.services import do_create_plan, do_set_plan_total
from tests.browser.conftest import screenshot
from tests.browser.test_grid import cell

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MONTHS = [dt.date(2027, m, 1) for m in range(1, 13)]


@pytest.fixture
def plan(company):
    plan = do_create_plan(
        company.admin, metric=Metric.objects.get(code="sales"), period=fiscal_calendar().year(2027)
    )
    do_set_plan_total(company.admin, plan, method="typed", amount=50_000_000_00)
    scenario = plan.scenarios.get(is_primary=True)
    TargetCell.objects.create(
        scenario=scenario, unit=company.sh, period_kind="year", period_start=MONTHS[0], target=1_200_000_00
    )
    for person in (company.rep_sh1, company.rep_sh2):
        TargetCell.objects.create(
            scenario=scenario, person=person, period_kind="year", period_start=MONTHS[0], target=600_000_00
        )
        for month in MONTHS:
            TargetCell.objects.create(
                scenario=scenario, person=person, period_kind="month", period_start=month, target=50_000_00
            )
    return plan


def act(page, testid: str, comment: str | None = None, *, field: str = "#plan-comment") -> None:
    if comment is not None:
        page.fill(field, comment)
    page.get_by_test_id(testid).click()
    page.wait_for_load_state("networkidle")


def test_a_plan_goes_up_is_published_and_changes_through_a_request(page_for, live_server, company, plan):
    url = f"{live_server.url}/targets/plans/{plan.pk}/"

    # Kick-off: the team lead commits lower than the top-down 1,200,000 for the team.
    lead = page_for("lead_sh", company.password)
    lead.goto(url)
    lead.get_by_test_id("plan-kickoff").click()
    lead.wait_for_load_state("networkidle")
    form = lead.get_by_test_id(f"commit-unit-{company.sh.pk}")
    form.locator("input[name=amount]").fill("1,000,000")
    form.locator("input[name=note]").fill("两名新人还在爬坡")
    form.locator("button").click()
    lead.wait_for_load_state("networkidle")
    row = lead.get_by_test_id(f"kickoff-unit-{company.sh.pk}").inner_text()
    assert "100万" in row and "-20万" in row, row

    # The region's director reconciles: the difference is split half way.
    director = page_for("director_east", company.password)
    director.goto(f"{live_server.url}/targets/plans/{plan.pk}/commitments/?unit={company.east.pk}")
    form = director.get_by_test_id(f"reconcile-unit-{company.sh.pk}")
    form.locator("select[name=decision]").select_option("split")
    form.locator("input[name=note]").fill("折中：新人按半年计")
    form.locator("button").click()
    director.wait_for_load_state("networkidle")
    assert "110万" in director.get_by_test_id(f"kickoff-unit-{company.sh.pk}").inner_text()
    screenshot(director, "issue14-kickoff-desktop")
    sh_year = TargetCell.objects.get(unit=company.sh, person=None, period_kind="year")
    assert sh_year.target == 1_100_000_00

    # The team lead submits the team's part with a comment.
    lead.goto(url)
    lead.get_by_test_id("unit-submit").locator("select").select_option(str(company.sh.pk))
    lead.fill("#submit-comment", "上海组确认 120 万")
    lead.get_by_test_id("unit-submit").locator("button").click()
    lead.wait_for_load_state("networkidle")
    assert "已提交" in lead.get_by_test_id("reviews").inner_text()

    # The region's director approves it from the plan's page.
    director.goto(url)
    director.get_by_test_id(f"approve-{company.sh.pk}").click()
    director.wait_for_load_state("networkidle")
    assert "已批准" in director.get_by_test_id("reviews").inner_text()

    # The company's manager submits the plan; an administrator approves and publishes it.
    vp = page_for("vp", company.password)
    vp.goto(url)
    act(vp, "plan-submit", "2027 年目标提交审批")
    admin = page_for("admin", company.password)
    admin.goto(url)
    act(admin, "plan-approve", "同意")
    act(admin, "plan-publish")
    assert Plan.objects.get(pk=plan.pk).status == "published"
    assert "已发布" in admin.get_by_test_id("plan-status").inner_text()

    # The lead changes a rep's published March target in the grid: it becomes a request.
    lead.goto(f"{live_server.url}/targets/plans/{plan.pk}/grid/?unit={company.sh.pk}")
    lead.wait_for_load_state("networkidle")
    lead.get_by_test_id("grid-request-mode").wait_for()
    cell(lead, "陈一", "m03").click()
    lead.keyboard.type("80000")
    lead.keyboard.press("Enter")
    lead.get_by_test_id("grid-request").wait_for(state="visible")
    lead.fill("#grid-request-reason", "陈一三月签下华为大单")
    screenshot(lead, "issue14-grid-change-request-desktop")
    lead.click("#grid-request-send")
    lead.wait_for_function("document.getElementById('grid-status').textContent.includes('#')")
    asked = ChangeRequest.objects.get()
    assert asked.status == "pending" and asked.reason == "陈一三月签下华为大单"
    march = TargetCell.objects.get(person=company.rep_sh1, period_kind="month", period_start=MONTHS[2])
    assert march.target == 50_000_00  # nothing applied yet
    assert cell(lead, "陈一", "m03").inner_text().strip() in ("50,000", "50000")

    # The director accepts it on the plan's page; the plan's next version holds it.
    director.goto(url)
    box = director.get_by_test_id(f"change-request-{asked.pk}")
    assert "陈一三月签下华为大单" in box.inner_text() and "→" in box.inner_text()
    box.locator("input[name=comment]").fill("同意调整")
    director.get_by_test_id(f"accept-{asked.pk}").click()
    director.wait_for_load_state("networkidle")
    march.refresh_from_db()
    assert march.target == 80_000_00 and Plan.objects.get(pk=plan.pk).version == 2
    history = director.get_by_test_id("plan-history").inner_text()
    for words in (
        "两名新人还在爬坡",
        "折中：新人按半年计",
        "上海组确认 120 万",
        "2027 年目标提交审批",
        "陈一三月签下华为大单",
        "同意调整",
    ):
        assert words in history, words
    assert [e.action for e in PlanEvent.objects.filter(plan=plan).order_by("at", "pk")] == [
        "commit",
        "reconcile",
        "submit",
        "approve",
        "submit",
        "approve",
        "publish",
        "request",
        "accept",
    ]
    screenshot(director, "issue14-plan-workflow-desktop")

    # The versions page: v2 is the accepted request, and the difference from v1 names the cell.
    director.get_by_test_id("versions-link").click()
    director.wait_for_load_state("networkidle")
    assert "陈一三月签下华为大单" in director.get_by_test_id("version-list").inner_text()
    differences = director.get_by_test_id("differences").inner_text()
    assert "陈一" in differences and "5万 → 8万" in differences, differences
    screenshot(director, "issue14-versions-desktop")
    # The March cell's own changes, on its "why" page.
    director.goto(f"{live_server.url}/targets/cells/{march.pk}/why/")
    changes_of_cell = director.get_by_test_id("cell-history").inner_text()
    assert "陈一三月签下华为大单" in changes_of_cell and "8万" in changes_of_cell
    screenshot(director, "issue14-cell-history-desktop")

    # A rep of another team sees the plan's own steps, not 上海组's; on a phone the page fits.
    rep = page_for("rep_sz", company.password, phone=True)
    rep.goto(url)
    text = rep.get_by_test_id("plan-history").inner_text()
    assert "2027 年目标提交审批" in text and "上海组确认 120 万" not in text
    assert rep.evaluate("document.documentElement.scrollWidth") <= 390 + 1
    screenshot(rep, "issue14-plan-workflow-phone")


def test_commitments_on_the_grid(page_for, live_server, company, plan):
    """团队共创 on the same grid: the lead commits for the team in the Commitment column beside
    the top-down target and sees the gap; a rep on a phone commits for themselves only."""
    from salestarget.targets.models import Commitment
    from tests.browser.test_grid import settled

    url = f"{live_server.url}/targets/plans/{plan.pk}/grid/?unit={company.sh.pk}"
    lead = page_for("lead_sh", company.password)
    lead.goto(url)
    lead.get_by_test_id("grid-commitments-help").wait_for()
    team = cell(lead, "上海组", "commit")
    team.dblclick()
    lead.keyboard.type("1,000,000")
    lead.keyboard.press("Enter")
    settled(lead)
    lead.wait_for_function("document.getElementById('grid-status').textContent.includes('1,000,000')")
    found = Commitment.objects.get(plan=plan, unit=company.sh)
    assert found.amount == 1_000_000_00 and found.committed_by.username == "lead_sh"
    assert cell(lead, "上海组", "gap").inner_text().strip() == "-200,000"
    screenshot(lead, "issue14-grid-commitments-desktop")

    rep = page_for("rep_sh2", company.password, phone=True)
    rep.goto(url)
    rep.get_by_test_id("grid-commitments-help").wait_for()
    mine = cell(rep, "陈二", "commit")
    mine.dblclick()
    rep.keyboard.type("650000")
    rep.keyboard.press("Enter")
    rep.wait_for_function("document.getElementById('grid-status').textContent.includes('650,000')")
    assert Commitment.objects.get(plan=plan, person=company.rep_sh2).amount == 650_000_00
    assert cell(rep, "陈二", "gap").inner_text().strip() == "50,000"
    # The team's row is not the rep's to commit for: double-clicking it opens no editor.
    if cell(rep, "上海组", "commit").count():
        cell(rep, "上海组", "commit").dblclick()
        assert rep.locator("#st-grid input").count() == 0
    assert Commitment.objects.filter(plan=plan).count() == 2
    screenshot(rep, "issue14-grid-commitments-phone")
