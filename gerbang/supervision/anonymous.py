"""The anonymity of the paths in settings.ANONYMOUS_PATHS (the whistle-blowing pages under /lapor/).

:class:`AnonymousPathMiddleware` is the first middleware (config/settings.py). For a request under one of those
paths it removes from ``request.META`` (which is the WSGI environ itself) the client address (REMOTE_ADDR
becomes the neutral ``0.0.0.0``), the browser (User-Agent and its client hints), every header a proxy uses to
carry an address, the cookies, the referring page and any credentials, before any other middleware runs. So
the session, CSRF, message, axes and rate-limit middleware, the views and Django's own loggers see nothing of
the reporter:

- no cookie arrives, so the session is empty and the user anonymous; the rate limiter counts nothing
  (the views are exempt from the per-address limit, and there is no account to count);
- the answer carries no Set-Cookie at all (whatever set one: CSRF token, session, messages, language), no
  ``Vary: Cookie``, and ``Cache-Control: no-store`` (a page may show a tracking code); a session row created
  while answering is deleted.

The request is also marked (``environ["gerbang.anonymous"]``) so that gunicorn's access log, which reads the
same environ, skips it too (config/gunicorn_logging.py, which also matches the paths on its own).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers

NEUTRAL_ADDRESS = "0.0.0.0"  # noqa: S104 (not a bind address: what the reporter's address is replaced with)
ENVIRON_FLAG = "gerbang.anonymous"

# Exact keys removed from request.META.
REMOVED = frozenset(
    {
        "REMOTE_HOST",
        "REMOTE_PORT",
        "REMOTE_USER",
        "HTTP_USER_AGENT",
        "HTTP_COOKIE",
        "HTTP_REFERER",
        "HTTP_AUTHORIZATION",
        "HTTP_FROM",
        "HTTP_DNT",
        "HTTP_VIA",
        "HTTP_FORWARDED",
        "HTTP_X_FORWARDED_FOR",
        "HTTP_X_FORWARDED_HOST",
        "HTTP_X_ORIGINAL_FORWARDED_FOR",
        "HTTP_X_REAL_IP",
        "HTTP_X_CLIENT_IP",
        "HTTP_CLIENT_IP",
        "HTTP_TRUE_CLIENT_IP",
        "HTTP_CF_CONNECTING_IP",
        "HTTP_FASTLY_CLIENT_IP",
        "HTTP_X_CLUSTER_CLIENT_IP",
        "HTTP_X_DEVICE_ID",
        "HTTP_X_REQUESTED_WITH",
    }
)
# Key prefixes removed: User-Agent client hints (Sec-CH-UA, -Mobile, -Platform, ...).
REMOVED_PREFIXES = ("HTTP_SEC_CH_",)


def is_anonymous_path(path: str, prefixes: Iterable[str] | None = None) -> bool:
    """Is ``path`` under one of the anonymous paths? ``/lapor/`` covers ``/lapor`` and everything below it."""
    for entry in settings.ANONYMOUS_PATHS if prefixes is None else prefixes:
        if path.startswith(entry) or (entry.endswith("/") and path == entry[:-1]):
            return True
    return False


def scrub(meta: dict[str, object]) -> None:
    """Remove from a WSGI environ everything that could tell who sent the request."""
    for key in list(meta):
        if key in REMOVED or key.startswith(REMOVED_PREFIXES):
            del meta[key]
    meta["REMOTE_ADDR"] = NEUTRAL_ADDRESS
    meta[ENVIRON_FLAG] = True


def _strip_cookies(response: HttpResponse) -> None:
    response.cookies.clear()
    if "Set-Cookie" in response.headers:
        del response.headers["Set-Cookie"]
    vary = [v.strip() for v in response.headers.get("Vary", "").split(",") if v.strip()]
    kept = [v for v in vary if v.lower() != "cookie"]
    if kept != vary:
        if kept:
            response.headers["Vary"] = ", ".join(kept)
        else:
            del response.headers["Vary"]


class AnonymousPathMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not is_anonymous_path(request.path_info):
            return self.get_response(request)
        scrub(request.META)
        request.COOKIES = {}
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is not None and session.session_key is not None:
            # Nothing arrived with a cookie, so any session here was made while answering: it goes.
            session.delete()
        _strip_cookies(response)
        add_never_cache_headers(response)  # no-store, private: a page may show a tracking code
        # The page's stylesheet and any link followed from it are requests to other paths, which are logged:
        # they must not name /lapor/ in their Referer. strict-origin sends the origin only (no path); it still
        # lets the browser send the Origin header the form's cross-site check reads (no-referrer would not).
        response["Referrer-Policy"] = "strict-origin"
        return response
