"""Issue 13, the plan's foundation: the database refuses a second identical target cell and a
second plan in force (SQLite and PostgreSQL alike), plans are set up only by those who look after
the whole organisation, and the company total is typed, adopted from the recommendation or last
year × (1 + growth), exactly."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from salestarget.actuals.models import DailyRollup
from salestarget.core.errors import DomainError
from salestarget.metrics.models import Metric
from salestarget.metrics.selectors import fiscal_calendar
from salestarget.org.models import RoleAssignment
from salestarget.targets.hooks import adopt_recommendation
from salestarget.targets.models import Plan, PlanLevel, Scenario, TargetCell
from salestarget.targets.scope import TargetScope
from salestarget.targets.services import LevelSpec, do_create_plan, do_set_plan_total, may_plan
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def next_year():
    return fiscal_calendar().year(timezone.localdate().year + 1)


def sales_metric() -> Metric:
    return Metric.objects.get(code="sales")


@pytest.fixture
def plan(company):
    return do_create_plan(
        company.admin,
        metric=sales_metric(),
        period=next_year(),
        floor_factor=Decimal("0.9"),
        stretch_factor=Decimal("1.2"),
        levels=[LevelSpec(0, 1_000_000), LevelSpec(1, 1_000_000, 500), LevelSpec(3, 100)],
    )


def test_two_identical_cells_are_refused(company, plan):
    """Before: the unique key over nullable columns never fired (NULLs are distinct)."""
    scenario = plan.scenarios.get()
    key = {"scenario": scenario, "unit": company.sh, "period_kind": "year", "period_start": plan.period_start}
    TargetCell.objects.create(**key, target=100)
    with pytest.raises(IntegrityError), transaction.atomic():
        TargetCell.objects.create(**key, target=200)
    # Cells that differ in any part of the key still live side by side.
    TargetCell.objects.create(**key, product=company.product, target=300)
    TargetCell.objects.create(**{**key, "unit": None, "person": company.rep_sh1}, target=400)
    assert TargetCell.objects.filter(scenario=scenario).count() == 3


def test_one_plan_in_force_per_metric_and_period(company, plan):
    second = do_create_plan(company.admin, metric=sales_metric(), period=next_year(), name="另一版")
    Plan.objects.filter(pk=plan.pk).update(status=Plan.Status.PUBLISHED)
    with pytest.raises(IntegrityError), transaction.atomic():
        Plan.objects.filter(pk=second.pk).update(status=Plan.Status.APPROVED)
    # Another period, or another metric, is another plan.
    other = do_create_plan(company.admin, metric=Metric.objects.get(code="collections"), period=next_year())
    Plan.objects.filter(pk=other.pk).update(status=Plan.Status.PUBLISHED)


def test_a_plan_is_set_up_with_its_period_levels_and_baseline(company, plan):
    period = next_year()
    assert (plan.period_kind, plan.period_start, plan.period_end) == ("year", period.start, period.end)
    assert plan.fiscal_year == period.fiscal_year and plan.status == Plan.Status.DRAFT
    assert list(plan.levels.values_list("depth", "rounding_unit", "over_assignment_bp")) == [
        (0, 1_000_000, 0),
        (1, 1_000_000, 500),
        (3, 100, 0),
    ]
    assert Scenario.objects.get(plan=plan).is_primary
    assert str(period.fiscal_year) in plan.name
    quarter = do_create_plan(company.admin, metric=sales_metric(), period=period.children("quarter")[1])
    assert (quarter.period_kind, quarter.period_end) == ("quarter", period.children("quarter")[1].end)


def test_who_may_set_up_a_plan(company):
    ops = UserFactory(username="ops")
    RoleAssignment.objects.create(user=ops, role="ops")
    assert may_plan(company.admin) and may_plan(ops) and may_plan(company.vp.user)
    for user in (company.director_east.user, company.lead_sh.user, company.rep_sh1.user):
        assert not may_plan(user)
        with pytest.raises(PermissionDenied):
            do_create_plan(user, metric=sales_metric(), period=next_year())
    assert (
        do_create_plan(company.vp.user, metric=sales_metric(), period=next_year()).created_by
        == company.vp.user
    )


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"floor_factor": Decimal("1.5")}, "floor factor"),
        ({"stretch_factor": Decimal("0.8")}, "stretch factor"),
        ({"levels": [LevelSpec(1), LevelSpec(1)]}, "once"),
        ({"levels": [LevelSpec(1, 0)]}, "rounding unit"),
        ({"levels": [LevelSpec(1, 1, 20_000)]}, "over-assignment"),
        ({"name": "x" * 101}, "100 characters"),
    ],
)
def test_bad_plans_are_refused_clearly(company, kwargs, words):
    from django.utils import translation

    with pytest.raises(DomainError) as err:
        do_create_plan(company.admin, metric=sales_metric(), period=next_year(), **kwargs)
    with translation.override("en"):
        assert words in str(err.value)
    assert not Plan.objects.exists()


def test_a_month_is_not_a_plan_period(company):
    with pytest.raises(DomainError):
        do_create_plan(company.admin, metric=sales_metric(), period=next_year().children("month")[0])


def test_a_typed_total_with_floor_and_stretch_by_factors(company, plan):
    total = do_set_plan_total(company.admin, plan, method="typed", amount=30_000_000_001)
    cell = total.cell
    assert (cell.unit, cell.person, cell.period_kind, cell.period_start) == (
        company.hq,
        None,
        "year",
        plan.period_start,
    )
    assert (cell.target, cell.floor, cell.stretch) == (30_000_000_001, 27_000_000_001, 36_000_000_001)
    # Again: the same cell changes, no second one.
    do_set_plan_total(company.admin, plan, method="typed", amount=5)
    assert TargetCell.objects.get(scenario__plan=plan).target == 5
    plan.refresh_from_db()
    assert plan.total_method == "typed" and plan.total_chance is None


def test_the_naive_total_is_last_complete_year_times_growth(company, plan, sales):
    period = next_year()
    last = period.shift(-1)
    if last.end >= timezone.localdate().replace(day=1):  # last year is not over: the one before
        last = last.shift(-1)
    actual = DailyRollup.objects.filter(kind="order", day__range=(last.start, last.end)).aggregate(
        v=Sum("amount")
    )["v"]
    total = do_set_plan_total(company.admin, plan, method="naive", growth_bp=1000)
    expected = (Decimal(actual) * Decimal("1.1")).quantize(Decimal(1), rounding="ROUND_HALF_UP")
    assert total.amount == int(expected)
    plan.refresh_from_db()
    assert (plan.total_method, plan.total_growth_bp) == ("naive", 1000)


def test_the_recommended_total_and_the_chance_of_a_typed_one(company, plan, sales):
    adopted = do_set_plan_total(company.admin, plan, method="recommendation", chance=80)
    assert adopted.amount > 0 and adopted.chance == pytest.approx(0.8, abs=0.02)
    plan.refresh_from_db()
    assert (plan.total_method, plan.total_chance) == ("recommendation", 80)
    typed = do_set_plan_total(company.admin, plan, method="typed", amount=adopted.amount * 2)
    assert typed.chance is not None and typed.chance < 0.05


def test_a_total_outside_a_draft_or_without_a_method_is_refused(company, plan):
    with pytest.raises(DomainError):
        do_set_plan_total(company.admin, plan, method="typed")
    with pytest.raises(DomainError):
        do_set_plan_total(company.admin, plan, method="recommendation", chance=30)
    with pytest.raises(DomainError):
        do_set_plan_total(company.admin, plan, method="guess", amount=1)
    Plan.objects.filter(pk=plan.pk).update(status=Plan.Status.PUBLISHED)
    plan.refresh_from_db()
    with pytest.raises(DomainError):
        do_set_plan_total(company.admin, plan, method="typed", amount=1)
    with pytest.raises(PermissionDenied):
        do_set_plan_total(company.lead_sh.user, plan, method="typed", amount=1)


def test_use_as_target_fills_the_draft_plans_total(company, plan):
    """The recommendation page's action now writes the whole organisation's figure into the draft
    plan; a team's figure still writes nothing (it comes from decomposing the total)."""
    period = next_year()
    adoption = adopt_recommendation(company.admin, TargetScope(), period, sales_metric(), 123_456_789)
    assert adoption.saved and plan.name in adoption.message
    assert TargetCell.objects.get(scenario__plan=plan).target == 123_456_789
    team = adopt_recommendation(company.admin, TargetScope(unit=company.sh), period, sales_metric(), 5)
    assert not team.saved and TargetCell.objects.filter(scenario__plan=plan).count() == 1


