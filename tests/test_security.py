"""Security settings that must not regress."""

import importlib

import pytest


def test_passwords_hash_with_argon2():
    real = importlib.import_module("salestarget.settings")
    assert real.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"


def test_csrf_and_clickjacking_protection_are_on():
    real = importlib.import_module("salestarget.settings")
    assert "django.middleware.csrf.CsrfViewMiddleware" in real.MIDDLEWARE
    assert real.X_FRAME_OPTIONS == "DENY"
    assert real.SESSION_COOKIE_HTTPONLY


@pytest.mark.django_db
def test_login_post_without_csrf_token_is_refused(company):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"username": "admin", "password": company.password})
    assert response.status_code == 403


@pytest.mark.django_db
def test_session_api_write_needs_csrf(company):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(company.admin)
    # A read is fine without a token; the API's session auth checks CSRF on unsafe methods.
    assert client.get("/api/v1/accounts/me").status_code == 200
