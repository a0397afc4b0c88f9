"""The API keeps its documented contract (issue 10, "a kept API contract").

schemathesis reads /api/v1/openapi.json from the real app and calls every operation with
generated requests (valid ones, invalid ones and the schema's boundary values), as an admin and
as a rep, in-process through Django's WSGI handler. Each answer must be no server error, have a
documented status code, content type and body, and an invalid request must be refused.

The number of examples is bounded and the generation derandomized, so CI is deterministic and
the module stays within a few minutes on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis import checks

from salestarget.accounts.models import ApiToken

SCHEMA_PATH = "/api/v1/openapi.json"
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,
]

schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture
def wsgi_app():
    """Django's WSGI handler, minus the per-request ``close_old_connections`` that the test
    client also leaves out: it would close the test's connection inside its transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def contract_data(company):
    """The company of conftest.py with some of everything the API lists: customers, a
    territory, facts in a batch, and a year of monthly rollups for the recommendations."""
    from django.utils import timezone

    from salestarget.actuals.models import DailyRollup
    from salestarget.actuals.services import do_import_fact_rows
    from salestarget.engine.calendar import add_months
    from salestarget.org.models import TerritoryAssignment
    from tests.factories import CustomerFactory

    CustomerFactory(owner=company.rep_sh1, region=company.shanghai)
    CustomerFactory(owner=company.rep_sz, region=company.guangdong)
    TerritoryAssignment.objects.create(
        person=company.rep_sh1, region=company.shanghai, valid_from=dt.date(2022, 1, 1)
    )
    # Under two years of history: the forecasts take the engine's quick path (no model
    # fitting), which keeps hundreds of recommendation requests within seconds.
    last = timezone.localdate().replace(day=1)
    day = add_months(last, -2).isoformat()
    rows = [
        {"external_id": f"SEED-{n}", "date": day, "amount": "100.10", "person": person.code}
        for n, person in enumerate([company.rep_sh1, company.rep_sh2, company.rep_sz])
    ]
    result = do_import_fact_rows(None, "order", rows, source="seed")
    assert result.ok, result.errors
    DailyRollup.objects.bulk_create(
        DailyRollup(
            day=add_months(last, -m).replace(day=15),
            kind="order",
            person_id=person.pk,
            unit_id=unit.pk,
            product_id=company.product.pk,
            region_id=company.shanghai.pk,
            amount=1_000_000 + 10_000 * m,
            quantity=10,
            rows=3,
        )
        for m in range(1, 13)
        for person, unit in ((company.rep_sh1, company.sh), (company.rep_sz, company.sz))
    )
    return company


@pytest.fixture
def api_schema(db, wsgi_app, contract_data):
    return schemathesis.openapi.from_wsgi(SCHEMA_PATH, wsgi_app)


def bearer(user) -> dict:
    _token, raw = ApiToken.issue(user, "contract")
    return {"Authorization": f"Bearer {raw}"}


@pytest.fixture
def admin_token(contract_data):
    return bearer(contract_data.admin)


@pytest.fixture
def rep_token(contract_data):
    return bearer(contract_data.rep_sh1.user)


EXAMPLES = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@schema.parametrize()
@EXAMPLES
def test_contract_as_admin(case, admin_token):
    case.call_and_validate(headers=admin_token, checks=CHECKS)


@schema.parametrize()
@EXAMPLES
def test_contract_as_rep(case, rep_token):
    case.call_and_validate(headers=rep_token, checks=CHECKS)


# --------------------------------------------------------------------------- the findings, one by one

MAX_ID = 2**63 - 1


def openapi() -> dict:
    from salestarget.api import api

    return api.get_openapi_schema()


