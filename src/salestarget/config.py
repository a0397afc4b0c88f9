"""Configuration from the environment: ``load()`` reads every setting once into a frozen
:class:`Config`, and settings.py reads only that object.

Kept free of Django imports so that the CLI can validate settings and print one clear line
(naming the setting) before Django starts and would bury the problem in a traceback.

Loading writes nothing. The data directory is made ready by :func:`prepare` when a command
is about to use it (the CLI, wsgi.py), uploads and job files create their folders when they
write the first one, and the generated secret key is written the first time it is needed.
"""

from __future__ import annotations

import functools
import os
import secrets
import stat
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from urllib.parse import unquote, urlsplit

import platformdirs


class ConfigError(Exception):
    """A setting is wrong; the message names the setting and says what to do."""


@dataclass(frozen=True)
class Database:
    engine: str
    name: str
    user: str = ""
    password: str = field(default="", repr=False)
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


@dataclass(frozen=True)
class Email:
    """Outgoing mail (Django's EMAIL_* settings), SALESTARGET_EMAIL_*."""

    host: str = "localhost"
    port: int = 25
    user: str = ""
    password: str = field(default="", repr=False)
    use_tls: bool = False
    from_address: str = "salestarget@localhost"


@dataclass(frozen=True)
class TransportSecurity:
    """Running behind a reverse proxy that terminates TLS.

    SALESTARGET_BEHIND_TLS=true says: people reach the app over HTTPS through a proxy (nginx,
    Caddy, a load balancer) that sets X-Forwarded-Proto, and the app itself is not reachable
    directly. Cookies are then sent over HTTPS only, HSTS is on, and the proxy's scheme header
    and its X-Forwarded-For entry (for login throttling by address) are trusted.
    """

    behind_tls: bool = False
    # Sent on HTTPS responses only (Django's SecurityMiddleware); 0 sends none.
    hsts_seconds: int = 0
    hsts_include_subdomains: bool = False
    ssl_redirect: bool = False
    use_x_forwarded_host: bool = False
    # How many proxies append to X-Forwarded-For; the client's address is that many from the right.
    proxy_count: int = 0

    def django_settings(self) -> dict:
        return {
            "SESSION_COOKIE_SECURE": self.behind_tls,
            "CSRF_COOKIE_SECURE": self.behind_tls,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "CSRF_COOKIE_SAMESITE": "Lax",
            "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https") if self.behind_tls else None,
            "SECURE_HSTS_SECONDS": self.hsts_seconds,
            "SECURE_HSTS_INCLUDE_SUBDOMAINS": self.hsts_include_subdomains,
            "SECURE_SSL_REDIRECT": self.ssl_redirect,
            "USE_X_FORWARDED_HOST": self.use_x_forwarded_host,
            "SALESTARGET_PROXY_COUNT": self.proxy_count,
        }


@dataclass(frozen=True)
class LoginThrottle:
    """Failed sign-ins allowed before a lockout, per account (from any address) and per client
    address (over all accounts), within a cool-off window that restarts at each failure."""

    per_account: int = 5
    per_address: int = 20
    cooloff_minutes: int = 15


@dataclass(frozen=True)
class Jobs:
    """The background worker (``salestarget worker``)."""

    # A worker not seen for this long is taken for dead and its job is queued again.
    worker_lease_seconds: int = 300
    # How long an idle worker waits before it looks for new jobs again.
    worker_interval_seconds: float = 1.0


@dataclass(frozen=True)
class Config:
    """Every setting of the app, read once from the environment by :func:`load`."""

    home: Path  # the data directory: SQLite file, uploads, job files, generated secret key
    database: Database
    # SALESTARGET_SECRET_KEY; empty: the key generated_secret_key() keeps in the data directory.
    secret_key: str = field(repr=False)
    debug: bool
    allowed_hosts: tuple[str, ...]
    csrf_trusted_origins: tuple[str, ...]
    time_zone: str
    email: Email
    # Where `salestarget serve` listens unless --host/--port say otherwise.
    host: str
    port: int
    transport: TransportSecurity
    login: LoginThrottle
    import_limits: Mapping[str, int]  # see IMPORT_LIMITS; sizes in bytes
    jobs: Jobs
    # The address people open the app at (SALESTARGET_BASE_URL): the links in alerts, reports
    # and e-mails. Default: where serve listens.
    base_url: str = ""
    # Only for `collectstatic` (a web server in front serving /static/ itself); whitenoise
    # serves the app's own static folders without it.
    static_root: Path | None = None

    @property
    def media_root(self) -> Path:
        return self.home / "uploads"

    @property
    def jobs_dir(self) -> Path:
        return self.home / "jobs"


