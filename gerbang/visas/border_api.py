"""Border control's side of Gerbang (docs/border-protocol.md): entries and exits of foreigners, over signed HTTP.

``POST /api/border/v1/movements``: a plain Django view, not the applicant API,
because the signature (RFC 9421, Ed25519, ``signedhttp``) covers the raw request
bytes, which are read before anything parses them. The request must be signed
with a key in ``settings.BORDER_PUBLIC_KEY_FILE`` (read on every request, so the
border's key may appear or be rotated while Gerbang runs); every answer is signed
with Gerbang's own key (the one it signs registry requests with,
``settings.REGISTRY_CLIENT_KEY_FILE``) and bound to the request it answers.

Replays: signedhttp's only nonce store is in-process (``MemoryNonceStore``), and
Gerbang runs several processes, so no nonce store is used here. A replayed request
(within the signature's 300 seconds) carries an ``event_id`` already recorded: it
is a duplicate and changes nothing; its answer is bound to the original request's
signature and tells the replayer nothing new. Idempotency on ``event_id`` (unique
in the database) is the protection.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from gerbang.core import ratelimit
from signedhttp import (
    KeyFileError,
    KeyPair,
    Keyring,
    SignatureError,
    load_keypair,
    sign_response,
    verify_request,
)

logger = logging.getLogger(__name__)
security_log = logging.getLogger("gerbang.security")

FIELDS = {
    "event_id": re.compile(r"[A-Za-z0-9._:-]{1,64}"),
    "direction": re.compile(r"entry|exit"),
    "nationality": re.compile(r"[A-Z]{3}"),
    "passport_number": re.compile(r"[A-Z0-9]{1,9}"),
    "port": re.compile(r"[A-Z0-9]{2,10}"),
}
MESSAGES = {
    "event_id": "required: 1-64 characters of A-Z a-z 0-9 . _ : -",
    "direction": 'required: "entry" or "exit"',
    "nationality": "required: three capital letters A-Z (ISO 3166-1 alpha-3)",
    "passport_number": "required: 1-9 capital letters A-Z or digits",
    "port": "required: the port code, 2-10 capital letters A-Z or digits",
    "at": "required: an ISO 8601 time with its offset",
}
# A crossing is reported when it happens or afterwards; a few minutes allow for the two clocks.
FUTURE_TOLERANCE = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class Report:
    """A movement as border control reported it (checked, not yet stored)."""

    event_id: str
    direction: str
    nationality: str
    passport_number: str
    at: dt.datetime
    port: str


def parse_report(data: Any, *, now: dt.datetime | None = None) -> tuple[Report | None, dict[str, str]]:
    """A report from its JSON body, or ``(None, {field: message})``: exactly the protocol's fields."""
    if not isinstance(data, dict):
        return None, {"body": "must be a JSON object"}
    errors = {str(name)[:64]: "unexpected field" for name in data if name not in {*FIELDS, "at"}}
    for name, pattern in FIELDS.items():
        value = data.get(name)
        if not isinstance(value, str) or not pattern.fullmatch(value):
            errors[name] = MESSAGES[name]
    at: dt.datetime | None = None
    value = data.get("at")
    try:
        if not isinstance(value, str):
            raise ValueError
        at = dt.datetime.fromisoformat(value)
        if at.utcoffset() is None:
            raise ValueError
    except ValueError:
        at = None
        errors["at"] = MESSAGES["at"]
    if at is not None and at > (now or timezone.now()) + FUTURE_TOLERANCE:
        errors["at"] = "in the future"
    if errors or at is None:
        return None, errors
    return Report(
        event_id=data["event_id"],
        direction=data["direction"],
        nationality=data["nationality"],
        passport_number=data["passport_number"],
        at=at.astimezone(dt.UTC),
        port=data["port"],
    ), {}


def _answer(request: HttpRequest, key: KeyPair | None, status: int, payload: dict[str, Any]) -> HttpResponse:
    """JSON, signed with Gerbang's key and bound to the request it answers (unsigned only without a key)."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    response = HttpResponse(body, status=status, content_type="application/json")
    if key is not None:
        try:
            signature = sign_response(
                status,
                {"Content-Type": "application/json"},
                body,
                key_id=key.key_id,
                private_key=key.private_key,
                request_method=request.method or "POST",
                request_url=request.build_absolute_uri(),
                request_headers=request.headers,
            )
        except ValueError as exc:
            logger.error("border API: cannot sign the answer: %s", exc)
        else:
            for name, value in signature.items():
                response[name] = value
    return response


def _differences(movement: Any, report: Report) -> list[str]:
    """The fields in which a stored movement differs from a report with the same event id."""
    return [
        name
        for name in ("direction", "nationality", "passport_number", "at", "port")
        if getattr(movement, name) != getattr(report, name)
    ]


@ratelimit.exempt()  # a signed partner's API with its own retries, like /api/bank/ (RATE_LIMIT_EXEMPT_PATHS)
@csrf_exempt
@require_POST
def movements(request: HttpRequest) -> HttpResponse:
    """``POST /api/border/v1/movements``: record an entry or exit reported by border control."""
    body = request.body  # the raw bytes, before anything parses them: the signature covers them
    try:
        key: KeyPair | None = load_keypair(settings.REGISTRY_CLIENT_KEY_FILE)
    except KeyFileError as exc:
        # Without its key Gerbang cannot sign the answer, so border control could not believe it: store nothing.
        logger.error("border API: Gerbang's signing key is unusable: %s", exc)
        return _answer(request, None, 503, {"error": "unavailable"})
    try:
        keyring = Keyring.from_files([settings.BORDER_PUBLIC_KEY_FILE])
        key_id = verify_request("POST", request.build_absolute_uri(), request.headers, body, keyring)
    except (KeyFileError, SignatureError) as exc:
        security_log.warning(
            "border API: refused %s %s from %s: %s",
            request.method,
            request.path,
            request.META.get("REMOTE_ADDR", "?"),
            exc,
        )
        return _answer(request, key, 401, {"error": "unauthorized"})
    if request.content_type != "application/json":
        return _answer(request, key, 415, {"error": "send application/json"})
    try:
        data = json.loads(body)
    except ValueError:
        return _answer(request, key, 400, {"error": "invalid request", "fields": {"body": "must be JSON"}})
    report, errors = parse_report(data)
    if report is None:
        return _answer(request, key, 422, {"error": "invalid request", "fields": errors})

    from . import actions  # the visas app's actions; imported here, so the URL map never depends on them loading

    movement, created = actions.record_movement(
        event_id=report.event_id,
        direction=report.direction,
        nationality=report.nationality,
        passport_number=report.passport_number,
        at=report.at,
        port=report.port,
    )
    if created:
        logger.info("border API: %s %s at %s recorded (key %s)", report.direction, report.event_id, report.port, key_id)
        return _answer(request, key, 201, {"event_id": report.event_id, "status": "recorded"})
    differing = _differences(movement, report)
    if differing:
        security_log.warning(
            "border API: event %s reported again with different %s (key %s); the first report stands",
            report.event_id,
            ", ".join(differing),
            key_id,
        )
        return _answer(
            request,
            key,
            409,
            {"error": "this event_id was recorded with other values", "event_id": report.event_id, "fields": differing},
        )
    return _answer(request, key, 200, {"event_id": report.event_id, "status": "duplicate"})
