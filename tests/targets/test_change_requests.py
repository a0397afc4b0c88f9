"""Issue 14, change requests after publishing: nothing published is overwritten in place. A change
is asked with a reason, accepted or declined by someone above the unit, and accepted changes
form the plan's versions: the difference between any two, and an earlier one restored as a new
draft. Every step is in the history with who, when, why, before and after."""

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
from salestarget.targets import changes, workflow
from salestarget.targets.grid import CellChange
from salestarget.targets.models import ChangeRequest, Plan, PlanEvent, TargetCell
from salestarget.targets.services import do_create_plan, do_set_plan_total
from tests.conftest import seed_standard_metrics
from tests.targets.conftest import user

pytestmark = pytest.mark.django_db

REP_YEAR = 5_000_000_00
TEAM_YEAR = 12_000_000_00


def published(roles) -> Plan:
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
        target=REP_YEAR,
    )
    TargetCell.objects.create(
        scenario=scenario, unit=roles.sh, period_kind="year", period_start=plan.period_start, target=TEAM_YEAR
    )
    workflow.do_workflow(user("ops"), plan, "submit")
    workflow.do_workflow(roles.admin, plan, "approve")
    workflow.do_workflow(user("ops"), plan, "publish")
    plan.refresh_from_db()
    return plan


@pytest.fixture
def plan(roles):
    return published(roles)


def rep_cell(c):
    return TargetCell.objects.get(person=c.rep_sh1, period_kind="year", scenario__plan__status="published")


def team_cell(c):
    return TargetCell.objects.get(
        unit=c.sh, person=None, period_kind="year", scenario__plan__status="published"
    )


def raise_rep(c, by: str, amount: int, reason: str = "新增大客户") -> ChangeRequest:
    rep, team = rep_cell(c), team_cell(c)
    return changes.do_request_change(
        user(by),
        Plan.objects.get(pk=rep.scenario.plan_id),
        [
            CellChange(id=rep.pk, version=rep.version, field="target", value=rep.target + amount),
            CellChange(id=team.pk, version=team.version, field="target", value=team.target + amount),
        ],
        reason=reason,
    )


def test_a_change_is_asked_accepted_and_makes_the_next_version(roles, plan):
    c = roles
    asked = raise_rep(c, "lead_sh", 1_000_000_00)
    assert asked.unit == c.sh and asked.status == "pending"
    assert rep_cell(c).target == REP_YEAR  # nothing applied yet
    assert [(i["field"], i["before"], i["after"]) for i in asked.changes] == [
        ("target", REP_YEAR, REP_YEAR + 1_000_000_00),
        ("target", TEAM_YEAR, TEAM_YEAR + 1_000_000_00),
    ]
    # The team lead cannot decide a change to their own team; the director above can.
    with pytest.raises(PermissionDenied):
        changes.do_decide_change(user("lead_sh"), asked, "accept")
    changes.do_decide_change(user("director_east"), asked, "accept", comment="同意")
    rep = rep_cell(c)
    assert rep.target == REP_YEAR + 1_000_000_00 and rep.floor == round((REP_YEAR + 1_000_000_00) * 0.9)
    plan.refresh_from_db()
    assert plan.version == 2 and ChangeRequest.objects.get(pk=asked.pk).plan_version == 2
    history = changes.cell_history(rep)
    assert history[0]["by"] == "director_east" and f"#{asked.pk}" in history[0]["reason"]
    assert history[0]["target"] == REP_YEAR + 1_000_000_00
    steps = [(e.action, e.actor.username) for e in PlanEvent.objects.filter(plan=plan).order_by("at", "pk")][
        -2:
    ]
    assert steps == [("request", "lead_sh"), ("accept", "director_east")]


