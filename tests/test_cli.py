"""The console script as a user meets it: version, help, and one clear line for bad settings."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from salestarget import __version__
from salestarget.config import ConfigError, parse_database_url


def run(*args, **env):
    full_env = {**os.environ, **env}
    return subprocess.run(
        [sys.executable, "-m", "salestarget.cli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=60,
    )


def test_version_and_help():
    assert run("--version").stdout.strip() == f"salestarget {__version__}"
    out = run("--help").stdout
    assert "demo" in out and "serve" in out and "createadmin" in out and "SALESTARGET_DATABASE_URL" in out


@pytest.mark.parametrize(
    ("env", "setting"),
    [
        ({"SALESTARGET_DATABASE_URL": "mysql://root@localhost/x"}, "SALESTARGET_DATABASE_URL"),
        (
            {"SALESTARGET_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/nothing"},
            "SALESTARGET_DATABASE_URL",
        ),
        ({"SALESTARGET_HOME": "/proc/salestarget-cannot-write-here"}, "SALESTARGET_HOME"),
        ({"SALESTARGET_DEBUG": "maybe"}, "SALESTARGET_DEBUG"),
    ],
)
def test_bad_configuration_is_one_clear_line(env, setting, tmp_path):
    result = run("migrate", **{"SALESTARGET_HOME": str(tmp_path), **env})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"salestarget: error: {setting}")
    assert "Traceback" not in result.stderr


def test_database_urls(tmp_path):
    assert parse_database_url("", tmp_path).name == str(tmp_path / "salestarget.sqlite3")
    assert parse_database_url("sqlite:///rel.sqlite3", tmp_path).name == str(tmp_path / "rel.sqlite3")
    assert parse_database_url("sqlite:////abs/x.sqlite3", tmp_path).name == "/abs/x.sqlite3"
    pg = parse_database_url("postgresql://u:p%40ss@db.example:6543/sales", tmp_path)
    assert (pg.engine, pg.user, pg.password, pg.host, pg.port, pg.name) == (
        "postgresql",
        "u",
        "p@ss",
        "db.example",
        "6543",
        "sales",
    )
    with pytest.raises(ConfigError, match="no database name"):
        parse_database_url("postgresql://localhost", tmp_path)
