"""Every URL, tried as anonymous, a rep, another rep, the manager of another unit, the
manager, and an admin (NetBox-style generic view tests).

A new URL must be added to WEB or API below: ``test_every_url_is_registered`` fails until it
is, so nothing ships without its scoping checked.
"""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

ROLES = ["anonymous", "rep_sh1", "rep_sz", "lead_sz", "lead_sh", "admin"]
EVERYONE = {"rep_sh1": 200, "rep_sz": 200, "lead_sz": 200, "lead_sh": 200, "admin": 200}
# Rows of rep_sh1 (a member of 上海组, managed by lead_sh, inside 华东).
OWN_ROW = {"rep_sh1": 200, "rep_sz": 404, "lead_sz": 404, "lead_sh": 200, "admin": 200}

ADMIN_ONLY = {"rep_sh1": 403, "rep_sz": 403, "lead_sz": 403, "lead_sh": 403, "admin": 200}
# A row of 上海组 that its managers (lead_sh, and those above) may change; nobody else sees it.
SH_MANAGERS = {"rep_sh1": 404, "rep_sz": 404, "lead_sz": 404, "lead_sh": 200, "admin": 200}

# url name -> (kwargs from the company fixture, expected status per signed-in role)
WEB = {
    "accounts:users": (lambda c: {}, ADMIN_ONLY),
    "accounts:user": (lambda c: {"pk": c.rep_sh1.user.pk}, ADMIN_ONLY),
    "web:home": (lambda c: {}, EVERYONE),
    "org:index": (lambda c: {}, EVERYONE),
    "org:person": (lambda c: {"pk": c.rep_sh1.pk}, OWN_ROW),
    "targets:recommend": (lambda c: {}, EVERYONE),
    "targets:backtest": (lambda c: {}, EVERYONE),
    # Everyone sees which plans exist (tests/targets/test_plans.py: who may create and set them).
    "targets:index": (lambda c: {}, EVERYONE),
    # Everyone's own inbox (tests/targets/test_inbox.py checks what each sees).
    "targets:inbox": (lambda c: {}, EVERYONE),
    "targets:plan": (lambda c: {"pk": a_plan().pk}, EVERYONE),
    # POST only: a GET is refused whoever asks.
    "targets:plan_total": (lambda c: {"pk": a_plan().pk}, dict.fromkeys(EVERYONE, 405)),
    "targets:plan_import": (lambda c: {"pk": a_plan().pk}, dict.fromkeys(EVERYONE, 405)),
    # Who may take each step: tests/targets/test_workflow.py.
    "targets:plan_workflow": (lambda c: {"pk": a_plan().pk}, dict.fromkeys(EVERYONE, 405)),
    "targets:plan_restore": (lambda c: {"pk": a_plan().pk}, dict.fromkeys(EVERYONE, 405)),
    "targets:plan_midyear": (lambda c: {"pk": a_plan().pk}, dict.fromkeys(EVERYONE, 405)),
    "targets:plan_tracking": (lambda c: {"pk": a_plan().pk}, dict.fromkeys(EVERYONE, 405)),
    # Everyone sees a plan's versions; the differences are scoped (tests/targets/test_change_requests.py).
    "targets:plan_versions": (lambda c: {"pk": a_plan().pk}, EVERYONE),
    # Everyone sees the kick-off view of the topmost unit they reach (tests/targets/test_commitments.py).
    "targets:kickoff": (lambda c: {"pk": a_plan().pk}, EVERYONE),
    # Who may decide: tests/targets/test_change_requests.py.
    "targets:change_request_decide": (
        lambda c: {"pk": a_plan().pk, "request_id": 1},
        dict.fromkeys(EVERYONE, 405),
    ),
    # The whole plan's targets: for those who plan the whole organisation.
    "targets:plan_export": (lambda c: {"pk": a_plan().pk}, ADMIN_ONLY),
    # The grid opens on the topmost unit each may see; its cells are scoped (tests/targets/test_grid.py).
    "targets:grid": (lambda c: {"pk": a_plan().pk}, EVERYONE),
    "targets:scenarios": (lambda c: {"pk": a_plan().pk}, EVERYONE),
    "targets:compare": (lambda c: {"pk": a_plan().pk}, EVERYONE),
    # The decomposition wizard and its run: planners only (tests/targets/test_wizard.py).
    "targets:decompose": (lambda c: {"pk": a_plan().pk}, ADMIN_ONLY),
    "targets:decompose_progress": (lambda c: {"pk": a_plan().pk, "scenario_id": a_scenario().pk}, ADMIN_ONLY),
    # A cell's explanation: as visible as the cell, here rep_sh1's.
    "targets:why": (lambda c: {"cell_id": a_cell(c).pk}, OWN_ROW),
    # Everyone follows their own progress; whose figures each sees: tests/tracking/test_progress.py.
    "tracking:index": (lambda c: {}, EVERYONE),
    # Opens on the plan in force, or says none is published; whose rows: tests/tracking/test_table.py.
    "tracking:table": (lambda c: {}, EVERYONE),
    # The leaderboard page says when it is for managers only (tests/tracking/test_leaderboard.py).
    "tracking:leaderboard": (lambda c: {}, EVERYONE),
    # Needs a published plan: 404 without one (tests/tracking/test_leaderboard.py).
    "tracking:wallboard": (lambda c: {}, dict.fromkeys(EVERYONE, 404)),
    # Alerts (issue 16): everyone sees the pages, with the rows restrict() lets them see and the
    # management forms for managers only (tests/alerts/test_pages.py).
    "alerts:index": (lambda c: {}, EVERYONE),
    "alerts:rule": (lambda c: {"pk": an_alert_rule(c).pk}, SH_MANAGERS),
    "alerts:rule_delete": (lambda c: {"pk": an_alert_rule(c).pk}, dict.fromkeys(EVERYONE, 405)),
    "alerts:channels": (lambda c: {}, EVERYONE),
    "alerts:channel": (lambda c: {"pk": a_channel(c).pk}, SH_MANAGERS),
    "alerts:channel_delete": (lambda c: {"pk": a_channel(c).pk}, dict.fromkeys(EVERYONE, 405)),
    "alerts:channel_test": (lambda c: {"pk": a_channel(c).pk}, dict.fromkeys(EVERYONE, 405)),
    "alerts:deliveries": (lambda c: {}, EVERYONE),
    "alerts:notifications": (lambda c: {}, EVERYONE),
    "alerts:mark_read": (lambda c: {}, dict.fromkeys(EVERYONE, 405)),
    "alerts:subscriptions": (lambda c: {}, EVERYONE),
    # Everyone sees what they are credited with (tests/actuals/test_credit_summary.py checks whose).
    "actuals:summary": (lambda c: {}, EVERYONE),
    "actuals:summary_xlsx": (lambda c: {}, EVERYONE),
    # Administrators and sales operations (tests/test_company_settings.py, test_metric_settings.py).
    "settings:company": (lambda c: {}, ADMIN_ONLY),
    "settings:metrics": (lambda c: {}, ADMIN_ONLY),
    "settings:metric": (lambda c: {"code": "sales"}, ADMIN_ONLY),
    "settings:calendar": (lambda c: {}, ADMIN_ONLY),  # tests/test_work_calendar.py
    # POST only, for those who may change targets: a GET is refused either way.
    "targets:adopt": (
        lambda c: {},
        {"rep_sh1": 403, "rep_sz": 403, "lead_sz": 405, "lead_sh": 405, "admin": 405},
    ),
}


