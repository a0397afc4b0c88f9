"""Django settings, all from the one configuration object that salestarget.config builds from
the environment.

Importing this module writes nothing: the data directory is made ready by the commands that
use it (cli.py, wsgi.py: ``config.prepare``), uploads and job files create their folders when
the first one is written, and the generated secret key is written when it is first needed.
"""

import datetime
from pathlib import Path

from django.utils.functional import lazy

from salestarget import __version__, config

BASE_DIR = Path(__file__).resolve().parent
# First: everything this process creates (SQLite file, its -wal/-shm, uploads, secret key) is
# the owner's alone. Every entry point (salestarget CLI, gunicorn workers, tests) imports this.
config.private_files()
CONFIG = config.load()
HOME = CONFIG.home
DATABASE = CONFIG.database

# SALESTARGET_SECRET_KEY, else the key generated in the data directory, read (and made, the
# first time) when something first signs or checks a signature, not when settings are read.
SECRET_KEY = CONFIG.secret_key or lazy(config.generated_secret_key, str)(CONFIG.home)
DEBUG = CONFIG.debug
ALLOWED_HOSTS = list(CONFIG.allowed_hosts)
CSRF_TRUSTED_ORIGINS = list(CONFIG.csrf_trusted_origins)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "simple_history",
    "ninja",
    "axes",
    "django_tasks",
    "django_tasks_db",
    "salestarget.core",
    "salestarget.jobs",
    "salestarget.accounts",
    "salestarget.org",
    "salestarget.catalog",
    "salestarget.metrics",
    "salestarget.actuals",
    "salestarget.targets",
    "salestarget.tracking",
    "salestarget.alerts",
    "salestarget.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: turns a locked-out sign-in into our lockout page.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    # First: refuses sign-ins while the account or the address is locked out.
    "salestarget.accounts.auth.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "salestarget.urls"
WSGI_APPLICATION = "salestarget.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "salestarget.web.context_processors.product",
            ],
        },
    },
]

DATABASES = {"default": DATABASE.django_settings()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# "memo": what is kept per process until a write changes it (core/memo.py: tracking figures, a
# user's scope); the default cache is Django's own default, named so the two never evict each other.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "memo": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "memo",
        "TIMEOUT": 3600,
        "OPTIONS": {"MAX_ENTRIES": 300},
    },
}

# Background jobs live in the app's own database (django-tasks-db); `salestarget worker` runs them.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# Progress of running jobs (a small file per job; see jobs/progress.py) and stored uploads.
SALESTARGET_JOBS_DIR = CONFIG.jobs_dir
# A worker not seen for this many seconds is taken for dead and its job queued again; an idle
# worker looks for jobs every SALESTARGET_WORKER_INTERVAL seconds.
SALESTARGET_WORKER_LEASE = CONFIG.jobs.worker_lease_seconds
SALESTARGET_WORKER_INTERVAL = CONFIG.jobs.worker_interval_seconds

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "salestarget.accounts.passwords.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = CONFIG.time_zone
SALESTARGET_BASE_URL = CONFIG.base_url
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# whitenoise serves the app's static folders directly (WHITENOISE_USE_FINDERS), so there is no
# STATIC_ROOT unless SALESTARGET_STATIC_ROOT names one for `collectstatic` (whitenoise warns on
# every start about a STATIC_ROOT that does not exist).
STATIC_ROOT = CONFIG.static_root
# Created with the first upload (actuals/uploads.py), 0700 like every folder of the data directory.
MEDIA_ROOT = CONFIG.media_root
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Plain storage: the manifest variant would need `collectstatic` before the first start,
    # and whitenoise serves the app's static folders directly (WHITENOISE_USE_FINDERS).
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
# Reads write nothing: a session is saved only when a request changed it.
SESSION_SAVE_EVERY_REQUEST = False

# Behind a TLS-terminating reverse proxy (SALESTARGET_BEHIND_TLS and friends, see config.py and
# docs/security.md): Secure cookies, HSTS, the proxy's X-Forwarded-Proto/-For trusted.
_transport = CONFIG.transport.django_settings()
SESSION_COOKIE_SECURE = _transport["SESSION_COOKIE_SECURE"]
CSRF_COOKIE_SECURE = _transport["CSRF_COOKIE_SECURE"]
SESSION_COOKIE_SAMESITE = _transport["SESSION_COOKIE_SAMESITE"]
CSRF_COOKIE_SAMESITE = _transport["CSRF_COOKIE_SAMESITE"]
SECURE_PROXY_SSL_HEADER = _transport["SECURE_PROXY_SSL_HEADER"]
SECURE_HSTS_SECONDS = _transport["SECURE_HSTS_SECONDS"]
SECURE_HSTS_INCLUDE_SUBDOMAINS = _transport["SECURE_HSTS_INCLUDE_SUBDOMAINS"]
SECURE_SSL_REDIRECT = _transport["SECURE_SSL_REDIRECT"]
USE_X_FORWARDED_HOST = _transport["USE_X_FORWARDED_HOST"]
SALESTARGET_PROXY_COUNT = _transport["SALESTARGET_PROXY_COUNT"]

# Login throttling (django-axes; attempts kept in this app's database). See accounts/auth.py.
_throttle = CONFIG.login
AXES_ENABLED = True
AXES_FAILURE_LIMIT = _throttle.per_account
SALESTARGET_LOGIN_FAILURES_PER_ADDRESS = _throttle.per_address
AXES_COOLOFF_TIME = datetime.timedelta(minutes=_throttle.cooloff_minutes)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # either one locks; order used by the handler
AXES_HANDLER = "salestarget.accounts.auth.LoginThrottleHandler"
AXES_LOCKOUT_CALLABLE = "salestarget.accounts.auth.lockout_response"
AXES_CLIENT_IP_CALLABLE = "salestarget.accounts.auth.client_ip"
AXES_HTTP_RESPONSE_CODE = 429
# Tries while locked out are not counted: a lockout ends one cool-off after the last counted
# failure, even if the person keeps trying their (right) password meanwhile.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# Our handler clears the account's own failures from the signing-in address instead.
AXES_RESET_ON_SUCCESS = False

EMAIL_HOST = CONFIG.email.host
EMAIL_PORT = CONFIG.email.port
EMAIL_HOST_USER = CONFIG.email.user
EMAIL_HOST_PASSWORD = CONFIG.email.password
EMAIL_USE_TLS = CONFIG.email.use_tls
DEFAULT_FROM_EMAIL = CONFIG.email.from_address

SALESTARGET_VERSION = __version__

# Every @paginate of the API: limit 1-1000 (default 100), offset 0 to 2^31-1.
NINJA_PAGINATION_CLASS = "salestarget.core.api_contract.Pagination"

# Limits a file to import must keep (rows, columns, cells, unpacked size, compression ratio, .xls
# size, CSV line/cell size), from SALESTARGET_IMPORT_MAX_*; see config.IMPORT_LIMITS.
SALESTARGET_IMPORT_LIMITS = dict(CONFIG.import_limits)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
