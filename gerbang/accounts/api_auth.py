"""How API callers authenticate: a bearer token (the mobile client) or the browser's session (with CSRF)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from .actions import token_user


class BearerToken(HttpBearer):
    """``Authorization: Bearer <token>`` from ``POST /api/v1/auth/token``."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = token_user(token)
        if user is not None:
            request.user = user
        return user


class SignedInSession(SessionAuth):
    """The browser's session, CSRF-checked; without a signed-in session it simply does not apply (401, not 403)."""

    def __call__(self, request: HttpRequest) -> Any:
        if not request.user.is_authenticated:
            return None
        return super().__call__(request)


bearer = BearerToken()
session = SignedInSession()
APPLICANT_AUTH = [bearer, session]