def a_plan():
    """A plan of the company (plans are shared: everyone signed in may see that one exists)."""
    from salestarget.metrics.models import Metric
    from salestarget.targets.models import Plan, Scenario

    metric = Metric.objects.get(code="sales")
    plan = Plan.objects.get_or_create(name="2030 销售额目标", fiscal_year=2030, metric=metric)[0]
    Scenario.objects.get_or_create(plan=plan, is_primary=True, defaults={"name": "基准方案"})
    return plan


def a_scenario():
    return a_plan().scenarios.get(is_primary=True)


def a_cell(c):
    """rep_sh1's first month in the plan, under a company total (an explanation starts there)."""
    import datetime as dt

    from salestarget.targets.models import TargetCell

    scenario, start = a_scenario(), a_plan().period_start
    TargetCell.objects.get_or_create(
        scenario=scenario, unit=c.hq, person=None, period_kind="year", period_start=start,
        defaults={"target": 1_000_000},
    )  # fmt: skip
    month = dt.date(start.year, start.month, 1)
    return TargetCell.objects.get_or_create(
        scenario=scenario, unit=None, person=c.rep_sh1, period_kind="month", period_start=month,
        defaults={"target": 100_000},
    )[0]  # fmt: skip


def a_channel(c):
    """A group robot of 上海组 (alerts)."""
    from salestarget.alerts.models import Channel

    return Channel.objects.get_or_create(
        name="上海组钉钉群",
        defaults={"kind": "dingtalk", "unit": c.sh, "config": {"url": "https://example.com/robot"}},
    )[0]


def an_alert_rule(c):
    """An alert rule on 上海组 (alerts; a rule of a draft plan is enough to be seen)."""
    from salestarget.alerts.models import AlertRule

    return AlertRule.objects.get_or_create(
        name="上海组进度落后", defaults={"plan": a_plan(), "unit": c.sh, "condition": "lagging"}
    )[0]


