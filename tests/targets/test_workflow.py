"""Issue 14, statuses and who may act: a unit's part goes up the tree (submitted by its manager,
approved by the one above), the plan goes draft -> submitted -> approved -> published -> closed,
every step is recorded with who, when and why, a part under review is frozen, and of two
approvers acting at once one wins and the other is told who was first."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.utils import timezone

from salestarget.core.errors import DomainError
from salestarget.metrics.models import Metric
from salestarget.metrics.selectors import fiscal_calendar
from salestarget.targets import workflow
from salestarget.targets.grid import CellChange, do_save_cells
from salestarget.targets.models import Plan, PlanEvent, Review, TargetCell
from salestarget.targets.services import do_create_plan, do_set_plan_total
from tests.conftest import seed_standard_metrics
from tests.targets.conftest import user

pytestmark = pytest.mark.django_db


@pytest.fixture
def plan(roles):
    return make_plan(roles)


def make_plan(roles):
    seed_standard_metrics()
    period = fiscal_calendar().year(timezone.localdate().year + 1)
    plan = do_create_plan(
        roles.admin, metric=Metric.objects.get(code="sales"), period=period, floor_factor=Decimal("0.9")
    )
    do_set_plan_total(roles.admin, plan, method="typed", amount=100_000_000_00)
    scenario = plan.scenarios.get(is_primary=True)
    TargetCell.objects.create(
        scenario=scenario,
        person=roles.rep_sh1,
        period_kind="year",
        period_start=plan.period_start,
        target=5_000_00,
    )
    return plan


def test_parts_go_up_the_tree_and_the_plan_to_publication(roles, plan):
    c = roles
    workflow.do_workflow(user("lead_sh"), plan, "submit", unit=c.sh, comment="上海组承诺 480 万")
    # A team lead approves nothing at or above their own team.
    with pytest.raises(PermissionDenied):
        workflow.do_workflow(user("lead_sh"), plan, "approve", unit=c.sh)
    # The submitted part is frozen: the rep's target cannot be edited in the grid.
    cell = TargetCell.objects.get(person=c.rep_sh1)
    with pytest.raises(DomainError, match="上海组"):
        do_save_cells(
            c.admin,
            plan.scenarios.get(),
            [CellChange(id=cell.pk, version=cell.version, field="target", value=1)],
        )
    workflow.do_workflow(user("director_east"), plan, "approve", unit=c.sh, comment="同意")
    workflow.do_workflow(user("director_east"), plan, "submit", unit=c.east)
    workflow.do_workflow(user("vp"), plan, "approve", unit=c.east, comment="华东通过")
    assert dict(plan.reviews.values_list("unit__code", "status")) == {"SH": "approved", "EAST": "approved"}
    # The company's manager submits the plan; only a company-wide approver approves it.
    workflow.do_workflow(user("vp"), plan, "submit", comment="提交董事会")
    with pytest.raises(PermissionDenied):
        workflow.do_workflow(user("vp"), plan, "approve")
    workflow.do_workflow(user("ops"), plan, "approve", comment="批准")
    workflow.do_workflow(user("ops"), plan, "publish")
    plan.refresh_from_db()
    assert plan.status == Plan.Status.PUBLISHED
    workflow.do_workflow(user("ops"), plan, "close", comment="年度结束")
    plan.refresh_from_db()
    assert plan.status == Plan.Status.CLOSED
    steps = [
        (
            e.action,
            e.unit.code if e.unit else None,
            e.actor.username,
            e.comment,
            e.status_before,
            e.status_after,
        )
        for e in PlanEvent.objects.filter(plan=plan).order_by("at", "pk")
    ]
    assert steps == [
        ("submit", "SH", "lead_sh", "上海组承诺 480 万", "draft", "submitted"),
        ("approve", "SH", "director_east", "同意", "submitted", "approved"),
        ("submit", "EAST", "director_east", "", "draft", "submitted"),
        ("approve", "EAST", "vp", "华东通过", "submitted", "approved"),
        ("submit", None, "vp", "提交董事会", "draft", "submitted"),
        ("approve", None, "ops", "批准", "submitted", "approved"),
        ("publish", None, "ops", "", "approved", "published"),
        ("close", None, "ops", "年度结束", "published", "closed"),
    ]
    # The plan's own history holds the status changes with who made them.
    history = [
        (h.status, h.history_user and h.history_user.username) for h in plan.history.order_by("history_date")
    ]
    assert history[-4:] == [("submitted", "vp"), ("approved", "ops"), ("published", "ops"), ("closed", "ops")]


def test_sending_back_needs_a_reason_and_unfreezes_the_part(roles, plan):
    c = roles
    workflow.do_workflow(user("lead_sh"), plan, "submit", unit=c.sh)
    with pytest.raises(DomainError, match="原因|comment|说明"):
        workflow.do_workflow(user("director_east"), plan, "reject", unit=c.sh)
    workflow.do_workflow(user("director_east"), plan, "reject", unit=c.sh, comment="陈一的目标偏低")
    assert Review.objects.get(plan=plan, unit=c.sh).status == Review.Status.DRAFT
    cell = TargetCell.objects.get(person=c.rep_sh1)
    do_save_cells(
        user("lead_sh"),
        plan.scenarios.get(),
        [CellChange(id=cell.pk, version=cell.version, field="target", value=6_000_00)],
    )
    assert TargetCell.objects.get(pk=cell.pk).target == 6_000_00
    event = PlanEvent.objects.filter(plan=plan).first()
    assert (event.action, event.comment, event.actor.username) == (
        "reject",
        "陈一的目标偏低",
        "director_east",
    )


def test_a_parent_waits_for_its_children_and_the_plan_for_every_part(roles, plan):
    c = roles
    workflow.do_workflow(user("lead_sh"), plan, "submit", unit=c.sh)
    with pytest.raises(DomainError, match="上海组"):
        workflow.do_workflow(user("director_east"), plan, "submit", unit=c.east)
    with pytest.raises(DomainError, match="上海组"):
        workflow.do_workflow(user("vp"), plan, "submit")
    assert plan.events.count() == 1


def test_nobody_approves_their_own_submission_but_an_administrator(roles, plan):
    c = roles
    workflow.do_workflow(user("director_east"), plan, "submit", unit=c.sh)
    with pytest.raises(PermissionDenied, match="本人"):
        workflow.do_workflow(user("director_east"), plan, "approve", unit=c.sh)
    workflow.do_workflow(user("vp"), plan, "approve", unit=c.sh)
    workflow.do_workflow(user("ops"), plan, "submit")
    with pytest.raises(PermissionDenied):
        workflow.do_workflow(user("ops"), plan, "approve")
    workflow.do_workflow(c.admin, plan, "approve")
    plan.refresh_from_db()
    assert plan.status == Plan.Status.APPROVED


def test_steps_out_of_order_say_where_the_plan_stands(roles, plan):
    with pytest.raises(workflow.Stale, match="草稿"):
        workflow.do_workflow(user("ops"), plan, "publish")
    workflow.do_workflow(user("ops"), plan, "submit")
    with pytest.raises(workflow.Stale, match="ops"):
        workflow.do_workflow(user("vp"), plan, "submit")
    with pytest.raises(DomainError):
        workflow.do_workflow(user("ops"), plan, "approve", unit=roles.sh)  # the plan is no longer a draft


def test_a_second_plan_in_force_for_the_same_metric_and_period_is_refused(roles, plan):
    workflow.do_workflow(user("ops"), plan, "submit")
    workflow.do_workflow(roles.admin, plan, "approve")
    other = do_create_plan(
        roles.admin, metric=plan.metric, period=fiscal_calendar().year(plan.fiscal_year), name="另一个方案"
    )
    do_set_plan_total(roles.admin, other, method="typed", amount=1_00)
    workflow.do_workflow(user("ops"), other, "submit")
    with pytest.raises(DomainError, match="已有|already"):
        workflow.do_workflow(roles.admin, other, "approve")
    other.refresh_from_db()
    assert other.status == Plan.Status.SUBMITTED


# --- who may do what, by role: written out, not computed by the mechanism ---------------------------

ROLES = ("admin", "ops", "viewer", "vp", "director_east", "lead_sh", "lead_sz", "rep_sh1")
# The part of 上海组 (SH, under 华东 EAST, under the company).
SH_SUBMIT = {"admin", "ops", "vp", "director_east", "lead_sh"}
SH_DECIDE = {"admin", "ops", "vp", "director_east"}
PLAN_SUBMIT = {"admin", "ops", "vp"}
PLAN_DECIDE = {"admin", "ops"}


@pytest.mark.parametrize("role", ROLES)
def test_who_may_submit_approve_and_send_back_a_units_part(roles, plan, role):
    c = roles
    actor = user(role)
    if role in SH_SUBMIT:
        workflow.do_workflow(actor, plan, "submit", unit=c.sh)
    else:
        with pytest.raises(PermissionDenied):
            workflow.do_workflow(actor, plan, "submit", unit=c.sh)
        workflow.do_workflow(c.admin, plan, "submit", unit=c.sh)
    Review.objects.filter(plan=plan, unit=c.sh).update(submitted_by=None)  # four eyes aside
    for action in ("reject", "approve"):
        if role in SH_DECIDE:
            workflow.do_workflow(actor, plan, action, unit=c.sh, comment="意见")
            if action == "reject":
                workflow.do_workflow(c.admin, plan, "submit", unit=c.sh)
                Review.objects.filter(plan=plan, unit=c.sh).update(submitted_by=None)
        else:
            with pytest.raises(PermissionDenied):
                workflow.do_workflow(actor, plan, action, unit=c.sh, comment="意见")
    assert workflow.may_act_on_unit(actor, c.sh, "approve") == (role in SH_DECIDE)


@pytest.mark.parametrize("role", ROLES)
def test_who_may_move_the_plan(roles, plan, role):
    c = roles
    actor = user(role)
    moves = [("submit", PLAN_SUBMIT), ("reject", PLAN_DECIDE), ("submit", PLAN_SUBMIT)]
    moves += [("approve", PLAN_DECIDE), ("publish", PLAN_DECIDE), ("close", PLAN_DECIDE)]
    for action, allowed in moves:
        if role in allowed:
            if action == "approve":
                PlanEvent.objects.filter(plan=plan, action="submit").update(actor=c.admin)  # four eyes aside
            workflow.do_workflow(actor, plan, action, comment="意见")
        else:
            with pytest.raises(PermissionDenied):
                workflow.do_workflow(actor, plan, action, comment="意见")
            workflow.do_workflow(c.admin, plan, action, comment="意见")
    plan.refresh_from_db()
    assert plan.status == Plan.Status.CLOSED


def test_the_state_shows_each_role_what_it_may_do_and_only_the_parts_it_reaches(roles, plan):
    c = roles
    workflow.do_workflow(user("lead_sh"), plan, "submit", unit=c.sh, comment="上海")
    workflow.do_workflow(user("lead_sz"), plan, "submit", unit=c.sz, comment="深圳")
    lead = workflow.state(user("lead_sh"), plan)
    assert [r["unit"] for r in lead["reviews"]] == ["上海组"]
    assert lead["reviews"][0]["may"] == {"submit": False, "approve": False, "reject": False}
    assert {e["comment"] for e in lead["events"]} == {"上海"}
    director = workflow.state(user("director_east"), plan)
    assert director["reviews"][0]["may"]["approve"] is True
    assert [r["unit"] for r in director["reviews"]] == ["上海组"]
    ops = workflow.state(user("ops"), plan)
    # "may" says who may, at this status; submitting then checks that no part awaits a decision.
    assert len(ops["reviews"]) == 2 and ops["may"]["submit"] is True and ops["may"]["approve"] is False
    rep = workflow.state(user("rep_sh1"), plan)
    assert rep["reviews"] == [] and not any(rep["may"].values())
    assert [u.name for u in workflow.submittable_units(user("lead_sh"), plan)] == []
    assert [u.name for u in workflow.submittable_units(user("director_east"), plan)] == ["华东", "杭州组"]


# --- over HTTP ------------------------------------------------------------------------------------


def test_the_api_acts_and_answers_409_to_the_second_approver(client, roles, plan):
    c = roles
    client.force_login(user("lead_sh"))
    url = f"/api/v1/targets/plans/{plan.pk}/workflow"
    answer = client.post(
        url, {"action": "submit", "unit_id": c.sh.pk, "comment": "承诺"}, content_type="application/json"
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["reviews"][0]["status"] == "submitted"
    assert (
        client.post(
            url, {"action": "approve", "unit_id": c.sh.pk}, content_type="application/json"
        ).status_code
        == 403
    )
    client.force_login(user("director_east"))
    assert (
        client.post(
            url, {"action": "approve", "unit_id": c.sh.pk}, content_type="application/json"
        ).status_code
        == 200
    )
    client.force_login(user("vp"))
    late = client.post(url, {"action": "approve", "unit_id": c.sh.pk}, content_type="application/json")
    assert late.status_code == 409
    assert "李华东" in late.json()["detail"] or "director_east" in late.json()["detail"]
    client.force_login(user("director_east"))
    refused = client.post(url, {"action": "reject", "unit_id": c.sh.pk}, content_type="application/json")
    assert refused.status_code in (400, 409)
    events = client.get(url).json()["events"]
    assert [e["action"] for e in events] == ["approve", "submit"]


def test_the_page_shows_the_steps_and_acts(client, roles, plan):
    c = roles
    client.force_login(user("lead_sh"))
    page = client.get(f"/targets/plans/{plan.pk}/")
    assert "审批" in page.content.decode() and 'data-testid="unit-submit"' in page.content.decode()
    answer = client.post(
        f"/targets/plans/{plan.pk}/workflow/", {"action": "submit", "unit": c.sh.pk, "comment": "我们的承诺"}
    )
    assert answer.status_code == 302
    client.force_login(user("director_east"))
    page = client.get(f"/targets/plans/{plan.pk}/").content.decode()
    assert "我们的承诺" in page and f'data-testid="approve-{c.sh.pk}"' in page
    client.force_login(user("rep_sh1"))
    assert client.post(
        f"/targets/plans/{plan.pk}/workflow/", {"action": "approve", "unit": c.sh.pk}
    ).status_code in (403, 404)


@pytest.mark.django_db(transaction=True)
def test_two_approvers_at_once_one_wins_and_nothing_is_applied_twice(transactional_db, roles):
    """Two threads, each with its own connection, approve the same part at the same moment."""
    c = roles
    plan = make_plan(c)
    workflow.do_workflow(user("lead_sh"), plan, "submit", unit=c.sh)
    approvers = [user("director_east"), user("vp")]
    start = threading.Barrier(2)
    outcomes: list = []

    def approve(who):
        try:
            start.wait()
            workflow.do_workflow(who, Plan.objects.get(pk=plan.pk), "approve", unit=c.sh)
            outcomes.append("won")
        except (workflow.Stale, DomainError) as exc:
            outcomes.append(str(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(a,)) for a in approvers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes, key=lambda o: o != "won")[0] == "won"
    assert outcomes.count("won") == 1, outcomes
    assert "已批准" in next(o for o in outcomes if o != "won") or "approved" in next(
        o for o in outcomes if o != "won"
    )
    assert PlanEvent.objects.filter(plan=plan, action="approve").count() == 1
    assert Review.objects.get(plan=plan, unit=c.sh).version == 2


def test_the_command_line_takes_the_same_steps(roles, plan):
    import io

    from django.core.management import CommandError, call_command

    out = io.StringIO()
    call_command("plan", "submit", str(plan.pk), "--unit", "SH", "--comment", "命令行提交", stdout=out)
    assert "上海组" in out.getvalue()
    assert Review.objects.get(plan=plan, unit=roles.sh).status == "submitted"
    with pytest.raises(CommandError, match="上海组"):
        call_command("plan", "submit", str(plan.pk), stdout=io.StringIO())
    call_command("plan", "approve", str(plan.pk), "--unit", "SH", stdout=io.StringIO())
    for step in ("submit", "approve", "publish"):
        call_command("plan", step, str(plan.pk), stdout=io.StringIO())
    plan.refresh_from_db()
    assert plan.status == "published"
    with pytest.raises(CommandError):
        call_command("plan", "reject", str(plan.pk), stdout=io.StringIO())


def test_a_plan_whose_figures_do_not_add_up_is_not_submitted(roles, plan):
    """QA 2026-12-04: a plan with a −100 target and a year 2,116,217 above its months was
    submitted, approved and published without a word."""
    c = roles
    scenario = plan.scenarios.get(is_primary=True)
    months = [
        TargetCell.objects.create(
            scenario=scenario,
            person=c.rep_sh1,
            period_kind="month",
            period_start=plan.period_start.replace(month=m),
            target=400_00 if m < 12 else 600_00,
        )  # fmt: skip
        for m in range(1, 13)
    ]
    assert sum(m.target for m in months) == 5_000_00  # the year's
    workflow.do_workflow(user("admin"), plan, "submit")
    workflow.do_workflow(user("admin"), plan, "reject", comment="再看看")
    TargetCell.objects.filter(pk=months[4].pk).update(target=-100)
    with pytest.raises(DomainError) as refused:
        workflow.do_workflow(user("admin"), plan, "submit")
    assert "2 处" in str(refused.value) and "负数" in str(refused.value) and "4,599.00" in str(refused.value)
    assert Plan.objects.get(pk=plan.pk).status == Plan.Status.DRAFT
    TargetCell.objects.filter(pk=months[4].pk).update(target=400_00)
    workflow.do_workflow(user("admin"), plan, "submit")
