"""Issue 14, team commitments (团队共创): leads and reps commit their own figure beside the
top-down target; the kick-off view shows both, the gap and who has not committed; the one above
reconciles (keep with a note, accept, split the difference) and the decision is recorded and
becomes the node's target, exact to the fen."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from salestarget.core.errors import DomainError
from salestarget.metrics.models import Metric
from salestarget.metrics.selectors import fiscal_calendar
from salestarget.targets import commitments
from salestarget.targets.models import Commitment, PlanEvent, TargetCell
from salestarget.targets.services import do_create_plan, do_set_plan_total
from tests.targets.conftest import user

pytestmark = pytest.mark.django_db

TEAM = 1_200_000_00
REP = 600_000_00


@pytest.fixture
def plan(roles):
    company = roles
    period = fiscal_calendar().year(timezone.localdate().year + 1)
    plan = do_create_plan(company.admin, metric=Metric.objects.get(code="sales"), period=period)
    do_set_plan_total(company.admin, plan, method="typed", amount=50_000_000_00)
    scenario = plan.scenarios.get(is_primary=True)
    TargetCell.objects.create(
        scenario=scenario, unit=company.sh, period_kind="year", period_start=plan.period_start, target=TEAM
    )
    for rep in (company.rep_sh1, company.rep_sh2):
        TargetCell.objects.create(
            scenario=scenario, person=rep, period_kind="year", period_start=plan.period_start, target=REP
        )
    return plan


def target_of(plan, **owner) -> int:
    return commitments.top_down(plan, **owner).target


def test_the_lead_commits_lower_and_the_director_splits_the_difference(company, plan):
    c = company
    commitments.do_commit(user("lead_sh"), plan, unit=c.sh, amount=1_000_000_00, note="两名新人还在爬坡")
    commitments.do_commit(user("rep_sh1"), plan, person=c.rep_sh1, amount=650_000_00, note="老客户续约")
    view = commitments.kickoff(user("director_east"), plan, c.east)
    sh = next(r for r in view["rows"] if r["kind"] == "unit" and r["id"] == c.sh.pk)
    assert (sh["top_down"], sh["commitment"], sh["gap"]) == (TEAM, 1_000_000_00, -200_000_00)
    assert view["waiting"] == ["华东", "杭州组"]  # the region's own figure is awaited too
    team = commitments.kickoff(user("lead_sh"), plan, c.sh)
    assert team["committed"] == 2 and team["waiting"] == ["陈二"]
    # A lead cannot reconcile their own team's commitment; the director above can.
    found = Commitment.objects.get(unit=c.sh)
    with pytest.raises(PermissionDenied):
        commitments.do_reconcile(user("lead_sh"), found, "accept")
    done = commitments.do_reconcile(user("director_east"), found, "split", share=50, note="折中")
    assert done.target == 1_100_000_00 == target_of(plan, unit=c.sh)
    found.refresh_from_db()
    assert (found.decision, found.result, found.decided_by.username) == (
        "split",
        1_100_000_00,
        "director_east",
    )
    # The lead reconciles the rep's commitment: accepted, the rep's target follows.
    rep = Commitment.objects.get(person=c.rep_sh1)
    commitments.do_reconcile(user("lead_sh"), rep, "accept")
    assert target_of(plan, person=c.rep_sh1) == 650_000_00
    steps = [(e.action, e.actor.username) for e in PlanEvent.objects.filter(plan=plan).order_by("at", "pk")]
    assert steps == [
        ("commit", "lead_sh"),
        ("commit", "rep_sh1"),
        ("reconcile", "director_east"),
        ("reconcile", "lead_sh"),
    ]
    history = TargetCell.objects.get(unit=c.sh, person=None).history.first()
    assert history.history_user.username == "director_east" and "共创" in history.history_change_reason


def test_split_is_exact_to_the_fen_and_keep_needs_a_note(company, plan):
    c = company
    commitments.do_commit(user("lead_sh"), plan, unit=c.sh, amount=TEAM + 3)
    found = Commitment.objects.get(unit=c.sh)
    with pytest.raises(DomainError):
        commitments.do_reconcile(user("director_east"), found, "keep")
    assert (
        commitments.do_reconcile(user("director_east"), found, "split", share=50).target == TEAM + 2
    )  # 1.5 -> 2
    commitments.do_commit(user("lead_sh"), plan, unit=c.sh, amount=0)  # a new figure is decided again
    found = Commitment.objects.get(unit=c.sh)
    assert found.decision == "" and found.top_down == TEAM + 2
    commitments.do_reconcile(user("director_east"), found, "keep", note="市场容量足够")
    assert target_of(plan, unit=c.sh) == TEAM + 2


def test_commitments_belong_to_drafts_and_nobody_commits_for_others(company, plan):
    c = company
    with pytest.raises(PermissionDenied):
        commitments.do_commit(user("rep_sh1"), plan, person=c.rep_sh2, amount=1)
    with pytest.raises(PermissionDenied):
        commitments.do_commit(user("lead_sz"), plan, unit=c.sh, amount=1)
    with pytest.raises(PermissionDenied):
        commitments.do_commit(user("viewer"), plan, unit=c.sh, amount=1)
    with pytest.raises(DomainError):
        commitments.do_commit(user("vp"), plan, unit=c.hq, amount=1)  # the company's figure is the total
    with pytest.raises(DomainError):
        commitments.do_commit(user("lead_sh"), plan, unit=c.sh, amount=-1)
    plan.status = "submitted"
    plan.save()
    with pytest.raises(DomainError):
        commitments.do_commit(user("lead_sh"), plan, unit=c.sh, amount=1)


def test_the_kickoff_page_commits_and_reconciles(client, company, plan):
    c = company
    client.force_login(user("lead_sh"))
    page = client.get(f"/targets/plans/{plan.pk}/commitments/?unit={c.sh.pk}").content.decode()
    assert "团队共创" in page and f'data-testid="commit-unit-{c.sh.pk}"' in page
    answer = client.post(
        f"/targets/plans/{plan.pk}/commitments/",
        {
            "action": "commit",
            "kind": "unit",
            "node": c.sh.pk,
            "unit": c.sh.pk,
            "amount": "1,000,000.50",
            "note": "承诺",
        },
    )
    assert answer.status_code == 302
    assert Commitment.objects.get(unit=c.sh).amount == 1_000_000_50
    client.force_login(user("director_east"))
    page = client.get(f"/targets/plans/{plan.pk}/commitments/?unit={c.east.pk}").content.decode()
    assert f'data-testid="reconcile-unit-{c.sh.pk}"' in page and "承诺" in page
    found = Commitment.objects.get(unit=c.sh)
    client.post(
        f"/targets/plans/{plan.pk}/commitments/",
        {"action": "reconcile", "commitment": found.pk, "decision": "accept", "unit": c.east.pk},
    )
    assert target_of(plan, unit=c.sh) == 1_000_000_50
    # Over the API too.
    client.force_login(user("rep_sh2"))
    made = client.post(
        f"/api/v1/targets/plans/{plan.pk}/commitments",
        {"person_id": c.rep_sh2.pk, "amount": 500_000_00},
        content_type="application/json",
    )
    assert made.status_code == 200, made.content
    assert client.post(
        f"/api/v1/targets/commitments/{made.json()['id']}/reconcile",
        {"decision": "accept"},
        content_type="application/json",
    ).status_code in (403, 404)
    client.force_login(user("lead_sh"))
    view = client.get(f"/api/v1/targets/plans/{plan.pk}/commitments?unit_id={c.sh.pk}").json()
    assert view["committed"] == 2 and view["waiting"] == ["陈一"]


def test_the_grid_shows_commitments_and_who_may_commit(company, plan):
    """On the grid of a draft, every visible row carries its commitment and whether the reader
    may commit for it: the lead for their team and its reps, a rep for themselves only, the
    company (the plan's total) never."""
    from salestarget.targets import grid

    c = company
    commitments.do_commit(user("rep_sh1"), plan, person=c.rep_sh1, amount=650_000_00, note="老客户续约")
    scenario = plan.scenarios.get(is_primary=True)
    lead = grid.grid(user("lead_sh"), scenario, c.sh)
    assert lead["commitments"] is True
    rows = {r["key"]: r["commitment"] for r in lead["rows"]}
    assert rows[f"u{c.sh.pk}"] == {
        "amount": None,
        "note": "",
        "decision": "",
        "decision_label": "",
        "may": True,
    }
    assert (
        rows[f"p{c.rep_sh1.pk}"]["amount"] == 650_000_00 and rows[f"p{c.rep_sh1.pk}"]["note"] == "老客户续约"
    )
    assert rows[f"p{c.rep_sh2.pk}"]["may"] is True
    rep = grid.grid(user("rep_sh2"), scenario, c.sh)
    mine = {r["key"]: r["commitment"] for r in rep["rows"]}
    assert mine[f"p{c.rep_sh2.pk}"]["may"] is True
    assert f"p{c.rep_sh1.pk}" not in mine  # another rep's row is not shown at all
    assert not (mine.get(f"u{c.sh.pk}") or {}).get("may")
    top = grid.grid(company.admin, scenario, c.hq)
    assert top["rows"][0]["commitment"] is None  # the company holds the plan's total
    assert all(r["commitment"]["may"] for r in top["rows"][1:])
    from salestarget.targets import workflow

    for action in ("submit", "approve", "publish"):
        workflow.do_workflow(company.admin, plan, action)
    plan.refresh_from_db()
    published = grid.grid(user("lead_sh"), scenario, c.sh)
    assert published["commitments"] is False and all(r["commitment"] is None for r in published["rows"])
