"""POST /api/v1/actuals/facts/bulk: token auth, scoping, validation, idempotency."""

from __future__ import annotations

import pytest

from salestarget.accounts.models import ApiToken
from salestarget.actuals import rollups
from salestarget.actuals.api import MAX_BULK_ROWS
from salestarget.actuals.models import Fact, FactCredit, ImportBatch
from tests.test_api_contract import assert_documented

pytestmark = pytest.mark.django_db
URL = "/api/v1/actuals/facts/bulk"


def post(client, user, body):
    headers = {}
    if user is not None:
        _token, raw = ApiToken.issue(user, "test")
        headers["Authorization"] = f"Bearer {raw}"
    return client.post(URL, body, content_type="application/json", headers=headers)


def row(n, **extra):
    return {"external_id": f"API-{n}", "date": "2024-03-01", "amount": "100.10", **extra}


def test_anonymous_is_refused(client, company):
    assert post(client, None, {"kind": "order", "rows": [row(1)]}).status_code == 401
    assert not Fact.objects.exists()


def test_a_lead_posts_their_own_facts_and_a_rep_may_not(client, company):
    """Reps record their results in the daily report only (issue 10: a rep's bulk post could
    pre-claim the keys of the ERP's real rows)."""
    refused = post(client, company.rep_sh1.user, {"kind": "order", "source": "crm", "rows": [row(1)]})
    assert refused.status_code == 403 and not ImportBatch.objects.exists()
    response = post(
        client, company.lead_sh.user, {"kind": "order", "source": "crm", "rows": [row(1), row(2, quantity=3)]}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["rows_written"], body["amount_total"]) == ("applied", 2, 20020)
    assert set(Fact.objects.values_list("person_id", flat=True)) == {company.lead_sh.pk}
    assert ImportBatch.objects.get(pk=body["batch_id"]).created_by == company.lead_sh.user
    again = post(
        client, company.lead_sh.user, {"kind": "order", "source": "crm", "rows": [row(1), row(2)]}
    ).json()
    assert (again["rows_written"], again["rows_skipped"]) == (0, 2)
    assert rollups.verify() == []


