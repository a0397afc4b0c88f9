"""POST /api/v1/actuals/facts/bulk: token auth, scoping, validation, idempotency."""

from __future__ import annotations

import pytest

from salestarget.accounts.models import ApiToken
from salestarget.actuals import rollups
from salestarget.actuals.api import MAX_BULK_ROWS
from salestarget.actuals.models import Fact, FactCredit, ImportBatch

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


def test_a_rep_posts_their_own_facts(client, company):
    response = post(
        client, company.rep_sh1.user, {"kind": "order", "source": "crm", "rows": [row(1), row(2, quantity=3)]}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["rows_written"], body["amount_total"]) == ("applied", 2, 20020)
    assert set(Fact.objects.values_list("person_id", flat=True)) == {company.rep_sh1.pk}
    assert ImportBatch.objects.get(pk=body["batch_id"]).created_by == company.rep_sh1.user
    again = post(
        client, company.rep_sh1.user, {"kind": "order", "source": "crm", "rows": [row(1), row(2)]}
    ).json()
    assert (again["rows_written"], again["rows_skipped"]) == (0, 2)
    assert rollups.verify() == []


def test_a_rep_cannot_post_for_someone_else(client, company):
    response = post(
        client, company.rep_sh1.user, {"kind": "order", "rows": [row(1, person=company.rep_sh2.code)]}
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
    errors = response.json()["errors"]
    assert [(e["row"], e["column"]) for e in errors] == [(2, "date"), (3, "amount"), (4, "external_id")]
    assert not Fact.objects.exists()


def test_split_credit_and_kinds(client, company):
    credits = [{"person": company.rep_sh1.code, "share": 70}, {"person": company.rep_sh2.code, "share": 30}]
    body = {"kind": "opportunity", "rows": [row(1, stage="赢单", credits=credits)]}
    response = post(client, company.lead_sh.user, body)
    assert response.status_code == 200, response.content
    fact = Fact.objects.get()
    assert (fact.kind, fact.stage, fact.person) == ("opportunity", "won", company.rep_sh1)
    assert FactCredit.objects.count() == 2


def test_limits_and_rights(client, company):
    too_many = {"kind": "order", "rows": [row(n) for n in range(MAX_BULK_ROWS + 1)]}
    assert post(client, company.admin, too_many).status_code == 422
    assert (
        post(
            client, company.rep_sh1.user, {"kind": "order", "create_missing": True, "rows": [row(1)]}
        ).status_code
        == 403
    )
    assert post(client, company.admin, {"kind": "widgets", "rows": [row(1)]}).status_code == 422
    dry = post(
        client,
        company.admin,
        {"kind": "order", "dry_run": True, "rows": [row(1, person=company.rep_sz.code)]},
    )
    assert dry.json()["status"] == "dry_run" and not Fact.objects.exists()