def assert_documented(response, method: str, path: str) -> dict:
    """``response`` (Django's test client) has a status documented for ``method path`` and,
    when that status documents a JSON body, a body valid against it. Returns the body."""
    import jsonschema_rs

    doc = openapi()
    documented = doc["paths"][path][method.lower()]["responses"]
    status = response.status_code
    assert status in documented, f"{method} {path} answered {status}, documented {sorted(documented)}"
    content = documented[status].get("content")
    if not content:
        return {}
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    schema = {**content["application/json"]["schema"], "components": doc["components"]}
    problems = [e.message for e in jsonschema_rs.validator_for(schema).iter_errors(body)]
    assert problems == [], f"{method} {path} {status}: {problems} in {body}"
    return body


def paginated_paths() -> list[str]:
    return sorted(
        path
        for path, ops in openapi()["paths"].items()
        if any(p["name"] == "limit" for p in ops.get("get", {}).get("parameters", []))
    )


def test_every_operation_documents_its_error_answers():
    """401 everywhere, 422 wherever there are parameters or a body, 400 for a body that is not
    JSON, and one error shape (detail + errors) for each of them."""
    doc = openapi()
    shapes = doc["components"]["schemas"]
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            codes = set(op["responses"])
            where = f"{method.upper()} {path}"
            # Success is 200, or 202 for work queued as a background job.
            assert 401 in codes and codes & {200, 202}, where
            if op.get("parameters") or op.get("requestBody"):
                assert 422 in codes, where
            if op.get("requestBody"):
                assert {400, 403, 413} <= codes, where
            for code in codes - {200, 202}:
                ref = op["responses"][code]["content"]["application/json"]["schema"]["$ref"]
                shape = shapes[ref.rsplit("/", 1)[1]]
                assert {"detail", "errors"} <= set(shape["properties"]), f"{where} {code}"
                assert shape["required"] == ["detail"], f"{where} {code}"


def test_every_parameter_is_bounded():
    """Every integer, number and string a client sends has documented bounds."""
    doc = openapi()

    def bounded(schema: dict, name: str) -> None:
        for alternative in schema.get("anyOf", [schema]):
            if "$ref" in alternative:
                alternative = doc["components"]["schemas"][alternative["$ref"].rsplit("/", 1)[1]]
            kind = alternative.get("type")
            if kind in ("integer", "number"):
                assert {"minimum", "exclusiveMinimum"} & set(alternative), name
                assert {"maximum", "exclusiveMaximum"} & set(alternative), name
            elif kind == "string" and "enum" not in alternative and "format" not in alternative:
                assert "maxLength" in alternative or "pattern" in alternative, name
            elif kind == "array":
                assert "maxItems" in alternative or "maxLength" in alternative, name
                bounded(alternative["items"], f"{name}[]")
            elif kind == "object":
                for field, sub in alternative.get("properties", {}).items():
                    bounded(sub, f"{name}.{field}")

    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            for parameter in op.get("parameters", []):
                bounded(parameter["schema"], f"{method.upper()} {path} {parameter['name']}")
            # A JSON body, or a multipart form (a file upload and its fields).
            for media in op.get("requestBody", {}).get("content", {}).values():
                bounded(media["schema"], f"{method} {path} body")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "param, value",
    [
        ("limit", 2**63),
        ("offset", 2**63),
        ("limit", 1_000_000),
        ("limit", 0),
        ("offset", -1),
        ("limit", "1.0"),
    ],
)
def test_pages_are_bounded(client, company, param, value):
    """offset/limit 2^63 answered 500 on every list; limit=1000000 returned 20 MB."""
    client.force_login(company.admin)
    for path in paginated_paths():
        # A list under an object (/plans/{plan_id}/cells): any valid id, the page is checked first.
        response = client.get(re.sub(r"\{\w+\}", "1", path), {param: value})
        assert response.status_code == 422, f"{path}?{param}={value}: {response.status_code}"
        body = assert_documented(response, "GET", path)
        # Among the errors (a list that needs other parameters, the leaderboard's plan, names
        # them too), the page's own.
        assert ["query", param] in [e["loc"] for e in body["errors"]], body["errors"]


