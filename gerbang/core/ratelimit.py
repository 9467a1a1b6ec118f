"""Rate limits per account and per client address: fixed windows counted in the database (docs/adr/0007).

Each request falls in one class: ``page-read``, ``page-write``, ``api-read`` or ``api-write`` (``/api/``
paths are the API; GET, HEAD, OPTIONS and TRACE read, every other method writes). A request is counted in
up to two buckets of its class: the signed-in account (session or bearer token) and the client address
(IPv6 per /64). Both buckets are counted in one statement::

    INSERT INTO core_ratelimitcounter (window_start, bucket, hits) VALUES (w, b1, 1), (w, b2, 1)
    ON CONFLICT (window_start, bucket) DO UPDATE SET hits = core_ratelimitcounter.hits + 1
    RETURNING bucket, hits

which is atomic on PostgreSQL and SQLite (>= 3.35), on any number of web processes and machines. The
middleware runs it before the view, in autocommit: it is never part of the request's transaction. A bucket
is the class, the key and an HMAC-SHA-256 (keyed with SECRET_KEY) of the account id or address: the table
and the logs hold no address. Past a limit the answer is 429 with Retry-After (the seconds left in the
window): JSON ``{"detail": ...}`` under /api/, a page otherwise, in the request's language.

Settings: RATE_LIMITS, RATE_LIMIT_WINDOW, RATE_LIMIT_EXEMPT_PATHS, RATE_LIMIT_IPV6_PREFIX and
TRUSTED_PROXY_COUNT (config/settings.py). One view is exempted with :func:`exempt`.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypeVar

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve
from django.utils.cache import add_never_cache_headers
from django.utils.crypto import salted_hmac
from django.utils.translation import ngettext

from .models import RateLimitCounter

security_log = logging.getLogger("gerbang.security")

Key = Literal["account", "address"]
KEYS: tuple[Key, ...] = ("account", "address")
CLASSES = ("page-read", "page-write", "api-read", "api-write")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
EXEMPT_ATTRIBUTE = "rate_limit_exempt"
_HMAC_SALT = "gerbang.core.ratelimit"

View = TypeVar("View", bound=Callable[..., HttpResponse])


def now() -> float:
    """The clock windows are cut from (tests move it)."""
    return time.time()


def exempt(*keys: Key) -> Callable[[View], View]:
    """Exempt a view from the per-``"address"`` and/or per-``"account"`` limits (both when none is named).

    For the anonymous whistleblowing form: ``@ratelimit.exempt("address")`` keeps any trace of the
    sender's address, even hashed, out of the counters; an anonymous request to it is then not counted
    at all, so that form needs a guard of its own.
    """
    chosen = frozenset(keys or KEYS)
    if not chosen <= set(KEYS):
        raise ValueError(f"rate limits have only the keys {KEYS}")

    def decorate(view: View) -> View:
        setattr(view, EXEMPT_ATTRIBUTE, chosen)
        return view

    return decorate


def client_address(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or with TRUSTED_PROXY_COUNT = n the n-th of X-Forwarded-For from the right.

    Only the entries the trusted proxies appended are believed; the client writes whatever it likes to
    the left of them. When the header holds fewer entries than there are trusted proxies, or the chosen
    entry is not an address, the request did not come through them as configured: REMOTE_ADDR it is.
    """
    remote = request.META.get("REMOTE_ADDR", "") or ""
    count = settings.TRUSTED_PROXY_COUNT
    if count > 0:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
        if len(forwarded) >= count:
            try:
                return str(ipaddress.ip_address(forwarded[-count]))
            except ValueError:
                pass
    return remote


