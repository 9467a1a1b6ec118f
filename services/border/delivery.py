"""Reporting movements to Gerbang (docs/border-protocol.md): the signed client and the delivery thread.

Every report is ``POST {gerbang}/api/border/v1/movements`` with the movement as
JSON, signed with the border's Ed25519 key (``signedhttp``). It counts as
delivered only when Gerbang answers ``201 recorded`` or ``200 duplicate`` for the
same ``event_id`` and the answer is signed with Gerbang's key *for that request*;
anything else (no answer, an unsigned or foreign answer, a refusal, an error) is
tried again with exponential back-off, and logged.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from signedhttp import KeyFileError, KeyPair, Keyring, RemoteError, SignatureError, load_public_keys, post_json

from .store import OutboxRow, Store

log = logging.getLogger("border")

PATH = "/api/border/v1/movements"
ACKNOWLEDGED = {201: "recorded", 200: "duplicate"}


class GerbangUnavailable(Exception):
    """No trustworthy answer: nobody answered, the answer is not signed by Gerbang, or its key is unknown."""


@dataclass
class Gerbang:
    """Gerbang's border endpoint, called with the border's key; Gerbang's public key file is read on each call."""

    base_url: str
    key: KeyPair
    gerbang_key: Path
    timeout: float = 10.0
    _key_state: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"Gerbang's URL must be http(s): {self.base_url}")

    @property
    def url(self) -> str:
        return self.base_url + PATH

    def keyring(self) -> Keyring:
        """Gerbang's public key(s), read now; warns once per change when the file is missing or unusable."""
        try:
            keyring = Keyring(load_public_keys(self.gerbang_key))
            state = ""
        except KeyFileError as exc:
            keyring, state = Keyring(), str(exc)
        if state != self._key_state:
            if state:
                log.warning("no trusted Gerbang key, reports wait in the outbox: %s", state)
            else:
                log.info("Gerbang's key loaded from %s (%s)", self.gerbang_key, ", ".join(keyring.key_ids()))
            self._key_state = state
        return keyring

    def report(self, movement: dict[str, Any]) -> tuple[int, Any]:
        """POST one movement; ``(status, json)`` of Gerbang's signed answer, else :class:`GerbangUnavailable`."""
        keyring = self.keyring()
        if not len(keyring):
            raise GerbangUnavailable(f"no trusted Gerbang key in {self.gerbang_key}")
        try:
            return post_json(
                self.url,
                movement,
                key_id=self.key.key_id,
                private_key=self.key.private_key,
                keyring=keyring,
                timeout=self.timeout,
            )
        except RemoteError as exc:
            raise GerbangUnavailable(str(exc)) from exc
        except SignatureError as exc:
            raise GerbangUnavailable(f"the answer is not signed by Gerbang for this request: {exc}") from exc


def backoff(attempts: int, base: float = 1.0, cap: float = 60.0, jitter: Callable[[], float] = random.random) -> float:
    """Seconds to wait after ``attempts`` failed attempts: base, 2 base, 4 base ... at most ``cap``, +-20 % jitter."""
    delay = min(cap, base * 2 ** max(0, attempts - 1))
    return min(cap, delay * (0.8 + 0.4 * jitter()))


@dataclass(frozen=True)
class Delivery:
    """What one attempt did: ``delivered`` (with Gerbang's status) or ``retry`` (with the reason)."""

    event_id: str
    outcome: str
    detail: str


class Courier:
    """Delivers every due outbox row to Gerbang, retrying with exponential back-off until Gerbang confirms it.

    ``deliver_due(now)`` does one round (a test may call it directly); ``run(stop)``
    loops in a background thread, woken early by ``wake()`` when a movement is recorded.
    """

    def __init__(self, store: Store, gerbang: Gerbang, *, retry_base: float = 1.0, retry_cap: float = 60.0) -> None:
        self.store = store
        self.gerbang = gerbang
        self.retry_base = retry_base
        self.retry_cap = retry_cap
        self._wake = threading.Event()
        self._lock = threading.Lock()

    def wake(self) -> None:
        self._wake.set()

    def deliver_due(self, now: float) -> list[Delivery]:
        """Try every report due at ``now`` (Unix seconds) once, oldest first."""
        with self._lock:
            return [self._deliver(row, now) for row in self.store.due(now)]

    def _deliver(self, row: OutboxRow, now: float) -> Delivery:
        try:
            status, answer = self.gerbang.report(json.loads(row.body))
        except GerbangUnavailable as exc:
            return self._retry(row, now, str(exc))
        expected = ACKNOWLEDGED.get(status)
        if (
            expected is not None
            and isinstance(answer, dict)
            and answer.get("event_id") == row.event_id
            and answer.get("status") == expected
        ):
            self.store.delivered(row.id, answer, now)
            log.info("report %s delivered: %s", row.event_id, expected)
            return Delivery(row.event_id, "delivered", expected)
        detail = f"HTTP {status} {json.dumps(answer, ensure_ascii=False)[:500]}"
        if 400 <= status < 500 and status not in (401, 408, 429):
            # A signed refusal of the report itself: it is tried again (Gerbang may be fixed, or its clock), but
            # somebody should look at it.
            log.error("report %s refused by Gerbang: %s", row.event_id, detail)
        return self._retry(row, now, detail)

    def _retry(self, row: OutboxRow, now: float, error: str) -> Delivery:
        attempts = row.attempts + 1
        delay = backoff(attempts, self.retry_base, self.retry_cap)
        self.store.retry(row.id, attempts, now + delay, error, now)
        log.warning("report %s: attempt %d failed (%s); next in %.1f s", row.event_id, attempts, error, delay)
        return Delivery(row.event_id, "retry", error)

    def run(self, stop: threading.Event) -> None:
        """Deliver until ``stop`` is set; never dies of an error (it is logged and tried again)."""
        while not stop.is_set():
            try:
                self.deliver_due(time.time())
                due = self.store.next_due()
            except Exception:
                log.exception("delivery round failed")
                due = None
            wait = 1.0 if due is None else min(1.0, max(0.0, due - time.time()))
            self._wake.wait(wait)
            self._wake.clear()