@pytest.mark.django_db
def test_a_page_is_100_rows_by_default_and_at_most_1000(client, company):
    from tests.factories import ProductFactory

    ProductFactory.create_batch(1_050)
    client.force_login(company.admin)
    assert len(client.get("/api/v1/catalog/products").json()["items"]) == 100
    page = client.get("/api/v1/catalog/products", {"limit": 1000, "offset": 1})
    assert page.status_code == 200 and len(page.json()["items"]) == 1000
    assert page.json()["count"] == 1_051


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url, path",
    [
        (f"/api/v1/org/units/{MAX_ID + 1}", "/api/v1/org/units/{unit_id}"),
        (f"/api/v1/org/people/{MAX_ID + 1}", "/api/v1/org/people/{person_id}"),
        (f"/api/v1/catalog/customers/{MAX_ID + 1}", "/api/v1/catalog/customers/{customer_id}"),
        (f"/api/v1/org/people?unit_id={MAX_ID + 1}", "/api/v1/org/people"),
        (f"/api/v1/targets/recommendations?person_id={MAX_ID + 1}", "/api/v1/targets/recommendations"),
        ("/api/v1/org/units/0", "/api/v1/org/units/{unit_id}"),
        ("/api/v1/org/units/1.0", "/api/v1/org/units/{unit_id}"),
    ],
)
def test_ids_beyond_64_bits_are_refused(client, company, url, path):
    client.force_login(company.admin)
    response = client.get(url)
    assert response.status_code == 422, response.content
    assert_documented(response, "GET", path)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path, params",
    [
        ("/api/v1/actuals/facts", {"date_to": "0"}),
        ("/api/v1/actuals/facts", {"date_from": "1700000000"}),
        ("/api/v1/actuals/facts", {"date_from": "2024-02-30"}),
        ("/api/v1/actuals/facts", {"date_from": "9999-12-31"}),
        ("/api/v1/org/memberships", {"on": "0"}),
        ("/api/v1/targets/recommendations", {"hire_month": "0"}),
    ],
)
def test_dates_are_iso_strings_only(client, company, path, params):
    """date_to=0 was read as 1970-01-01."""
    client.force_login(company.admin)
    response = client.get(path, params)
    assert response.status_code == 422, response.content
    body = assert_documented(response, "GET", path)
    assert body["errors"][0]["loc"] == ["query", *params]


@pytest.mark.django_db
def test_iso_dates_still_filter(client, company):
    client.force_login(company.admin)
    assert (
        client.get("/api/v1/actuals/facts", {"date_from": "2024-01-01", "date_to": "2024-12-31"}).status_code
        == 200
    )


@pytest.mark.django_db
def test_every_error_has_the_one_shape(client, company):
    """401, 404 and 422 (ninja's own answers) are ErrorOut: detail and errors."""
    anonymous = client.get("/api/v1/org/units")
    assert anonymous.status_code == 401 and anonymous["WWW-Authenticate"] == "Bearer"
    assert assert_documented(anonymous, "GET", "/api/v1/org/units")["errors"] == []
    client.force_login(company.rep_sh1.user)
    missing = client.get(f"/api/v1/org/units/{company.sz.pk}")
    assert missing.status_code == 404
    assert assert_documented(missing, "GET", "/api/v1/org/units/{unit_id}")["detail"]
    invalid = client.get("/api/v1/org/units", {"limit": "many"})
    body = assert_documented(invalid, "GET", "/api/v1/org/units")
    assert invalid.status_code == 422 and "query.limit" in body["detail"]
    # In the caller's language, not half Chinese, half pydantic's English (QA); the type for programs.
    assert body["errors"] == [{"loc": ["query", "limit"], "message": "请填写整数。", "type": "int_parsing"}]
    assert body["detail"] == "请求无效：query.limit: 请填写整数。"
    english = client.get("/api/v1/org/units", {"limit": "0"}, HTTP_ACCEPT_LANGUAGE="en").json()
    assert english["errors"][0]["message"] == "At least 1."
