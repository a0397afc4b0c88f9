"""Authentication: the API's session (with CSRF) or a personal Bearer token, and login throttling.

Login throttling is django-axes with two limits (settings.py, from config.login_throttle()):
``AXES_FAILURE_LIMIT`` failures for one account from any address, and
``SALESTARGET_LOGIN_FAILURES_PER_ADDRESS`` failures from one address over all accounts, each within
``AXES_COOLOFF_TIME`` of the last failure. Every sign-in form goes through ``authenticate(request, …)``
(our login page, the admin's), so both are covered; the API has no password sign-in of its own.
"""

from __future__ import annotations

import ipaddress

from axes.backends import AxesStandaloneBackend
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.shortcuts import render
from django.utils.translation import gettext as _
from ninja.security import HttpBearer, SessionAuth

from salestarget.accounts.models import ApiToken

# Methods that only read: a request with one of these writes nothing (issue 10: readers must not
# queue behind a long import for SQLite's single write lock).
SAFE_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE")


class TokenAuth(HttpBearer):
    def authenticate(self, request, token: str):
        user = ApiToken.objects.authenticate(token, record_use=request.method not in SAFE_METHODS)
        if user is not None:
            request.user = user
            request.api_token = user.api_token  # e.g. a fact source bound to this token
        return user


class ActiveSessionAuth(SessionAuth):
    """Django's session; inactive users are refused like anonymous ones."""

    def authenticate(self, request, key):
        user = super().authenticate(request, key)
        return user if user is not None and user.is_active else None


api_auth = [TokenAuth(), ActiveSessionAuth()]


# --- Login throttling ---------------------------------------------------------------------------


class LoginThrottleBackend(AxesStandaloneBackend):
    """Refuses sign-ins while the account or the client address is locked out; the next backend
    (ModelBackend) checks the password.

    ``authenticate()`` without a request (the test client's ``login()``, a shell) has no address to
    throttle and no web visitor behind it, so it is passed on unchecked instead of raising;
    every web sign-in in Django and in this app passes the request.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)


class LoginThrottleHandler(AxesDatabaseHandler):
    """django-axes' database handler with a separate limit per account and per address.

    axes compares one failure count with one limit (``AXES_FAILURE_LIMIT``, here the per-account
    one). With ``AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]`` it counts failures for the
    account and for the address; the address count is scaled onto the account limit, so that
    ``count >= AXES_FAILURE_LIMIT`` holds exactly when the account has reached its limit or the
    address has reached ``SALESTARGET_LOGIN_FAILURES_PER_ADDRESS``.
    """

    def get_failures(self, request, credentials=None) -> int:
        by_account, by_address = (
            attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0
            for attempts in self.get_user_attempts(request, credentials)
        )
        per_account = settings.AXES_FAILURE_LIMIT
        per_address = settings.SALESTARGET_LOGIN_FAILURES_PER_ADDRESS
        # floor(x * A / B) >= A  <=>  x >= B, for whole numbers A, B > 0.
        return max(by_account, by_address * per_account // per_address)

    def user_logged_in(self, sender, request, user, **kwargs):
        """A successful sign-in clears the typos of that account from that address only.

        (axes' AXES_RESET_ON_SUCCESS would clear the address's failures on every account too, so
        an attacker with an account of their own could reset the per-address count at will.)"""
        super().user_logged_in(sender, request, user, **kwargs)
        AccessAttempt.objects.filter(
            username=user.get_username(), ip_address=getattr(request, "axes_ip_address", None)
        ).delete()


def lockout_message() -> str:
    minutes = int(get_cool_off().total_seconds() // 60)
    return _(
        "Too many failed sign-in attempts. Try again in %(minutes)s minutes, "
        "or ask an administrator to unlock the account."
    ) % {"minutes": minutes}


def lockout_response(request, original_response=None, credentials=None):
    """The sign-in page in the app's layout, with the reason, as 429 Too Many Requests."""
    from django.contrib.auth.forms import AuthenticationForm

    username = get_client_username(request, credentials) or ""
    form = AuthenticationForm(request, initial={"username": username})
    context = {
        "form": form,
        "next": request.POST.get("next", request.GET.get("next", "")),
        "lockout_message": lockout_message(),
    }
    return render(request, "registration/login.html", context, status=settings.AXES_HTTP_RESPONSE_CODE)


def _address(value: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address((value or "").strip()))
    except ValueError:
        return None


def client_ip(request) -> str | None:
    """The client's address for throttling: behind ``SALESTARGET_PROXY_COUNT`` reverse proxies,
    the entry that many from the right of X-Forwarded-For (the one our own proxy added; what the
    client itself put in the header stays to the left and is ignored); else REMOTE_ADDR.
    None when there is no usable address (e.g. a Unix socket without X-Forwarded-For): the
    database keeps addresses in an IP column."""
    count = getattr(settings, "SALESTARGET_PROXY_COUNT", 0)
    if count:
        forwarded = [p for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if p.strip()]
        if len(forwarded) >= count and (address := _address(forwarded[-count])):
            return address
    return _address(request.META.get("REMOTE_ADDR"))
