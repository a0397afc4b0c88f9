"""Recommendations computed once (targets.stored): kept per visible rows, scope and period,
valid while the facts are unchanged, refreshed in the background."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from salestarget.actuals.models import ImportBatch
from salestarget.actuals.services import do_import_fact_rows, do_rollback_batch
from salestarget.engine.calendar import add_months
from salestarget.metrics.selectors import fiscal_calendar
from salestarget.targets import recommendations, stored
from salestarget.targets.adjustments import Adjustments
from salestarget.targets.models import StoredForecast
from salestarget.targets.scope import resolve_period, resolve_scope
from salestarget.targets.tasks import refresh_recommendations

pytestmark = pytest.mark.django_db

URL = "/api/v1/targets/recommendations"


def user(name):
    return get_user_model().objects.get(username=name)


def next_year():
    return resolve_period(fiscal_calendar())


@pytest.fixture
def no_fitting(monkeypatch):
    """Fail if a model is fitted: what a stored basis must spare."""

    def fitted(*args, **kwargs):
        raise AssertionError("the models were fitted again")

    monkeypatch.setattr(recommendations, "forecast_many", fitted)


def import_order(rep, amount="100.00") -> ImportBatch:
    day = add_months(timezone.localdate().replace(day=1), -1).isoformat()
    rows = [
        {"external_id": f"T-{ImportBatch.objects.count()}", "date": day, "amount": amount, "person": rep.code}
    ]
    result = do_import_fact_rows(None, "order", rows, source="test")
    assert result.ok, result.errors
    return ImportBatch.objects.get(pk=result.batch_id)


def test_a_second_visit_and_other_adjustments_fit_no_model(client, sales, request):
    client.force_login(sales.admin)
    params = {"unit_id": sales.sh.pk, "growth_pct": 5, "target": 10_000}
    first = client.get(URL, params)
    assert first.status_code == 200 and StoredForecast.objects.count() == 1
    request.getfixturevalue("no_fitting")
    second = client.get(URL, params)
    assert second.json() == first.json()
    other = client.get(URL, {**params, "growth_pct": 10, "p": 0.5, "hires": 2, "hire_productivity": 100_000})
    assert other.status_code == 200 and other.json()["expected"] > first.json()["expected"]
    page = client.get(
        "/targets/recommend/", {"unit": sales.sh.pk, "year": next_year().fiscal_year, "p_pct": 80}
    )
    assert page.status_code == 200 and page.context["rec"].baseline == first.json()["baseline"]
    assert StoredForecast.objects.count() == 1


def test_a_stored_recommendation_is_the_fresh_one(sales):
    lead = user("lead_sh")
    scope, period = resolve_scope(lead), next_year()
    adjustments = Adjustments(growth_pct=3, departures=1)
    fresh = recommendations.compose(
        lead, recommendations.forecast_basis(lead, scope, period), 0.7, adjustments
    )
    first = stored.recommend(lead, scope, period, 0.7, adjustments)
    again = stored.recommend(lead, scope, period, 0.7, adjustments)
    assert first.to_dict() == fresh.to_dict() == again.to_dict()
    assert again.curve() == fresh.curve() and again.warnings == fresh.warnings


def test_what_the_user_may_see_is_part_of_the_key(sales):
    """The admin's forecast of 上海组 borrows the company's season, the lead's only the team's."""
    period = next_year()
    for name in ("admin", "lead_sh"):
        u = user(name)
        stored.recommend(u, resolve_scope(u, unit_id=sales.sh.pk), period)
    assert StoredForecast.objects.count() == 2


def test_a_fact_batch_and_its_rollback_change_the_data_version(sales):
    before = stored.data_version()
    batch = import_order(sales.rep_sz)
    written = stored.data_version()
    assert written != before
    do_rollback_batch(sales.admin, batch)
    assert stored.data_version() not in (before, written)


def test_a_visit_after_new_facts_computes_again(sales):
    admin = user("admin")
    scope, period = resolve_scope(admin), next_year()
    old = stored.recommend(admin, scope, period, bottom_up=False)
    import_order(sales.rep_sz, "1000000.00")
    new = stored.recommend(admin, scope, period, bottom_up=False)
    assert sum(new.history) == sum(old.history) + 100_000_000
    assert StoredForecast.objects.get().data_version == stored.data_version()


def test_the_refresh_job_computes_stale_ones_again_and_drops_what_cannot_be_asked(sales, request):
    admin, lead = user("admin"), user("lead_sh")
    period = next_year()
    stored.recommend(admin, resolve_scope(admin), period, bottom_up=False)
    stored.recommend(lead, resolve_scope(lead), period, bottom_up=False)
    assert refresh_recommendations.call() == 0  # both current
    import_order(sales.rep_sh1, "500000.00")
    lead.is_active = False
    lead.save()
    assert refresh_recommendations.call() == 1
    row = StoredForecast.objects.get()
    assert row.user == admin and row.data_version == stored.data_version()
    request.getfixturevalue("no_fitting")
    rec = stored.recommend(admin, resolve_scope(admin), period, bottom_up=False)
    assert rec.history[-1] == row.basis["history"][-1]


def test_a_stored_basis_nobody_used_for_long_is_dropped(sales):
    admin = user("admin")
    stored.recommend(admin, resolve_scope(admin), next_year(), bottom_up=False)
    StoredForecast.objects.update(used_at=timezone.now() - stored.KEEP * 2)
    assert stored.refresh() == 0 and not StoredForecast.objects.exists()
