"""API authentication: the browser's session (with CSRF) or a personal Bearer token."""

from __future__ import annotations

from ninja.security import HttpBearer, SessionAuth

from salestarget.accounts.models import ApiToken


class TokenAuth(HttpBearer):
    def authenticate(self, request, token: str):
        user = ApiToken.objects.authenticate(token)
        if user is not None:
            request.user = user
        return user


class ActiveSessionAuth(SessionAuth):
    """Django's session; inactive users are refused like anonymous ones."""

    def authenticate(self, request, key):
        user = super().authenticate(request, key)
        return user if user is not None and user.is_active else None


api_auth = [TokenAuth(), ActiveSessionAuth()]
