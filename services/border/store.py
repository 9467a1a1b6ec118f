"""Border control's own records: movements and the delivery outbox, in ``DATA/border.sqlite3``.

A movement and its outbox row are written in one transaction, so no movement is
recorded without its report to Gerbang being queued, even if the process dies
right after. One connection per operation, so any thread may call.

A movement: ``event_id`` (``bc-`` and 24 random hex digits, made here, the same
on every retry), ``direction`` (``entry`` or ``exit``), ``nationality`` (ISO 3166-1
alpha-3, three letters), ``passport_number`` (1-9 of ``A-Z 0-9``), ``at`` (when the
person crossed, stored and sent in UTC) and ``port`` (a port code, 2-10 of
``A-Z 0-9``: CGK, DPS, BTH ...).
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

log = logging.getLogger("border")

DIRECTIONS = ("entry", "exit")
NATIONALITY = re.compile(r"[A-Z]{3}")
PASSPORT_NUMBER = re.compile(r"[A-Z0-9]{1,9}")
PORT = re.compile(r"[A-Z0-9]{2,10}")
EVENT_ID = re.compile(r"bc-[0-9a-f]{24}")
REQUEST_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")
FIELDS = ("direction", "nationality", "passport_number", "port", "at")
# A crossing is recorded when it happens or afterwards: never more than a few minutes ahead of this clock.
FUTURE_TOLERANCE = timedelta(minutes=5)
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
STATES = ("pending", "delivered")

WIB = timezone(timedelta(hours=7), "WIB")
WITA = timezone(timedelta(hours=8), "WITA")
WIT = timezone(timedelta(hours=9), "WIT")
# Ports the sandbox knows by name: a time typed without an offset at one of them is its local time.
PORTS: dict[str, tuple[str, timezone]] = {
    "CGK": ("Soekarno-Hatta International Airport, Jakarta", WIB),
    "DPS": ("I Gusti Ngurah Rai International Airport, Bali", WITA),
    "BTH": ("Batam Centre International Ferry Terminal", WIB),
    "KNO": ("Kualanamu International Airport, Medan", WIB),
    "SUB": ("Juanda International Airport, Surabaya", WIB),
    "YIA": ("Yogyakarta International Airport", WIB),
    "LOP": ("Lombok International Airport", WITA),
    "UPG": ("Sultan Hasanuddin International Airport, Makassar", WITA),
    "DJJ": ("Sentani International Airport, Jayapura", WIT),
}

SCHEMA = """
CREATE TABLE IF NOT EXISTS movements (
    id INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    direction TEXT NOT NULL CHECK (direction IN ('entry', 'exit')),
    nationality TEXT NOT NULL CHECK (length(nationality) = 3),
    passport_number TEXT NOT NULL CHECK (length(passport_number) BETWEEN 1 AND 9),
    at TEXT NOT NULL,
    port TEXT NOT NULL CHECK (length(port) BETWEEN 2 AND 10),
    source TEXT NOT NULL CHECK (source IN ('officer', 'test')),
    request_id TEXT UNIQUE,
    recorded_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS movements_passport ON movements (nationality, passport_number, at);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY,
    movement_id INTEGER NOT NULL UNIQUE REFERENCES movements (id),
    body TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    last_attempt_at TEXT,
    last_error TEXT,
    answer TEXT,
    delivered_at TEXT);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, next_attempt_at);
