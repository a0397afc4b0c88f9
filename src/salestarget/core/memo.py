"""What is remembered across requests until a committed write could change it.

Every manager opens the same dashboard every morning, and the figures behind it change only when
something is written: facts, targets, the org, the calendar, a metric's credit rule. A closed loop
of 50 readers cost each request its whole computation (about 30 ms of CPU), so 50 readers on two
cores waited over a second (bench/RESULTS.md, "Tracking under load"). Remembered, a request costs
its frame: the tracking figures and the dashboard's content (tracking), a user's scope
(org.permissions) and the company's currency (metrics) are kept here.

**What counts as a write.** Not a list of the models the figures read: 147 places write through
``QuerySet.update``, ``bulk_create`` or raw SQL, and none of those send save signals. Instead every
SQL statement the app runs passes :func:`_observe` (a Django execute wrapper on every connection),
and any INSERT, UPDATE, DELETE, TRUNCATE or schema change outside :data:`UNWATCHED` (sessions,
login throttling, the job queue, alerts' own rows, this module's own row) marks the connection's
transaction as having written. The two COPY writers (an import's facts, a decomposition's draft
cells) bypass the wrapper but always run in a transaction that also writes its batch or its plan
through it.

**When the token changes.** After the commit (``transaction.on_commit``), never before: a reader
reads the token first and the data second, so data read before the commit is kept under the old
token, which no one asks for once the new one is written. A rolled-back transaction changes
nothing. Inside a transaction that has written, the connection's own reads see its uncommitted
rows, so they are computed afresh and not remembered. A request reads the token once, and again
after it writes.

**Where.** In each process's memory (Django's local-memory cache, ``CACHES["memo"]``): no cache
server on an intranet install, and the token is in the database, so every worker and every
process (web, job worker, CLI) agrees on what is current. An entry is keyed by the token, the
function, its arguments (a user by their id: what a user may see is theirs), the language and
today's date; an argument without a stable name (a calendar passed in) is computed afresh rather
than guessed at. Values are pickled, so a caller that changes what it gets changes its own copy.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import pickle
import re
import secrets
from contextvars import ContextVar
from dataclasses import fields, is_dataclass

from django.core.cache import caches
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, models, transaction
from django.db.backends.base.base import NO_DB_ALIAS
from django.utils import timezone, translation

from salestarget.core.models import ReadVersion

# Tables whose rows no figure reads: written on many requests (sessions), by every worker's
# heartbeat (jobs) or by the alerts that figures feed, they would otherwise expire every entry.
UNWATCHED = (
    "core_readversion",
    "django_session",
    "django_admin_log",
    "django_tasks_database_",
    "jobs_",
    "axes_",
    "alerts_",
)
# An entry bigger than this (the whole company's tracking table of thousands of reps) is not
# kept, so a process's cache stays within CACHES["memo"]'s MAX_ENTRIES x this.
LARGEST = 1024 * 1024

_TARGET = re.compile(
    r'\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|REPLACE\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)', re.I
)
_WRITES = re.compile(r"\b(?:INSERT|UPDATE|DELETE|TRUNCATE|CREATE|DROP|ALTER|COPY)\b", re.I)
_QUIET = (
    "SELECT",
    "SAVEPOINT",
    "RELEASE",
    "ROLLBACK",
    "BEGIN",
    "COMMIT",
    "PRAGMA",
    "SET ",
    "SHOW",
    "EXPLAIN",
)


# Signing in stamps the user's last_login, which nothing remembered reads: every sign-in of a
# busy morning would otherwise forget everything.
_SIGN_IN = re.compile(r'\s*UPDATE\s+"auth_user"\s+SET\s+"last_login"\s*=\s*%s\s+WHERE\s', re.I)


def writes(sql: str) -> bool:
    """Whether a statement may change a row a figure reads."""
    if sql.lstrip()[:10].upper().startswith(_QUIET) or _SIGN_IN.match(sql):
        return False
    found = _TARGET.match(sql)
    if found:
        return not found.group(1).lower().startswith(UNWATCHED)
    return bool(_WRITES.search(sql))


def watch(sender, connection, **kwargs) -> None:
    """Receives ``connection_created``: observe every statement of this connection (not of the
    server-level one Django opens to create or drop a database)."""
    if connection.alias != NO_DB_ALIAS and _observe not in connection.execute_wrappers:
        connection.execute_wrappers.append(_observe)


# While ``migrate`` runs the token's table may not exist yet; the migration's end changes it once.
_migrating = False


def migration_started(**kwargs) -> None:
    global _migrating
    _migrating = True


def migration_done(using=DEFAULT_DB_ALIAS, **kwargs) -> None:
    global _migrating
    if _migrating:
        _migrating = False
        bump(using)


def _observe(execute, sql, params, many, context):
    result = execute(sql, params, many, context)
    if not _migrating and writes(sql):
        _written(context["connection"])
    return result


def _written(connection) -> None:
    if (seen := _request_token.get()) is not None:
        seen.clear()
    if not connection.in_atomic_block:
        bump(connection.alias)
    elif not _pending(connection):
        transaction.on_commit(functools.partial(bump, connection.alias), using=connection.alias)


def _pending(connection) -> bool:
    """Whether the connection's transaction has written (a bump waits for its commit)."""
    return connection.in_atomic_block and any(
        isinstance(func, functools.partial) and func.func is bump
        for _ids, func, _robust in connection.run_on_commit
    )


