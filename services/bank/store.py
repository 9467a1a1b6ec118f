"""The bank's own records: payments and the notification outbox, in ``DATA/bank.sqlite3``.

A payment and its outbox row are written in one transaction, so a payment is
never taken without its notification being queued, even if the process dies
right after. One connection per operation, so any thread may call.

Identifiers the bank makes up:

- NTB, the bank's transaction number: ``SBX`` and 13 random digits;
- NTPN, the proof of payment: 16 random characters of ``A-Z 0-9``;
- ``notification_id``: ``SBX-<payment id>-<8 hex>``, stored with the row, so every
  retry is the same notification;
- ``payer_ref``: base64url(HMAC-SHA256(local key, account number)) without padding.
  The local key (``DATA/payer.key``, created once, mode 0600) never leaves the bank,
  so Gerbang can tell two payments from the same account apart from others without
  ever seeing the account. A cash payment has no account: its reference is the
  keyed hash of ``cash:<NTB>``; a card payment's is the keyed hash of
  ``card:<card number>`` (the prefix keeps a card apart from an account with the same
  digits), so the same card is recognisable across payments.

A card number is never stored: a card payment keeps only the masked number
(``**** **** **** 1234``, a database check refuses anything else) and the network.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import secrets
import sqlite3
import string
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from .cards import CARD_NUMBER, Card
from .cards import network as card_network

log = logging.getLogger("bank")

WIB = timezone(timedelta(hours=7), "WIB")  # the bank's clock: Jakarta, no daylight saving
# channel -> terminal id (card: the bank's online card gateway)
CHANNELS = {"teller": "TLR-01", "atm": "ATM-07", "mobile": "MOB-APP", "card": "CARD-GW-01"}
NTPN_ALPHABET = string.ascii_uppercase + string.digits
NTPN_LENGTH = 16
STATES = ("pending", "acknowledged", "failed", "held")  # held: a lost notification (test API), never sent
# The card columns, also added to a database made before the card channel (see _upgrade_payments).
CARD_COLUMNS = {
    "card_masked": "TEXT CHECK (card_masked IS NULL OR card_masked GLOB '[*][*][*][*] [*][*][*][*] [*][*][*][*] "
    "[0-9][0-9][0-9][0-9]')",
    "card_network": "TEXT",
}

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS payments (
    id INTEGER PRIMARY KEY,
    ntb TEXT NOT NULL UNIQUE,
    ntpn TEXT NOT NULL UNIQUE,
    billing_code TEXT NOT NULL,
    amount INTEGER NOT NULL CHECK (amount > 0),
    payer_name TEXT NOT NULL DEFAULT '',
    paid_at TEXT NOT NULL,
    booked_at TEXT NOT NULL,
    booked_date TEXT NOT NULL,
    channel TEXT NOT NULL,
    terminal_id TEXT NOT NULL,
    payer_ref TEXT NOT NULL,
    request_id TEXT UNIQUE,
    test INTEGER NOT NULL DEFAULT 0,
    card_masked {CARD_COLUMNS["card_masked"]},
    card_network {CARD_COLUMNS["card_network"]});
CREATE INDEX IF NOT EXISTS payments_billing_code ON payments (billing_code);
CREATE INDEX IF NOT EXISTS payments_booked_date ON payments (booked_date);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY,
    payment_id INTEGER NOT NULL UNIQUE REFERENCES payments (id),
    notification_id TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'acknowledged', 'failed', 'held')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    last_attempt_at TEXT,
    last_error TEXT,
    answer TEXT,
    done_at TEXT);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, next_attempt_at);
"""
PAYMENT_QUERY = (
    "SELECT p.*, o.notification_id, o.state, o.attempts, o.last_error, o.answer"
    " FROM payments p JOIN outbox o ON o.payment_id = p.id WHERE "
)


class AlreadyPaid(Exception):
    """This bank already took a payment for the billing code."""

    def __init__(self, payment: Payment) -> None:
        super().__init__(f"billing code {payment.billing_code} already paid here ({payment.ntb})")
        self.payment = payment


