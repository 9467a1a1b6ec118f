"""The broker fingerprint's raw material: who filed, asked for a lottery place or booked, from where.

:func:`note` keeps keyed hashes (HMAC-SHA-256 keyed with SECRET_KEY, as the rate limiter does) of the
client address (IPv6 per /64) and of the browser (its User-Agent from that address), never the values. One
address or browser acting for many applicants of different families or sponsors is a signal (``detectors.brokers``).
:func:`purge` deletes them after CLIENT_TRACE_KEEP_DAYS (the daily ``purge-client-traces`` task).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import salted_hmac

from gerbang.audit.actions import record
from gerbang.core.ratelimit import address_key, client_address

from .models import ClientTrace

_SALT = "gerbang.supervision.traces"


def keyed(kind: str, value: str) -> str:
    return salted_hmac(_SALT, f"{kind}:{value}", algorithm="sha256").hexdigest()[:32]


def note(request: HttpRequest, kind: str, *, application: Any = None, visa_application: Any = None) -> ClientTrace:
    """Record (audited) that the signed-in account did ``kind`` for the application from this client."""
    address = address_key(client_address(request))
    client = keyed("client", address)
    # A browser as seen from one address: the User-Agent alone is shared by everyone on the same browser version.
    device = keyed("device", f"{address}|{request.META.get('HTTP_USER_AGENT', '')[:500]}")
    case = application if application is not None else visa_application
    with transaction.atomic():
        trace = ClientTrace.objects.create(
            kind=kind,
            application=application,
            visa_application=visa_application,
            account=request.user,  # type: ignore[misc]  # the views calling it require a signed-in user
            client=client,
            device=device,
            at=timezone.now(),
        )
        record(
            "supervision.client_noted",
            actor=request.user,  # type: ignore[arg-type]
            obj=trace,
            office=getattr(case, "office", None),
            # The trace's number, not its hashes: the audit log is kept for ever, the traces only for the window.
            details={"kind": kind, "case": getattr(case, "reference", ""), "trace": trace.pk},
        )
    return trace


def purge(now: dt.datetime | None = None) -> int:
    """Delete the traces older than CLIENT_TRACE_KEEP_DAYS (audited, with the count); returns how many."""
    before = (now or timezone.now()) - dt.timedelta(days=settings.CLIENT_TRACE_KEEP_DAYS)
    with transaction.atomic():
        deleted, _by_model = ClientTrace.objects.filter(at__lt=before).delete()
        record(
            "supervision.client_traces_purged", actor=None, details={"before": before.isoformat(), "deleted": deleted}
        )
    return deleted