# Django and third-party URLs that carry their own access control.
NOT_OURS = ("admin:", "set_language", "login", "logout", "api:")


def url_names(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for p in resolver.url_patterns:
        if isinstance(p, URLResolver):
            ns = f"{prefix}{p.namespace}:" if p.namespace else prefix
            yield from url_names(p, ns)
        elif isinstance(p, URLPattern) and p.name:
            yield f"{prefix}{p.name}"


def test_every_url_is_registered():
    # Pages that need app-specific rows (batches, error reports) keep their role table next to
    # the fixture that makes those rows: tests/actuals/test_views.py's PAGES.
    from tests.actuals.test_views import PAGES as ACTUALS_PAGES

    ours = {n for n in url_names() if not n.startswith(NOT_OURS)}
    assert ours - set(WEB) - set(ACTUALS_PAGES) == set(), "add these URLs to WEB with their expected scoping"


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(WEB))
@pytest.mark.parametrize("role", ROLES)
def test_web_url_scoping(client, company, name, role):
    from django.urls import reverse

    kwargs_of, expected = WEB[name]
    url = reverse(name, kwargs=kwargs_of(company))
    if role == "anonymous":
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
        return
    username = "admin" if role == "admin" else role
    assert client.login(username=username, password=company.password)
    assert client.get(url).status_code == expected[role], f"{role} GET {url}"


def openapi_paths():
    from salestarget.api import api

    return api.get_openapi_schema()["paths"]


# API GET path -> (path params from the fixture, model whose restrict() bounds the answer)
def _api():
    from salestarget.actuals.models import Fact, ImportBatch
    from salestarget.alerts.models import AlertRule, Channel, Delivery
    from salestarget.catalog.models import Customer, Product, Region, Segment
    from salestarget.metrics.models import Metric
    from salestarget.org.models import Membership, OrgUnit, Person, TerritoryAssignment
    from salestarget.targets.models import Plan, TargetCell

    return {
        "/api/v1/accounts/me": (None, None),
        "/api/v1/org/units": (None, OrgUnit),
        "/api/v1/org/units/{unit_id}": (lambda c: {"unit_id": c.sh.pk}, OrgUnit),
        "/api/v1/org/people": (None, Person),
        "/api/v1/org/people/{person_id}": (lambda c: {"person_id": c.rep_sh1.pk}, Person),
        "/api/v1/org/memberships": (None, Membership),
        "/api/v1/org/territories": (None, TerritoryAssignment),
        "/api/v1/catalog/products": (None, Product),
        "/api/v1/catalog/regions": (None, Region),
        "/api/v1/catalog/segments": (None, Segment),
        "/api/v1/catalog/customers": (None, Customer),
        "/api/v1/catalog/customers/{customer_id}": (lambda c: {"customer_id": c.customer.pk}, Customer),
        "/api/v1/metrics/": (None, Metric),
        "/api/v1/metrics/fiscal-calendar": (None, None),
        "/api/v1/settings/company": (None, None),
        "/api/v1/settings/calendar/{year}": (lambda c: {"year": 2027}, None),
        "/api/v1/actuals/facts": (None, Fact),
        "/api/v1/actuals/batches": (None, ImportBatch),
        "/api/v1/actuals/summary": (None, None),
        "/api/v1/targets/plans": (None, None),
        "/api/v1/targets/plans/{plan_id}": (lambda c: {"plan_id": a_plan().pk}, Plan),
        "/api/v1/targets/plans/{plan_id}/grid": (lambda c: {"plan_id": a_plan().pk}, Plan),
        "/api/v1/targets/plans/{plan_id}/scenarios": (lambda c: {"plan_id": a_plan().pk}, Plan),
        # The steps are scoped by unit (tests/targets/test_workflow.py).
        "/api/v1/targets/plans/{plan_id}/workflow": (lambda c: {"plan_id": a_plan().pk}, Plan),
        "/api/v1/targets/plans/{plan_id}/change-requests": (lambda c: {"plan_id": a_plan().pk}, Plan),
        "/api/v1/targets/plans/{plan_id}/commitments": (lambda c: {"plan_id": a_plan().pk}, Plan),
        "/api/v1/targets/inbox": (None, None),
        "/api/v1/targets/plans/{plan_id}/versions": (lambda c: {"plan_id": a_plan().pk}, Plan),
        "/api/v1/targets/cells/{cell_id}/history": (lambda c: {"cell_id": a_cell(c).pk}, TargetCell),
        "/api/v1/targets/plans/{plan_id}/compare": (lambda c: {"plan_id": a_plan().pk}, Plan),
        "/api/v1/targets/plans/{plan_id}/cells": (lambda c: {"plan_id": a_plan().pk}, Plan),
        # The whole plan's targets: planners only (API_PLANNERS_ONLY).
        "/api/v1/targets/plans/{plan_id}/export": (lambda c: {"plan_id": a_plan().pk}, Plan),
        "/api/v1/targets/plans/{plan_id}/scenarios/{scenario_id}/decomposition": (
            lambda c: {"plan_id": a_plan().pk, "scenario_id": a_scenario().pk},
            Plan,
        ),
        "/api/v1/targets/cells/{cell_id}/why": (lambda c: {"cell_id": a_cell(c).pk}, TargetCell),
        "/api/v1/targets/recommendations": (None, None),
        "/api/v1/targets/recommendations/backtest": (None, None),
        # Needs a published plan (none here: a 400 saying so); who follows whom is
        # tests/tracking/test_progress.py::test_who_may_follow_what.
        "/api/v1/tracking/progress": (None, None),
        # Needs ?plan= (a 422 without it); who sees what: tests/tracking/test_leaderboard.py.
        "/api/v1/tracking/leaderboard": (None, None),
        # Alerts (tests/alerts/test_pages.py): rules and channels of the subtrees one manages,
        # the delivery log of those and one's own messages; one's own notifications and reports.
        "/api/v1/alerts/rules": (None, AlertRule),
        "/api/v1/alerts/rules/{rule_id}": (lambda c: {"rule_id": an_alert_rule(c).pk}, AlertRule),
        "/api/v1/alerts/channels": (None, Channel),
        "/api/v1/alerts/channels/{channel_id}": (lambda c: {"channel_id": a_channel(c).pk}, Channel),
        "/api/v1/alerts/deliveries": (None, Delivery),
        "/api/v1/alerts/notifications": (None, None),
        "/api/v1/alerts/subscriptions": (None, None),
    }