def address_key(address: str) -> str:
    """What an address is counted as: itself (IPv4), its /64 (IPv6), or the text when it is not an address."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{ip}/{settings.RATE_LIMIT_IPV6_PREFIX}", strict=False))
    return str(ip)


def request_class(request: HttpRequest) -> str:
    kind = "api" if request.path_info.startswith("/api/") else "page"
    return f"{kind}-{'read' if request.method in SAFE_METHODS else 'write'}"


def bucket(limit_class: str, key: Key, value: str) -> str:
    digest = salted_hmac(_HMAC_SALT, f"{key}:{value}", algorithm="sha256").hexdigest()[:32]
    return f"{limit_class}:{key}:{digest}"


def _exempt_path(path: str) -> bool:
    return any(
        path.startswith(entry) if entry.endswith("/") else path == entry for entry in settings.RATE_LIMIT_EXEMPT_PATHS
    )


def _view_exemptions(request: HttpRequest) -> frozenset[str]:
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return frozenset()
    exempted: frozenset[str] = getattr(match.func, EXEMPT_ATTRIBUTE, frozenset())
    return exempted


def _account(request: HttpRequest) -> int | None:
    """The account the request acts for: a bearer token's (API) or the signed-in session's."""
    authorization = request.META.get("HTTP_AUTHORIZATION", "")
    if request.path_info.startswith("/api/") and authorization[:7].lower() == "bearer ":
        from gerbang.accounts.models import ApiToken

        raw = authorization[7:].strip()
        if raw and len(raw) <= 100:
            # Whose token it is, even expired or revoked: hammering with a dead token still counts.
            user_id = (
                ApiToken.objects.filter(digest=hashlib.sha256(raw.encode()).hexdigest())
                .values_list("user_id", flat=True)
                .first()
            )
            if user_id is not None:
                return user_id
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return int(user.pk)
    return None


@dataclass(frozen=True)
class Refusal:
    buckets: tuple[str, ...]
    retry_after: int


def count(limits: list[tuple[str, int]], *, at: float) -> Refusal | None:
    """Count one request in each ``(bucket, limit)`` and say whether any bucket is now past its limit."""
    window = settings.RATE_LIMIT_WINDOW
    start = int(at // window) * window
    limits = sorted(limits)  # one order for every statement: concurrent upserts never wait on each other in a cycle
    table = connection.ops.quote_name(RateLimitCounter._meta.db_table)
    # Only the table's name and one placeholder pair per bucket are formatted in; every value is a parameter.
    sql = (
        f"INSERT INTO {table} (window_start, bucket, hits) VALUES {', '.join(['(%s, %s, 1)'] * len(limits))} "  # noqa: S608
        f"ON CONFLICT (window_start, bucket) DO UPDATE SET hits = {table}.hits + 1 RETURNING bucket, hits"
    )
    params: list[int | str] = []
    for name, _limit in limits:
        params += [start, name]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        hits = dict(cursor.fetchall())
    over = tuple(name for name, limit in limits if hits[name] > limit)
    if not over:
        return None
    for name, limit in limits:
        if hits[name] == limit + 1:  # the first refusal of this bucket in this window; later ones only count
            security_log.warning(
                "rate limit: %s passed %d requests in the %d s window from %d; refused until it ends",
                name,
                limit,
                window,
                start,
            )
    return Refusal(over, max(1, math.ceil(start + window - at)))


def check(request: HttpRequest) -> Refusal | None:
    """Count the request against its class's limits; a Refusal when it is past one of them."""
    limits = settings.RATE_LIMITS
    if not limits or _exempt_path(request.path_info):
        return None
    limit_class = request_class(request)
    per_key = limits.get(limit_class) or {}
    if not any(per_key.values()):
        return None
    exempted = _view_exemptions(request)
    chosen: list[tuple[str, int]] = []
    account_limit = per_key.get("account")
    if account_limit and "account" not in exempted:
        account = _account(request)
        if account is not None:
            chosen.append((bucket(limit_class, "account", str(account)), account_limit))
    address_limit = per_key.get("address")
    if address_limit and "address" not in exempted:
        chosen.append((bucket(limit_class, "address", address_key(client_address(request))), address_limit))
    if not chosen:
        return None
    return count(chosen, at=now())


def too_many_requests(request: HttpRequest, refusal: Refusal) -> HttpResponse:
    """429 in the request's language: the API's error shape under /api/, a page elsewhere."""
    seconds = refusal.retry_after
    response: HttpResponse
    if request.path_info.startswith("/api/"):
        message = ngettext(
            "Too many requests. Try again in %(seconds)d second.",
            "Too many requests. Try again in %(seconds)d seconds.",
            seconds,
        ) % {"seconds": seconds}
        response = JsonResponse({"detail": message}, status=429)
    else:
        response = render(request, "429.html", {"retry_after": seconds}, status=429)
    response["Retry-After"] = str(seconds)
    add_never_cache_headers(response)
    return response


class RateLimitMiddleware:
    """Refuses a request past its limits before any view runs (after AuthenticationMiddleware)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        refusal = check(request)
        if refusal is not None:
            return too_many_requests(request, refusal)
        return self.get_response(request)


def purge(*, at: float | None = None) -> int:
    """Delete the counters of windows that are over (the previous one is kept, for a look after a refusal)."""
    window = settings.RATE_LIMIT_WINDOW
    current = int((now() if at is None else at) // window) * window
    deleted, _by_model = RateLimitCounter.objects.filter(window_start__lt=current - window).delete()
    return deleted
