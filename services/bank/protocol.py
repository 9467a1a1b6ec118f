"""The bank protocol (docs/bank-protocol.md) as an outside bank implements it: signatures and the Gerbang client.

- :func:`sign` / :func:`verify`: ``Gerbang-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>``
  over ``"<t>.<raw body>"``, or ``"<t>.<METHOD> <path>"`` for a request without body;
  several ``v1`` values during a rotation, constant-time comparison, 300 seconds of tolerance.
- :func:`load_secrets`: the shared secrets file (one hex secret per line, the first signs).
- :class:`Gerbang`: the signed inquiry and notification calls; an answer that is not
  signed by Gerbang (or not JSON) counts as Gerbang being unavailable.
- :class:`Notifier`: delivers the outbox with exponential back-off until Gerbang acknowledges.

Written from the specification only, like a real bank would: nothing here imports Gerbang.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger("bank")

HEADER = "Gerbang-Signature"
BANK_HEADER = "Gerbang-Bank"
TOLERANCE = 300
MIN_SECRET_BYTES = 32
BANK_CODE = re.compile(r"[a-z0-9-]{1,20}")
ACKNOWLEDGED = frozenset({"credited", "duplicate", "exception"})

# The Damm quasigroup (the check digit of billing codes): a code is valid when the interim digit ends at 0.
_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)
BILLING_CODE_LENGTH = 15


class BadSignature(Exception):
    """Missing, malformed, stale, or made with none of the secrets."""


class GerbangUnavailable(Exception):
    """Gerbang did not answer, or answered something that is not a signed answer from Gerbang."""


# --- Signatures ----------------------------------------------------------------------------------


def signed_payload(timestamp: int, body: bytes, *, method: str = "", path: str = "") -> bytes:
    """What the MAC covers: ``"<t>.<raw body>"``, or ``"<t>.<METHOD> <path>"`` when there is no body."""
    if body:
        return f"{timestamp}.".encode() + body
    return f"{timestamp}.{method.upper()} {path}".encode()


def mac(secret: bytes, timestamp: int, body: bytes, *, method: str = "", path: str = "") -> str:
    payload = signed_payload(timestamp, body, method=method, path=path)
    return hmac.new(secret, payload, hashlib.sha256).hexdigest()


def sign(secrets: Iterable[bytes], body: bytes, *, method: str = "", path: str = "", now: float | None = None) -> str:
    """The ``Gerbang-Signature`` value: one ``v1`` per secret (several only during a rotation)."""
    timestamp = int(time.time() if now is None else now)
    values = [f"v1={mac(secret, timestamp, body, method=method, path=path)}" for secret in secrets]
    if not values:
        raise ValueError("no secret to sign with")
    return ",".join([f"t={timestamp}", *values])


def verify(
    header: str | None,
    body: bytes,
    secrets: list[bytes],
    *,
    method: str = "",
    path: str = "",
    now: float | None = None,
    tolerance: int = TOLERANCE,
) -> int:
    """The signature's timestamp when ``header`` is valid for ``body`` under one of ``secrets``; else BadSignature."""
    if not header or len(header) > 2000:
        raise BadSignature("missing signature")
    if not secrets:
        raise BadSignature("no secret to check the signature with")
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit() and len(value) <= 12:
            timestamp = int(value)
        elif key == "v1" and re.fullmatch(r"[0-9a-fA-F]{64}", value):
            candidates.append(value.lower())
    if timestamp is None or not candidates:
        raise BadSignature("malformed signature header")
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise BadSignature("timestamp outside the tolerance")
    expected = [mac(secret, timestamp, body, method=method, path=path) for secret in secrets]
    matched = False
    for candidate in candidates:
        for value in expected:
            # Every pair is compared, so the time taken does not tell which one matched.
            matched |= hmac.compare_digest(candidate.encode(), value.encode())
    if not matched:
        raise BadSignature("no signature matches")
    return timestamp