@dataclass(frozen=True)
class Payment:
    id: int
    ntb: str
    ntpn: str
    billing_code: str
    amount: int
    payer_name: str
    paid_at: str
    booked_at: str
    channel: str
    terminal_id: str
    payer_ref: str
    test: bool
    notification_id: str
    state: str
    attempts: int
    last_error: str | None
    answer: dict[str, Any] | None
    card_masked: str | None = None  # card payments: "**** **** **** 1234", never the number
    card_network: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "ntb": self.ntb,
            "ntpn": self.ntpn,
            "billing_code": self.billing_code,
            "amount": self.amount,
            "paid_at": self.paid_at,
            "channel": self.channel,
            "terminal_id": self.terminal_id,
            "payer_ref": self.payer_ref,
            "notification_id": self.notification_id,
            "notification": {"state": self.state, "attempts": self.attempts, "answer": self.answer},
            "card": None if self.card_masked is None else {"number": self.card_masked, "network": self.card_network},
        }


@dataclass(frozen=True)
class OutboxRow:
    id: int
    notification_id: str
    body: str
    attempts: int


def new_ntpn() -> str:
    return "".join(secrets.choice(NTPN_ALPHABET) for _ in range(NTPN_LENGTH))


def new_ntb() -> str:
    return "SBX" + "".join(secrets.choice(string.digits) for _ in range(13))


def now_wib() -> datetime:
    return datetime.now(WIB).replace(microsecond=0)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def load_or_create_key(path: Path) -> bytes:
    """The bank's local 32-byte key in ``path`` (hex), created once with mode 0600."""
    try:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    except FileNotFoundError:
        pass
    key = secrets.token_bytes(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # created meanwhile by someone else: use theirs
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key.hex() + "\n")
    log.info("created the bank's local key for payer references: %s", path)
    return key


