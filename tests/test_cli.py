"""The console script as a user meets it: version, help, one clear line for bad settings, and a
quick start (no forecasting library loaded by a command that does not forecast)."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys

import pytest

from salestarget import __version__, config
from salestarget.config import ConfigError, parse_database_url

# What forecasting needs and nothing else does: seconds of start-up (statsforecast compiles
# with numba and pulls in statsmodels and scipy; pandas is only its input format; numpy, 0.1 s,
# only for the engine's arrays).
FORECASTING = ("statsforecast", "numba", "pandas", "statsmodels", "numpy")


def run(*args, python=(), **env):
    full_env = {**os.environ, **env}
    return subprocess.run(
        [sys.executable, *python, "-m", "salestarget.cli", *args],
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
        ({"SALESTARGET_TIME_ZONE": "Mars/Olympus"}, "SALESTARGET_TIME_ZONE"),
        ({"SALESTARGET_PORT": "http"}, "SALESTARGET_PORT"),
        ({"SALESTARGET_EMAIL_PORT": "0"}, "SALESTARGET_EMAIL_PORT"),
        ({"SALESTARGET_WORKER_LEASE": "0"}, "SALESTARGET_WORKER_LEASE"),
        ({"SALESTARGET_WORKER_INTERVAL": "soon"}, "SALESTARGET_WORKER_INTERVAL"),
        ({"SALESTARGET_IMPORT_MAX_ROWS": "-5"}, "SALESTARGET_IMPORT_MAX_ROWS"),
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


def test_one_configuration_object_from_the_environment(tmp_path):
    env = {
        "SALESTARGET_HOME": str(tmp_path),
        "SALESTARGET_DATABASE_URL": "postgresql://app:secret@db:5433/sales",
        "SALESTARGET_TIME_ZONE": "Europe/Berlin",
        "SALESTARGET_EMAIL_HOST": "mail.example",
        "SALESTARGET_EMAIL_PASSWORD": "mail-secret",
        "SALESTARGET_EMAIL_TLS": "true",
        "SALESTARGET_HOST": "0.0.0.0",
        "SALESTARGET_PORT": "9000",
        "SALESTARGET_SECRET_KEY": "k" * 50,
        "SALESTARGET_WORKER_LEASE": "60",
        "SALESTARGET_WORKER_INTERVAL": "0.25",
        "SALESTARGET_IMPORT_MAX_CELLS": "1000",
    }
    cfg = config.load(env)
    assert cfg.home == tmp_path and cfg.database.host == "db" and cfg.time_zone == "Europe/Berlin"
    assert (cfg.email.host, cfg.email.use_tls, cfg.email.port) == ("mail.example", True, 25)
    assert (cfg.host, cfg.port) == ("0.0.0.0", 9000)
    assert (cfg.jobs.worker_lease_seconds, cfg.jobs.worker_interval_seconds) == (60, 0.25)
    assert cfg.import_limits["max_cells"] == 1000 and cfg.media_root == tmp_path / "uploads"
    # Nothing secret in its repr (it may end up in a log); nothing can change it afterwards.
    assert "secret" not in repr(cfg) and "k" * 50 not in repr(cfg)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.port = 1
    with pytest.raises(TypeError):
        cfg.import_limits["max_cells"] = 1
    defaults = config.load({"SALESTARGET_HOME": str(tmp_path)})
    assert (defaults.port, defaults.jobs.worker_lease_seconds, defaults.time_zone) == (
        8000,
        300,
        "Asia/Shanghai",
    )
    assert defaults.secret_key == "" and defaults.static_root is None


@pytest.mark.parametrize("args", [("--help",), ("import", "--help"), ("help",)])
def test_help_creates_no_data_directory(args, tmp_path):
    home = tmp_path / "home"
    result = run(*args, SALESTARGET_HOME=str(home))
    assert result.returncode == 0, result.stderr
    assert "salestarget" in result.stdout and not home.exists()


# --- start-up: commands that do not forecast load no forecasting library ------------------------


@pytest.fixture(scope="module")
def migrated_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("cli-home")
    # Its own SQLite file, whatever database the suite runs on: only the imports matter here.
    result = run("migrate", SALESTARGET_HOME=str(home), SALESTARGET_DATABASE_URL="")
    assert result.returncode == 0, result.stderr[-3000:]
    return home


def imported(importtime: str) -> list[tuple[int, str]]:
    """(depth, module) of every import that ``python -X importtime`` reported, in its order."""
    found = []
    for line in importtime.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+\d+ \|( *)(\S+)$", line)
        if m:
            found.append((len(m.group(1)) // 2, m.group(2)))
    return found


def chain(modules: list[tuple[int, str]], index: int) -> str:
    """Who imported ``modules[index]``: importtime lists a module's imports before the module."""
    depth, name = modules[index]
    names = [name]
    for d, n in modules[index + 1 :]:
        if d < depth:
            names.append(n)
            depth = d
    return " <- ".join(names)


