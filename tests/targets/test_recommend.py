"""The recommendation service on a small synthetic history (see conftest.sales)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.db.models import Sum
from django.utils import timezone

from salestarget.actuals.models import DailyRollup
from salestarget.core.errors import DomainError
from salestarget.engine.calendar import add_months
from salestarget.engine.forecast import SHARED_SEASON
from salestarget.metrics.selectors import fiscal_calendar
from salestarget.targets import presenters
from salestarget.targets.adjustments import DEFAULT_P, Adjustments
from salestarget.targets.backtest import backtest
from salestarget.targets.history import metric_for
from salestarget.targets.recommendations import CURVE_POINTS, compose, forecast_basis
from salestarget.targets.scope import (
    ScopeNotVisible,
    backtest_levels,
    last_complete_year,
    resolve_period,
    resolve_scope,
)
from tests.targets.conftest import add_one_off_deal, history_months

pytestmark = pytest.mark.django_db


def recommend(user, scope, period, p=DEFAULT_P, adjustments=None, **options):
    """Computed afresh, as the stored path does on a first visit (tests/targets/test_stored.py
    holds the two to each other): these tests change the facts between calls."""
    return compose(user, forecast_basis(user, scope, period, **options), p, adjustments)


def user(name):
    return get_user_model().objects.get(username=name)


def next_year():
    return resolve_period(fiscal_calendar())


def test_company_recommendation_explains_every_fen(sales):
    admin = user("admin")
    scope = resolve_scope(admin)
    assert scope.unit == sales.hq
    rec = recommend(admin, scope, next_year(), 0.8, Adjustments(growth_pct=5, price_pct=2))
    amounts = {line.code: line.amount for line in rec.lines}
    assert all(isinstance(line.amount, int) for line in rec.lines)
    assert amounts["growth"] == round(rec.baseline * 0.05)
    assert amounts["price"] == round((rec.baseline + amounts["growth"]) * 0.02)
    assert rec.baseline + amounts["growth"] + amounts["price"] == rec.expected == amounts["expected"]
    assert rec.expected + amounts["margin"] == rec.recommended == amounts["recommended"]
    assert 0 < rec.recommended < rec.expected
    assert rec.probability_of(rec.recommended) == pytest.approx(0.8, abs=1e-3)
    # The mean is the expected total; the 50% target is the backtest's median (issue 17).
    assert rec.probability_of(rec.target_for(0.5)) == pytest.approx(0.5, abs=1e-3)
    assert rec.target_for(0.5) > rec.target_for(0.9)
    # Forecast covers the gap months before next year plus the year itself.
    assert rec.forecast.period_start == len(rec.forecast_months) - 12
    assert sum(rec.history) == DailyRollup.objects.aggregate(v=Sum("amount"))["v"]
    bu = rec.bottom_up
    # 周杭 is a member without sales: listed, estimated from the team, with a note (issue 12).
    assert {r["name"] for r in bu.reps} == {"陈一", "陈二", "黄深", "周杭"}
    assert [r["name"] for r in bu.reps if r["note"]] == ["周杭"]
    assert bu.recommended_total == sum(r["recommended"] for r in bu.reps)
    assert bu.gap == bu.top_down_recommended - bu.recommended_total
    assert bu.top_down_expected == rec.baseline
    curve = rec.curve()
    assert len(curve) == CURVE_POINTS
    assert curve[0][1] > curve[-1][1]
    data = rec.to_dict()
    assert data["recommended"] == rec.recommended and data["bottom_up"]["gap"] == bu.gap
    assert data["lines"][-1]["code"] == "recommended"
    charts = presenters.charts(rec)
    assert charts["forecast"]["yAxis"]["axisLabel"]["formatter"] == "cny"
    assert len(charts["probability"]["series"][0]["data"]) == CURVE_POINTS


def test_headcount_lines_ramp_and_departures(sales):
    admin = user("admin")
    period = next_year()
    adj = Adjustments(
        new_business=1_000_000,
        hires=2,
        hire_month=period.start,
        hire_productivity=100_000,
        ramp_months=3,
        departures=1,
        departure_month=add_months(period.start, 6),
        departure_productivity=50_000,
    )
    rec = recommend(admin, resolve_scope(admin), period, 0.5, adj, bottom_up=False)
    amounts = {line.code: line.amount for line in rec.lines}
    assert amounts["new_business"] == 1_000_000
    assert amounts["hires"] == 2 * 100_000 * (1 / 3 + 2 / 3 + 10)
    assert amounts["departures"] == -50_000 * 6
    assert rec.expected == rec.baseline + 1_000_000 + 2_200_000 - 300_000
    assert rec.bottom_up is None
    # Without a productivity, a leaver takes an average active rep's share of the baseline.
    avg = Adjustments(departures=1)
    rec = recommend(admin, resolve_scope(admin), period, 0.5, avg, bottom_up=False)
    assert {line.code: line.amount for line in rec.lines}["departures"] == -round(rec.baseline / 12 / 3) * 12


def test_adjustments_are_validated():
    with pytest.raises(DomainError):
        Adjustments(growth_pct=-100)
    with pytest.raises(DomainError):
        Adjustments(hires=-1)
    with pytest.raises(DomainError):
        Adjustments(ramp_months=0)


def test_scoping_rules(sales):
    rep = user("rep_sh1")
    scope = resolve_scope(rep)
    assert scope.person == sales.rep_sh1 and scope.unit is None
    for kwargs in ({"unit_id": sales.sh.pk}, {"person_id": sales.rep_sz.pk}):
        with pytest.raises(ScopeNotVisible):
            resolve_scope(rep, **kwargs)
    lead = user("lead_sh")
    assert resolve_scope(lead).unit == sales.sh
    with pytest.raises(ScopeNotVisible):
        resolve_scope(lead, person_id=sales.rep_sz.pk)
    with pytest.raises(ScopeNotVisible):
        resolve_scope(lead, unit_id=sales.south.pk)
    rec = recommend(lead, resolve_scope(lead), next_year(), 0.8)
    sh_total = DailyRollup.objects.filter(unit_id=sales.sh.pk).aggregate(v=Sum("amount"))["v"]
    assert sum(rec.history) == sh_total
    assert {r["name"] for r in rec.bottom_up.reps} == {"陈一", "陈二"}
    own = recommend(rep, scope, next_year(), 0.8)
    assert (
        sum(own.history)
        == DailyRollup.objects.filter(person_id=sales.rep_sh1.pk).aggregate(v=Sum("amount"))["v"]
    )


def test_a_narrow_scope_borrows_the_season_of_what_the_user_sees(sales):
    lead = user("lead_sh")
    rep_scope = resolve_scope(lead, person_id=sales.rep_sh1.pk)
    rec = recommend(lead, rep_scope, next_year(), 0.8)
    assert SHARED_SEASON in rec.forecast.backtest


def test_the_borrowed_season_never_reveals_sales_the_user_may_not_see(sales):
    """Another team's months reshape the company's season; a rep's forecast must not move."""
    rep, admin = user("rep_sh1"), user("admin")
    scope = resolve_scope(rep)
    before = recommend(rep, scope, next_year(), 0.8)
    admin_scope = resolve_scope(admin, person_id=sales.rep_sh1.pk)
    admin_before = recommend(admin, admin_scope, next_year(), 0.8).forecast.backtest
    for month in history_months()[-30:]:
        if month.month in (2, 7):
            DailyRollup.objects.create(
                day=month.replace(day=10),
                kind="order",
                person_id=sales.rep_sz.pk,
                unit_id=sales.sz.pk,
                amount=90_000_000,
            )
    after = recommend(rep, scope, next_year(), 0.8)
    assert (after.baseline, after.recommended, after.model) == (
        before.baseline,
        before.recommended,
        before.model,
    )
    # The admin sees the whole company, so the same rep's shared-season candidate does move.
    admin_after = recommend(admin, admin_scope, next_year(), 0.8).forecast.backtest
    assert admin_after[SHARED_SEASON] != admin_before[SHARED_SEASON]


