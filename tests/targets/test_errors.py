"""A refused request (DomainError) is a 400 or a form error; a bug is a logged 500, never advice."""

from __future__ import annotations

import pytest
from django.urls import reverse

from salestarget.targets import stored
from tests.test_api_contract import assert_documented

pytestmark = pytest.mark.django_db

URL = "/api/v1/targets/recommendations"


@pytest.fixture
def bug(monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("internal detail of a bug")

    monkeypatch.setattr(stored, "recommend", broken)


def test_a_domain_error_is_a_400_in_the_one_error_shape(client, company):
    client.force_login(company.admin)
    response = client.get(URL, {"year": 2100})
    body = assert_documented(response, "GET", URL)
    assert response.status_code == 400 and "36" in body["detail"] and body["errors"] == []


def test_a_bug_in_the_api_is_a_500_not_a_message(client, company, bug, caplog):
    client.raise_request_exception = False
    client.force_login(company.admin)
    response = client.get(URL)
    assert response.status_code == 500
    assert b"internal detail" not in response.content
    assert any("internal detail of a bug" in str(r.exc_info) for r in caplog.records if r.exc_info)


def test_a_domain_error_on_the_page_is_a_form_error(login, company):
    response = login("admin").get(reverse("targets:recommend"), {"year": 2100, "p_pct": 80})
    assert response.status_code == 200 and response.context["rec"] is None
    assert "36" in response.context["form"].non_field_errors()[0]


def test_a_bug_on_the_page_is_a_500(login, company, bug):
    client = login("admin")
    client.raise_request_exception = False
    assert client.get(reverse("targets:recommend")).status_code == 500