# API GETs that cannot answer here, for want of data the fixture does not hold: their status.
API_NEEDS_DATA = {"/api/v1/tracking/progress": 400, "/api/v1/tracking/leaderboard": 422}


# API GETs of _api() for those who plan the whole organisation only (403 for anyone else).
API_PLANNERS_ONLY = {"/api/v1/targets/plans/{plan_id}/export"}


@pytest.mark.django_db
def test_every_api_get_is_registered():
    gets = {p for p, ops in openapi_paths().items() if "get" in ops}
    assert gets - set(_api()) == set(), "add these API paths to _api() with their scoping"


@pytest.fixture
def scoped_company(company):
    from tests.factories import CustomerFactory

    company.customer = CustomerFactory(owner=company.rep_sh1, region=company.shanghai)
    CustomerFactory(owner=company.rep_sz, region=company.guangdong)
    return company


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_api_scoping(client, scoped_company, role):
    """Anonymous callers get 401; everyone else gets only rows their restrict() allows."""
    from django.contrib.auth import get_user_model

    c = scoped_company
    user = None
    if role != "anonymous":
        user = get_user_model().objects.get(username=role)
        client.force_login(user)
    for path, (params_of, model) in _api().items():
        if path not in openapi_paths():
            continue
        url = path.format(**params_of(c)) if params_of else path
        response = client.get(url)
        if role == "anonymous":
            assert response.status_code == 401, f"anonymous GET {url}"
            continue
        if path in API_NEEDS_DATA:
            assert response.status_code == API_NEEDS_DATA[path], f"{role} GET {url}: {response.content[:200]}"
            continue
        if path in API_PLANNERS_ONLY:
            assert response.status_code == ADMIN_ONLY[role], f"{role} GET {url}"
            continue
        if params_of:
            # Detail endpoints are keyed on rep_sh1's rows, unless the row is shared master data.
            # (Without a model: shared settings every signed-in user may read.)
            visible = model is None or (
                model.objects.restrict(user).filter(pk=list(params_of(c).values())[0]).exists()
            )
            assert response.status_code == (200 if visible else 404), f"{role} GET {url}"
            continue
        assert response.status_code == 200, f"{role} GET {url}: {response.content[:200]}"
        if model is not None:
            body = response.json()
            items = body["items"] if isinstance(body, dict) and "items" in body else body
            allowed = set(model.objects.restrict(user).values_list("pk", flat=True))
            assert {row["id"] for row in items} <= allowed, f"{role} GET {url} leaked rows"


@pytest.mark.django_db
def test_api_token_auth(client, company):
    from salestarget.accounts.models import ApiToken

    _token, raw = ApiToken.issue(company.rep_sh1.user, "test")
    ok = client.get("/api/v1/org/people", headers={"Authorization": f"Bearer {raw}"})
    assert ok.status_code == 200
    assert [p["name"] for p in ok.json()["items"]] == ["陈一"]
    bad = client.get("/api/v1/org/people", headers={"Authorization": "Bearer st_wrong"})
    assert bad.status_code == 401