def test_decline_needs_a_reason_and_only_the_asker_withdraws(roles, plan):
    c = roles
    asked = raise_rep(c, "lead_sh", 1_00)
    with pytest.raises(DomainError):
        changes.do_decide_change(user("director_east"), asked, "decline")
    with pytest.raises(PermissionDenied):
        changes.do_decide_change(user("director_east"), asked, "withdraw")
    changes.do_decide_change(user("lead_sh"), asked, "withdraw")
    with pytest.raises(workflow.Stale):
        changes.do_decide_change(user("director_east"), asked, "accept")
    assert rep_cell(c).target == REP_YEAR


def test_a_request_needs_a_reason_a_published_plan_and_a_real_change(roles, plan):
    c = roles
    rep = rep_cell(c)
    with pytest.raises(DomainError):
        changes.do_request_change(
            user("lead_sh"),
            plan,
            [CellChange(id=rep.pk, version=rep.version, field="target", value=1)],
            reason=" ",
        )
    with pytest.raises(DomainError):
        changes.do_request_change(
            user("lead_sh"),
            plan,
            [CellChange(id=rep.pk, version=rep.version, field="target", value=rep.target)],
            reason="不变",
        )
    draft = do_create_plan(
        c.admin, metric=plan.metric, period=fiscal_calendar().year(plan.fiscal_year), name="草稿"
    )
    with pytest.raises(DomainError):
        changes.do_request_change(
            user("lead_sh"),
            draft,
            [CellChange(id=rep.pk, version=rep.version, field="target", value=1)],
            reason="x",
        )


def test_a_cell_changed_meanwhile_is_not_overwritten(roles, plan):
    """Two requests read the same cell; once the first is accepted the second cannot be applied:
    it stays pending, nothing half-applied, and says why."""
    c = roles
    first = raise_rep(c, "lead_sh", 1_000_00, reason="第一")
    second = raise_rep(c, "director_east", 2_000_00, reason="第二")
    changes.do_decide_change(user("vp"), first, "accept")
    with pytest.raises(DomainError, match="2"):
        changes.do_decide_change(user("vp"), second, "accept")
    assert ChangeRequest.objects.get(pk=second.pk).status == "pending"
    assert rep_cell(c).target == REP_YEAR + 1_000_00 and team_cell(c).target == TEAM_YEAR + 1_000_00
    plan.refresh_from_db()
    assert plan.version == 2


def test_versions_differences_and_restoring_an_earlier_one_as_a_new_draft(roles, plan):
    c = roles
    changes.do_decide_change(user("vp"), raise_rep(c, "lead_sh", 1_000_00), "accept")
    changes.do_decide_change(user("vp"), raise_rep(c, "lead_sh", 500_00), "accept")
    plan.refresh_from_db()
    assert plan.version == 3
    rows = changes.differences(plan, 1, 3)
    assert {(r["person_id"], r["before"], r["after"]) for r in rows} == {
        (c.rep_sh1.pk, REP_YEAR, REP_YEAR + 1_500_00),
        (None, TEAM_YEAR, TEAM_YEAR + 1_500_00),
    }
    assert {(r["before"], r["after"]) for r in changes.differences(plan, 2, 3)} == {
        (REP_YEAR + 1_000_00, REP_YEAR + 1_500_00),
        (TEAM_YEAR + 1_000_00, TEAM_YEAR + 1_500_00),
    }
    with pytest.raises(DomainError):
        changes.differences(plan, 3, 4)
    with pytest.raises(PermissionDenied):
        changes.do_restore_version(user("lead_sh"), plan, 1)
    draft = changes.do_restore_version(user("ops"), plan, 1)
    assert draft.status == Plan.Status.DRAFT and draft.restored_from == plan
    restored = draft.scenarios.get(is_primary=True).cells
    assert restored.get(person=c.rep_sh1).target == REP_YEAR
    assert restored.get(unit=c.sh, person=None).target == TEAM_YEAR
    assert rep_cell(c).target == REP_YEAR + 1_500_00  # the published plan is untouched
    assert plan.events.filter(action="restore").exists()


# --- who may ask and decide, by role: written out, not computed by the mechanism -----------------

