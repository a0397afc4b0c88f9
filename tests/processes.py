"""A whole app in separate processes, for tests that need real workers and servers: a fresh
database of its own (a SQLite file, or a new PostgreSQL database when the suite runs on
PostgreSQL), migrated by the real command line, with the test tree importable by workers."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent


class App:
    def __init__(self, home: Path):
        self.home = home
        self.env = {
            **os.environ,
            "SALESTARGET_HOME": str(home),
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
            "DJANGO_SETTINGS_MODULE": "salestarget.settings",
        }
        self.env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        self._pg_name = None
        url = os.environ.get("SALESTARGET_DATABASE_URL", "")
        if url.startswith("postgres"):
            import psycopg

            self._pg_name = f"st_proc_{uuid.uuid4().hex[:10]}"
            parts = urlsplit(url)
            self._admin_url = urlunsplit(parts._replace(path="/postgres"))
            with psycopg.connect(self._admin_url, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{self._pg_name}"')
            self.env["SALESTARGET_DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{self._pg_name}"))
        else:
            self.env.pop("SALESTARGET_DATABASE_URL", None)

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "salestarget.cli", *args]

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        out = subprocess.run(
            self.command(*args), env=self.env, capture_output=True, text=True, timeout=timeout
        )
        assert out.returncode == 0, f"salestarget {' '.join(args)}: {out.stdout}\n{out.stderr}"
        return out

    def python(self, code: str, timeout: float = 300) -> str:
        """Run ``code`` with Django set up on this app's database; returns what it printed."""
        prelude = "import django; django.setup()\n"
        out = subprocess.run(
            [sys.executable, "-c", prelude + code],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert out.returncode == 0, out.stderr
        return out.stdout

    def start(self, *args: str, **kwargs) -> subprocess.Popen:
        return subprocess.Popen(
            self.command(*args),
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            **kwargs,
        )

    def drop(self) -> None:
        if self._pg_name:
            import psycopg

            with psycopg.connect(self._admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self._pg_name}" WITH (FORCE)')


def fresh_app(tmp_path: Path):
    app = App(tmp_path / "home")
    app.run("migrate", "--verbosity", "0")
    return app