class _Env:
    """Typed reads of environment variables; every error names the variable."""

    def __init__(self, environ: Mapping[str, str]):
        self.environ = environ

    def text(self, name: str, default: str = "") -> str:
        return self.environ.get(name, default)

    def flag(self, name: str, default: bool = False) -> bool:
        raw = self.environ.get(name)
        if raw is None:
            return default
        value = raw.strip().lower()
        if value in ("1", "true", "yes", "on"):
            return True
        if value in ("0", "false", "no", "off", ""):
            return False
        raise ConfigError(f"{name}: {raw!r} is not a boolean; use true or false")

    def names(self, name: str, default: tuple[str, ...]) -> tuple[str, ...]:
        raw = self.environ.get(name)
        if raw is None:
            return default
        return tuple(item.strip() for item in raw.split(",") if item.strip())

    def number(
        self, name: str, default: int, *, minimum: int | None = None, maximum: int | None = None
    ) -> int:
        raw = self.environ.get(name)
        if raw is None or raw.strip() == "":
            value = default
        else:
            try:
                value = int(raw)
            except ValueError:
                raise ConfigError(f"{name}: {raw!r} is not a whole number") from None
        if minimum is not None and value < minimum:
            raise ConfigError(f"{name}: {value} is too small; use {minimum} or more")
        if maximum is not None and value > maximum:
            raise ConfigError(f"{name}: {value} is too large; use at most {maximum}")
        return value

    def seconds(self, name: str, default: float) -> float:
        raw = self.environ.get(name)
        if raw is None or raw.strip() == "":
            return default
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(f"{name}: {raw!r} is not a number of seconds") from None
        if not 0 < value < float("inf"):
            raise ConfigError(f"{name}: {raw!r} must be a positive number of seconds")
        return value


def load(environ: Mapping[str, str] | None = None) -> Config:
    """Read and check every setting; raises ConfigError naming the first wrong one.

    Reads ``environ`` (default ``os.environ``) and writes nothing: no folder, no file."""
    env = _Env(os.environ if environ is None else environ)
    raw_home = env.text("SALESTARGET_HOME")
    home = Path(raw_home).expanduser() if raw_home else Path(platformdirs.user_data_dir("salestarget"))
    if home.exists() and not home.is_dir():
        raise ConfigError(
            f"SALESTARGET_HOME: {home} is not a folder; set SALESTARGET_HOME to a writable folder"
        )
    static_root = env.text("SALESTARGET_STATIC_ROOT")
    return Config(
        home=home,
        database=parse_database_url(env.text("SALESTARGET_DATABASE_URL"), home),
        secret_key=env.text("SALESTARGET_SECRET_KEY"),
        debug=env.flag("SALESTARGET_DEBUG", False),
        allowed_hosts=env.names("SALESTARGET_ALLOWED_HOSTS", ("127.0.0.1", "localhost", "[::1]")),
        csrf_trusted_origins=env.names("SALESTARGET_CSRF_TRUSTED_ORIGINS", ()),
        time_zone=_time_zone(env),
        email=Email(
            host=env.text("SALESTARGET_EMAIL_HOST", "localhost"),
            port=env.number("SALESTARGET_EMAIL_PORT", 25, minimum=1, maximum=65535),
            user=env.text("SALESTARGET_EMAIL_USER"),
            password=env.text("SALESTARGET_EMAIL_PASSWORD"),
            use_tls=env.flag("SALESTARGET_EMAIL_TLS", False),
            from_address=env.text("SALESTARGET_EMAIL_FROM", "salestarget@localhost"),
        ),
        host=env.text("SALESTARGET_HOST", "127.0.0.1") or "127.0.0.1",
        port=env.number("SALESTARGET_PORT", 8000, minimum=1, maximum=65535),
        transport=_transport_security(env),
        login=LoginThrottle(
            per_account=env.number("SALESTARGET_LOGIN_FAILURES_PER_ACCOUNT", 5, minimum=1),
            per_address=env.number("SALESTARGET_LOGIN_FAILURES_PER_ADDRESS", 20, minimum=1),
            cooloff_minutes=env.number("SALESTARGET_LOGIN_COOLOFF_MINUTES", 15, minimum=1),
        ),
        import_limits=MappingProxyType(_import_limits(env)),
        jobs=Jobs(
            worker_lease_seconds=env.number("SALESTARGET_WORKER_LEASE", 300, minimum=1),
            worker_interval_seconds=env.seconds("SALESTARGET_WORKER_INTERVAL", 1.0),
        ),
        static_root=Path(static_root).expanduser() if static_root else None,
        base_url=_base_url(env),
    )


