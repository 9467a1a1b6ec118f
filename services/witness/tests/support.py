"""Test support: a real in-memory transparency log, and small HTTP helpers.

:class:`MemoryLog` signs genuine C2SP notes with a key generated for the test and serves
genuine RFC 6962 consistency proofs computed by :mod:`tlog.rfc6962`, so the
witness's decisions are checked against real cryptography. It offers the two
methods the witness asks of Gerbang (``witness.Gerbang``).

:class:`Clock` is a clock the test moves by hand; :func:`request` and
:func:`call_json` send raw and JSON requests to the draw endpoints.
"""

from __future__ import annotations

import http.client
import json
import socket
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from tlog import note, rfc6962

T0 = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)


class Clock:
    """The witness's clock in a test: reads ``now``, which the test sets or moves."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class MemoryLog:
    def __init__(self, name: str = "gerbang.test/audit-log") -> None:
        self.signer = note.Signer.generate(name)
        self.leaves: list[bytes] = []
        self.note: str | None = None
        self.proofs_asked: list[tuple[int, int]] = []
        self.corrupt_proofs = False

    @property
    def verifier(self) -> note.Verifier:
        return self.signer.verifier()

    def append(self, count: int) -> None:
        start = len(self.leaves)
        self.leaves += [rfc6962.leaf_hash(f"event {i}".encode()) for i in range(start, start + count)]

    def head(self, minutes: int = 0, size: int | None = None) -> note.Checkpoint:
        """The checkpoint of the first ``size`` leaves (all by default), at ``T0 + minutes``."""
        size = len(self.leaves) if size is None else size
        root = rfc6962.root_from_leaves(self.leaves[:size])
        return note.Checkpoint(self.signer.name, size, root, T0 + timedelta(minutes=minutes))

    def sign(self, minutes: int = 0, size: int | None = None) -> str:
        """Sign and publish a head; returns the note."""
        self.note = self.signer.sign_checkpoint(self.head(minutes, size))
        return self.note

    # The interface the witness polls.
    def checkpoint_note(self) -> str | None:
        return self.note

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        self.proofs_asked.append((first, second))
        proof = rfc6962.consistency_proof(first, second, rfc6962.memory_mth(self.leaves))
        if self.corrupt_proofs and proof:
            proof[-1] = bytes([proof[-1][0] ^ 1]) + proof[-1][1:]
        return proof


def call(url: str, method: str = "GET", timeout: float = 30) -> tuple[int, str, str]:
    """``(status, content type, body)`` of an HTTP request; raises OSError when nobody answers."""
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError(f"tests only call local servers, not {url}")
    request = urllib.request.Request(url, method=method, data=b"" if method != "GET" else None)  # noqa: S310 (checked)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (checked above)
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode()


def request(
    url: str,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    half_close: bool = False,
) -> tuple[int, dict[str, str], bytes]:
    """A raw HTTP request with exactly the headers given (Content-Length of ``body`` unless overridden).

    ``half_close`` shuts the sending side after the body, as a client that sent less than it announced.
    """
    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname != "127.0.0.1" or parts.port is None:
        raise ValueError(f"tests only call local servers, not {url}")
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.putrequest(method, parts.path, skip_accept_encoding=True)
        sent = {} if body is None else {"Content-Length": str(len(body))}
        for name, value in {**sent, **(headers or {})}.items():
            connection.putheader(name, value)
        connection.endheaders(body)
        if half_close:
            assert connection.sock is not None
            connection.sock.shutdown(socket.SHUT_WR)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def call_json(url: str, method: str = "POST", payload: Any = None) -> tuple[int, Any]:
    """``(status, decoded JSON answer)``; POSTs ``payload`` as JSON."""
    body = None if method == "GET" else json.dumps(payload).encode()
    status, headers, answer = request(url, method, body, {"Content-Type": "application/json"} if body else None)
    assert headers["Content-Type"] == "application/json; charset=utf-8", (status, answer)
    return status, json.loads(answer)