"""
MOVEMENT_QUERY = (
    "SELECT m.*, o.state, o.attempts, o.last_error, o.last_attempt_at, o.answer, o.delivered_at"
    " FROM movements m JOIN outbox o ON o.movement_id = m.id WHERE "
)


@dataclass(frozen=True)
class MovementInput:
    """A checked movement, before it has an event id."""

    direction: str
    nationality: str
    passport_number: str
    at: datetime  # aware, UTC, whole seconds
    port: str


@dataclass(frozen=True)
class Movement:
    id: int
    event_id: str
    direction: str
    nationality: str
    passport_number: str
    at: str
    port: str
    source: str
    recorded_at: str
    state: str
    attempts: int
    last_error: str | None
    last_attempt_at: str | None
    answer: dict[str, Any] | None
    delivered_at: str | None

    def report(self) -> dict[str, str]:
        """The report sent to Gerbang: exactly the fields of the protocol (docs/border-protocol.md)."""
        return {
            "event_id": self.event_id,
            "direction": self.direction,
            "nationality": self.nationality,
            "passport_number": self.passport_number,
            "at": self.at,
            "port": self.port,
        }

    def as_json(self) -> dict[str, Any]:
        return self.report() | {
            "recorded_at": self.recorded_at,
            "delivery": {
                "state": self.state,
                "attempts": self.attempts,
                "last_error": self.last_error,
                "answer": self.answer,
                "delivered_at": self.delivered_at,
            },
        }


@dataclass(frozen=True)
class OutboxRow:
    id: int
    event_id: str
    body: str
    attempts: int


def stamp(moment: datetime) -> str:
    """``2025-06-01T01:30:00Z``: UTC, whole seconds."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_utc() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def new_event_id() -> str:
    return "bc-" + secrets.token_hex(12)


def parse_movement(
    data: Any, *, now: datetime | None = None, local_time_at_port: bool = False
) -> tuple[MovementInput | None, dict[str, str]]:
    """A movement from submitted fields, or ``(None, {field: message})``.

    Letters are taken in capitals and spaces around values are ignored (spaces
    inside a passport number too: ``A 123 4567``). ``at`` is optional (now); it is
    ISO 8601 with its offset, or, with ``local_time_at_port`` (the officer's form),
    without one at a port listed in :data:`PORTS`: then it is that port's local time.
    """
    if not isinstance(data, Mapping):
        return None, {"body": "must be a JSON object"}
    errors = {str(name): "unexpected field" for name in data if name not in FIELDS}
    values: dict[str, str] = {}
    for name in FIELDS:
        value = data.get(name)
        if value is None:
            value = ""
        if not isinstance(value, str):
            errors[name] = "must be a string"
            continue
        values[name] = value.strip()
    direction = values.get("direction", "").lower()
    nationality = values.get("nationality", "").upper()
    passport_number = re.sub(r"\s+", "", values.get("passport_number", "")).upper()
    port = values.get("port", "").upper()
    if "direction" not in errors and direction not in DIRECTIONS:
        errors["direction"] = 'required: "entry" or "exit"'
    if "nationality" not in errors and not NATIONALITY.fullmatch(nationality):
        errors["nationality"] = "required: three letters A-Z, the ISO 3166-1 alpha-3 code (e.g. AUS, NLD, JPN)"
    if "passport_number" not in errors and not PASSPORT_NUMBER.fullmatch(passport_number):
        errors["passport_number"] = "required: 1 to 9 letters A-Z or digits 0-9"
    if "port" not in errors and not PORT.fullmatch(port):
        errors["port"] = "required: the port code, 2 to 10 letters A-Z or digits (e.g. CGK, DPS, BTH)"
    at: datetime | None = None
    if "at" not in errors:
        at, message = parse_time(
            values.get("at", ""), port=port, now=now or now_utc(), local_time_at_port=local_time_at_port
        )
        if message:
            errors["at"] = message
    if errors or at is None:
        return None, errors
    return MovementInput(direction, nationality, passport_number, at, port), {}


def parse_time(text: str, *, port: str, now: datetime, local_time_at_port: bool) -> tuple[datetime | None, str]:
    """``(time in UTC, "")`` or ``(None, message)``; an empty text is ``now``."""
    if not text:
        return now.astimezone(UTC).replace(microsecond=0), ""
    example = "e.g. 2025-06-01T08:30:00+07:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None, f"not a time: use ISO 8601 with the offset, {example}"
    if moment.utcoffset() is None:
        zone = PORTS.get(port, (None, None))[1] if local_time_at_port else None
        if zone is None:
            if local_time_at_port:
                return None, f"give the offset ({example}): the sandbox does not know port {port or '?'}'s time zone"
            return None, f"give the offset, {example}"
        moment = moment.replace(tzinfo=zone)
    moment = moment.astimezone(UTC).replace(microsecond=0)
    if moment > now + FUTURE_TOLERANCE:
        return None, "is in the future: record a crossing when it happens or afterwards"
    if moment < EARLIEST:
        return None, f"is before {EARLIEST:%Y-%m-%d}: check the year"
    return moment, ""