def served_at(host: str, port: int | str) -> str:
    """The address people open a server listening on ``host``:``port`` at, when no
    SALESTARGET_BASE_URL says otherwise; a server on every interface is opened on this machine."""
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    return f"http://{host}:{port}"


def _base_url(env: _Env) -> str:
    raw = env.text("SALESTARGET_BASE_URL").strip().rstrip("/")
    if not raw:
        return served_at(
            env.text("SALESTARGET_HOST", "127.0.0.1"), env.text("SALESTARGET_PORT", "8000") or "8000"
        )
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"SALESTARGET_BASE_URL: {raw!r} must be an http:// or https:// address")
    return raw


def _time_zone(env: _Env) -> str:
    name = env.text("SALESTARGET_TIME_ZONE", "Asia/Shanghai") or "Asia/Shanghai"
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"SALESTARGET_TIME_ZONE: unknown time zone {name!r}; use a name such as Asia/Shanghai or UTC"
        ) from None
    return name


def _transport_security(env: _Env) -> TransportSecurity:
    behind_tls = env.flag("SALESTARGET_BEHIND_TLS", False)
    ssl_redirect = env.flag("SALESTARGET_SSL_REDIRECT", False)
    if ssl_redirect and not behind_tls:
        raise ConfigError(
            "SALESTARGET_SSL_REDIRECT: needs SALESTARGET_BEHIND_TLS=true (the app serves plain HTTP "
            "itself, so without the proxy's X-Forwarded-Proto every request would be redirected)"
        )
    return TransportSecurity(
        behind_tls=behind_tls,
        hsts_seconds=env.number("SALESTARGET_HSTS_SECONDS", 31536000 if behind_tls else 0, minimum=0),
        hsts_include_subdomains=env.flag("SALESTARGET_HSTS_INCLUDE_SUBDOMAINS", False),
        ssl_redirect=ssl_redirect,
        use_x_forwarded_host=env.flag("SALESTARGET_USE_X_FORWARDED_HOST", False),
        proxy_count=env.number("SALESTARGET_PROXY_COUNT", 1 if behind_tls else 0, minimum=0),
    )


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
        try:
            port = str(parts.port or "")
        except ValueError:
            raise ConfigError(f"SALESTARGET_DATABASE_URL: the port in {url!r} is not a port number") from None
        return Database(
            "postgresql",
            name,
            unquote(parts.username or ""),
            unquote(parts.password or ""),
            parts.hostname or "",
            port,
        )
    raise ConfigError(
        f"SALESTARGET_DATABASE_URL: unknown database scheme {scheme!r} in {url!r}; "
        "use sqlite:///PATH or postgresql://USER:PASSWORD@HOST:PORT/NAME"
    )


# --- files: written when a command needs them, never when settings are read --------------------

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


def make_home(home: Path, *, probe: bool = False) -> None:
    """Create the data directory 0700; an existing one of ours that others may read is
    tightened to owner only. ``probe`` also checks that a file can be written in it."""
    try:
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        tighten(home)
        if probe:
            test = home / f".write-test.{os.getpid()}"
            test.write_text("ok")
            test.unlink()
    except OSError as exc:
        raise ConfigError(
            f"SALESTARGET_HOME: the data directory {home} is not writable ({exc.strerror}); "
            "set SALESTARGET_HOME to a writable folder"
        ) from None


def prepare(config: Config) -> None:
    """Make the data directory ready for a command that is about to use it: created (0700) and
    writable, the SQLite files owner only. Called by the CLI before such commands and by
    wsgi.py before serving; reading the settings does none of this."""
    make_home(config.home, probe=True)
    tighten_database_files(config.database)


@functools.cache
def generated_secret_key(home: Path) -> str:
    """The key generated once and kept in the data directory (used when SALESTARGET_SECRET_KEY
    is not set), written the first time it is needed; settings.py reads it lazily."""
    path = home / "secret_key"
    if not path.exists():
        make_home(home)
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


def import_limits(environ: Mapping[str, str] | None = None) -> dict[str, int]:
    """The limits a file to import must keep (settings.SALESTARGET_IMPORT_LIMITS), each from its
    SALESTARGET_IMPORT_MAX_* variable; sizes are given in MB and kept in bytes."""
    return _import_limits(_Env(os.environ if environ is None else environ))


def _import_limits(env: _Env) -> dict[str, int]:
    return {key: env.number(name, default, minimum=1) * unit for key, name, default, unit in IMPORT_LIMITS}
