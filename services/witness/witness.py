"""The witness's decisions and storage, independent of HTTP serving.

A witness remembers the last head of Gerbang's audit log it cosigned and
cosigns a new head only when the log proves that the new tree extends the old
one (an RFC 6962 consistency proof). It never trusts anything but the note
signed with the log's key: the other JSON fields Gerbang serves are ignored.

- :func:`decide` is the pure rule: last cosigned head + new note -> decision.
- :class:`Store` keeps cosigned heads, refusals and lottery draws in SQLite
  (the draws' rules are in lottery.py).
- :class:`Witness` runs one poll round: fetch, decide, cosign or refuse, store.
- :class:`HttpGerbang` fetches from Gerbang's public API; tests may pass any
  object with the same two methods (:class:`Gerbang`).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import sqlite3
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol

from tlog import note, rfc6962

log = logging.getLogger("witness")

Outcome = Literal["cosigned", "unchanged", "refused", "error"]
ProofFetcher = Callable[[int, int], list[bytes]]


class FetchError(RuntimeError):
    """Gerbang could not be reached or answered something unreadable (not a refusal)."""


class Gerbang(Protocol):
    """What the witness asks of the log."""

    def checkpoint_note(self) -> str | None:
        """The latest signed checkpoint note, ``None`` when none was signed yet."""

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        """The RFC 6962 consistency proof between tree sizes ``first`` and ``second``."""


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@dataclass(frozen=True)
class Decision:
    """What to do with a new note: cosign it, leave it, or refuse it (with why)."""

    outcome: Outcome
    checkpoint: note.Checkpoint | None
    reason: str


# A head dated further ahead of the witness's clock is refused: cosigning it
# would make every honest later head look "older" until real time caught up.
MAX_CLOCK_SKEW = timedelta(minutes=5)


def decide(
    last: note.Checkpoint | None,
    note_text: str,
    log_key: note.Verifier,
    proofs: ProofFetcher,
    now: datetime | None = None,
) -> Decision:
    """Judge ``note_text`` against ``last``, the head this witness cosigned before, at time ``now``.

    ``proofs(m, n)`` returns a consistency proof; it may raise :class:`FetchError`,
    which propagates (a network failure is not the log's fault).
    """
    try:
        head = log_key.verify_note(note_text)
    except note.NoteError as exc:
        return Decision("refused", None, f"the note does not verify with the log key: {exc}")
    if head.origin != log_key.name:
        return Decision("refused", head, f"the note's origin {head.origin!r} is not the log key's {log_key.name!r}")
    if now is not None and head.time > now + MAX_CLOCK_SKEW:
        return Decision("refused", head, f"the head's time {_stamp(head.time)} is in the future")
    if last is None:
        return Decision("cosigned", head, "first head seen (trust on first use)")
    m, n = last.size, head.size
    if n < m:
        return Decision("refused", head, f"the log shrank from {m} to {n} entries")
    if n == m and head.root != last.root:
        return Decision("refused", head, f"same size {n}, different root")
    if head.time < last.time:
        return Decision("refused", head, f"the head's time {_stamp(head.time)} is older than {_stamp(last.time)}")
    if n == m:
        if head.time > last.time:
            return Decision("cosigned", head, "same tree, fresher head")
        return Decision("unchanged", head, "already cosigned")
    if m > 0:  # every tree extends the empty tree
        try:
            rfc6962.verify_consistency(m, n, last.root, head.root, proofs(m, n))
        except rfc6962.ProofError as exc:
            return Decision("refused", head, f"no valid consistency proof from {m} to {n}: {exc}")
    return Decision("cosigned", head, f"the log grew from {m} to {n} entries consistently")


@dataclass(frozen=True)
class Cosigned:
    checkpoint: note.Checkpoint
    note: str
    cosigned_at: str


class Store:
    """Cosigned heads, refusals and draws in ``witness.sqlite3``; one connection per operation, so any thread may call.

    A new database file is created readable by its owner only: it holds the
    secrets of draws not revealed yet.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))  # an empty file is an empty database
        with self._db() as db:
            db.executescript(
                """
                CREATE TABLE IF NOT EXISTS cosigned (
                    id INTEGER PRIMARY KEY, size INTEGER NOT NULL, root TEXT NOT NULL,
                    note TEXT NOT NULL, cosigned_at TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS refusals (
                    id INTEGER PRIMARY KEY, time TEXT NOT NULL, size INTEGER, reason TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS draws (
                    draw_id TEXT PRIMARY KEY, secret TEXT NOT NULL, commitment TEXT NOT NULL,
                    closes_at TEXT NOT NULL, committed_at TEXT NOT NULL, commit_signature TEXT NOT NULL,
                    root TEXT, count INTEGER, revealed_at TEXT, reveal_signature TEXT);
                """
            )

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=10)) as db, db:  # `with db` commits or rolls back
            yield db

    def reading(self) -> AbstractContextManager[sqlite3.Connection]:
        """A connection for reads (and single writes, committed at the end)."""
        return self._db()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction taken at once (``BEGIN IMMEDIATE``): read, decide, write, with no writer between.

        Committed when the block ends, rolled back when it raises.
        """
        with closing(sqlite3.connect(self.path, timeout=10, isolation_level=None)) as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def latest(self) -> Cosigned | None:
        with self._db() as db:
            row = db.execute("SELECT note, cosigned_at FROM cosigned ORDER BY id DESC LIMIT 1").fetchone()
        if row is None:
            return None
        body, _ = note.split_note(row[0])
        return Cosigned(note.Checkpoint.parse(body), row[0], row[1])

    def add_cosigned(self, head: note.Checkpoint, text: str, when: datetime) -> None:
        with self._db() as db:
            db.execute(
                "INSERT INTO cosigned (size, root, note, cosigned_at) VALUES (?, ?, ?, ?)",
                (head.size, _b64(head.root), text, _stamp(when)),
            )

    def add_refusal(self, when: datetime, size: int | None, reason: str) -> None:
        with self._db() as db:
            db.execute("INSERT INTO refusals (time, size, reason) VALUES (?, ?, ?)", (_stamp(when), size, reason))

    def refusals(self, limit: int = 20) -> list[dict[str, Any]]:
        """The latest refusals, newest first."""
        with self._db() as db:
            rows = db.execute("SELECT time, size, reason FROM refusals ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [{"time": t, "size": s, "reason": r} for t, s, r in rows]


def load_or_create_signer(data: Path, name: str) -> note.Signer:
    """The witness key in ``data/witness.key`` (created 0600 on first start); writes ``witness.vkey``."""
    data.mkdir(parents=True, exist_ok=True)
    key_path = data / "witness.key"
    if key_path.exists():
        signer = note.Signer.from_text(key_path.read_text())
        if signer.alg != note.ALG_COSIGNATURE_V1:
            raise note.NoteError(f"{key_path} is not a witness (cosignature/v1) key")
        if signer.name != name:
            raise note.NoteError(f"{key_path} belongs to {signer.name!r}, not {name!r}; pass --name {signer.name}")
    else:
        signer = note.Signer.generate(name, note.ALG_COSIGNATURE_V1)
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(signer.to_text() + "\n")
    (data / "witness.vkey").write_text(signer.verifier().to_text() + "\n")
    return signer


@dataclass(frozen=True)
class PollResult:
    outcome: Outcome
    size: int | None
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "size": self.size, "reason": self.reason}


class Witness:
    """One witness: its key, its store, the log key it trusts and a way to reach the log."""

    def __init__(
        self,
        signer: note.Signer,
        store: Store,
        gerbang: Gerbang,
        log_key: Callable[[], note.Verifier],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.signer = signer
        self.store = store
        self.gerbang = gerbang
        self.log_key = log_key  # may raise OSError/NoteError until Gerbang's key exists
        self.clock = clock
        self._lock = threading.Lock()

    def poll(self) -> PollResult:
        """One round: fetch the latest head, judge it, cosign or refuse. Rounds never overlap."""
        with self._lock:
            try:
                result = self._poll()
            except (FetchError, OSError, sqlite3.Error, note.NoteError) as exc:
                result = PollResult("error", None, str(exc))
        if result.outcome == "error":
            log.warning("poll error: %s", result.reason)
        elif result.outcome == "refused":
            log.error("!!! REFUSED to cosign Gerbang's head (size %s): %s !!!", result.size, result.reason)
        else:
            log.info("%s (size %s): %s", result.outcome, result.size, result.reason)
        return result

    def _poll(self) -> PollResult:
        log_key = self.log_key()
        text = self.gerbang.checkpoint_note()
        latest = self.store.latest()
        last = latest.checkpoint if latest else None
        if text is None:
            if last is None:
                return PollResult("unchanged", None, "Gerbang has signed no checkpoint yet")
            return PollResult("error", None, f"Gerbang serves no checkpoint, but size {last.size} was cosigned")
        now = self.clock().replace(microsecond=0)
        decision = decide(last, text, log_key, self.gerbang.consistency_proof, now)
        size = decision.checkpoint.size if decision.checkpoint else None
        if decision.outcome == "refused":
            self.store.add_refusal(now, size, decision.reason)
        elif decision.outcome == "cosigned":
            assert decision.checkpoint is not None
            cosigned = note.add_signature(text, self.signer.cosign(decision.checkpoint, now))
            self.store.add_cosigned(decision.checkpoint, cosigned, now)
        return PollResult(decision.outcome, size, decision.reason)

    def status(self) -> dict[str, Any]:
        latest = self.store.latest()
        try:
            origin: str | None = self.log_key().name
        except (FetchError, note.NoteError):
            origin = None
        return {
            "name": self.signer.name,
            "public_key": self.signer.verifier().to_text(),
            "log_origin": origin,
            "last_cosigned": None
            if latest is None
            else {
                "size": latest.checkpoint.size,
                "root": _b64(latest.checkpoint.root),
                "cosigned_at": latest.cosigned_at,
            },
            "refusals": self.store.refusals(20),
        }


def log_key_loader(path: Path) -> Callable[[], note.Verifier]:
    """Read Gerbang's verifier key once it exists, then keep it (pinned for the process's life)."""
    pinned: list[note.Verifier] = []

    def load() -> note.Verifier:
        if not pinned:
            try:
                text = path.read_text()
            except OSError as exc:
                raise FetchError(f"cannot read Gerbang's log key at {path}: {exc}") from exc
            pinned.append(note.Verifier.from_text(text))
        return pinned[0]

    return load


class HttpGerbang:
    """Gerbang's public audit API over HTTP(S)."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def _get_json(self, path: str) -> Any:
        url = self.base_url + path
        if not url.startswith(("http://", "https://")):
            raise FetchError(f"not an http(s) URL: {url}")
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as response:  # noqa: S310 (checked above)
                return json.loads(response.read().decode())
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise FetchError(f"{url} answered HTTP {exc.code}") from exc
        except (OSError, ValueError) as exc:  # URLError, timeouts, bad JSON or UTF-8
            raise FetchError(f"cannot read {url}: {exc}") from exc

    def checkpoint_note(self) -> str | None:
        data = self._get_json("/api/v1/audit/checkpoint")
        if data is None:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("note"), str):
            raise FetchError("the checkpoint answer carries no note")
        return str(data["note"])

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        query = urllib.parse.urlencode({"first": first, "second": second})
        data = self._get_json(f"/api/v1/audit/proof/consistency?{query}")
        if not isinstance(data, dict) or not isinstance(data.get("proof"), list):
            raise FetchError(f"no consistency proof from {first} to {second}")
        if data.get("first") != first or data.get("second") != second:
            raise FetchError(
                f"asked for a proof from {first} to {second}, got {data.get('first')}..{data.get('second')}"
            )
        try:
            return [base64.b64decode(str(p), validate=True) for p in data["proof"]]
        except binascii.Error as exc:
            raise FetchError(f"malformed consistency proof: {exc}") from exc
