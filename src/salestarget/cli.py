"""The ``salestarget`` console script: Django's management commands behind one friendly name.

Settings are validated here, before Django starts, so that a wrong setting is one clear line
naming it and a non-zero exit, not a traceback; the data directory is made ready here, before
a command that uses it. Nothing else is imported before the command is known: ``--help`` and
``--version`` start no Django, and no command loads the forecasting libraries unless it
forecasts (engine/forecast.py imports them when it fits a model).
"""

from __future__ import annotations

import os
import sys

USAGE = """\
usage: salestarget <command> [options]

SalesTarget 销售目标管理 — set, decompose, track and review sales targets.

Common commands:
  demo [--no-serve] [--seed N] [--size small|medium|large]
                      create the database, load the demo company, create an admin, serve
  serve [--host H] [--port P] [--workers N] [--no-worker]
                      run the web app (gunicorn + whitenoise) and a job worker
  worker [--once]     run background jobs (imports, forecasts, schedules); serve starts one
  send-alerts [--once]
                      check alert rules, queue reports, send messages (the worker does it
                      every minute; this is for cron)
  jobs                the workers, schedules and latest jobs (failed ones with their reason)
  migrate             create or upgrade the database
  createadmin         create an administrator (prints a generated password once)
  import KIND FILE    import master data or facts from CSV/XLSX (see: salestarget import --help)
  batches [--rollback ID]
                      list the import batches (who, when, rows, errors), or undo one
  rollups rebuild|verify
                      rebuild or verify the daily rollups
  calendar show|import YEAR [FILE]
                      a year's holidays and make-up working days; import the official ones
  recommend [--unit CODE] [--person CODE] [--year Y] [--p 0.8] [--json]
                      a data-backed target with its chance of being reached
  plan export PLAN_ID FILE [--lang en] [--csv]
                      a plan's targets as an xlsx workbook (months as columns) or a long CSV
  plan import PLAN_ID FILE [--map FIELD=COLUMN ...] [--unit thousand] [--dry-run]
                      read targets into a draft plan from that layout or any other
  token USERNAME NAME issue a personal API token (printed once)
  unlock USERNAME [--address IP]
                      lift a sign-in lockout after too many failed attempts
  help                list every command (all Django management commands work)

Environment:
  SALESTARGET_HOME          data directory (SQLite file, uploads, secret key)
  SALESTARGET_DATABASE_URL  sqlite:///FILE or postgresql://USER:PASS@HOST:PORT/NAME
  SALESTARGET_DEBUG, SALESTARGET_ALLOWED_HOSTS, SALESTARGET_EMAIL_HOST/PORT/USER/PASSWORD/TLS/FROM
  SALESTARGET_BEHIND_TLS    true behind an HTTPS reverse proxy: Secure cookies, HSTS, proxy headers
                            (also SALESTARGET_HSTS_SECONDS, SALESTARGET_SSL_REDIRECT, SALESTARGET_PROXY_COUNT)
  SALESTARGET_LOGIN_FAILURES_PER_ACCOUNT/_PER_ADDRESS, SALESTARGET_LOGIN_COOLOFF_MINUTES
                            sign-in throttling (defaults 5, 20 and 15)
  SALESTARGET_SECRET_KEY    signing key (default: generated once into the data directory)
  SALESTARGET_TIME_ZONE     default Asia/Shanghai
  SALESTARGET_BASE_URL      the app's address in alerts and e-mails (default http://HOST:PORT)
  SALESTARGET_HOST, SALESTARGET_PORT
                            where serve listens (defaults 127.0.0.1 and 8000)
  SALESTARGET_WORKER_LEASE, SALESTARGET_WORKER_INTERVAL
                            seconds before a silent worker's job is retaken (300), idle poll (1)
  SALESTARGET_IMPORT_MAX_*  limits of an imported file (see docs/security.md)
  SALESTARGET_STATIC_ROOT   folder for collectstatic (only when a web server in front serves /static/)

Options:
  --lang zh|en        language of the messages (before the command; default: from LC_ALL,
                      LC_MESSAGES or LANG, or LANGUAGE first when set; Chinese when unset or C)
  --version           print the version and exit
  -h, --help          show this help and exit
"""

