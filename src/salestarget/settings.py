"""Django settings, all read from the environment through salestarget.config."""

import os
from pathlib import Path

from salestarget import __version__, config

BASE_DIR = Path(__file__).resolve().parent
HOME = config.home_dir()
DATABASE = config.parse_database_url(os.environ.get("SALESTARGET_DATABASE_URL", ""), HOME)

SECRET_KEY = config.secret_key(HOME)
DEBUG = config.env_bool("SALESTARGET_DEBUG", False)
ALLOWED_HOSTS = config.env_list("SALESTARGET_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = config.env_list("SALESTARGET_CSRF_TRUSTED_ORIGINS", [])

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
    "salestarget.accounts",
    "salestarget.org",
    "salestarget.catalog",
    "salestarget.metrics",
    "salestarget.actuals",
    "salestarget.targets",
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

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("SALESTARGET_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = HOME / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns on every start when it is missing
MEDIA_ROOT = HOME / "uploads"
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

EMAIL_HOST = os.environ.get("SALESTARGET_EMAIL_HOST", "localhost")
EMAIL_PORT = config.env_int("SALESTARGET_EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("SALESTARGET_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("SALESTARGET_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = config.env_bool("SALESTARGET_EMAIL_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("SALESTARGET_EMAIL_FROM", "salestarget@localhost")

SALESTARGET_VERSION = __version__

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