ROLES = ("admin", "ops", "viewer", "vp", "director_east", "lead_sh", "lead_sz", "rep_sh1")
MAY_REQUEST = {"admin", "ops", "vp", "director_east", "lead_sh"}  # the change reach over 上海组
MAY_DECIDE = {"admin", "ops", "vp", "director_east"}  # above 上海组


@pytest.mark.parametrize("role", ROLES)
def test_who_may_request_accept_and_decline(roles, plan, role):
    c = roles
    if role in MAY_REQUEST:
        raise_rep(c, role, 1_00)
    else:
        with pytest.raises(PermissionDenied):
            raise_rep(c, role, 1_00)
    for action in ("decline", "accept"):
        asked = raise_rep(c, "ops" if role == "admin" else "admin", 1_00)
        if role in MAY_DECIDE:
            changes.do_decide_change(user(role), asked, action, comment="意见")
            assert ChangeRequest.objects.get(pk=asked.pk).status in ("accepted", "declined")
        else:
            with pytest.raises(PermissionDenied):
                changes.do_decide_change(user(role), asked, action, comment="意见")


def test_nobody_accepts_their_own_request_but_an_administrator(roles, plan):
    c = roles
    with pytest.raises(PermissionDenied):
        changes.do_decide_change(user("director_east"), raise_rep(c, "director_east", 1_00), "accept")
    changes.do_decide_change(c.admin, raise_rep(c, "admin", 1_00), "accept")


# --- over HTTP and at once ------------------------------------------------------------------------


