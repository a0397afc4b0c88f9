"""Configuration from the environment.

Kept free of Django imports so that the CLI can validate settings and print one clear line
(naming the setting) before Django starts and would bury the problem in a traceback.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import platformdirs


class ConfigError(Exception):
    """A setting is wrong; the message names the setting and says what to do."""


@dataclass(frozen=True)
class Database:
    engine: str
    name: str
    user: str = ""
    password: str = ""
    host: str = ""
    port: str = ""

    @property
    def is_sqlite(self) -> bool:
        return self.engine == "sqlite"

    def django_settings(self) -> dict:
        if self.is_sqlite:
            return {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": self.name,
                "OPTIONS": {
                    # WAL lets the dashboard read while an import writes; IMMEDIATE takes the
                    # write lock at BEGIN so two writers queue instead of failing mid-transaction.
                    "transaction_mode": "IMMEDIATE",
                    "timeout": 20,
                    "init_command": (
                        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                        "PRAGMA foreign_keys=ON; PRAGMA cache_size=-64000;"
                    ),
                },
                "TEST": {"NAME": None},
            }
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": self.name,
            "USER": self.user,
            "PASSWORD": self.password,
            "HOST": self.host,
            "PORT": self.port,
            "CONN_MAX_AGE": 60,
            "OPTIONS": {"connect_timeout": 5},
        }


def home_dir() -> Path:
    """The data directory: SQLite file, uploads and the generated secret key live here."""
    raw = os.environ.get("SALESTARGET_HOME")
    path = Path(raw).expanduser() if raw else Path(platformdirs.user_data_dir("salestarget"))
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(
            f"SALESTARGET_HOME: the data directory {path} is not writable ({exc.strerror}); "
            "set SALESTARGET_HOME to a writable folder"
        ) from None
    return path


def parse_database_url(url: str, home: Path) -> Database:
    """Accept sqlite:///path (relative paths are relative to the data directory) or postgresql://."""
    if not url:
        return Database("sqlite", str(home / "salestarget.sqlite3"))
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        raw = unquote(parts.path)
        if raw in ("", "/"):
            raise ConfigError(
                f"SALESTARGET_DATABASE_URL: no file in {url!r}; use sqlite:////absolute/path.sqlite3"
            )
        # SQLAlchemy's convention: sqlite:///rel.sqlite3 is relative, sqlite:////abs is absolute.
        path = Path(raw[1:])
        if not path.is_absolute():
            path = home / path
        return Database("sqlite", str(path))
    if scheme in ("postgres", "postgresql", "pgsql"):
        name = unquote(parts.path.lstrip("/"))
        if not name:
            raise ConfigError(f"SALESTARGET_DATABASE_URL: no database name in {url!r}")
        return Database(
            "postgresql",
            name,
            unquote(parts.username or ""),
            unquote(parts.password or ""),
            parts.hostname or "",
            str(parts.port or ""),
        )
    raise ConfigError(
        f"SALESTARGET_DATABASE_URL: unknown database scheme {scheme!r} in {url!r}; "
        "use sqlite:///PATH or postgresql://USER:PASSWORD@HOST:PORT/NAME"
    )


def secret_key(home: Path) -> str:
    """SALESTARGET_SECRET_KEY, else a key generated once and kept in the data directory."""
    key = os.environ.get("SALESTARGET_SECRET_KEY")
    if key:
        return key
    path = home / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"{name}: {raw!r} is not a boolean; use true or false")


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name}: {raw!r} is not a whole number") from None
