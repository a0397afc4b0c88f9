"""Issue 14, mid-year changes as change requests: a rep moves team (the remaining target is
pro-rated by working days between the two teams), leaves (a vacancy, or the team takes the rest
over) or joins (ramped, from the vacancy or from the team). Exact to the fen, every parent still
adds up, checked against sums computed here from the cells. (The engine's property tests over
random sequences are tests/engine/test_midyear.py.)"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from salestarget.core.errors import DomainError
from salestarget.engine.rounding import largest_remainder
from salestarget.metrics.models import Metric
from salestarget.metrics.selectors import fiscal_calendar
from salestarget.org.models import Membership
from salestarget.targets import changes, midyear, workflow
from salestarget.targets.models import Plan, TargetCell
from salestarget.targets.services import do_create_plan, do_set_plan_total
from tests.factories import MembershipFactory, PersonFactory
from tests.targets.conftest import user

pytestmark = pytest.mark.django_db

YEAR = 2027
MONTHS = [dt.date(YEAR, m, 1) for m in range(1, 13)]
SH, HZ, REP = 100_000_00, 30_000_00, 50_000_00
APRIL_15 = dt.date(YEAR, 4, 15)


@pytest.fixture
def plan(company):
    plan = do_create_plan(
        company.admin, metric=Metric.objects.get(code="sales"), period=fiscal_calendar().year(YEAR)
    )
    do_set_plan_total(company.admin, plan, method="typed", amount=12 * (SH + HZ))
    scenario = plan.scenarios.get(is_primary=True)
    owners = [
        ({"unit": company.east}, SH + HZ),
        ({"unit": company.sh}, SH),
        ({"unit": company.hz}, HZ),
        ({"person": company.rep_sh1}, REP),
        ({"person": company.rep_sh2}, REP),
        ({"person": company.rep_hz}, HZ),
    ]
    for owner, month in owners:
        TargetCell.objects.create(
            scenario=scenario, period_kind="year", period_start=MONTHS[0], target=12 * month, **owner
        )
        for start in MONTHS:
            TargetCell.objects.create(
                scenario=scenario, period_kind="month", period_start=start, target=month, **owner
            )
    workflow.do_workflow(company.admin, plan, "submit")
    workflow.do_workflow(company.admin, plan, "approve")
    workflow.do_workflow(company.admin, plan, "publish")
    plan.refresh_from_db()
    return plan


def months(**owner) -> list[int]:
    cells = TargetCell.objects.filter(scenario__plan__status="published", period_kind="month", **owner)
    return [c.target for c in cells.order_by("period_start")]


def year(**owner) -> int:
    return TargetCell.objects.get(scenario__plan__status="published", period_kind="year", **owner).target


def april_after(amount: int) -> int:
    """The part of April from the 15th, by the company calendar's working days (computed here)."""
    cal = fiscal_calendar()
    before = cal.working_days_between(dt.date(YEAR, 4, 1), dt.date(YEAR, 4, 14))
    after = cal.working_days_between(APRIL_15, dt.date(YEAR, 4, 30))
    return largest_remainder(amount, [before, after])[1]


def check_adds_up(c) -> None:
    """Every stored parent equals its children month by month, and every year its months."""
    sh_people = [months(person=c.rep_sh1), months(person=c.rep_sh2)]
    for owner in (
        {"unit": c.east, "person": None},
        {"unit": c.sh, "person": None},
        {"unit": c.hz, "person": None},
    ):
        assert year(**owner) == sum(months(**owner))
    for p in (c.rep_sh1, c.rep_sh2, c.rep_hz):
        assert year(person=p) == sum(months(person=p))
    east, sh, hz = (
        months(unit=c.east, person=None),
        months(unit=c.sh, person=None),
        months(unit=c.hz, person=None),
    )
    assert [a + b for a, b in zip(sh, hz, strict=True)] == east
    assert sh_people  # people are checked per test: who holds the team's target depends on the change


def accept(request):
    return changes.do_decide_change(user("vp"), request, "accept", comment="同意")