def test_the_api_asks_decides_and_shows_versions_and_history(client, roles, plan):
    c = roles
    rep, team = rep_cell(c), team_cell(c)
    client.force_login(user("lead_sh"))
    body = {
        "reason": "重点客户提前签约",
        "changes": [
            {"id": rep.pk, "version": rep.version, "field": "target", "value": rep.target + 100},
            {"id": team.pk, "version": team.version, "field": "target", "value": team.target + 100},
        ],
    }
    asked = client.post(
        f"/api/v1/targets/plans/{plan.pk}/change-requests", body, content_type="application/json"
    )
    assert asked.status_code == 200, asked.content
    number = asked.json()["id"]
    assert asked.json()["may"] == {"accept": False, "decline": False, "withdraw": True}
    decide = f"/api/v1/targets/change-requests/{number}"
    assert client.post(decide, {"action": "accept"}, content_type="application/json").status_code == 403
    client.force_login(user("director_east"))
    listed = client.get(f"/api/v1/targets/plans/{plan.pk}/change-requests").json()
    assert listed[0]["may"]["accept"] is True
    assert client.post(decide, {"action": "accept"}, content_type="application/json").status_code == 200
    late = client.post(decide, {"action": "decline", "comment": "晚了"}, content_type="application/json")
    assert late.status_code == 409 and "已接受" in late.json()["detail"]
    versions = client.get(f"/api/v1/targets/plans/{plan.pk}/versions?old=1").json()
    assert versions["new"] == 2 and len(versions["rows"]) == 2
    client.force_login(user("rep_sh1"))
    # A rep sees their own cell's change and history, never the team's.
    versions = client.get(f"/api/v1/targets/plans/{plan.pk}/versions?old=1").json()
    assert [r["person_id"] for r in versions["rows"]] == [c.rep_sh1.pk]
    history = client.get(f"/api/v1/targets/cells/{rep.pk}/history").json()
    assert history[0]["reason"].startswith(f"变更申请 #{number}") and history[0]["by"] == "director_east"
    # Before and after, not the after alone (QA 2026-12-04).
    assert (history[0]["before"]["target"], history[0]["target"]) == (rep.target, rep.target + 100)
    assert history[-1]["before"] is None
    page = client.get(f"/targets/cells/{rep.pk}/why/").content.decode()
    assert "→" in page
    assert client.get(f"/api/v1/targets/cells/{team.pk}/history").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_two_approvers_accepting_at_once_apply_the_change_once(roles):
    c = roles
    plan = published(c)
    asked = raise_rep(c, "lead_sh", 7_00)
    start = threading.Barrier(2)
    outcomes: list = []

    def accept(who):
        try:
            start.wait()
            changes.do_decide_change(who, ChangeRequest.objects.get(pk=asked.pk), "accept")
            outcomes.append("won")
        except DomainError as exc:
            outcomes.append(str(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=accept, args=(user(n),)) for n in ("director_east", "vp")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("won") == 1, outcomes
    assert rep_cell(c).target == REP_YEAR + 7_00
    plan.refresh_from_db()
    assert plan.version == 2
    assert PlanEvent.objects.filter(plan=plan, action="accept").count() == 1


def test_the_grid_asks_and_the_plan_page_decides(client, roles, plan):
    c = roles
    client.force_login(user("lead_sh"))
    page = client.get(f"/targets/plans/{plan.pk}/grid/?unit={c.sh.pk}").content.decode()
    assert 'data-testid="grid-request-mode"' in page and "变更申请" in page
    rep = rep_cell(c)
    asked = raise_rep(c, "lead_sh", 3_00, reason="客户预算增加")
    client.force_login(user("director_east"))
    page = client.get(f"/targets/plans/{plan.pk}/").content.decode()
    assert "客户预算增加" in page and f'data-testid="accept-{asked.pk}"' in page and "陈一" in page
    answer = client.post(
        f"/targets/plans/{plan.pk}/changes/{asked.pk}/", {"action": "accept", "comment": "好"}
    )
    assert answer.status_code == 302
    assert rep_cell(c).target == rep.target + 3_00
    client.force_login(user("rep_sh1"))
    assert (
        client.post(f"/targets/plans/{plan.pk}/changes/{asked.pk}/", {"action": "decline"}).status_code == 404
    )
    client.force_login(user("ops"))
    answer = client.post(f"/targets/plans/{plan.pk}/restore/", {"version": "1"})
    restored = Plan.objects.exclude(pk=plan.pk).get(restored_from=plan)
    assert answer.status_code == 302 and answer["Location"].endswith(f"/plans/{restored.pk}/")


def test_the_versions_page_and_a_cells_history_page(client, roles, plan):
    """The plan's versions, the difference between two and a cell's changes, as pages: who,
    when, why, before and after; a rep sees only the differences of cells they may see."""
    c = roles
    rep, team = rep_cell(c), team_cell(c)
    asked = raise_rep(c, "lead_sh", 1_000_000_00, reason="新增大客户")
    changes.do_decide_change(user("director_east"), asked, "accept", comment="同意")
    client.force_login(user("director_east"))
    page = client.get(f"/targets/plans/{plan.pk}/").content.decode()
    assert f"/targets/plans/{plan.pk}/versions/" in page
    page = client.get(f"/targets/plans/{plan.pk}/versions/?old=1&new=2").content.decode()
    assert "新增大客户" in page and f"#{asked.pk}" in page and "director_east" in page
    assert "500万 → 600万" in page and "1,200万 → 1,300万" in page
    assert "陈一" in page and c.sh.name in page
    client.force_login(user("rep_sh2"))  # sees neither rep_sh1's cell nor the team's
    page = client.get(f"/targets/plans/{plan.pk}/versions/?old=1&new=2").content.decode()
    assert "500万 →" not in page and "1,200万 →" not in page
    client.force_login(user("rep_sh1"))
    page = client.get(f"/targets/plans/{plan.pk}/versions/?old=1&new=2").content.decode()
    assert "500万 → 600万" in page and "1,200万 →" not in page
    page = client.get(f"/targets/plans/{plan.pk}/versions/?old=2&new=1").content.decode()
    assert "版本号为 1 到 2；请先给较早的版本" in page  # the older first, said in Chinese
    page = client.get(f"/targets/cells/{rep.pk}/why/").content.decode()
    assert 'data-testid="cell-history"' in page and "新增大客户" in page and "director_east" in page
    assert "600万" in page
    assert client.get(f"/targets/cells/{team.pk}/why/").status_code == 404
