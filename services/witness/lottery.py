"""The witness's side of Gerbang's lottery draws: commit to a secret, reveal it for one list only.

The messages and signatures are in :mod:`tlog.draws`; the protocol is described
in README.md ("Lottery draws"). :class:`Lottery` takes already-decoded JSON and
answers ``(status, JSON object)`` or raises :class:`Refusal`; server.py only
routes and reads bodies.

- commit: a fresh 32-byte secret per draw id, its SHA-256 signed with the
  closing time; the same request again gets the same answer.
- reveal: only once the witness's clock reached the closing time, and only for
  the first list (root and count) presented; that choice is made inside one
  SQLite write transaction, so two concurrent reveals cannot both win.
"""

from __future__ import annotations

import logging
import secrets
import sqlite3
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from tlog import draws, note

from .witness import Store

log = logging.getLogger("witness")

SECRET_SIZE = 32
MAX_COUNT = 2**63 - 1  # SQLite's INTEGER
STAMP = "%Y-%m-%dT%H:%M:%SZ"
DRAW_ID_RULE = "draw_id: 1 to 64 characters of A-Z a-z 0-9 . _ -"
CLOSES_AT_RULE = "closes_at: an ISO 8601 time with an offset, such as 2026-03-01T17:00:00+07:00"


class Refusal(Exception):
    """A request the witness does not carry out: an HTTP status and a JSON body ``{"error": ..., ...}``."""

    def __init__(self, status: HTTPStatus, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.status = status
        self.body: dict[str, Any] = {"error": error, **extra}


@dataclass(frozen=True)
class Draw:
    """One row of the ``draws`` table; the reveal fields are ``None`` until revealed."""

    draw_id: str
    secret: str
    commitment: str
    closes_at: str
    committed_at: str
    commit_signature: str
    root: str | None = None
    count: int | None = None
    revealed_at: str | None = None
    reveal_signature: str | None = None

    @property
    def revealed(self) -> bool:
        return self.root is not None

    def commit_json(self) -> dict[str, Any]:
        return {
            "draw_id": self.draw_id,
            "commitment": self.commitment,
            "closes_at": self.closes_at,
            "committed_at": self.committed_at,
            "signature": self.commit_signature,
        }

    def reveal_json(self) -> dict[str, Any]:
        return {
            "draw_id": self.draw_id,
            "commitment": self.commitment,
            "closes_at": self.closes_at,
            "root": self.root,
            "count": self.count,
            "secret": self.secret,
            "revealed_at": self.revealed_at,
            "signature": self.reveal_signature,
        }

    def public_json(self) -> dict[str, Any]:
        """What anyone may read: never the secret before it is revealed."""
        data = self.commit_json()
        data["commit_signature"] = data.pop("signature")
        if self.revealed:
            data.update(
                root=self.root,
                count=self.count,
                secret=self.secret,
                revealed_at=self.revealed_at,
                reveal_signature=self.reveal_signature,
            )
        return data


_COLUMNS = ", ".join(Draw.__dataclass_fields__)


def _read(db: sqlite3.Connection, draw_id: str) -> Draw | None:
    row = db.execute(f"SELECT {_COLUMNS} FROM draws WHERE draw_id = ?", (draw_id,)).fetchone()  # noqa: S608 (constant)
    return None if row is None else Draw(*row)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(STAMP)


def _parse_stamp(text: str) -> datetime:
    return datetime.strptime(text, STAMP).replace(tzinfo=UTC)


def _fields(body: Any, names: tuple[str, ...]) -> dict[str, Any]:
    """``body`` as a JSON object with exactly the fields ``names``."""
    if not isinstance(body, dict):
        raise Refusal(HTTPStatus.BAD_REQUEST, f"the body must be a JSON object with {', '.join(names)}")
    for name in names:
        if name not in body:
            raise Refusal(HTTPStatus.BAD_REQUEST, f"{name}: required")
    unknown = sorted(set(body) - set(names))
    if unknown:
        raise Refusal(HTTPStatus.BAD_REQUEST, f"unknown field(s): {', '.join(unknown)}")
    return body


def parse_closes_at(value: Any) -> datetime:
    """An ISO 8601 time with an offset and whole seconds, in UTC; :class:`Refusal` (400) otherwise."""
    if not isinstance(value, str) or len(value) > 64:
        raise Refusal(HTTPStatus.BAD_REQUEST, CLOSES_AT_RULE)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise Refusal(HTTPStatus.BAD_REQUEST, CLOSES_AT_RULE) from None
    if moment.utcoffset() is None:
        raise Refusal(HTTPStatus.BAD_REQUEST, f"{CLOSES_AT_RULE}; this one has no offset")
    if moment.microsecond:
        raise Refusal(HTTPStatus.BAD_REQUEST, "closes_at: whole seconds only")
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise Refusal(HTTPStatus.BAD_REQUEST, "closes_at: out of range") from None


def check_draw_id(draw_id: str) -> str:
    if not draws.DRAW_ID.fullmatch(draw_id):
        raise Refusal(HTTPStatus.BAD_REQUEST, DRAW_ID_RULE)
    return draw_id


class Lottery:
    """Draws kept in the witness's store, signed with the witness key, judged by ``clock``."""

    def __init__(self, signer: note.Signer, store: Store, clock: Callable[[], datetime]) -> None:
        self.signer = signer
        self.store = store
        self.clock = clock

    def commit(self, draw_id: str, body: Any) -> tuple[HTTPStatus, dict[str, Any]]:
        """Commit to a new secret for ``draw_id`` (201), or repeat the commitment made before (200)."""
        check_draw_id(draw_id)
        closes = parse_closes_at(_fields(body, ("closes_at",))["closes_at"])
        closes_at = _stamp(closes)
        with self.store.transaction() as db:
            draw = _read(db, draw_id)
            if draw is not None:
                if draw.closes_at != closes_at:
                    raise Refusal(
                        HTTPStatus.CONFLICT,
                        f"draw {draw_id} was committed with another closing time",
                        closes_at=draw.closes_at,
                    )
                return HTTPStatus.OK, draw.commit_json()
            now = self.clock()
            if closes <= now:
                raise Refusal(
                    HTTPStatus.UNPROCESSABLE_ENTITY,
                    "closes_at: must be in the future by the witness's clock",
                    closes_at=closes_at,
                    now=_stamp(now),
                )
            secret = secrets.token_bytes(SECRET_SIZE)
            commitment = draws.commitment(secret)
            signature = draws.sign(self.signer.private, draws.commit_message(draw_id, commitment, closes_at))
            draw = Draw(draw_id, secret.hex(), commitment, closes_at, _stamp(now), signature)
            placeholders = ", ".join("?" * len(Draw.__dataclass_fields__))
            db.execute(f"INSERT INTO draws ({_COLUMNS}) VALUES ({placeholders})", tuple(asdict(draw).values()))  # noqa: S608
        log.info("draw %s: committed to %s, closes at %s", draw_id, commitment, closes_at)
        return HTTPStatus.CREATED, draw.commit_json()

    def reveal(self, draw_id: str, body: Any) -> tuple[HTTPStatus, dict[str, Any]]:
        """Reveal the secret of ``draw_id`` for the list (root, count): the first list presented only."""
        check_draw_id(draw_id)
        fields = _fields(body, ("root", "count"))
        root, count = fields["root"], fields["count"]
        if not isinstance(root, str) or not draws.HEX32.fullmatch(root):
            raise Refusal(HTTPStatus.BAD_REQUEST, "root: 64 lowercase hex digits")
        if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= MAX_COUNT:
            raise Refusal(HTTPStatus.BAD_REQUEST, "count: an integer, 0 or more")
        with self.store.transaction() as db:
            draw = _read(db, draw_id)
            if draw is None:
                raise Refusal(HTTPStatus.NOT_FOUND, f"no draw {draw_id}")
            if draw.revealed:
                if (draw.root, draw.count) != (root, count):
                    raise Refusal(HTTPStatus.CONFLICT, "a different list was presented before")
                return HTTPStatus.OK, draw.reveal_json()
            now = self.clock()
            if now < _parse_stamp(draw.closes_at):
                raise Refusal(HTTPStatus.CONFLICT, "the window is still open", closes_at=draw.closes_at)
            message = draws.reveal_message(draw_id, draw.commitment, root, count, draw.secret)
            signature = draws.sign(self.signer.private, message)
            draw = replace(draw, root=root, count=count, revealed_at=_stamp(now), reveal_signature=signature)
            updated = db.execute(
                "UPDATE draws SET root = ?, count = ?, revealed_at = ?, reveal_signature = ?"
                " WHERE draw_id = ? AND root IS NULL",
                (draw.root, draw.count, draw.revealed_at, draw.reveal_signature, draw_id),
            )
            if updated.rowcount != 1:  # cannot happen under BEGIN IMMEDIATE; rolls back if it does
                raise sqlite3.DatabaseError(f"draw {draw_id} changed during its reveal")
        log.info("draw %s: revealed for the list %s of %d entries", draw_id, root, count)
        return HTTPStatus.OK, draw.reveal_json()

    def record(self, draw_id: str) -> dict[str, Any]:
        """The public record of ``draw_id``; :class:`Refusal` (404) when unknown."""
        check_draw_id(draw_id)
        with self.store.reading() as db:
            draw = _read(db, draw_id)
        if draw is None:
            raise Refusal(HTTPStatus.NOT_FOUND, f"no draw {draw_id}")
        return draw.public_json()
