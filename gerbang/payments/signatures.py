"""The bank protocol's signature: ``Gerbang-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>`` (docs/bank-protocol.md).

The MAC covers ``"<t>.<raw body>"``; a request without a body (the inquiry)
is signed over ``"<t>.<METHOD> <path>"`` instead, so a signature for one bill
cannot be replayed for another. Several ``v1`` values may be sent while a bank
rotates its secret; one matching any of the bank's current secrets suffices.
Comparison is constant-time; a timestamp more than ``TOLERANCE`` seconds from
now is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterable
from pathlib import Path

HEADER = "Gerbang-Signature"
TOLERANCE = 300


class BadSignature(Exception):
    """Missing, malformed, stale or not made with any of the bank's secrets."""


def signed_payload(timestamp: int, body: bytes, *, method: str = "", path: str = "") -> bytes:
    if body:
        return f"{timestamp}.".encode() + body
    return f"{timestamp}.{method.upper()} {path}".encode()


def mac(secret: bytes, timestamp: int, body: bytes, *, method: str = "", path: str = "") -> str:
    return hmac.new(secret, signed_payload(timestamp, body, method=method, path=path), hashlib.sha256).hexdigest()


def header_value(
    secrets: Iterable[bytes], body: bytes, *, method: str = "", path: str = "", now: float | None = None
) -> str:
    """The header a sender puts on a request (one ``v1`` per secret, for rotation)."""
    timestamp = int(now if now is not None else time.time())
    macs = ",".join(f"v1={mac(s, timestamp, body, method=method, path=path)}" for s in secrets)
    return f"t={timestamp},{macs}"


def verify(
    header: str | None,
    body: bytes,
    secrets: list[bytes],
    *,
    method: str = "",
    path: str = "",
    now: float | None = None,
) -> int:
    """The signature's timestamp if ``header`` is valid for ``body`` under one of ``secrets``; else BadSignature."""
    if not header or len(header) > 2000 or not secrets:
        raise BadSignature("missing signature")
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _sep, value = part.strip().partition("=")
        if key == "t" and value.isdigit() and len(value) <= 12:
            timestamp = int(value)
        elif key == "v1" and len(value) == 64:
            candidates.append(value.lower())
    if timestamp is None or not candidates:
        raise BadSignature("malformed signature header")
    current = now if now is not None else time.time()
    if abs(current - timestamp) > TOLERANCE:
        raise BadSignature("timestamp outside the tolerance")
    expected = [mac(s, timestamp, body, method=method, path=path) for s in secrets]
    matched = False
    for candidate in candidates:
        for value in expected:
            # Every comparison runs, so timing does not tell which secret or value matched.
            matched |= hmac.compare_digest(candidate, value)
    if not matched:
        raise BadSignature("no signature matches")
    return timestamp


def load_secrets(folder: Path, bank_code: str) -> list[bytes]:
    """``<folder>/<bank_code>.secrets``: one hex secret per line (comments with #); the first signs answers."""
    path = Path(folder) / f"{bank_code}.secrets"
    try:
        lines = path.read_text(encoding="ascii").splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    secrets = []
    for line in lines:
        text = line.strip()
        if text and not text.startswith("#"):
            try:
                secrets.append(bytes.fromhex(text))
            except ValueError:
                continue
    return [s for s in secrets if len(s) >= 32]
