"""Configuration from the environment.

Kept free of Django imports so that the CLI can validate settings and print one clear line
(naming the setting) before Django starts and would bury the problem in a traceback.
"""

from __future__ import annotations

import os
import secrets
import stat
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


PRIVATE_UMASK = 0o077


def private_files() -> None:
    """Make every file and folder this process creates its owner's alone (0600 and 0700).

    Called first thing by settings.py, so `salestarget serve`/`demo`/`migrate`, gunicorn workers,
    `manage.py` and tests all run with it. SQLite creates its -wal and -shm files later, when a
    connection first writes, with the process umask: a umask is the only way to have them private.
    """
    current = os.umask(PRIVATE_UMASK)
    os.umask(current | PRIVATE_UMASK)


def tighten(path: Path) -> None:
    """Take group and other permissions off ``path`` when it exists and belongs to this user
    (a data directory or database file made by an older version, world-readable)."""
    try:
        st = path.stat()
        if st.st_uid == os.getuid() and st.st_mode & 0o077:
            path.chmod(stat.S_IMODE(st.st_mode) & ~0o077)
    except OSError:
        pass


def tighten_database_files(database: Database) -> None:
    """The SQLite file and its companions hold sessions and password hashes: owner only."""
    if database.is_sqlite:
        for suffix in ("", "-wal", "-shm", "-journal"):
            tighten(Path(database.name + suffix))


def home_dir() -> Path:
    """The data directory: SQLite file, uploads and the generated secret key live here.

    Created 0700; an existing one of ours that others may read is tightened to owner only."""
    raw = os.environ.get("SALESTARGET_HOME")
    path = Path(raw).expanduser() if raw else Path(platformdirs.user_data_dir("salestarget"))
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        tighten(path)
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
        # Written to a private temporary file (0600 from its creation, never readable by others)
        # and linked into place: two processes starting at once agree on one key, and none reads
        # a half-written one.
        tmp = home / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(50))
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process made it first: use theirs
        finally:
            tmp.unlink(missing_ok=True)
    tighten(path)
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


def env_seconds(name: str, default: int) -> int:
    value = env_int(name, default)
    if value < 0:
        raise ConfigError(f"{name}: {value} is negative; use 0 or more seconds")
    return value


def transport_security() -> dict:
    """Django settings for running behind a reverse proxy that terminates TLS.

    SALESTARGET_BEHIND_TLS=true says: people reach the app over HTTPS through a proxy (nginx,
    Caddy, a load balancer) that sets X-Forwarded-Proto, and the app itself is not reachable
    directly. Cookies are then sent over HTTPS only, HSTS is on, and the proxy's scheme header
    and its X-Forwarded-For entry (for login throttling by address) are trusted.
    """
    behind_tls = env_bool("SALESTARGET_BEHIND_TLS", False)
    ssl_redirect = env_bool("SALESTARGET_SSL_REDIRECT", False)
    if ssl_redirect and not behind_tls:
        raise ConfigError(
            "SALESTARGET_SSL_REDIRECT: needs SALESTARGET_BEHIND_TLS=true (the app serves plain HTTP "
            "itself, so without the proxy's X-Forwarded-Proto every request would be redirected)"
        )
    proxy_count = env_int("SALESTARGET_PROXY_COUNT", 1 if behind_tls else 0)
    if proxy_count < 0:
        raise ConfigError(f"SALESTARGET_PROXY_COUNT: {proxy_count} is negative; use 0, 1 or more")
    return {
        "SESSION_COOKIE_SECURE": behind_tls,
        "CSRF_COOKIE_SECURE": behind_tls,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "CSRF_COOKIE_SAMESITE": "Lax",
        "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https") if behind_tls else None,
        # Sent on HTTPS responses only (Django's SecurityMiddleware); 0 sends none.
        "SECURE_HSTS_SECONDS": env_seconds("SALESTARGET_HSTS_SECONDS", 31536000 if behind_tls else 0),
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": env_bool("SALESTARGET_HSTS_INCLUDE_SUBDOMAINS", False),
        "SECURE_SSL_REDIRECT": ssl_redirect,
        "USE_X_FORWARDED_HOST": env_bool("SALESTARGET_USE_X_FORWARDED_HOST", False),
        # How many proxies append to X-Forwarded-For; the client's address is that many from the right.
        "SALESTARGET_PROXY_COUNT": proxy_count,
    }


@dataclass(frozen=True)
class LoginThrottle:
    per_account: int
    per_address: int
    cooloff_minutes: int


def login_throttle() -> LoginThrottle:
    """Failed sign-ins allowed before a lockout, per account (from any address) and per client
    address (over all accounts), within a cool-off window that restarts at each failure."""

    def positive(name: str, default: int) -> int:
        value = env_int(name, default)
        if value < 1:
            raise ConfigError(f"{name}: {value} must be 1 or more")
        return value

    return LoginThrottle(
        per_account=positive("SALESTARGET_LOGIN_FAILURES_PER_ACCOUNT", 5),
        per_address=positive("SALESTARGET_LOGIN_FAILURES_PER_ADDRESS", 20),
        cooloff_minutes=positive("SALESTARGET_LOGIN_COOLOFF_MINUTES", 15),
    )


# --- import limits ------------------------------------------------------------------------

MB = 1024 * 1024
# (key in settings.SALESTARGET_IMPORT_LIMITS, environment variable, default, unit of the variable)
IMPORT_LIMITS = (
    # An Excel sheet's cells: Excel's own maximum is 1,048,576 rows x 16,384 columns, but the
    # reader holds the whole rectangle the cells span in memory (about 32 bytes per cell).
    ("max_rows", "SALESTARGET_IMPORT_MAX_ROWS", 1_048_576, 1),
    ("max_columns", "SALESTARGET_IMPORT_MAX_COLUMNS", 16_384, 1),
    ("max_cells", "SALESTARGET_IMPORT_MAX_CELLS", 50_000_000, 1),
    # An XLSX is a zip: what its parts unpack to (as declared in the zip), and how densely packed.
    ("max_unpacked_bytes", "SALESTARGET_IMPORT_MAX_UNPACKED_MB", 1024, MB),
    ("max_ratio", "SALESTARGET_IMPORT_MAX_RATIO", 100, 1),
    ("ratio_from_bytes", "SALESTARGET_IMPORT_MAX_RATIO_FROM_MB", 10, MB),
    # Sheets up to this size (unpacked) are checked cell by cell, not by their declared dimension.
    ("scan_bytes", "SALESTARGET_IMPORT_MAX_SCAN_MB", 4, MB),
    # An old binary .xls is read whole into memory.
    ("max_xls_bytes", "SALESTARGET_IMPORT_MAX_XLS_MB", 100, MB),
    # A CSV line or cell (a multi-line notes column must not stop a big import).
    ("max_field_bytes", "SALESTARGET_IMPORT_MAX_FIELD_MB", 16, MB),
)


def import_limit_defaults() -> dict[str, int]:
    return {key: default * unit for key, _name, default, unit in IMPORT_LIMITS}


def import_limits() -> dict[str, int]:
    """The limits a file to import must keep (settings.SALESTARGET_IMPORT_LIMITS), each from its
    SALESTARGET_IMPORT_MAX_* variable; sizes are given in MB and kept in bytes."""
    limits = {}
    for key, name, default, unit in IMPORT_LIMITS:
        value = env_int(name, default)
        if value < 1:
            raise ConfigError(f"{name}: {value} must be 1 or more")
        limits[key] = value * unit
    return limits
