"""Issue 12 item 2: a metric's settings (credit rule, names, decimals…) are edited in the app by
administrators and sales operations, through one service, with history and an optimistic
version check; the API does the same."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.utils import translation

from salestarget.core.errors import DomainError
from salestarget.metrics.models import Metric
from salestarget.metrics.selectors import recent_changes
from salestarget.metrics.services import StaleEdit, do_update_metric
from salestarget.org.models import RoleAssignment
from salestarget.targets.models import Plan, Scenario, TargetCell
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ops(company):
    user = UserFactory(username="ops")
    RoleAssignment.objects.create(user=user, role="ops")
    return user


def signed_in(client, user, lang="en"):
    client.force_login(user)
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = lang
    return client


def form_data(metric: Metric, **changes) -> dict:
    data = {
        "name_zh": metric.name_zh,
        "name_en": metric.name_en,
        "unit": metric.unit,
        "decimals": metric.decimals,
        "credit_rule": metric.credit_rule,
        "direction": metric.direction,
        "stage": metric.stage,
        "sort_order": metric.sort_order,
        "version": metric.version,
    }
    if metric.active:
        data["active"] = "on"
    data.update(changes)
    return data


def refresh_jobs() -> int:
    from django_tasks_db.models import DBTaskResult

    from salestarget.targets.tasks import refresh_recommendations

    return DBTaskResult.objects.filter(task_path=refresh_recommendations.module_path).count()


def test_ops_change_a_credit_rule_on_the_page_and_a_refresh_is_queued(client, company, ops):
    visits = Metric.objects.get(code="visits")
    signed_in(client, ops)
    listing = client.get("/settings/metrics/")
    assert listing.status_code == 200 and b"/settings/metrics/visits/" in listing.content
    assert client.get("/settings/metrics/visits/").status_code == 200
    before = refresh_jobs()
    response = client.post("/settings/metrics/visits/", form_data(visits, credit_rule="territory"))
    assert response.status_code == 302, response.content.decode()[:3000]
    visits.refresh_from_db()
    assert visits.credit_rule == "territory"
    assert visits.version == 2
    assert refresh_jobs() == before + 1
    record = visits.history.first()
    assert record.history_user == ops and record.credit_rule == "territory"
    with translation.override("en"):
        changes = recent_changes(visits)
    assert changes[0]["user"] == ops
    assert changes[0]["fields"] == [
        {"field": "credit rule", "old": "Owner on the row", "new": "Territory at the row's date"}
    ]
    assert b'data-testid="change"' in client.get("/settings/metrics/visits/").content


def test_a_name_change_queues_no_refresh(company, ops):
    before = refresh_jobs()
    visits = do_update_metric(ops, Metric.objects.get(code="visits"), name_en="Customer visits")
    assert visits.name_en == "Customer visits"
    assert refresh_jobs() == before


def test_admin_may_change_metrics_too(client, company):
    signed_in(client, company.admin)
    orders = Metric.objects.get(code="orders")
    response = client.post("/settings/metrics/orders/", form_data(orders, name_zh="订单笔数", sort_order=5))
    assert response.status_code == 302
    orders.refresh_from_db()
    assert (orders.name_zh, orders.sort_order) == ("订单笔数", 5)


@pytest.mark.parametrize("username", ["rep_sh1", "lead_sh", "director_east", "vp"])
def test_reps_and_managers_get_403(client, company, username):
    user = get_user_model().objects.get(username=username)
    signed_in(client, user)
    assert client.get("/settings/metrics/").status_code == 403
    visits = Metric.objects.get(code="visits")
    assert client.post("/settings/metrics/visits/", form_data(visits, credit_rule="split")).status_code == 403
    with pytest.raises(PermissionDenied):
        do_update_metric(user, visits, credit_rule="split")
    visits.refresh_from_db()
    assert visits.credit_rule == "owner"


def test_a_company_wide_viewer_gets_403(client, company):
    finance = UserFactory(username="finance")
    RoleAssignment.objects.create(user=finance, role="viewer")
    signed_in(client, finance)
    assert client.get("/settings/metrics/").status_code == 403
    assert client.get("/settings/company/").status_code == 403


def test_decimals_cannot_change_once_the_metric_has_targets(client, company, ops):
    visits = Metric.objects.get(code="visits")
    do_update_metric(ops, visits, decimals=1)  # no targets yet: allowed
    visits.refresh_from_db()
    assert visits.decimals == 1
    plan = Plan.objects.create(name="2026", fiscal_year=2026, metric=visits)
    scenario = Scenario.objects.create(plan=plan, name="base", is_primary=True)
    TargetCell.objects.create(
        scenario=scenario,
        unit=company.sh,
        period_kind="year",
        period_start=dt.date(2026, 1, 1),
        target=12000,
    )
    with pytest.raises(DomainError) as caught:
        do_update_metric(ops, visits, decimals=0)
    assert "已有目标" in str(caught.value)
    signed_in(client, ops)
    response = client.post("/settings/metrics/visits/", form_data(visits, decimals=2))
    assert response.status_code == 200
    assert b"already has targets" in response.content
    visits.refresh_from_db()
    assert visits.decimals == 1
    # Other fields of the same metric still change.
    do_update_metric(ops, visits, name_en="Calls")


def test_money_metrics_keep_two_decimals(company, ops):
    with pytest.raises(DomainError) as caught:
        do_update_metric(ops, Metric.objects.get(code="sales"), decimals=0)
    assert "百分之一" in str(caught.value)


def test_code_and_aggregation_are_not_editable(company, ops):
    sales = Metric.objects.get(code="sales")
    with pytest.raises(DomainError):
        do_update_metric(ops, sales, aggregation="count")
    with pytest.raises(DomainError):
        do_update_metric(ops, sales, code="revenue")


def test_a_stale_form_is_refused_with_a_clear_message(client, company, ops):
    visits = Metric.objects.get(code="visits")
    signed_in(client, ops)
    opened = form_data(visits, credit_rule="split")
    do_update_metric(company.admin, visits, version=visits.version, name_en="Customer visits")
    response = client.post("/settings/metrics/visits/", opened)
    assert response.status_code == 200
    assert b"Someone else saved these settings" in response.content
    visits.refresh_from_db()
    assert (visits.credit_rule, visits.name_en) == ("owner", "Customer visits")
    with pytest.raises(StaleEdit):
        do_update_metric(ops, visits, version=1, credit_rule="split")


def test_the_page_works_in_chinese(client, company, ops):
    signed_in(client, ops, "zh-hans")
    assert client.get("/settings/metrics/sales/").status_code == 200
    assert client.get("/settings/metrics/nonesuch/").status_code == 404


# --------------------------------------------------------------------------- the API


def test_api_patch_a_metric(client, company, ops):
    client.force_login(ops)
    visits = client.get("/api/v1/metrics/").json()
    version = next(m for m in visits if m["code"] == "visits")["version"]
    response = client.patch(
        "/api/v1/metrics/visits",
        {"credit_rule": "split", "name_en": "Calls", "version": version},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["credit_rule"], body["name_en"], body["version"]) == ("split", "Calls", version + 1)
    stale = client.patch(
        "/api/v1/metrics/visits", {"active": False, "version": version}, content_type="application/json"
    )
    assert stale.status_code == 409 and stale.json()["detail"]
    assert client.patch("/api/v1/metrics/nonesuch", {}, content_type="application/json").status_code == 404
    bad = client.patch("/api/v1/metrics/visits", {"credit_rule": "anyone"}, content_type="application/json")
    assert bad.status_code == 422
    money = client.patch("/api/v1/metrics/sales", {"decimals": 0}, content_type="application/json")
    assert money.status_code == 400 and "百分之一" in money.json()["detail"]
    assert Metric.objects.get(code="visits").history.first().history_user == ops


@pytest.mark.parametrize("username", ["rep_sh1", "lead_sh"])
def test_api_refuses_reps_and_managers(client, company, username):
    client.force_login(get_user_model().objects.get(username=username))
    response = client.patch(
        "/api/v1/metrics/visits", {"credit_rule": "split"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert Metric.objects.get(code="visits").credit_rule == "owner"


def test_a_metric_without_history_gets_its_before_recorded(company, ops):
    """Metrics seeded after the history began (a flush and re-seed) have no record yet."""
    visits = Metric.objects.get(code="visits")
    visits.history.all().delete()
    do_update_metric(ops, visits, credit_rule="split")
    with translation.override("en"):
        changes = recent_changes(Metric.objects.get(code="visits"))
    assert [(f["old"], f["new"]) for f in changes[0]["fields"]] == [
        ("Owner on the row", "Split between several people")
    ]


def test_a_form_without_its_version_is_refused(client, company, ops):
    visits = Metric.objects.get(code="visits")
    signed_in(client, ops)
    data = form_data(visits, credit_rule="split")
    del data["version"]
    response = client.post("/settings/metrics/visits/", data)
    assert response.status_code == 200 and b"came without its version" in response.content
    assert Metric.objects.get(code="visits").credit_rule == "owner"