def test_product_and_region_filters_and_short_periods(sales):
    admin = user("admin")
    cal = fiscal_calendar()
    scope = resolve_scope(admin, region_id=sales.china.pk, product_id=sales.product.pk)
    rec = recommend(admin, scope, resolve_period(cal, quarter=2), 0.8, bottom_up=False)
    assert sum(rec.history) == DailyRollup.objects.aggregate(v=Sum("amount"))["v"]
    assert rec.period.kind == "quarter" and rec.forecast.period_start == len(rec.forecast_months) - 3
    gd = resolve_scope(admin, region_id=sales.guangdong.pk)
    rec = recommend(admin, gd, resolve_period(cal, month=3), 0.8, bottom_up=False)
    assert (
        sum(rec.history)
        == DailyRollup.objects.filter(person_id=sales.rep_sz.pk).aggregate(v=Sum("amount"))["v"]
    )
    assert [m.month for m in rec.forecast_months][-1] == 3
    with pytest.raises(DomainError):
        resolve_period(cal, quarter=1, month=1)
    first_half = resolve_period(cal, half=1)
    assert first_half.kind == "half" and len(first_half.children("month")) == 6
    rec = recommend(admin, scope, first_half, 0.8, bottom_up=False)
    assert rec.forecast.period_start == len(rec.forecast_months) - 6
    with pytest.raises(DomainError):
        resolve_period(cal, half=1, quarter=1)