def test_a_rep_moves_team_and_the_remaining_target_follows_by_working_days(company, plan):
    c = company
    asked = midyear.do_request_move(
        user("director_east"), plan, c.rep_sh1, c.hz, APRIL_15, reason="调往杭州组"
    )
    assert asked.kind == "move" and "调往杭州组" in asked.reason and "陈一" in asked.reason
    assert months(unit=c.sh, person=None) == [SH] * 12  # nothing applied before the decision
    accept(asked)
    moved = april_after(REP)
    assert months(unit=c.sh, person=None) == [SH] * 3 + [SH - moved] + [SH - REP] * 8
    assert months(unit=c.hz, person=None) == [HZ] * 3 + [HZ + moved] + [HZ + REP] * 8
    assert months(person=c.rep_sh1) == [REP] * 12  # the rep carries their own target
    assert months(unit=c.east, person=None) == [SH + HZ] * 12
    check_adds_up(c)
    # The team lead of one side cannot ask for a change that reaches the other team.
    with pytest.raises(PermissionDenied):
        midyear.do_request_move(user("lead_sh"), plan, c.rep_sh2, c.hz, APRIL_15, reason="x")


def test_a_departure_leaves_a_vacancy_or_the_team_takes_the_rest(company, plan):
    c = company
    accept(
        midyear.do_request_departure(
            user("lead_sh"), plan, c.rep_sh1, APRIL_15, mode="redistribute", reason="离职"
        )
    )
    left = april_after(REP)
    assert months(person=c.rep_sh1) == [REP] * 3 + [REP - left] + [0] * 8
    assert months(person=c.rep_sh2) == [REP] * 3 + [REP + left] + [2 * REP] * 8
    assert months(unit=c.sh, person=None) == [SH] * 12
    check_adds_up(c)
    # The last rep leaves with a vacancy: the team keeps the target, waiting for a hire.
    accept(
        midyear.do_request_departure(
            user("lead_sh"), plan, c.rep_sh2, dt.date(YEAR, 7, 1), mode="vacancy", reason="离职"
        )
    )
    assert months(person=c.rep_sh2)[6:] == [0] * 6
    assert months(unit=c.sh, person=None) == [SH] * 12