@pytest.mark.parametrize("args", [("batches",), ("import", "--help"), ("--help",)])
def test_commands_that_do_not_forecast_load_no_forecasting_library(args, migrated_home):
    result = run(
        *args, python=("-X", "importtime"), SALESTARGET_HOME=str(migrated_home), SALESTARGET_DATABASE_URL=""
    )
    assert result.returncode == 0, result.stderr[-3000:]
    modules = imported(result.stderr)
    names = {name for _, name in modules}
    assert "salestarget" in names
    if args == ("batches",):  # its system checks load every URLconf and every API router
        assert "salestarget.api" in names
    loaded = [chain(modules, i) for i, (_, name) in enumerate(modules) if name.split(".")[0] in FORECASTING]
    assert not loaded, "forecasting loaded by: " + "; ".join(loaded[:3])


def test_the_forecast_engine_loads_statsforecast_only_to_fit(tmp_path):
    """Importing the engine is cheap; the first forecast that fits a model loads statsforecast."""
    code = (
        "import sys; from salestarget.engine import backtest, forecast; "
        "before = [m for m in ('statsforecast', 'pandas') if m in sys.modules]; "
        "forecast.forecast_series([100.0 + (i % 12) * 10 for i in range(36)], horizon=12); "
        "print(before, 'statsforecast' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split() == ["[]", "True"]


# --- language: the command line follows LANG / LC_ALL / LANGUAGE, --lang wins (issue 12) --------

NO_LOCALE = {"LANG": "", "LC_ALL": "", "LC_MESSAGES": "", "LANGUAGE": ""}
ENGLISH, CHINESE = "There is no batch #999.", "没有批次 #999。"


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        ((), {"LANG": "en_US.UTF-8"}, ENGLISH),
        ((), {"LANG": "zh_CN.UTF-8"}, CHINESE),
        ((), {}, CHINESE),
        ((), {"LANG": "C.UTF-8"}, CHINESE),
        ((), {"LANG": "POSIX"}, CHINESE),
        ((), {"LANG": "zh_CN.UTF-8", "LC_ALL": "en_GB.UTF-8"}, ENGLISH),
        ((), {"LANG": "en_US.UTF-8", "LC_MESSAGES": "zh_CN.UTF-8"}, CHINESE),
        ((), {"LANG": "zh_CN.UTF-8", "LANGUAGE": "fr:en"}, ENGLISH),
        (("--lang", "en"), {"LANG": "zh_CN.UTF-8"}, ENGLISH),
        (("--lang=en",), {"LC_ALL": "zh_CN.UTF-8"}, ENGLISH),
        (("--lang", "zh"), {"LANG": "en_US.UTF-8", "LANGUAGE": "en"}, CHINESE),
    ],
)
def test_the_command_line_speaks_the_language_of_the_environment(args, env, expected, migrated_home):
    result = run(
        *args,
        "batches",
        "--rollback",
        "999",
        SALESTARGET_HOME=str(migrated_home),
        SALESTARGET_DATABASE_URL="",
        **{**NO_LOCALE, **env},
    )
    assert result.returncode == 1
    assert result.stderr.strip() == f"CommandError: {expected}"


def test_an_unknown_language_is_one_clear_line(tmp_path):
    result = run("--lang", "fr", "batches", SALESTARGET_HOME=str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["salestarget: error: --lang: use zh or en, not fr"]
    assert run("--lang", "en", "--help").stdout.startswith("usage: salestarget")