def test_running_period_uses_history_before_it(sales):
    admin = user("admin")
    today = timezone.localdate()
    period = fiscal_calendar().period_of("year", today)
    rec = recommend(admin, resolve_scope(admin), period, 0.8, bottom_up=False, today=today)
    assert rec.history_end == add_months(period.start, -1)
    assert rec.forecast_months[0] == period.start and len(rec.forecast_months) == 12
    assert rec.last_year_actual > 0


def test_no_or_short_history_does_not_crash(company):
    from salestarget.actuals.models import DailyRollup

    admin = user("admin")
    rec = recommend(admin, resolve_scope(admin), next_year(), 0.8)
    assert rec.recommended == 0 and rec.history == [] and rec.bottom_up is None
    assert rec.to_dict()["expected"] == 0
    assert presenters.charts(rec)["probability"]["series"][0]["data"] == []
    last = history_months()[-3:]
    for i, month in enumerate(last):
        DailyRollup.objects.create(
            day=month, kind="order", person_id=company.rep_sz.pk, unit_id=company.sz.pk, amount=i * 1000
        )
    rec = recommend(admin, resolve_scope(admin), next_year(), 0.8)
    assert rec.model == "Mean"
    assert rec.warnings == ["只有 3 个月历史，直接使用 Mean，未做模型选择。"]
    assert rec.recommended >= 0 and rec.bottom_up.reps[0]["name"] == "黄深"


def test_a_one_off_deal_is_named_by_its_month_and_not_planned_again(sales):
    admin = user("admin")
    scope = resolve_scope(admin)
    before = recommend(admin, scope, next_year(), 0.5, bottom_up=False)
    deal_month = add_one_off_deal(sales.rep_sz, sales.sz, 90_000_000)
    rec = recommend(admin, scope, next_year(), 0.5, bottom_up=False)
    label = f"{deal_month.year}年{deal_month.month}月"
    assert any(w.startswith(label) and "一次性大单" in w for w in rec.warnings), rec.warnings
    # The 900,000-yuan deal lifts the recommendation far less than itself.
    assert rec.baseline - before.baseline < 90_000_000 / 4


def test_existing_published_target_gets_its_probability(sales):
    from salestarget.metrics.models import Metric
    from salestarget.targets.models import Plan, Scenario, TargetCell

    admin = user("admin")
    period = next_year()
    plan = Plan.objects.create(
        name="P", fiscal_year=period.fiscal_year, metric=Metric.objects.get(code="sales"), status="published"
    )
    scenario = Scenario.objects.create(plan=plan, name="main", is_primary=True)
    TargetCell.objects.create(
        scenario=scenario, unit=sales.sh, period_kind="year", period_start=period.start, target=50_000_000
    )
    rec = recommend(admin, resolve_scope(admin, unit_id=sales.sh.pk), period, 0.8)
    assert rec.existing_target == 50_000_000
    assert 0 <= rec.existing_probability <= 1
    assert rec.to_dict()["existing_target"]["target"] == 50_000_000
    # A rep of the team may not see the team's target through their own scope.
    rep = user("rep_sh1")
    own = recommend(rep, resolve_scope(rep), period, 0.8)
    assert own.existing_target is None


def test_invalid_requests():
    with pytest.raises(DomainError):
        metric_for("conversion_rate")


def test_invalid_probability(company):
    admin = user("admin")
    with pytest.raises(DomainError):
        recommend(admin, resolve_scope(admin), next_year(), 1.0)
    far = resolve_period(fiscal_calendar(), year=timezone.localdate().year + 5)
    with pytest.raises(DomainError):
        recommend(admin, resolve_scope(admin), far, 0.8)


def test_backtest_per_rep_and_per_unit_level(sales):
    admin = user("admin")
    year = last_complete_year()
    result = backtest(admin, year, "rep")
    assert {row["name"] for row in result.rows()} == {"陈一", "陈二", "黄深"}
    data = result.to_dict()
    assert set(data["pooled"]["mae"]) == {"forecast", "last_year_plus_10", "seasonal_naive"}
    assert set(data["calibration"]) == {"0.5", "0.8"}
    units = backtest(admin, year, "1")
    assert {row["name"] for row in units.rows()} == {"华东", "华南"}
    east = next(r for r in units.rows() if r["name"] == "华东")
    sh1 = next(r for r in result.rows() if r["name"] == "陈一")
    sh2 = next(r for r in result.rows() if r["name"] == "陈二")
    assert east["actual_total"] == sh1["actual_total"] + sh2["actual_total"]
    rep = backtest(user("rep_sh1"), year, "rep")
    assert [row["name"] for row in rep.rows()] == ["陈一"]
    assert [value for value, _label in backtest_levels(user("lead_sh"))] == ["rep", "2"]
    with pytest.raises(DomainError):
        backtest(user("rep_sh1"), year, "1")
    with pytest.raises(DomainError):
        backtest(admin, year, "x")
    with pytest.raises(DomainError):
        backtest(admin, timezone.localdate().year, "rep", today=dt.date(timezone.localdate().year, 6, 1))