class Store:
    """The border's SQLite database in the data folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / "border.sqlite3"
        with closing(sqlite3.connect(self.path, timeout=10)) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)
            db.commit()

    @contextmanager
    def _db(self, write: bool = False) -> Iterator[sqlite3.Connection]:
        """A connection; with ``write`` inside ``BEGIN IMMEDIATE`` (committed, or rolled back on an error)."""
        with closing(sqlite3.connect(self.path, timeout=10, isolation_level=None)) as db:
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA synchronous=FULL")
            if not write:
                yield db
                return
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    # --- Movements ---------------------------------------------------------------------------------

    def record(
        self,
        movement: MovementInput,
        *,
        source: str = "officer",
        request_id: str | None = None,
        now: datetime | None = None,
    ) -> tuple[Movement, bool]:
        """Record a movement and queue its report, in one transaction: ``(movement, created)``.

        A ``request_id`` seen before (a form sent twice) returns that movement, ``created`` false.
        """
        if source not in ("officer", "test"):
            raise ValueError(f"unknown source {source!r}")
        if request_id is not None and not REQUEST_ID.fullmatch(request_id):
            raise ValueError("a request id is 16-64 of A-Z a-z 0-9 _ -")
        recorded = (now or now_utc()).astimezone(UTC)
        with self._db(write=True) as db:
            if request_id is not None:
                row = db.execute("SELECT id FROM movements WHERE request_id = ?", (request_id,)).fetchone()
                if row is not None:
                    return self._one(db, "m.id = ?", row["id"]), False
            while True:  # a collision of 96 random bits will not happen, but the column is unique
                event_id = new_event_id()
                if db.execute("SELECT 1 FROM movements WHERE event_id = ?", (event_id,)).fetchone() is None:
                    break
            cursor = db.execute(
                "INSERT INTO movements (event_id, direction, nationality, passport_number, at, port, source,"
                " request_id, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    event_id,
                    movement.direction,
                    movement.nationality,
                    movement.passport_number,
                    stamp(movement.at),
                    movement.port,
                    source,
                    request_id,
                    stamp(recorded),
                ),
            )
            movement_id = int(cursor.lastrowid or 0)
            body = {
                "event_id": event_id,
                "direction": movement.direction,
                "nationality": movement.nationality,
                "passport_number": movement.passport_number,
                "at": stamp(movement.at),
                "port": movement.port,
            }
            db.execute(
                "INSERT INTO outbox (movement_id, body, next_attempt_at) VALUES (?, ?, ?)",
                (movement_id, json.dumps(body, separators=(",", ":")), recorded.timestamp()),
            )
            recorded_movement = self._one(db, "m.id = ?", movement_id)
        log.info(
            "%s %s recorded: %s %s at %s, %s",
            movement.direction,
            event_id,
            movement.nationality,
            movement.passport_number,
            movement.port,
            stamp(movement.at),
        )
        return recorded_movement, True

    def movement(self, event_id: str) -> Movement | None:
        with self._db() as db:
            found = self._many(db, "m.event_id = ?", event_id)
        return found[0] if found else None

    def recent(self, limit: int = 20) -> list[Movement]:
        with self._db() as db:
            return self._many(db, "1 = 1 ORDER BY m.id DESC LIMIT ?", limit)

    @staticmethod
    def _many(db: sqlite3.Connection, where: str, *params: Any) -> list[Movement]:
        rows = db.execute(MOVEMENT_QUERY + where, params).fetchall()  # `where`: a fixed fragment, values bound
        return [
            Movement(
                id=row["id"],
                event_id=row["event_id"],
                direction=row["direction"],
                nationality=row["nationality"],
                passport_number=row["passport_number"],
                at=row["at"],
                port=row["port"],
                source=row["source"],
                recorded_at=row["recorded_at"],
                state=row["state"],
                attempts=row["attempts"],
                last_error=row["last_error"],
                last_attempt_at=row["last_attempt_at"],
                answer=None if row["answer"] is None else json.loads(row["answer"]),
                delivered_at=row["delivered_at"],
            )
            for row in rows
        ]

    def _one(self, db: sqlite3.Connection, where: str, value: Any) -> Movement:
        found = self._many(db, where, value)
        if not found:
            raise LookupError(value)
        return found[0]

    # --- The outbox --------------------------------------------------------------------------------

    def due(self, now: float, limit: int = 100) -> list[OutboxRow]:
        """Undelivered reports whose next attempt is due at ``now``, oldest first."""
        with self._db() as db:
            rows = db.execute(
                "SELECT o.id, m.event_id, o.body, o.attempts FROM outbox o JOIN movements m ON m.id = o.movement_id"
                " WHERE o.state = 'pending' AND o.next_attempt_at <= ? ORDER BY o.next_attempt_at, o.id LIMIT ?",
                (now, limit),
            ).fetchall()
        return [OutboxRow(row["id"], row["event_id"], row["body"], row["attempts"]) for row in rows]

    def next_due(self) -> float | None:
        with self._db() as db:
            value = db.execute("SELECT min(next_attempt_at) FROM outbox WHERE state = 'pending'").fetchone()[0]
        return None if value is None else float(value)

    def delivered(self, outbox_id: int, answer: Any, now: float) -> None:
        at = stamp(datetime.fromtimestamp(now, UTC))
        with self._db(write=True) as db:
            db.execute(
                "UPDATE outbox SET state = 'delivered', attempts = attempts + 1, answer = ?, delivered_at = ?,"
                " last_attempt_at = ? WHERE id = ? AND state = 'pending'",
                (json.dumps(answer), at, at, outbox_id),
            )

    def retry(self, outbox_id: int, attempts: int, next_attempt_at: float, error: str, now: float) -> None:
        with self._db(write=True) as db:
            db.execute(
                "UPDATE outbox SET attempts = ?, next_attempt_at = ?, last_error = ?, last_attempt_at = ?"
                " WHERE id = ? AND state = 'pending'",
                (attempts, next_attempt_at, error[:1000], stamp(datetime.fromtimestamp(now, UTC)), outbox_id),
            )

    def requeue(self, now: float) -> int:
        """Make every undelivered report due now (at start: do not wait out a back-off from before)."""
        with self._db(write=True) as db:
            cursor = db.execute(
                "UPDATE outbox SET next_attempt_at = ? WHERE state = 'pending' AND next_attempt_at > ?", (now, now)
            )
            pending = db.execute("SELECT count(*) FROM outbox WHERE state = 'pending'").fetchone()[0]
        if pending:
            log.info("%d report(s) undelivered from before, delivering again", pending)
        return cursor.rowcount

    def status(self) -> dict[str, Any]:
        """Counts of reports by delivery state, and the most recent delivery error."""
        with self._db() as db:
            counts = dict.fromkeys(STATES, 0)
            for state, count in db.execute("SELECT state, count(*) FROM outbox GROUP BY state"):
                counts[state] = count
            row = db.execute(
                "SELECT m.event_id, o.last_error, o.last_attempt_at FROM outbox o JOIN movements m"
                " ON m.id = o.movement_id WHERE o.state = 'pending' AND o.last_error IS NOT NULL"
                " ORDER BY o.last_attempt_at DESC, o.id DESC LIMIT 1"
            ).fetchone()
        last_error = None if row is None else {"event_id": row[0], "error": row[1], "at": row[2]}
        return {"reports": counts, "last_error": last_error}