def test_a_plan_given_only_its_year_covers_the_fiscal_year(company):
    plan = Plan.objects.create(name="旧方式", fiscal_year=2030, metric=sales_metric())
    assert (plan.period_kind, plan.period_start) == ("year", dt.date(2030, 1, 1))
    assert PlanLevel.objects.count() == 0


def test_the_plan_pages(company, login, sales):
    admin = login("admin")
    page = admin.get("/targets/plans/")
    assert page.status_code == 200 and 'data-testid="new-plan"' in page.content.decode()
    year = timezone.localdate().year + 1
    created = admin.post(
        "/targets/plans/",
        {
            "metric": "sales",
            "year": year,
            "part": "",
            "floor_pct": "90",
            "stretch_pct": "120",
            "round_top": "10000",
            "round_reps": "1",
            "over_pct": "5",
        },
    )
    plan = Plan.objects.get()
    assert created.status_code == 302 and created["Location"] == f"/targets/plans/{plan.pk}/"
    assert list(plan.levels.values_list("depth", "rounding_unit", "over_assignment_bp")) == [
        (0, 1_000_000, 0),
        (1, 1_000_000, 500),
        (2, 1_000_000, 500),
        (3, 100, 500),
    ]
    saved = admin.post(f"/targets/plans/{plan.pk}/total/", {"method": "recommendation", "chance": "80"})
    assert saved.status_code == 302
    detail = admin.get(f"/targets/plans/{plan.pk}/").content.decode()
    assert 'data-testid="plan-total"' in detail and 'data-testid="plan-chance"' in detail and "80%" in detail
    assert 'data-testid="smart"' in detail
    # A team lead sees the plan but neither the new-plan form nor the total form, and may not post.
    lead = login("lead_sh")
    assert 'data-testid="new-plan"' not in lead.get("/targets/plans/").content.decode()
    assert 'data-testid="set-total"' not in lead.get(f"/targets/plans/{plan.pk}/").content.decode()
    assert (
        lead.post(f"/targets/plans/{plan.pk}/total/", {"method": "typed", "amount": "1"}).status_code == 403
    )
    assert lead.post("/targets/plans/", {"metric": "sales", "year": year}).status_code == 403