def test_a_lead_cannot_post_for_someone_outside_the_team(client, company):
    response = post(
        client, company.lead_sh.user, {"kind": "order", "rows": [row(1, person=company.rep_sz.code)]}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["column"] == "person" and not Fact.objects.exists()


@pytest.mark.parametrize(
    "who, target, ok",
    [
        ("lead_sh", "rep_sh2", True),
        ("lead_sh", "rep_sz", False),
        ("lead_sz", "rep_sh1", False),
        ("admin", "rep_sz", True),
    ],
)
def test_managers_post_for_their_teams(client, company, who, target, ok):
    user = company.admin if who == "admin" else getattr(company, who).user
    response = post(client, user, {"kind": "order", "rows": [row(1, person=getattr(company, target).code)]})
    assert response.status_code == (200 if ok else 422)
    assert Fact.objects.exists() == ok


def test_validation_errors_name_row_and_field(client, company):
    body = {"kind": "order", "rows": [row(1), row(2, date="2024-02-30"), row(3, amount="12abc"), row(1)]}
    response = post(client, company.admin, body)
    assert response.status_code == 422
    errors = assert_documented(response, "POST", URL)["errors"]
    assert [(e["row"], e["column"]) for e in errors] == [(2, "date"), (3, "amount"), (4, "external_id")]
    # Each row error is also an ErrorItem: loc counts rows from 0, as JSON positions do.
    assert [e["loc"] for e in errors] == [
        ["body", "rows", 1, "date"],
        ["body", "rows", 2, "amount"],
        ["body", "rows", 3, "external_id"],
    ]
    assert all(e["message"] == e["reason"] and e["type"] == "row" for e in errors)
    assert response.json()["status"] == "rejected" and response.json()["error_count"] == 3
    assert not Fact.objects.exists()


def test_request_validation_answers_the_documented_422(client, company):
    """ninja's own 422 (``{"detail": [...]}``) did not match the documented BulkResultOut."""
    response = post(client, company.admin, {"rows": [row(1)]})
    assert response.status_code == 422
    body = assert_documented(response, "POST", URL)
    assert body["errors"] == [{"loc": ["body", "kind"], "message": "必填。", "type": "missing"}]
    assert "body.kind" in body["detail"]


@pytest.mark.parametrize(
    "body, where",
    [
        ([None, None], ["body"]),
        ('"not an object"', ["body"]),
        ({"kind": "order", "rows": [row(1, amount=True)]}, ["body", "rows", 0, "amount"]),
        ({"kind": "order", "rows": [row(1, amount=1e300)]}, ["body", "rows", 0, "amount"]),
        ({"kind": "order", "rows": [row(1, quantity=10**16)]}, ["body", "rows", 0, "quantity"]),
        ({"kind": "order", "rows": [row(1, customer="A\x00B")]}, ["body", "rows", 0, "customer"]),
        ({"kind": "order", "rows": [row(1, external_id="x" * 129)]}, ["body", "rows", 0, "external_id"]),
        ({"kind": "order", "dry_run": "yes", "rows": []}, ["body", "dry_run"]),
        ({"kind": "order", "rows": {"0": row(1)}}, ["body", "rows"]),
    ],
)
def test_bodies_of_the_wrong_shape_are_refused(client, company, body, where):
    response = post(client, company.admin, body)
    assert response.status_code == 422, response.content
    assert assert_documented(response, "POST", URL)["errors"][0]["loc"][: len(where)] == where
    assert not Fact.objects.exists()


def test_a_body_beyond_the_upload_limit_is_a_413(client, company, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    response = post(client, company.admin, {"kind": "order", "rows": [row(n) for n in range(200)]})
    assert response.status_code == 413
    assert assert_documented(response, "POST", URL)["detail"]
    assert not Fact.objects.exists()


def test_a_body_that_is_not_json_is_a_400(client, company):
    _token, raw = ApiToken.issue(company.admin, "test")
    response = client.post(
        URL, b"\x00{", content_type="application/json", headers={"Authorization": f"Bearer {raw}"}
    )
    assert response.status_code == 400
    assert assert_documented(response, "POST", URL)["errors"] == []


def test_split_credit_and_kinds(client, company):
    credits = [{"person": company.rep_sh1.code, "share": 70}, {"person": company.rep_sh2.code, "share": 30}]
    body = {"kind": "opportunity", "rows": [row(1, stage="赢单", credits=credits)]}
    response = post(client, company.lead_sh.user, body)
    assert response.status_code == 200, response.content
    fact = Fact.objects.get()
    assert (fact.kind, fact.stage, fact.person) == ("opportunity", "won", company.rep_sh1)
    assert FactCredit.objects.count() == 2


def test_limits_and_rights(client, company):
    too_many = post(
        client, company.admin, {"kind": "order", "rows": [row(n) for n in range(MAX_BULK_ROWS + 1)]}
    )
    assert too_many.status_code == 422
    assert assert_documented(too_many, "POST", URL)["errors"][0]["loc"] == ["body", "rows"]
    refused = post(client, company.rep_sh1.user, {"kind": "order", "create_missing": True, "rows": [row(1)]})
    assert refused.status_code == 403 and assert_documented(refused, "POST", URL)["detail"]
    widgets = post(client, company.admin, {"kind": "widgets", "rows": [row(1)]})
    assert widgets.status_code == 422
    assert assert_documented(widgets, "POST", URL)["errors"][0]["loc"] == ["body"]
    dry = post(
        client,
        company.admin,
        {"kind": "order", "dry_run": True, "rows": [row(1, person=company.rep_sz.code)]},
    )
    assert dry.json()["status"] == "dry_run" and not Fact.objects.exists()