def bump(using: str = DEFAULT_DB_ALIAS) -> str | None:
    """A new token: every remembered figure is stale from now on. Runs outside any transaction
    (after the commit, or after an autocommitted statement), so a failure spoils nothing."""
    token = secrets.token_hex(16)
    connection = connections[using]
    try:
        with connection.cursor() as cursor:
            cursor.execute("UPDATE core_readversion SET token = %s WHERE id = 1", [token])
            if cursor.rowcount == 0:
                cursor.execute("INSERT INTO core_readversion (id, token) VALUES (1, %s)", [token])
    except DatabaseError:
        if _unmigrated(connection):
            return None  # nothing is remembered before the table exists (see current())
        raise
    return token


# The token as this request read it: {} until then, None outside a request (commands, jobs).
_request_token: ContextVar[dict | None] = ContextVar("memo_token", default=None)


def request_started(**kwargs) -> None:
    _request_token.set({})


def request_finished(**kwargs) -> None:
    _request_token.set(None)


def current(using: str = DEFAULT_DB_ALIAS) -> str | None:
    """The token what is read now is kept under; None inside a transaction that has written,
    or in a database not migrated yet."""
    connection = connections[using]
    if _pending(connection):
        return None
    seen = _request_token.get()
    if seen is not None and using in seen:
        return seen[using]
    token = _read(connection)
    if seen is not None and token is not None:
        seen[using] = token
    return token


def _read(connection) -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT token FROM core_readversion WHERE id = 1")
            row = cursor.fetchone()
    except DatabaseError:
        if not connection.in_atomic_block and _unmigrated(connection):
            return None
        raise
    # No row: a database flushed by a test, or restored without it; a new token is always safe.
    return row[0] if row else bump(connection.alias)


def _unmigrated(connection) -> bool:
    return ReadVersion._meta.db_table not in connection.introspection.table_names()


class _Unnamed(Exception):
    """An argument the key cannot name."""


def _name(value):
    if value is None or isinstance(value, str | int | float | bool | dt.date):
        return value
    if isinstance(value, models.Model):
        return (value._meta.label, value.pk)
    if is_dataclass(value):
        return (type(value).__qualname__, *(_name(getattr(value, f.name)) for f in fields(value)))
    if isinstance(value, list | tuple):
        return tuple(_name(v) for v in value)
    raise _Unnamed(type(value).__qualname__)


def remembered(func):
    """Keep ``func(...)``'s result until a write could change it (see the module's text)."""
    where = f"{func.__module__}.{func.__qualname__}"

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        token = current()
        if token is None:
            return func(*args, **kwargs)
        try:
            named = (
                where,
                token,
                translation.get_language(),
                timezone.localdate(),
                tuple(_name(a) for a in args),
                tuple(sorted((k, _name(v)) for k, v in kwargs.items())),
            )
        except _Unnamed:
            return func(*args, **kwargs)
        key = "m:" + hashlib.blake2b(repr(named).encode(), digest_size=20).hexdigest()
        store = caches["memo"]
        kept = store.get(key)
        if kept is not None:
            return pickle.loads(kept)
        value = func(*args, **kwargs)
        blob = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
        if len(blob) <= LARGEST:
            store.set(key, blob)
        return value

    wrapper.uncached = func
    return wrapper