def load_secrets(path: Path) -> list[bytes]:
    """The secrets in ``path`` (one hex secret of at least 32 bytes per line, ``#`` comments); OSError if unreadable.

    Lines that are not hex or too short are skipped with a warning.
    """
    secrets = []
    for number, line in enumerate(Path(path).read_text(encoding="ascii").splitlines(), start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            secret = bytes.fromhex(text)
        except ValueError:
            log.warning("%s line %d: not a hex secret, skipped", path, number)
            continue
        if len(secret) < MIN_SECRET_BYTES:
            log.warning("%s line %d: a secret needs at least %d bytes, skipped", path, number, MIN_SECRET_BYTES)
            continue
        secrets.append(secret)
    return secrets


# --- Billing codes ---------------------------------------------------------------------------------


def damm_valid(digits: str) -> bool:
    interim = 0
    for digit in digits:
        interim = _DAMM[interim][int(digit)]
    return interim == 0


def damm_check_digit(digits: str) -> str:
    interim = 0
    for digit in digits:
        interim = _DAMM[interim][int(digit)]
    return str(interim)


def normalise_billing_code(text: str) -> str | None:
    """The 15 digits of a billing code as typed (spaces and dashes allowed), or ``None`` when it cannot be one.

    The Damm check digit catches every single typo and every swap of neighbours before Gerbang is asked.
    """
    code = re.sub(r"[\s-]", "", text)
    if len(code) != BILLING_CODE_LENGTH or not code.isascii() or not code.isdigit() or code[0] == "0":
        return None
    return code if damm_valid(code) else None


# --- The Gerbang client ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """A signed answer from Gerbang: HTTP status and JSON body."""

    status: int
    data: Any


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect is not an answer of the protocol: it surfaces as an HTTPError


@dataclass
class Gerbang:
    """Gerbang's bank API, called with this bank's code and secrets (the file is read on each call)."""

    base_url: str
    bank_code: str
    secrets_file: Path
    timeout: float = 10.0
    _opener: urllib.request.OpenerDirector = field(
        default_factory=lambda: urllib.request.build_opener(_NoRedirect), repr=False
    )
    _secrets_state: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"Gerbang's URL must be http(s): {self.base_url}")
        if not BANK_CODE.fullmatch(self.bank_code):
            raise ValueError(f"a bank code is 1-20 of a-z 0-9 -, not {self.bank_code!r}")

    def secrets(self) -> list[bytes]:
        """The shared secrets, read now; warns (once per change) when the file is missing or holds none."""
        try:
            secrets = load_secrets(self.secrets_file)
            state = "" if secrets else f"{self.secrets_file} holds no usable secret"
        except (OSError, UnicodeDecodeError) as exc:
            secrets, state = [], f"cannot read the secrets file {self.secrets_file}: {exc}"
        if state != self._secrets_state:
            if state:
                log.warning("%s; Gerbang cannot be called until `manage.py bank_secret` creates it", state)
            else:
                log.info("secrets loaded from %s (%d)", self.secrets_file, len(secrets))
            self._secrets_state = state
        return secrets

    def call(self, method: str, path: str, body: bytes = b"") -> Answer:
        """A signed request; the answer must be signed with one of our secrets, else GerbangUnavailable."""
        secrets = self.secrets()
        if not secrets:
            raise GerbangUnavailable(f"no secret in {self.secrets_file}")
        url = self.base_url + path
        signed_path = urlsplit(url).path  # what Gerbang sees as the request path, prefix included
        headers = {
            BANK_HEADER: self.bank_code,
            HEADER: sign(secrets[:1], body, method=method, path=signed_path),
            "Accept": "application/json",
        }
        if body:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=body or None, method=method, headers=headers)  # noqa: S310
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                status, answer_headers, answer = response.status, response.headers, response.read()
        except urllib.error.HTTPError as exc:
            status, answer_headers = exc.code, exc.headers
            try:
                answer = exc.read()
            except OSError as read_error:
                raise GerbangUnavailable(f"{method} {path}: HTTP {status}, unreadable: {read_error}") from exc
        except (OSError, ValueError) as exc:  # URLError, timeouts, refused connections
            raise GerbangUnavailable(f"{method} {path}: {exc}") from exc
        try:
            verify(answer_headers.get(HEADER), answer, secrets)
        except BadSignature as exc:
            hint = " (Gerbang refused our signature: check the bank code and secrets)" if status == 401 else ""
            raise GerbangUnavailable(f"{method} {path}: HTTP {status} without a valid signature ({exc}){hint}") from exc
        try:
            data = json.loads(answer.decode())
        except (UnicodeDecodeError, ValueError) as exc:
            raise GerbangUnavailable(f"{method} {path}: HTTP {status} with a body that is not JSON") from exc
        return Answer(status, data)

    def inquiry(self, billing_code: str) -> Answer:
        """``GET /api/bank/v1/bills/{code}``: a 200 (payable), 409 (not payable) or 404 (unknown) answer."""
        if not billing_code.isascii() or not billing_code.isdigit():
            raise ValueError("a billing code is digits")
        answer = self.call("GET", f"/api/bank/v1/bills/{billing_code}")
        if answer.status not in (200, 404, 409) or not isinstance(answer.data, dict):
            raise GerbangUnavailable(f"inquiry: HTTP {answer.status} {str(answer.data)[:200]}")
        if answer.status in (200, 409) and not _is_bill(answer.data, billing_code):
            raise GerbangUnavailable(f"inquiry: HTTP {answer.status} with an incomplete bill")
        return answer

    def notify(self, body: bytes) -> Answer:
        """``POST /api/bank/v1/notifications`` with the exact bytes stored in the outbox."""
        return self.call("POST", "/api/bank/v1/notifications", body)


