"""``salestarget serve`` migrates only when a migration is pending (issue 12, item 17): on an
up-to-date database it goes straight to the server instead of spending seconds in ``migrate``."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

from salestarget.web.management.commands import serve


@pytest.fixture
def started(monkeypatch):
    """What serve did: the commands it called and whether it started the server."""
    seen = {"commands": [], "served": False}

    def fake_call_command(name, *args, **kwargs):
        seen["commands"].append(name)

    def fake_run_gunicorn(*args, **kwargs):
        seen["served"] = True

    monkeypatch.setattr(serve, "call_command", fake_call_command)
    monkeypatch.setattr(serve, "run_gunicorn", fake_run_gunicorn)
    return seen


@pytest.mark.django_db
def test_serve_on_a_migrated_database_does_not_migrate(started):
    call_command("serve", "--no-worker")
    assert started == {"commands": [], "served": True}


@pytest.mark.django_db
def test_serve_migrates_when_a_migration_is_pending(started):
    # The newest migration of an app not recorded as applied: what `pip install -U` brings.
    app, name = sorted(MigrationLoader(connection).graph.leaf_nodes())[0]
    MigrationRecorder(connection).record_unapplied(app, name)
    call_command("serve", "--no-worker")
    assert started == {"commands": ["migrate"], "served": True}


def test_links_lead_to_the_port_the_server_listens_on(monkeypatch, settings):
    """QA 2026-12-04: `salestarget demo --port 8102` sent every alert, report and in-app link to
    http://127.0.0.1:8000, where nothing listened."""
    seen = {}
    monkeypatch.setenv("SALESTARGET_BASE_URL", "")  # restored (unset) after the test, as the settings are
    settings.SALESTARGET_BASE_URL = "http://127.0.0.1:8000"
    monkeypatch.setattr(
        serve,
        "_gunicorn",
        lambda *a: seen.update(url=settings.SALESTARGET_BASE_URL, env=dict(serve.os.environ)),
    )
    serve.run_gunicorn("127.0.0.1", 8102, 1, 1, worker=False)
    assert seen["url"] == "http://127.0.0.1:8102"
    assert seen["env"]["SALESTARGET_BASE_URL"] == "http://127.0.0.1:8102"  # the worker's too


def test_an_address_given_by_the_administrator_wins(monkeypatch, settings):
    monkeypatch.setenv("SALESTARGET_BASE_URL", "https://sales.example.cn")
    settings.SALESTARGET_BASE_URL = "https://sales.example.cn"
    seen = {}
    monkeypatch.setattr(serve, "_gunicorn", lambda *a: seen.update(url=settings.SALESTARGET_BASE_URL))
    serve.run_gunicorn("0.0.0.0", 8102, 1, 1, worker=False)
    assert seen["url"] == "https://sales.example.cn"


@pytest.mark.parametrize(
    ("host", "url"), [("0.0.0.0", "http://127.0.0.1:80"), ("10.0.0.5", "http://10.0.0.5:80")]
)
def test_a_server_on_every_interface_is_opened_on_this_machine(host, url):
    assert serve.served_at(host, 80) == url
