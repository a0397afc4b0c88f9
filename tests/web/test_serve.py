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