def _is_bill(data: dict[str, Any], billing_code: str) -> bool:
    amount = data.get("amount")
    return (
        data.get("billing_code") == billing_code
        and isinstance(amount, int)
        and not isinstance(amount, bool)
        and amount > 0
        and data.get("currency", "IDR") == "IDR"
        and isinstance(data.get("status"), str)
        and isinstance(data.get("payable"), bool)
    )


# --- Notification delivery -------------------------------------------------------------------------


def backoff(attempts: int, base: float = 1.0, cap: float = 60.0, jitter: Callable[[], float] = random.random) -> float:
    """Seconds to wait after ``attempts`` failed attempts: base, 2 base, 4 base ... at most ``cap``, +-20 % jitter."""
    delay = min(cap, base * 2 ** max(0, attempts - 1))
    return min(cap, delay * (0.8 + 0.4 * jitter()))


@dataclass(frozen=True)
class Delivery:
    """What one delivery attempt did: ``acknowledged`` (with Gerbang's status), ``failed`` or ``retry``."""

    notification_id: str
    outcome: str
    detail: str


class Notifier:
    """Delivers every due outbox row to Gerbang, retrying with exponential back-off until acknowledged.

    ``deliver_due(now)`` does one round (a test may call it directly); ``run(stop)``
    loops in a background thread, woken early by ``wake()`` when a payment is recorded.
    """

    def __init__(self, store: Any, gerbang: Gerbang, *, retry_base: float = 1.0, retry_cap: float = 60.0) -> None:
        self.store = store
        self.gerbang = gerbang
        self.retry_base = retry_base
        self.retry_cap = retry_cap
        self._wake = threading.Event()
        self._lock = threading.Lock()

    def wake(self) -> None:
        self._wake.set()

    def deliver_due(self, now: float) -> list[Delivery]:
        """Try every outbox row due at ``now`` (unix seconds) once, oldest first."""
        with self._lock:
            return [self._deliver(row, now) for row in self.store.due(now)]

    def _deliver(self, row: Any, now: float) -> Delivery:
        try:
            answer = self.gerbang.notify(row.body.encode())
        except GerbangUnavailable as exc:
            return self._retry(row, now, str(exc))
        status = answer.data.get("status") if isinstance(answer.data, dict) else None
        if answer.status == 200 and status in ACKNOWLEDGED:
            self.store.acknowledge(row.id, answer.data, now)
            log.info("notification %s acknowledged: %s", row.notification_id, status)
            return Delivery(row.notification_id, "acknowledged", str(status))
        if answer.status == 422:
            detail = f"HTTP 422 {json.dumps(answer.data)[:500]}"
            self.store.fail(row.id, answer.data, detail, now)
            log.error("notification %s refused as invalid, needs a person: %s", row.notification_id, detail)
            return Delivery(row.notification_id, "failed", detail)
        return self._retry(row, now, f"HTTP {answer.status} {json.dumps(answer.data)[:200]}")

    def _retry(self, row: Any, now: float, error: str) -> Delivery:
        attempts = row.attempts + 1
        delay = backoff(attempts, self.retry_base, self.retry_cap)
        self.store.retry(row.id, attempts, now + delay, error, now)
        log.warning(
            "notification %s: attempt %d failed (%s); next in %.1f s", row.notification_id, attempts, error, delay
        )
        return Delivery(row.notification_id, "retry", error)

    def run(self, stop: threading.Event) -> None:
        """Deliver until ``stop`` is set; never dies of an error (it is logged and retried later)."""
        while not stop.is_set():
            try:
                self.deliver_due(time.time())
                due = self.store.next_due()
            except Exception:
                log.exception("notifier round failed")
                due = None
            wait = 1.0 if due is None else min(1.0, max(0.0, due - time.time()))
            self._wake.wait(wait)
            self._wake.clear()