# The languages of the messages (settings.LANGUAGES) by the prefix of a locale name.
LANGUAGES = {"zh": "zh-hans", "en": "en"}
DEFAULT_LANGUAGE = "zh-hans"


def fail(message: str) -> int:
    print(f"salestarget: error: {message}", file=sys.stderr)
    return 2


def supported_language(name: str) -> str | None:
    """``zh-hans`` or ``en`` for a locale or language name (zh_CN.UTF-8, en_US, zh-Hans, en), else
    None (C, POSIX and languages without translations)."""
    prefix = name.strip().replace("-", "_").split("_")[0].split(".")[0].split("@")[0].lower()
    return LANGUAGES.get(prefix)


def environment_language(environ=os.environ) -> str:
    """The language of the messages from the environment, as gettext reads it: LANGUAGE (a list,
    the first language with translations) before the locale LC_ALL, LC_MESSAGES, LANG (the
    first one set decides); Chinese when none is set, or for C/POSIX or another language."""
    for part in environ.get("LANGUAGE", "").split(":"):
        if language := supported_language(part):
            return language
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if value := environ.get(name, "").strip():
            return supported_language(value) or DEFAULT_LANGUAGE
    return DEFAULT_LANGUAGE


def split_language(argv: list[str]) -> tuple[str | None, list[str]]:
    """The global ``--lang zh|en`` (or ``--lang=en``) before the command, and the rest."""
    if argv and argv[0] == "--lang":
        if len(argv) < 2:
            raise ValueError("")
        return argv[1], argv[2:]
    if argv and argv[0].startswith("--lang="):
        return argv[0].partition("=")[2], argv[1:]
    return None, argv


def check_database() -> str | None:
    """A one-line reason when the configured database cannot be reached, else None."""
    from django.db import connection
    from django.db.utils import OperationalError

    try:
        connection.ensure_connection()
    except OperationalError as exc:
        settings = connection.settings_dict
        if connection.vendor == "sqlite":
            return f"SALESTARGET_DATABASE_URL: cannot open the SQLite file {settings['NAME']} ({exc})"
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return (
            f"SALESTARGET_DATABASE_URL: cannot connect to PostgreSQL database {settings['NAME']!r} at "
            f"{settings['HOST'] or 'localhost'}:{settings['PORT'] or 5432} ({reason})"
        )
    return None


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        chosen, argv = split_language(argv)
    except ValueError:
        return fail("--lang: use zh or en")
    if chosen is None:
        language = environment_language()
    elif not (language := supported_language(chosen)):
        return fail(f"--lang: use zh or en, not {chosen}")
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0
    if argv[0] == "--version":
        from salestarget import __version__

        print(f"salestarget {__version__}")
        return 0

    from salestarget import config

    # Help and version need neither the data directory nor the database.
    uses_data = argv[0] not in ("help", "version") and not {"-h", "--help"} & set(argv[1:])
    try:
        cfg = config.load()
        if uses_data:
            config.prepare(cfg)
    except config.ConfigError as exc:
        return fail(str(exc))

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salestarget.settings")
    try:
        import django

        django.setup()
    except config.ConfigError as exc:  # a deployment's own settings module may read more
        return fail(str(exc))

    if uses_data and (reason := check_database()):
        return fail(reason)

    # Commands speak the active language (Django's commands leave it alone); without this they
    # would speak settings.LANGUAGE_CODE, Chinese, whatever the terminal's language.
    from django.core.management import execute_from_command_line
    from django.utils import translation

    translation.activate(language)

    if argv[0] == "send-alerts":
        argv[0] = "send_alerts"
    try:
        execute_from_command_line(["salestarget", *argv])
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `salestarget jobs | head`: the reader left; say nothing more (Python's advice: point
        # stdout at devnull so the interpreter's final flush does not raise again).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