def keyed_ref(key: bytes, value: str) -> str:
    """base64url(HMAC-SHA256(key, value)) without padding: 43 characters."""
    digest = hmac.new(key, value.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _upgrade_outbox(path: Path) -> None:
    """A database made before the ``held`` state existed gets the outbox table with the wider check.

    All in one ``BEGIN IMMEDIATE`` transaction (SQLite's DDL is transactional), so a
    crash half-way leaves the old table as it was, and two processes cannot race.
    """
    with closing(sqlite3.connect(path, timeout=10, isolation_level=None)) as db:
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'outbox'").fetchone()
            if row is not None and "'held'" not in row[0]:
                db.execute("ALTER TABLE outbox RENAME TO outbox_before_held")
                db.execute("DROP INDEX IF EXISTS outbox_due")
                for statement in SCHEMA.split(";"):
                    if "outbox" in statement and statement.strip():
                        db.execute(statement)
                db.execute("INSERT INTO outbox SELECT * FROM outbox_before_held")
                db.execute("DROP TABLE outbox_before_held")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")


def _upgrade_payments(path: Path) -> None:
    """A database made before the card channel gets the card columns (NULL for every earlier payment)."""
    with closing(sqlite3.connect(path, timeout=10, isolation_level=None)) as db:
        db.execute("BEGIN IMMEDIATE")
        try:
            present = {row[1] for row in db.execute("PRAGMA table_info(payments)")}
            for name, definition in CARD_COLUMNS.items():
                if name not in present:
                    db.execute(f"ALTER TABLE payments ADD COLUMN {name} {definition}")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")


class Store:
    """The bank's SQLite database and its local key, in the data folder."""

    def __init__(self, folder: Path, *, opened: date | None = None) -> None:
        """``opened``: the account's first day when the database is created (default today); ignored after."""
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / "bank.sqlite3"
        self._key = load_or_create_key(self.folder / "payer.key")
        _upgrade_outbox(self.path)
        with closing(sqlite3.connect(self.path, timeout=10)) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)
            first_day = (opened or now_wib().date()).isoformat()
            db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('opened', ?)", (first_day,))
            db.commit()
        _upgrade_payments(self.path)

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

    # --- Payments ----------------------------------------------------------------------------------

    def payer_ref(self, account: str) -> str:
        """The keyed hash of an account number: the same account always gives the same reference."""
        return keyed_ref(self._key, account)

    def card(self, number: str) -> Card:
        """What the bank keeps of a card number (digits, already checked): payer reference, last 4 digits, network.

        The reference is the keyed hash of ``card:<number>``: the same card always gives
        the same reference, and never the one of an account with the same digits.
        """
        if not CARD_NUMBER.fullmatch(number):
            raise ValueError("a card number is 12 to 19 digits")
        return Card(ref=keyed_ref(self._key, f"card:{number}"), last4=number[-4:], network=card_network(number))

    def seal(self, *parts: str) -> str:
        """A keyed MAC over ``parts``: what a screen carries between two requests cannot be made up or changed.

        The card confirmation carries the card's reference, last digits and expiry instead
        of its number; this seal is how the pay step knows the inquiry step checked them.
        """
        if any("\x1f" in part for part in parts):
            raise ValueError("a sealed part cannot hold the separator")
        return keyed_ref(self._key, "\x1f".join(("seal", *parts)))

    def record_payment(
        self,
        *,
        bank_code: str,
        billing_code: str,
        amount: int,
        channel: str,
        account: str | None,
        card: Card | None = None,
        payer_name: str = "",
        request_id: str | None = None,
        paid_at: datetime | None = None,
        test: bool = False,
        notify: bool = True,
        now: datetime | None = None,
    ) -> tuple[Payment, bool]:
        """Record a payment and queue its notification, in one transaction: ``(payment, created)``.

        ``account`` is ``None`` for cash; a ``card`` payment (channel ``card``, no account)
        keeps the card's reference, masked number and network, never the number. A
        ``request_id`` seen before returns that payment (``created`` false), so a form
        sent twice pays once. Unless ``test``,
        a billing code this bank already took money for raises :class:`AlreadyPaid`.
        Without ``notify`` (the test API's lost notification) the notification is
        stored ``held`` and never sent: only the statement and an NTPN check show it.
        """
        if channel not in CHANNELS:
            raise ValueError(f"unknown channel {channel!r}")
        if (channel == "card") != (card is not None) or (card is not None and account is not None):
            raise ValueError("a card payment (and only one) is made with a card, and without an account")
        if amount <= 0:
            raise ValueError("the amount must be positive")
        booked = (now or now_wib()).astimezone(WIB)
        if paid_at is not None and paid_at.utcoffset() is None:
            raise ValueError("paid_at needs its offset")
        paid = (paid_at or booked).astimezone(WIB)
        with self._db(write=True) as db:
            if request_id is not None:
                row = db.execute("SELECT id FROM payments WHERE request_id = ?", (request_id,)).fetchone()
                if row is not None:
                    return self._payment(db, "p.id = ?", row["id"]), False
            if not test:
                row = db.execute(
                    "SELECT id FROM payments WHERE billing_code = ? AND test = 0 ORDER BY id LIMIT 1", (billing_code,)
                ).fetchone()
                if row is not None:
                    raise AlreadyPaid(self._payment(db, "p.id = ?", row["id"]))
            while True:  # collisions are astronomically rare, but the columns are unique
                ntb, ntpn = new_ntb(), new_ntpn()
                if db.execute("SELECT 1 FROM payments WHERE ntb = ? OR ntpn = ?", (ntb, ntpn)).fetchone() is None:
                    break
            if card is not None:
                payer_ref = card.ref
            elif account is not None:
                payer_ref = self.payer_ref(account)
            else:
                payer_ref = self.payer_ref(f"cash:{ntb}")
            cursor = db.execute(
                "INSERT INTO payments (ntb, ntpn, billing_code, amount, payer_name, paid_at, booked_at, booked_date,"
                " channel, terminal_id, payer_ref, request_id, test, card_masked, card_network)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    ntb,
                    ntpn,
                    billing_code,
                    amount,
                    payer_name,
                    paid.isoformat(),
                    booked.isoformat(),
                    booked.date().isoformat(),
                    channel,
                    CHANNELS[channel],
                    payer_ref,
                    request_id,
                    int(test),
                    None if card is None else card.masked,
                    None if card is None else card.network,
                ),
            )
            payment_id = int(cursor.lastrowid or 0)
            notification_id = f"SBX-{payment_id}-{secrets.token_hex(4)}"
            body = {
                "notification_id": notification_id,
                "bank_code": bank_code,
                "billing_code": billing_code,
                "amount": amount,
                "paid_at": paid.isoformat(),
                "ntb": ntb,
                "ntpn": ntpn,
                "channel": channel,
                "terminal_id": CHANNELS[channel],
                "payer_ref": payer_ref,
            }
            db.execute(
                "INSERT INTO outbox (payment_id, notification_id, body, next_attempt_at, state) VALUES (?, ?, ?, ?, ?)",
                (
                    payment_id,
                    notification_id,
                    json.dumps(body, separators=(",", ":")),
                    booked.timestamp(),
                    "pending" if notify else "held",
                ),
            )
            payment = self._payment(db, "p.id = ?", payment_id)
        log.info(
            "payment %s recorded: billing code %s, Rp %d, %s %s", ntb, billing_code, amount, channel, CHANNELS[channel]
        )
        return payment, True

    def payment(self, ntb: str) -> Payment | None:
        with self._db() as db:
            try:
                return self._payment(db, "p.ntb = ?", ntb)
            except LookupError:
                return None

    def notification_body(self, ntpn: str) -> bytes | None:
        """The notification of the payment with ``ntpn``, byte for byte as sent (or held)."""
        with self._db() as db:
            row = db.execute(
                "SELECT o.body FROM outbox o JOIN payments p ON p.id = o.payment_id WHERE p.ntpn = ?", (ntpn,)
            ).fetchone()
        return None if row is None else str(row[0]).encode()

    def by_request(self, request_id: str) -> Payment | None:
        """The payment a confirmation form (its one-time request id) already made, if any."""
        with self._db() as db:
            try:
                return self._payment(db, "p.request_id = ?", request_id)
            except LookupError:
                return None

    def recent(self, limit: int = 10) -> list[Payment]:
        with self._db() as db:
            return self._payments(db, "1 = 1 ORDER BY p.id DESC LIMIT ?", limit)

    def booked_on(self, day: date) -> list[Payment]:
        """The payments booked on ``day`` (the bank's date, WIB), in booking order."""
        with self._db() as db:
            return self._payments(db, "p.booked_date = ? ORDER BY p.id", day.isoformat())

    def balance_before(self, day: date) -> int:
        """Everything booked before ``day``: the opening balance of the collection account that day."""
        with self._db() as db:
            row = db.execute("SELECT coalesce(sum(amount), 0) FROM payments WHERE booked_date < ?", (day.isoformat(),))
            return int(row.fetchone()[0])

    def opened(self) -> date:
        """The day the bank's database was created: statements are numbered from it."""
        with self._db() as db:
            return date.fromisoformat(db.execute("SELECT value FROM meta WHERE key = 'opened'").fetchone()[0])

    @staticmethod
    def _payments(db: sqlite3.Connection, where: str, *params: Any) -> list[Payment]:
        rows = db.execute(PAYMENT_QUERY + where, params).fetchall()  # `where`: a fixed fragment, values bound
        return [
            Payment(
                id=row["id"],
                ntb=row["ntb"],
                ntpn=row["ntpn"],
                billing_code=row["billing_code"],
                amount=row["amount"],
                payer_name=row["payer_name"],
                paid_at=row["paid_at"],
                booked_at=row["booked_at"],
                channel=row["channel"],
                terminal_id=row["terminal_id"],
                payer_ref=row["payer_ref"],
                test=bool(row["test"]),
                notification_id=row["notification_id"],
                state=row["state"],
                attempts=row["attempts"],
                last_error=row["last_error"],
                answer=None if row["answer"] is None else json.loads(row["answer"]),
                card_masked=row["card_masked"],
                card_network=row["card_network"],
            )
            for row in rows
        ]

    def _payment(self, db: sqlite3.Connection, where: str, value: Any) -> Payment:
        found = self._payments(db, where, value)
        if not found:
            raise LookupError(value)
        return found[0]

    # --- The outbox --------------------------------------------------------------------------------

    def due(self, now: float, limit: int = 100) -> list[OutboxRow]:
        """Pending notifications whose next attempt is due at ``now``, oldest first."""
        with self._db() as db:
            rows = db.execute(
                "SELECT id, notification_id, body, attempts FROM outbox"
                " WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?",
                (now, limit),
            ).fetchall()
        return [OutboxRow(row["id"], row["notification_id"], row["body"], row["attempts"]) for row in rows]

    def next_due(self) -> float | None:
        with self._db() as db:
            value = db.execute("SELECT min(next_attempt_at) FROM outbox WHERE state = 'pending'").fetchone()[0]
        return None if value is None else float(value)

    def acknowledge(self, outbox_id: int, answer: Any, now: float) -> None:
        self._finish(outbox_id, "acknowledged", answer, None, now)

    def fail(self, outbox_id: int, answer: Any, error: str, now: float) -> None:
        self._finish(outbox_id, "failed", answer, error, now)

    def _finish(self, outbox_id: int, state: str, answer: Any, error: str | None, now: float) -> None:
        stamp = _stamp(datetime.fromtimestamp(now, UTC))
        with self._db(write=True) as db:
            db.execute(
                "UPDATE outbox SET state = ?, attempts = attempts + 1, answer = ?, done_at = ?, last_attempt_at = ?,"
                " last_error = coalesce(?, last_error) WHERE id = ? AND state = 'pending'",
                (state, json.dumps(answer), stamp, stamp, error, outbox_id),
            )

    def retry(self, outbox_id: int, attempts: int, next_attempt_at: float, error: str, now: float) -> None:
        with self._db(write=True) as db:
            db.execute(
                "UPDATE outbox SET attempts = ?, next_attempt_at = ?, last_error = ?, last_attempt_at = ?"
                " WHERE id = ? AND state = 'pending'",
                (attempts, next_attempt_at, error[:1000], _stamp(datetime.fromtimestamp(now, UTC)), outbox_id),
            )

    def requeue(self, now: float) -> int:
        """Make every pending notification due now (at start: do not wait out a back-off from before)."""
        with self._db(write=True) as db:
            cursor = db.execute(
                "UPDATE outbox SET next_attempt_at = ? WHERE state = 'pending' AND next_attempt_at > ?", (now, now)
            )
            pending = db.execute("SELECT count(*) FROM outbox WHERE state = 'pending'").fetchone()[0]
        if pending:
            log.info("%d notification(s) pending from before, delivering again", pending)
        return cursor.rowcount

    def status(self) -> dict[str, Any]:
        """Counts of notifications by state, and the most recent delivery error."""
        with self._db() as db:
            counts = dict.fromkeys(STATES, 0)
            for state, count in db.execute("SELECT state, count(*) FROM outbox GROUP BY state"):
                counts[state] = count
            row = db.execute(
                "SELECT notification_id, last_error, last_attempt_at FROM outbox WHERE last_error IS NOT NULL"
                " ORDER BY last_attempt_at DESC, id DESC LIMIT 1"
            ).fetchone()
            payments = db.execute("SELECT count(*), coalesce(sum(amount), 0) FROM payments").fetchone()
        last_error = None if row is None else {"notification_id": row[0], "error": row[1], "at": row[2]}
        return {
            "notifications": counts,
            "last_error": last_error,
            "payments": {"count": payments[0], "amount": payments[1]},
        }