def test_the_plan_api(company, login):
    admin = login("admin")
    year = timezone.localdate().year + 1
    body = {
        "metric": "sales",
        "year": year,
        "quarter": 2,
        "floor_factor": "0.9",
        "levels": [{"depth": 0, "rounding_unit": 1000000}],
    }
    created = admin.post("/api/v1/targets/plans", body, content_type="application/json")
    assert created.status_code == 200, created.content
    plan = created.json()
    assert plan["period_kind"] == "quarter" and plan["floor_factor"] == "0.9" and plan["total"] is None
    total = admin.post(
        f"/api/v1/targets/plans/{plan['id']}/total",
        {"method": "typed", "amount": 123456},
        content_type="application/json",
    )
    assert total.json()["total"] == {"target": 123456, "floor": 111110, "stretch": None}
    assert [p["id"] for p in admin.get("/api/v1/targets/plans").json()] == [plan["id"]]
    bad = admin.post(
        "/api/v1/targets/plans", {**body, "floor_factor": "1.5"}, content_type="application/json"
    )
    assert bad.status_code == 400
    refused = login("rep_sh1").post("/api/v1/targets/plans", body, content_type="application/json")
    assert refused.status_code == 403


def test_the_plan_goes_out_to_excel_and_comes_back_through_the_page(company, login, plan, tmp_path):
    """Export from the plan's page, change nothing, import the file back: the cells are the same;
    a team lead may do neither."""
    do_set_plan_total(company.admin, plan, method="typed", amount=98_765_432_10)
    scenario = plan.scenarios.get()
    months = fiscal_calendar().year(plan.fiscal_year).children("month")
    for n, month in enumerate(months):
        TargetCell.objects.create(
            scenario=scenario,
            person=company.rep_sh1,
            period_kind="month",
            period_start=month.start,
            target=1000 * n + 7,
        )

    def cells():
        rows = TargetCell.objects.filter(scenario=scenario).values_list(
            "person", "unit", "period_start", "target"
        )
        return sorted(rows, key=lambda r: (r[0] or 0, r[1] or 0, r[2]))

    before = cells()
    admin = login("admin")
    exported = admin.get(f"/targets/plans/{plan.pk}/export/")
    assert exported.status_code == 200 and exported["Content-Type"].startswith("application/vnd.openxml")
    path = tmp_path / "plan.xlsx"
    path.write_bytes(exported.content)
    with path.open("rb") as f:
        imported = admin.post(f"/targets/plans/{plan.pk}/import/", {"file": f, "unit": "yuan"})
    assert imported.status_code == 302
    assert cells() == before
    lead = login("lead_sh")
    assert lead.get(f"/targets/plans/{plan.pk}/export/").status_code == 403
    with path.open("rb") as f:
        assert lead.post(f"/targets/plans/{plan.pk}/import/", {"file": f}).status_code == 403


def test_a_ratio_is_not_planned_as_a_total(company, login):
    """A plan splits a total so that the parts add up; 转化率 split that way gave a rep a sliver
    of the company's rate. Refused in words (the service, the API), not offered on the form."""
    with pytest.raises(DomainError, match="赢单数"):
        do_create_plan(company.admin, metric=Metric.objects.get(code="conversion_rate"), period=next_year())
    client = login("admin")
    answer = client.post(
        "/api/v1/targets/plans",
        {"metric": "avg_order_value", "year": next_year().fiscal_year},
        content_type="application/json",
    )
    assert answer.status_code == 400 and "订单数" in answer.json()["detail"], answer.content
    form = client.get("/targets/plans/")
    assert form.status_code == 200
    assert 'value="conversion_rate"' not in form.content.decode() and 'value="sales"' in form.content.decode()