def test_a_hire_gets_a_ramped_target_from_the_vacancy_or_the_team(company, plan):
    c = company
    accept(
        midyear.do_request_departure(
            user("lead_sh"), plan, c.rep_sh2, dt.date(YEAR, 3, 1), mode="vacancy", reason="离职"
        )
    )
    Membership.objects.filter(person=c.rep_sh2).update(valid_to=dt.date(YEAR, 2, 28))  # HR ends it
    newcomer = PersonFactory(code="N1", name="新人甲")
    MembershipFactory(person=newcomer, unit=c.sh, role=Membership.Role.MEMBER, valid_from=dt.date(YEAR, 5, 1))
    asked = midyear.do_request_hire(
        user("lead_sh"),
        plan,
        newcomer,
        c.sh,
        dt.date(YEAR, 5, 1),
        source="vacancy",
        ramp=["0.5", "1"],
        reason="新人",
    )
    accept(asked)
    assert months(person=newcomer) == [REP // 2] + [REP] * 7  # cells from May: no target before
    assert year(person=newcomer) == REP // 2 + 7 * REP
    assert months(unit=c.sh, person=None) == [SH] * 12
    # From the team: the two who hold targets give up the hire's ramped share in proportion.
    second = PersonFactory(code="N2", name="新人乙")
    MembershipFactory(person=second, unit=c.sh, role=Membership.Role.MEMBER, valid_from=dt.date(YEAR, 9, 1))
    accept(
        midyear.do_request_hire(
            user("lead_sh"),
            plan,
            second,
            c.sh,
            dt.date(YEAR, 9, 1),
            source="team",
            ramp=[Decimal("1")],
            reason="扩编",
        )
    )
    sh = months(unit=c.sh, person=None)
    people = [months(person=p)[-4:] for p in (c.rep_sh1, c.rep_sh2, newcomer, second)]
    assert [sum(col) for col in zip(*people, strict=True)] == sh[8:]  # the team adds up again
    # The team's remaining SH a month over its seats (陈一, 新人甲 and the vacancy, empty by now)
    # and the hire: SH / 4 each month at full ramp, given up by 陈一 and 新人甲 half each.
    assert months(person=second) == [SH // 4] * 4
    assert months(person=c.rep_sh1)[-4:] == [REP - SH // 8] * 4
    assert sum(sh) == 12 * SH


def test_refusals_name_the_problem(company, plan):
    c = company
    with pytest.raises(DomainError):
        midyear.do_request_move(user("director_east"), plan, c.rep_sh1, c.sh, APRIL_15, reason="x")
    with pytest.raises(DomainError):
        midyear.do_request_move(
            user("director_east"), plan, c.rep_sh1, c.hz, dt.date(YEAR + 1, 1, 5), reason="x"
        )
    with pytest.raises(DomainError):
        midyear.do_request_departure(
            user("lead_sh"), plan, c.rep_hz, APRIL_15, mode="redistribute", reason="x"
        )
    with pytest.raises(DomainError):
        midyear.do_request_hire(
            user("lead_sh"), plan, c.rep_sh1, c.sh, APRIL_15, source="team", ramp=["1"], reason="x"
        )  # already has targets
    assert Plan.objects.get(pk=plan.pk).version == 1


def test_the_page_and_the_api_send_mid_year_changes(client, company, plan):
    c = company
    client.force_login(user("director_east"))
    page = client.get(f"/targets/plans/{plan.pk}/").content.decode()
    assert 'data-testid="midyear"' in page and "调岗" in page
    answer = client.post(
        f"/targets/plans/{plan.pk}/mid-year/",
        {
            "kind": "move",
            "person": c.rep_sh1.pk,
            "unit": c.hz.pk,
            "effective": APRIL_15.isoformat(),
            "reason": "调岗",
        },
    )
    assert answer.status_code == 302
    made = client.post(
        f"/api/v1/targets/plans/{plan.pk}/mid-year-changes",
        {
            "kind": "depart",
            "person_id": c.rep_hz.pk,
            "effective": "2027-06-01",
            "mode": "vacancy",
            "reason": "离职",
        },
        content_type="application/json",
    )
    assert made.status_code == 200, made.content
    assert made.json()["status"] == "pending" and made.json()["kind"] == "depart"
    bad = client.post(
        f"/api/v1/targets/plans/{plan.pk}/mid-year-changes",
        {
            "kind": "hire",
            "person_id": c.rep_hz.pk,
            "unit_id": c.hz.pk,
            "effective": "2027-06-01",
            "ramp": ["2"],
            "reason": "x",
        },
        content_type="application/json",
    )
    assert bad.status_code == 400
    client.force_login(user("rep_sh1"))
    assert 'data-testid="midyear"' not in client.get(f"/targets/plans/{plan.pk}/").content.decode()


def test_a_territory_changes_hands_with_its_share_of_the_remaining_target(company, plan):
    from fractions import Fraction

    from salestarget.actuals.models import DailyRollup
    from salestarget.engine.rounding import round_half_up

    c = company
    with pytest.raises(DomainError, match="广东"):  # no history to tell the territory's share
        midyear.do_request_territory(
            user("director_east"), plan, c.guangdong, c.rep_sh1, c.rep_hz, APRIL_15, reason="x"
        )
    for region, amount in ((c.shanghai, 300_00), (c.guangdong, 100_00)):
        DailyRollup.objects.create(
            day=dt.date(YEAR - 1, 11, 3), kind="order", person_id=c.rep_sh1.pk, unit_id=c.sh.pk,
            region_id=region.pk, amount=amount, rows=1,
        )  # fmt: skip
    asked = midyear.do_request_territory(
        user("director_east"), plan, c.guangdong, c.rep_sh1, c.rep_hz, APRIL_15, reason="广东划给周杭"
    )
    assert "25.0%" in asked.reason and asked.kind == "territory"
    accept(asked)
    april = round_half_up(Fraction(april_after(REP), 4))
    assert months(person=c.rep_sh1) == [REP] * 3 + [REP - april] + [REP - REP // 4] * 8
    assert months(person=c.rep_hz) == [HZ] * 3 + [HZ + april] + [HZ + REP // 4] * 8
    assert months(unit=c.sh, person=None) == [SH] * 3 + [SH - april] + [SH - REP // 4] * 8
    check_adds_up(c)
    # A share given by hand, over the API.
    client_share = midyear.do_request_mid_year(
        user("director_east"), plan, "territory", person=c.rep_sh2, unit=None, effective=dt.date(YEAR, 7, 1),
        region=c.shanghai, to_person=c.rep_hz, share_bp=10_000, reason="上海全部划出",
    )  # fmt: skip
    accept(client_share)
    assert months(person=c.rep_sh2)[6:] == [0] * 6
