"""The sandbox bank: signatures, its records, the notifier, and the counter screens over real HTTP.

The process-level tests start the bank as a real process against a small fake
Gerbang written here with http.server, which checks the bank's signatures with
its own few lines of HMAC (not the bank's code) and signs its answers.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from stdnum import damm, luhn

from services.bank import export, statements
from services.bank.cards import (
    TEST_CARD,
    Card,
    luhn_check_digit,
    luhn_valid,
    mask,
    network,
    parse_card_number,
    parse_expiry,
)
from services.bank.protocol import (
    BadSignature,
    Gerbang,
    Notifier,
    backoff,
    damm_check_digit,
    load_secrets,
    normalise_billing_code,
    sign,
    verify,
)
from services.bank.store import WIB, AlreadyPaid, Store, keyed_ref, new_ntb, new_ntpn
from services.testing import free_port, stop

REPO = Path(__file__).resolve().parents[3]
BANK = "bank-sandbox"
NOW = 1_764_300_000


def code(prefix: str) -> str:
    return prefix + damm_check_digit(prefix)


TELLER_BILL = code("12345678901234")
RETRY_BILL = code("12345678901235")
RESTART_BILL = code("12345678901236")
TEST_API_BILL = code("12345678901237")
INVALID_BILL = code("12345678901238")
IN_PROCESS_BILL = code("12345678901239")
EXPIRED_BILL = code("98765432109876")
UNKNOWN_BILL = code("55555555555555")
HELD_BILL = code("22222222222221")
SENT_BILL = code("22222222222222")
LOOKUP_BILL = code("22222222222223")
LOST_BILL = code("22222222222224")
EXPORT_BILL = code("22222222222225")
CARD_TEST_API_BILL = code("22222222222226")
CARD_BILL = code("33333333333331")
CARD_AGAIN_BILL = code("33333333333332")
CARD_OTHER_BILL = code("33333333333333")
ISSUED = (
    TELLER_BILL,
    RETRY_BILL,
    RESTART_BILL,
    TEST_API_BILL,
    INVALID_BILL,
    IN_PROCESS_BILL,
    CARD_BILL,
    CARD_AGAIN_BILL,
    CARD_OTHER_BILL,
)
# Test card numbers (Luhn-valid), as the networks publish them.
VISA = "4111111111111111"
MASTERCARD = "5555555555554444"
AMEX = "378282246310005"
JCB = "3530111333300000"
DISCOVER = "6011111111111117"
FIELDS = {
    "notification_id",
    "bank_code",
    "billing_code",
    "amount",
    "paid_at",
    "ntb",
    "ntpn",
    "channel",
    "terminal_id",
    "payer_ref",
}


# --- Signatures ----------------------------------------------------------------------------------


def test_a_signature_verifies_and_any_change_breaks_it() -> None:
    secret, body = secrets.token_bytes(32), b'{"amount":350000}'
    header = sign([secret], body, now=NOW)
    assert re.fullmatch(r"t=1764300000,v1=[0-9a-f]{64}", header)
    expected = hmac.new(secret, b"1764300000." + body, hashlib.sha256).hexdigest()
    assert header.endswith(expected)  # exactly the documented MAC
    assert verify(header, body, [secret], now=NOW + 299) == NOW
    with pytest.raises(BadSignature, match="no signature matches"):
        verify(header, b'{"amount":350001}', [secret], now=NOW)
    with pytest.raises(BadSignature, match="tolerance"):
        verify(header, body, [secret], now=NOW + 301)
    with pytest.raises(BadSignature, match="tolerance"):
        verify(header, body, [secret], now=NOW - 301)
    with pytest.raises(BadSignature, match="no signature matches"):
        verify(header, body, [secrets.token_bytes(32)], now=NOW)
    for bad in (None, "", "v1=" + expected, "t=1764300000", "t=abc,v1=" + expected, "t=1764300000,v1=zz"):
        with pytest.raises(BadSignature):
            verify(bad, body, [secret], now=NOW)
    with pytest.raises(BadSignature, match="no secret"):
        verify(header, body, [], now=NOW)


def test_during_a_rotation_one_of_several_values_suffices() -> None:
    old, new, body = secrets.token_bytes(32), secrets.token_bytes(32), b"{}"
    both = sign([new, old], body, now=NOW)
    assert both.count("v1=") == 2
    assert verify(both, body, [old], now=NOW) == NOW  # a receiver that still has only the old secret
    assert verify(both, body, [new], now=NOW) == NOW
    assert verify(sign([old], body, now=NOW), body, [new, old], now=NOW) == NOW  # a receiver holding both
    with pytest.raises(BadSignature):
        verify(both, body, [secrets.token_bytes(32)], now=NOW)


def test_a_request_without_body_is_signed_over_method_and_path() -> None:
    secret = secrets.token_bytes(32)
    path = f"/api/bank/v1/bills/{TELLER_BILL}"
    header = sign([secret], b"", method="GET", path=path, now=NOW)
    payload = f"{NOW}.GET {path}".encode()
    assert header.endswith(hmac.new(secret, payload, hashlib.sha256).hexdigest())
    assert verify(header, b"", [secret], method="GET", path=path, now=NOW) == NOW
    with pytest.raises(BadSignature):  # not replayable for another bill
        verify(header, b"", [secret], method="GET", path=f"/api/bank/v1/bills/{RETRY_BILL}", now=NOW)


def test_the_secrets_file(tmp_path: Path) -> None:
    first, second = secrets.token_bytes(32), secrets.token_bytes(40)
    path = tmp_path / "bank.secrets"
    path.write_text(f"# rotated 2026-06-01\n\n{first.hex()}\n  {second.hex()}  # old\nzz\n{'ab' * 16}\nabc\n")
    assert load_secrets(path) == [first, second]  # not hex, too short (16 bytes): skipped
    with pytest.raises(OSError):
        load_secrets(tmp_path / "missing.secrets")


# --- Identifiers ---------------------------------------------------------------------------------


def test_billing_codes_are_checked_before_gerbang_is_asked() -> None:
    for prefix in ("12345678901234", "98765432109876", "55555555555555", "31415926535897"):
        assert damm_check_digit(prefix) == damm.calc_check_digit(prefix)
    assert normalise_billing_code(TELLER_BILL) == TELLER_BILL
    assert normalise_billing_code(f" {TELLER_BILL[:5]} {TELLER_BILL[5:10]}-{TELLER_BILL[10:]} ") == TELLER_BILL
    typo = TELLER_BILL[:3] + str((int(TELLER_BILL[3]) + 1) % 10) + TELLER_BILL[4:]
    swap = TELLER_BILL[:5] + TELLER_BILL[6] + TELLER_BILL[5] + TELLER_BILL[7:]
    assert TELLER_BILL[5] != TELLER_BILL[6]
    for bad in (typo, swap, TELLER_BILL[:-1], TELLER_BILL + "0", "0" + TELLER_BILL[1:], "\u0661" * 15, ""):
        assert normalise_billing_code(bad) is None


def test_ntpn_and_ntb_formats() -> None:
    ntpns = {new_ntpn() for _ in range(200)}
    assert len(ntpns) == 200
    assert all(re.fullmatch(r"[A-Z0-9]{16}", n) for n in ntpns)
    assert all(re.fullmatch(r"SBX[0-9]{13}", new_ntb()) for _ in range(50))


def test_payer_ref_is_a_stable_keyed_hash_not_the_account(tmp_path: Path) -> None:
    account = "1234567890"
    store = Store(tmp_path / "bank")
    ref = store.payer_ref(account)
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", ref)
    assert account not in ref
    assert Store(tmp_path / "bank").payer_ref(account) == ref  # the key is kept in the data folder
    assert store.payer_ref("1234567891") != ref
    assert Store(tmp_path / "other").payer_ref(account) != ref  # another bank's key: another reference
    assert ref != keyed_ref(b"", account) and ref != hashlib.sha256(account.encode()).hexdigest()
    assert oct((tmp_path / "bank" / "payer.key").stat().st_mode & 0o777) == "0o600"


# --- Cards --------------------------------------------------------------------------------------


def test_luhn_check_digits() -> None:
    twelve = "41234567890" + luhn.calc_check_digit("41234567890")
    nineteen = "4" + "0" * 15 + "12" + luhn.calc_check_digit("4" + "0" * 15 + "12")
    assert (len(twelve), len(nineteen)) == (12, 19)  # the shortest and the longest card numbers
    for number in (VISA, MASTERCARD, AMEX, JCB, DISCOVER, twelve, nineteen):
        assert luhn_valid(number), number
        assert luhn_check_digit(number[:-1]) == number[-1] == luhn.calc_check_digit(number[:-1])
        assert parse_card_number(number) == (number, "")
        for position in range(len(number)):  # every single mistyped digit is caught
            typo = number[:position] + str((int(number[position]) + 1) % 10) + number[position + 1 :]
            assert not luhn_valid(typo) and not luhn.is_valid(typo), typo
    for prefix in ("0", "7992739871", "12345678901234567"):  # the same digit as an independent implementation
        assert luhn_check_digit(prefix) == luhn.calc_check_digit(prefix)
    assert luhn_valid("79927398713") and not luhn_valid("79927398710")
    assert not luhn_valid("") and not luhn_valid("4111 1111") and not luhn_valid("\u0664" + VISA[1:])
    for bad in ("12a", ""):
        with pytest.raises(ValueError):
            luhn_check_digit(bad)

    assert parse_card_number(" 4111 1111-1111 1111 ") == (VISA, "")
    assert parse_card_number("")[1].startswith("Enter the card number")
    too_short = "1234567890" + luhn.calc_check_digit("1234567890")  # 11 digits, Luhn-valid all the same
    too_long = "4" + "0" * 16 + "12" + luhn.calc_check_digit("4" + "0" * 16 + "12")  # 20 digits
    assert (len(too_short), len(too_long)) == (11, 20)
    for bad in (too_short, too_long, "4111-1111-1111-111x", "\u0664" * 16):
        parsed, error = parse_card_number(bad)
        assert parsed is None and "12 to 19 digits" in error, bad
    parsed, error = parse_card_number(VISA[:-1] + "2")
    assert parsed is None and "not valid" in error and "check digit" in error

    assert [network(n) for n in (VISA, MASTERCARD, AMEX, JCB, DISCOVER)] == [
        "Visa",
        "Mastercard",
        "Amex/JCB",
        "Amex/JCB",
        "card",
    ]
    assert mask("1111") == "**** **** **** 1111"
    with pytest.raises(ValueError):
        mask("11111")


def test_a_card_is_valid_through_its_expiry_month() -> None:
    today = date(2026, 6, 15)
    assert parse_expiry("6", "2026", today) == ((2026, 6), "")  # this month: still valid
    assert parse_expiry("06", "26", today) == ((2026, 6), "")
    assert parse_expiry(" 1 ", "2027", today) == ((2027, 1), "")
    assert parse_expiry("12", "46", today) == ((2046, 12), "")
    for month, year in (("5", "2026"), ("05", "26"), ("12", "2025"), ("1", "2000")):
        assert parse_expiry(month, year, today) == (None, "This card has expired. (Kartu sudah kedaluwarsa.)")
    assert parse_expiry("1", "2047", today)[1].startswith("Check the expiry year")
    for month in ("0", "13", "", "x", "\u0661"):
        assert parse_expiry(month, "2027", today)[1].startswith("The expiry month is 1 to 12")
    for year in ("", "202", "20271", "yy"):
        assert parse_expiry("1", year, today)[1].startswith("The expiry year is 2 or 4 digits")


def _every_stored_value(path: Path) -> list[str]:
    """Every value of every row of every table of the bank's database, as text."""
    with closing(sqlite3.connect(path)) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        # The table names come from sqlite_master itself, not from outside.
        rows = [row for table in tables for row in db.execute(f"SELECT * FROM {table}")]  # noqa: S608
    return [str(value) for row in rows for value in row]


def _raw_bytes(folder: Path) -> bytes:
    """The database files as bytes (with the write-ahead log, where a row may sit before a checkpoint)."""
    return b"".join(path.read_bytes() for path in sorted(folder.iterdir()) if path.name.startswith("bank.sqlite3"))


def test_a_card_payment_keeps_only_the_masked_number(tmp_path: Path) -> None:
    store = Store(tmp_path / "bank")
    key = bytes.fromhex((tmp_path / "bank" / "payer.key").read_text())
    card = store.card(VISA)
    assert card == Card(ref=keyed_ref(key, f"card:{VISA}"), last4="1111", network="Visa")
    assert card.masked == "**** **** **** 1111" and str(card) == "Visa **** **** **** 1111"
    assert VISA not in repr(card)
    assert store.card(VISA).ref == card.ref  # the same card, the same reference
    assert card.ref != store.payer_ref(VISA)  # never the reference of an account with the same digits
    assert store.card(MASTERCARD).ref != card.ref
    assert Store(tmp_path / "other").card(VISA).ref != card.ref  # another bank's key
    for bad in (VISA[:11], VISA + "1234", "4111 1111 1111 1111"):
        with pytest.raises(ValueError):
            store.card(bad)
    with pytest.raises(ValueError):
        Card(ref=card.ref, last4=VISA, network="Visa")  # a card keeps four digits, no more
    with pytest.raises(ValueError):
        Card(ref=VISA, last4="1111", network="Visa")  # the reference is a keyed hash

    paid, _ = store.record_payment(
        bank_code=BANK, billing_code=TELLER_BILL, amount=350_000, channel="card", account=None, card=card
    )
    again, _ = store.record_payment(
        bank_code=BANK, billing_code=RETRY_BILL, amount=500_000, channel="card", account=None, card=store.card(VISA)
    )
    assert (paid.channel, paid.terminal_id, paid.payer_ref) == ("card", "CARD-GW-01", card.ref)
    assert (paid.card_masked, paid.card_network) == ("**** **** **** 1111", "Visa")
    assert again.payer_ref == paid.payer_ref  # the same card paying for another applicant: recognisable
    assert paid.as_json()["card"] == {"number": "**** **** **** 1111", "network": "Visa"}
    body = json.loads(store.notification_body(paid.ntpn) or b"")
    assert set(body) == FIELDS  # nothing about the card beyond its reference goes to Gerbang
    assert (body["channel"], body["terminal_id"], body["payer_ref"]) == ("card", "CARD-GW-01", card.ref)

    teller, _ = store.record_payment(
        bank_code=BANK, billing_code=UNKNOWN_BILL, amount=5, channel="teller", account=None
    )
    assert (teller.card_masked, teller.card_network, teller.as_json()["card"]) == (None, None, None)
    for wrong in (
        {"channel": "card", "account": None},  # a card payment without a card
        {"channel": "card", "account": "1234567890", "card": card},  # and an account as well
        {"channel": "atm", "account": None, "card": card},  # a card on another channel
    ):
        with pytest.raises(ValueError, match="card"):
            store.record_payment(bank_code=BANK, billing_code=EXPORT_BILL, amount=5, **wrong)

    stored = _every_stored_value(store.path)
    assert "**** **** **** 1111" in stored
    assert not any(VISA in value or VISA[-12:] in value for value in stored)
    assert VISA.encode() not in _raw_bytes(tmp_path / "bank")
    with closing(sqlite3.connect(store.path)) as db, pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        db.execute("UPDATE payments SET card_masked = ? WHERE ntb = ?", (VISA, paid.ntb))  # the database refuses


def test_a_payments_table_made_before_cards_gets_the_card_columns(tmp_path: Path) -> None:
    folder = tmp_path / "bank"
    folder.mkdir()
    with closing(sqlite3.connect(folder / "bank.sqlite3")) as db:
        db.executescript(SCHEMA_BEFORE_HELD)
        db.execute("INSERT INTO meta (key, value) VALUES ('opened', '2026-05-01')")
        _old_row(db, 1, "acknowledged", TELLER_BILL)
        db.commit()
    store = Store(folder)
    old = store.payment("SBX0000000000001")
    assert old is not None and (old.card_masked, old.card_network) == (None, None)
    paid, _ = store.record_payment(
        bank_code=BANK, billing_code=RETRY_BILL, amount=5, channel="card", account=None, card=store.card(AMEX)
    )
    assert (paid.card_masked, paid.card_network) == ("**** **** **** 0005", "Amex/JCB")
    with closing(sqlite3.connect(store.path)) as db:
        with pytest.raises(sqlite3.IntegrityError, match="CHECK"):  # the added column has its check too
            db.execute("UPDATE payments SET card_masked = ? WHERE id = ?", (AMEX, paid.id))
        columns = [row[1] for row in db.execute("PRAGMA table_info(payments)")]
    assert columns[-2:] == ["card_masked", "card_network"]
    Store(folder)  # opening it again adds nothing
    with closing(sqlite3.connect(store.path)) as db:
        assert [row[1] for row in db.execute("PRAGMA table_info(payments)")] == columns


def test_back_off_doubles_up_to_the_cap_with_jitter() -> None:
    assert [backoff(n, jitter=lambda: 0.5) for n in (1, 2, 3, 4, 5, 6, 7, 8)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert backoff(1, jitter=lambda: 0.0) == pytest.approx(0.8)
    assert backoff(2, jitter=lambda: 1.0) == pytest.approx(2.4)
    assert backoff(10, jitter=lambda: 1.0) == 60
    assert backoff(3, base=0.1, cap=0.3, jitter=lambda: 0.5) == pytest.approx(0.3)


def test_a_payment_and_its_notification_are_recorded_together_once(tmp_path: Path) -> None:
    store = Store(tmp_path / "bank")
    paid, created = store.record_payment(
        bank_code=BANK,
        billing_code=TELLER_BILL,
        amount=350_000,
        channel="atm",
        account="1234567890",
        request_id="r" * 20,
    )
    assert created and paid.state == "pending" and paid.terminal_id == "ATM-07"
    assert re.fullmatch(rf"SBX-{paid.id}-[0-9a-f]{{8}}", paid.notification_id)
    assert datetime.fromisoformat(paid.paid_at).utcoffset() == timedelta(hours=7)
    again, created = store.record_payment(
        bank_code=BANK,
        billing_code=TELLER_BILL,
        amount=350_000,
        channel="atm",
        account="1234567890",
        request_id="r" * 20,
    )
    assert not created and again.ntb == paid.ntb  # the same confirmation twice: one payment
    with pytest.raises(AlreadyPaid) as refused:
        store.record_payment(bank_code=BANK, billing_code=TELLER_BILL, amount=350_000, channel="teller", account=None)
    assert refused.value.payment.ntb == paid.ntb
    test, _ = store.record_payment(
        bank_code=BANK, billing_code=TELLER_BILL, amount=1, channel="teller", account=None, test=True
    )
    assert test.amount == 1 and test.payer_ref != paid.payer_ref
    body = json.loads(store.due(time.time())[0].body)
    assert set(body) == FIELDS and body["ntpn"] == paid.ntpn and body["payer_ref"] == store.payer_ref("1234567890")
    with pytest.raises(ValueError, match="offset"):
        store.record_payment(
            bank_code=BANK,
            billing_code=TELLER_BILL,
            amount=1,
            channel="atm",
            account=None,
            paid_at=datetime(2026, 1, 1),
        )
    assert store.status()["notifications"] == {"pending": 2, "acknowledged": 0, "failed": 0, "held": 0}


def test_the_opened_day_is_set_when_the_database_is_created_only(tmp_path: Path) -> None:
    store = Store(tmp_path / "bank", opened=date(2026, 5, 1))
    assert store.opened() == date(2026, 5, 1)
    assert Store(tmp_path / "bank", opened=date(2026, 6, 1)).opened() == date(2026, 5, 1)  # ignored: it exists
    assert Store(tmp_path / "bank").opened() == date(2026, 5, 1)
    before = datetime.now(WIB).date()
    fresh = Store(tmp_path / "other").opened()
    assert fresh in {before, datetime.now(WIB).date()}  # default: today at the bank


# The database as the bank made it before the ``held`` state: written out here, not derived from the code.
SCHEMA_BEFORE_HELD = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE payments (
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
    test INTEGER NOT NULL DEFAULT 0);
CREATE INDEX payments_billing_code ON payments (billing_code);
CREATE INDEX payments_booked_date ON payments (booked_date);
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    payment_id INTEGER NOT NULL UNIQUE REFERENCES payments (id),
    notification_id TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'acknowledged', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    last_attempt_at TEXT,
    last_error TEXT,
    answer TEXT,
    done_at TEXT);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
"""


def _old_row(db: sqlite3.Connection, number: int, state: str, billing_code: str) -> None:
    ntb, ntpn = f"SBX000000000000{number}", f"OLDNTPN00000000{number}"
    db.execute(
        "INSERT INTO payments (id, ntb, ntpn, billing_code, amount, paid_at, booked_at, booked_date, channel,"
        " terminal_id, payer_ref) VALUES (?, ?, ?, ?, 350000, '2026-05-02T10:00:00+07:00',"
        " '2026-05-02T10:00:00+07:00', '2026-05-02', 'teller', 'TLR-01', 'ref')",
        (number, ntb, ntpn, billing_code),
    )
    body = json.dumps({"ntb": ntb, "ntpn": ntpn}, separators=(",", ":"))
    acknowledged = state == "acknowledged"
    db.execute(
        "INSERT INTO outbox (payment_id, notification_id, body, state, attempts, next_attempt_at, last_attempt_at,"
        " last_error, answer, done_at) VALUES (?, ?, ?, ?, ?, 1777777777.5, ?, ?, ?, ?)",
        (
            number,
            f"SBX-{number}-0000000{number}",
            body,
            state,
            2 if acknowledged else 1,
            "2026-05-02T03:00:01Z",
            "HTTP 500",
            '{"status": "credited"}' if acknowledged else None,
            "2026-05-02T03:00:01Z" if acknowledged else None,
        ),
    )


def test_an_outbox_made_before_held_is_upgraded_in_place(tmp_path: Path) -> None:
    folder = tmp_path / "bank"
    folder.mkdir()
    with closing(sqlite3.connect(folder / "bank.sqlite3")) as db:
        db.executescript(SCHEMA_BEFORE_HELD)
        db.execute("INSERT INTO meta (key, value) VALUES ('opened', '2026-05-01')")
        _old_row(db, 1, "acknowledged", TELLER_BILL)
        _old_row(db, 2, "pending", RETRY_BILL)
        db.commit()
        with pytest.raises(sqlite3.IntegrityError, match="CHECK"):  # really the old check
            db.execute("UPDATE outbox SET state = 'held' WHERE id = 1")
        db.rollback()
        rows_before = db.execute("SELECT * FROM outbox ORDER BY id").fetchall()

    store = Store(folder, opened=date(2026, 6, 1))
    with closing(sqlite3.connect(store.path)) as db:
        assert db.execute("SELECT * FROM outbox ORDER BY id").fetchall() == rows_before  # every column survived
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert tables == {"meta", "payments", "outbox"}  # no table left over from the move
        [index] = db.execute("SELECT tbl_name FROM sqlite_master WHERE type = 'index' AND name = 'outbox_due'")
        assert index == ("outbox",)
        schema = db.execute("SELECT sql FROM sqlite_master WHERE name = 'outbox'").fetchone()[0]
        assert "'held'" in schema
    assert store.opened() == date(2026, 5, 1)  # the old database keeps its first day
    old = store.payment("SBX0000000000001")
    assert old is not None and old.state == "acknowledged" and old.answer == {"status": "credited"}
    assert [row.notification_id for row in store.due(1777777778)] == ["SBX-2-00000002"]
    held, _ = store.record_payment(
        bank_code=BANK, billing_code=UNKNOWN_BILL, amount=5, channel="atm", account=None, test=True, notify=False
    )
    assert held.state == "held" and held.id == 3
    assert store.status()["notifications"] == {"pending": 1, "acknowledged": 1, "failed": 0, "held": 1}
    with closing(sqlite3.connect(store.path)) as db:
        schema_after = db.execute("SELECT sql FROM sqlite_master WHERE name = 'outbox'").fetchone()[0]
        rows_after = db.execute("SELECT * FROM outbox ORDER BY id").fetchall()
    again = Store(folder)  # opening an upgraded database changes nothing
    with closing(sqlite3.connect(again.path)) as db:
        assert db.execute("SELECT sql FROM sqlite_master WHERE name = 'outbox'").fetchone()[0] == schema_after
        assert db.execute("SELECT * FROM outbox ORDER BY id").fetchall() == rows_after


def test_a_held_notification_is_never_sent_but_counted_and_readable(tmp_path: Path) -> None:
    store = Store(tmp_path / "bank")
    record: dict[str, Any] = {"bank_code": BANK, "amount": 350_000, "channel": "atm", "account": "1234567890"}
    earlier, later = datetime(2026, 6, 1, 9, 0, tzinfo=WIB), datetime(2026, 6, 1, 10, 0, tzinfo=WIB)
    held, _ = store.record_payment(billing_code=HELD_BILL, notify=False, now=earlier, **record)
    sent, _ = store.record_payment(billing_code=SENT_BILL, now=later, **record)
    assert (held.state, sent.state) == ("held", "pending")
    far = time.time() + 10**9
    assert [row.notification_id for row in store.due(far)] == [sent.notification_id]  # the older held one is not
    assert store.next_due() == later.timestamp()
    assert store.requeue(earlier.timestamp() - 3600) == 1  # only the pending row is moved
    with closing(sqlite3.connect(store.path)) as db:
        rows = dict(db.execute("SELECT payment_id, state || ' ' || next_attempt_at FROM outbox").fetchall())
    assert rows == {held.id: f"held {earlier.timestamp()}", sent.id: f"pending {earlier.timestamp() - 3600}"}
    assert [row.notification_id for row in store.due(far)] == [sent.notification_id]
    assert store.status()["notifications"] == {"pending": 1, "acknowledged": 0, "failed": 0, "held": 1}
    assert [p.ntb for p in store.booked_on(date(2026, 6, 1))] == [held.ntb, sent.ntb]  # booked all the same

    sent_body = store.notification_body(sent.ntpn)
    assert sent_body == store.due(far)[0].body.encode()  # the very bytes the notifier sends
    held_body = store.notification_body(held.ntpn)
    assert held_body is not None
    data = json.loads(held_body)
    assert held_body == json.dumps(data, separators=(",", ":")).encode()  # compact, as stored
    assert data == {
        "notification_id": held.notification_id,
        "bank_code": BANK,
        "billing_code": HELD_BILL,
        "amount": 350_000,
        "paid_at": "2026-06-01T09:00:00+07:00",
        "ntb": held.ntb,
        "ntpn": held.ntpn,
        "channel": "atm",
        "terminal_id": "ATM-07",
        "payer_ref": store.payer_ref("1234567890"),
    }
    assert list(data) == list(json.loads(sent_body))  # the same fields in the same order
    assert store.notification_body("A" * 16) is None
    assert store.notification_body(held.ntb) is None  # an NTB is not an NTPN


# --- A fake Gerbang --------------------------------------------------------------------------------


def _mac(secret: bytes, payload: bytes) -> str:
    return hmac.new(secret, payload, hashlib.sha256).hexdigest()


@dataclass
class Received:
    headers: Message
    body: bytes
    answer: int


@dataclass
class FakeGerbang:
    """Gerbang's bank API as the protocol describes it, with knobs to misbehave."""

    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    bills: dict[str, dict[str, Any]] = field(default_factory=dict)
    notifications: list[Received] = field(default_factory=list)
    inquiries: list[str] = field(default_factory=list)
    fail_next: int = 0  # answer the next notifications 500
    unsigned: bool = False  # answer without a signature
    refuse: set[str] = field(default_factory=set)  # billing codes whose notifications get 422
    seen: dict[str, str] = field(default_factory=dict)  # notification id -> outcome
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def reset_bills(self) -> None:
        later = (datetime.now(UTC) + timedelta(days=7)).isoformat()
        for billing_code in ISSUED:
            self.bills[billing_code] = {
                "amount": 350_000,
                "payer_name": "Siti Rahayu",
                "expires": later,
                "status": "issued",
            }
        earlier = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
        self.bills[EXPIRED_BILL] = {
            "amount": 350_000,
            "payer_name": "Budi Santoso",
            "expires": earlier,
            "status": "issued",
        }

    def authentic(self, headers: Message, body: bytes, method: str, path: str) -> bool:
        """The bank's signature checked from the spec, independently of the bank's code."""
        found = dict.fromkeys(("t", "v1"), "")
        values = []
        for part in (headers.get("Gerbang-Signature") or "").split(","):
            key, _, value = part.partition("=")
            if key == "v1":
                values.append(value)
            found[key] = value
        if headers.get("Gerbang-Bank") != BANK or not found["t"].isdigit():
            return False
        payload = f"{found['t']}.".encode() + body if body else f"{found['t']}.{method} {path}".encode()
        fresh = abs(time.time() - int(found["t"])) <= 300
        return fresh and any(hmac.compare_digest(v, _mac(self.secret, payload)) for v in values)

    def signed_headers(self, body: bytes) -> dict[str, str]:
        t = int(time.time())
        return {} if self.unsigned else {"Gerbang-Signature": f"t={t},v1={_mac(self.secret, f'{t}.'.encode() + body)}"}

    def wait_for(self, condition: Callable[[list[Received]], bool], timeout: float = 10) -> list[Received]:
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                got = list(self.notifications)
            if condition(got):
                return got
            if time.monotonic() > deadline:
                raise AssertionError(f"not received in time: {[r.body for r in got]}")
            time.sleep(0.05)

    def for_bill(self, billing_code: str) -> list[Received]:
        with self.lock:
            return [r for r in self.notifications if json.loads(r.body).get("billing_code") == billing_code]


class FakeGerbangHandler(BaseHTTPRequestHandler):
    server: FakeGerbangServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, status: int, payload: dict[str, Any], signed: bool = True) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (self.server.fake.signed_headers(body) if signed else {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        fake = self.server.fake
        billing_code = self.path.removeprefix("/api/bank/v1/bills/")
        if not fake.authentic(self.headers, b"", "GET", self.path):
            self._answer(401, {"error": "unauthorized"}, signed=False)
            return
        with fake.lock:
            fake.inquiries.append(billing_code)
            bill = fake.bills.get(billing_code)
        if bill is None:
            self._answer(404, {"error": "unknown billing code"})
            return
        payload = {
            "billing_code": billing_code,
            "amount": bill["amount"],
            "currency": "IDR",
            "payer_name": bill["payer_name"],
            "items": [{"service": "Passport 48 pages", "amount": bill["amount"]}],
            "expires_at": bill["expires"],
            "status": bill["status"],
        }
        expired = datetime.fromisoformat(bill["expires"]) <= datetime.now(UTC)
        if bill["status"] != "issued" or expired:
            self._answer(409, payload | {"status": "expired" if expired else bill["status"], "payable": False})
        else:
            self._answer(200, payload | {"payable": True})

    def do_POST(self) -> None:
        fake = self.server.fake
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        status, payload, signed = self._notification(body)
        with fake.lock:
            fake.notifications.append(Received(self.headers, body, status))
        self._answer(status, payload, signed)

    def _notification(self, body: bytes) -> tuple[int, dict[str, Any], bool]:
        fake = self.server.fake
        if self.path != "/api/bank/v1/notifications" or not fake.authentic(self.headers, body, "POST", self.path):
            return 401, {"error": "unauthorized"}, False
        with fake.lock:
            if fake.fail_next > 0:
                fake.fail_next -= 1
                return 500, {"error": "server error"}, False
            data = json.loads(body)
            if set(data) != FIELDS or data["bank_code"] != BANK or data["billing_code"] in fake.refuse:
                return 422, {"error": "invalid request", "fields": {"billing_code": "refused"}}, True
            if data["notification_id"] in fake.seen:
                return 200, {"status": "duplicate"}, True
            bill = fake.bills.get(data["billing_code"])
            outcome = "exception"
            if bill is not None and bill["status"] == "issued" and bill["amount"] == data["amount"]:
                bill["status"], outcome = "paid", "credited"
            fake.seen[data["notification_id"]] = outcome
            return 200, {"status": outcome}, True


class FakeGerbangServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeGerbang) -> None:
        super().__init__(("127.0.0.1", 0), FakeGerbangHandler)
        self.fake = fake


@pytest.fixture(scope="module")
def gerbang() -> Iterator[FakeGerbang]:
    fake = FakeGerbang()
    fake.reset_bills()
    server = FakeGerbangServer(fake)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()


def _secrets_file(folder: Path, *secret: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{BANK}.secrets"
    path.write_text("# written by the test\n" + "".join(s.hex() + "\n" for s in secret))
    return path


# --- The notifier, in process --------------------------------------------------------------------


def test_deliver_due_retries_with_back_off_until_acknowledged(tmp_path: Path, gerbang: FakeGerbang) -> None:
    store = Store(tmp_path / "bank")
    client = Gerbang(gerbang.url, BANK, _secrets_file(tmp_path / "keys", gerbang.secret), timeout=5)
    notifier = Notifier(store, client, retry_base=10, retry_cap=100)
    payment, _ = store.record_payment(
        bank_code=BANK, billing_code=IN_PROCESS_BILL, amount=350_000, channel="mobile", account="99887766"
    )
    now = time.time()
    gerbang.fail_next = 1
    [first] = notifier.deliver_due(now)
    assert first.outcome == "retry" and "HTTP 500" in first.detail
    assert notifier.deliver_due(now + 7) == []  # the first back-off is 10 s (+-20 %): not due yet
    gerbang.unsigned = True
    try:
        [second] = notifier.deliver_due(now + 13)  # an unsigned 200 is no acknowledgement
    finally:
        gerbang.unsigned = False
    assert second.outcome == "retry" and "without a valid signature" in second.detail
    assert notifier.deliver_due(now + 13 + 15) == []  # then 20 s
    [third] = notifier.deliver_due(now + 13 + 25)
    # Gerbang had credited it but its answer did not count: the retry is recognised as the same notification.
    assert (third.outcome, third.detail) == ("acknowledged", "duplicate")
    assert notifier.deliver_due(now + 1000) == []
    done = store.payment(payment.ntb)
    assert done is not None and done.state == "acknowledged" and done.attempts == 3
    assert done.answer == {"status": "duplicate"}
    bodies = {r.body for r in gerbang.for_bill(IN_PROCESS_BILL)}
    assert len(bodies) == 1  # every retry is the very same notification
    status = store.status()
    assert status["notifications"] == {"pending": 0, "acknowledged": 1, "failed": 0, "held": 0}
    assert "without a valid signature" in status["last_error"]["error"]


def test_a_refused_notification_is_failed_not_retried(tmp_path: Path, gerbang: FakeGerbang) -> None:
    store = Store(tmp_path / "bank")
    client = Gerbang(gerbang.url, BANK, _secrets_file(tmp_path / "keys", gerbang.secret), timeout=5)
    notifier = Notifier(store, client)
    gerbang.refuse.add(INVALID_BILL)
    store.record_payment(bank_code=BANK, billing_code=INVALID_BILL, amount=350_000, channel="atm", account="55443322")
    [delivery] = notifier.deliver_due(time.time())
    assert delivery.outcome == "failed" and "422" in delivery.detail
    assert notifier.deliver_due(time.time() + 3600) == []
    assert store.status()["notifications"] == {"pending": 0, "acknowledged": 0, "failed": 1, "held": 0}
    assert len(gerbang.for_bill(INVALID_BILL)) == 1


def test_wrong_secret_and_no_gerbang_are_retried(tmp_path: Path, gerbang: FakeGerbang) -> None:
    store = Store(tmp_path / "bank")
    store.record_payment(bank_code=BANK, billing_code=UNKNOWN_BILL, amount=5, channel="atm", account=None, test=True)
    wrong = Gerbang(gerbang.url, BANK, _secrets_file(tmp_path / "keys", secrets.token_bytes(32)), timeout=5)
    [delivery] = Notifier(store, wrong).deliver_due(time.time() + 10)
    assert delivery.outcome == "retry" and "HTTP 401" in delivery.detail and "refused our signature" in delivery.detail
    nobody = Gerbang(f"http://127.0.0.1:{free_port()}", BANK, tmp_path / "keys" / f"{BANK}.secrets", timeout=5)
    [delivery] = Notifier(store, nobody).deliver_due(time.time() + 100)
    assert delivery.outcome == "retry" and "refused" in delivery.detail.lower()
    missing = Gerbang(gerbang.url, BANK, tmp_path / "missing.secrets")
    [delivery] = Notifier(store, missing).deliver_due(time.time() + 1000)
    assert delivery.outcome == "retry" and "no secret" in delivery.detail
    assert store.status()["notifications"]["pending"] == 1


# --- Statements, in process ----------------------------------------------------------------------


def test_end_of_day_statements(tmp_path: Path) -> None:
    store = Store(tmp_path / "bank")
    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE meta SET value = '2026-05-30' WHERE key = 'opened'")
    day1 = datetime(2026, 5, 31, 10, 0, tzinfo=WIB)
    day2 = datetime(2026, 6, 1, 9, 30, tzinfo=WIB)
    record: dict[str, Any] = {"bank_code": BANK, "channel": "teller", "account": None}
    store.record_payment(billing_code=TELLER_BILL, amount=350_000, now=day1, **record)
    first, _ = store.record_payment(billing_code=RETRY_BILL, amount=350_000, now=day2, **record)
    late = datetime(2026, 5, 31, 23, 59, tzinfo=WIB)
    second, _ = store.record_payment(billing_code=UNKNOWN_BILL, amount=100, now=day2, paid_at=late, test=True, **record)

    statement = statements.build(store, date(2026, 6, 1), account="0001234567890", bank_code=BANK, now=day2)
    assert (statement.sequence, statement.opening, statement.total, statement.closing) == (3, 350_000, 350_100, 700_100)
    text = statements.mt940(statement)
    lines = text.split("\r\n")
    assert lines[:4] == [":20:SBX26060100003", ":25:0001234567890", ":28C:3/1", ":60F:C260601IDR350000,00"]
    assert f":61:2606010601C350000,00NTRF{RETRY_BILL}//{first.ntb}" in lines
    assert f":61:2605310601C100,00NTRF{UNKNOWN_BILL}//{second.ntb}" in lines  # value date: when it was paid
    assert f":86:NTPN {first.ntpn} BILLING {RETRY_BILL}" in lines
    assert lines[-4:] == [":62F:C260601IDR700100,00", ":64:C260601IDR700100,00", "-", ""]
    assert all(len(line) <= 65 for line in lines)

    parsed = statements.parse_camt053(statements.camt053(statement))
    assert parsed["sequence"] == "3" and parsed["account"] == "0001234567890"
    assert parsed["balances"] == {"OPBD": "350000.00", "CLBD": "700100.00"}
    assert parsed["entries"][0] == {
        "amount": "350000.00",
        "ntb": first.ntb,
        "billing_code": RETRY_BILL,
        "ntpn": first.ntpn,
    }
    empty = statements.build(store, date(2026, 6, 2), account="1", bank_code=BANK)
    assert (empty.sequence, empty.opening, empty.closing, empty.entries) == (4, 700_100, 700_100, [])
    assert ":61:" not in statements.mt940(empty)


def _account_with_ref_chars(store: Store, *chars: str) -> str:
    """An account number whose payer reference (under this store's key) holds every one of ``chars``."""
    for number in range(10_000_000, 10_010_000):
        if all(char in store.payer_ref(str(number)) for char in chars):
            return str(number)
    raise AssertionError(f"no account gives a reference with {chars}")


def _mt940_entries(text: str) -> dict[str, list[str]]:
    """The lines of each ``:61:`` entry up to the next one or the closing balance, by NTB."""
    entries: dict[str, list[str]] = {}
    current: list[str] = []
    for line in text.split("\r\n"):
        if line.startswith((":61:", ":62F:")):
            current = []
            if line.startswith(":61:"):
                entries[line.rsplit("//", 1)[1]] = current
        current.append(line)
    return entries


def _camt_additional_info(document: bytes) -> dict[str, str]:
    """``AddtlTxInf`` of each camt.053 entry, by NTB."""
    ns = {"c": statements.CAMT053}
    root = ET.fromstring(document)  # noqa: S314 (the bank's own output)
    return {
        str(entry.findtext("c:AcctSvcrRef", namespaces=ns)): str(
            entry.findtext("c:NtryDtls/c:TxDtls/c:AddtlTxInf", namespaces=ns)
        )
        for entry in root.iterfind("c:BkToCstmrStmt/c:Stmt/c:Ntry", ns)
    }


def test_statements_carry_the_payer_reference(tmp_path: Path) -> None:
    store = Store(tmp_path / "bank", opened=date(2026, 5, 30))
    account = _account_with_ref_chars(store, "-", "_")
    ref = store.payer_ref(account)
    booked = datetime(2026, 6, 1, 9, 30, tzinfo=WIB)
    mobile, _ = store.record_payment(
        bank_code=BANK, billing_code=TELLER_BILL, amount=350_000, channel="mobile", account=account, now=booked
    )
    cash, _ = store.record_payment(
        bank_code=BANK, billing_code=RETRY_BILL, amount=100, channel="teller", account=None, now=booked, test=True
    )
    assert mobile.payer_ref == ref and "-" in ref and "_" in ref
    statement = statements.build(store, date(2026, 6, 1), account="0001234567890", bank_code=BANK, now=booked)

    entries = _mt940_entries(statements.mt940(statement))
    swift_ref = ref.replace("-", "+").replace("_", "/")
    assert entries[mobile.ntb] == [
        f":61:2606010601C350000,00NTRF{TELLER_BILL}//{mobile.ntb}",
        f":86:NTPN {mobile.ntpn} BILLING {TELLER_BILL}",
        "PAID 2026-06-01T09:30:00+07:00 MOBILE MOB-APP",
        f"PAYER {swift_ref}",
    ]
    assert entries[cash.ntb][3] == f"PAYER {cash.payer_ref.replace('-', '+').replace('_', '/')}"
    for lines in entries.values():
        assert all(re.fullmatch(r"[A-Za-z0-9/?:().,'+ -]{1,65}", line) for line in lines)  # SWIFT x, 65 wide
    payer = entries[mobile.ntb][3].removeprefix("PAYER ")
    assert "-" not in payer and "_" not in payer
    read_back = payer.replace("+", "-").replace("/", "_")  # what the reader does
    assert read_back == ref == json.loads(store.notification_body(mobile.ntpn) or b"")["payer_ref"]

    info = _camt_additional_info(statements.camt053(statement))
    assert info == {
        mobile.ntb: f"CHANNEL mobile TERMINAL MOB-APP PAYER {ref}",  # XML carries base64url as it is
        cash.ntb: f"CHANNEL teller TERMINAL TLR-01 PAYER {cash.payer_ref}",
    }


def test_statements_include_card_payments(tmp_path: Path) -> None:
    store = Store(tmp_path / "bank", opened=date(2026, 5, 30))
    booked = datetime(2026, 6, 1, 9, 30, tzinfo=WIB)
    card = store.card(MASTERCARD)
    paid, _ = store.record_payment(
        bank_code=BANK, billing_code=CARD_BILL, amount=500_000, channel="card", account=None, card=card, now=booked
    )
    teller, _ = store.record_payment(
        bank_code=BANK, billing_code=TELLER_BILL, amount=350_000, channel="teller", account=None, now=booked
    )
    statement = statements.build(store, date(2026, 6, 1), account="0001234567890", bank_code=BANK, now=booked)
    assert [p.ntb for p in statement.entries] == [paid.ntb, teller.ntb] and statement.closing == 850_000

    text = statements.mt940(statement)
    assert _mt940_entries(text)[paid.ntb] == [
        f":61:2606010601C500000,00NTRF{CARD_BILL}//{paid.ntb}",
        f":86:NTPN {paid.ntpn} BILLING {CARD_BILL}",
        "PAID 2026-06-01T09:30:00+07:00 CARD CARD-GW-01",
        f"PAYER {card.ref.replace('-', '+').replace('_', '/')}",
    ]
    assert ":62F:C260601IDR850000,00" in text.split("\r\n")
    document = statements.camt053(statement)
    assert _camt_additional_info(document)[paid.ntb] == f"CHANNEL card TERMINAL CARD-GW-01 PAYER {card.ref}"
    parsed = statements.parse_camt053(document)
    assert parsed["entries"][0] == {
        "amount": "500000.00",
        "ntb": paid.ntb,
        "billing_code": CARD_BILL,
        "ntpn": paid.ntpn,
    }
    assert parsed["balances"] == {"OPBD": "0.00", "CLBD": "850000.00"}
    for output in (text.encode(), document):
        assert MASTERCARD.encode() not in output


# --- The bank as a process -------------------------------------------------------------------------


def http(
    url: str, method: str = "GET", body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, Message, bytes, str]:
    """``(status, headers, body, final URL)``; a 303 after a POST is followed, like a browser does."""
    assert url.startswith("http://127.0.0.1:")
    request = urllib.request.Request(url, method=method, data=body, headers=headers or {})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (local)
            return response.status, response.headers, response.read(), response.url
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read(), url


def post_form(url: str, fields: dict[str, str]) -> tuple[int, str, str]:
    status, _, body, final = http(url, "POST", urllib.parse.urlencode(fields).encode())
    return status, body.decode(), final


def hidden_fields(page: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page))


@dataclass
class BankProcess:
    process: subprocess.Popen[bytes]
    url: str
    data: Path
    output: Path

    def status(self) -> dict[str, Any]:
        return json.loads(http(self.url + "/api/status")[2])

    def wait_status(self, condition: Callable[[dict[str, Any]], bool], timeout: float = 10) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while not condition(status := self.status()):
            assert time.monotonic() < deadline, status
            time.sleep(0.05)
        return status


def start_bank(base: Path, gerbang_url: str, secrets_path: Path, *extra: str) -> BankProcess:
    port = free_port()
    output = base / f"output-{port}"
    command = [sys.executable, "-m", "services.bank", "--data", str(base / "data"), "--port", str(port)]
    command += ["--gerbang", gerbang_url, "--code", BANK, "--secrets", str(secrets_path), "--timeout", "5", *extra]
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANK_")}
    with output.open("w") as out:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            if http(url + "/healthz")[2] == b"ok\n":
                return BankProcess(process, url, base / "data", output)
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            stop(process)
            raise AssertionError(f"the bank did not start:\n{output.read_text()}")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory, gerbang: FakeGerbang) -> Iterator[BankProcess]:
    base = tmp_path_factory.mktemp("bank")
    secrets_path = _secrets_file(base / "keys", gerbang.secret)
    process = start_bank(base, gerbang.url, secrets_path, "--test-api", "--retry-base", "0.1", "--retry-cap", "0.5")
    try:
        yield process
        process.process.send_signal(signal.SIGTERM)
        assert process.process.wait(timeout=15) == 0  # a clean stop
    finally:
        stop(process.process)


def test_the_screens(bank: BankProcess) -> None:
    status, _, body, _ = http(bank.url + "/")
    page = body.decode()
    assert status == 200
    assert all(f'href="/{channel}"' in page for channel in ("teller", "atm", "mobile", "card"))
    for channel, account_field in (("teller", 'value="cash"'), ("atm", "required"), ("mobile", "required")):
        status, headers, body, _ = http(f"{bank.url}/{channel}")
        assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
        assert f'action="/{channel}/inquiry"' in body.decode() and account_field in body.decode()
        assert "<script" not in body.decode()
    assert http(bank.url + "/branch")[0] == 404
    assert http(bank.url + "/teller/inquiry")[0] == 405
    assert http(bank.url + "/healthz")[2] == b"ok\n"
    cross = {"Origin": "http://evil.example", "Content-Type": "application/x-www-form-urlencoded"}
    assert http(bank.url + "/teller/inquiry", "POST", b"billing_code=1", cross)[0] == 403


def test_a_teller_payment_gives_a_receipt_and_a_signed_notification(bank: BankProcess, gerbang: FakeGerbang) -> None:
    grouped = f"{TELLER_BILL[:5]} {TELLER_BILL[5:10]} {TELLER_BILL[10:]}"
    status, page, _ = post_form(bank.url + "/teller/inquiry", {"billing_code": grouped, "account": "880-011-2233"})
    assert status == 200, page
    assert "Siti Rahayu" in page and "Rp&nbsp;350.000" in page and "Pay Rp&nbsp;350.000" in page
    assert 'name="amount"' in page and '<input name="amount"' not in page  # never typed: only carried
    form = hidden_fields(page)
    assert form["billing_code"] == TELLER_BILL and form["amount"] == "350000" and form["account"] == "8800112233"

    status, receipt, final = post_form(bank.url + "/teller/pay", form)
    assert status == 200 and re.search(r"/receipts/SBX[0-9]{13}$", final), receipt
    ntb = final.rsplit("/", 1)[1]
    ntpn = re.search(r'<span class="ntpn">([A-Z0-9]{16})</span>', receipt)
    assert ntpn is not None and ntb in receipt and "Rp&nbsp;350.000" in receipt and grouped in receipt

    gerbang.wait_for(lambda got: any(r.answer == 200 for r in got if TELLER_BILL.encode() in r.body))
    [received] = gerbang.for_bill(TELLER_BILL)
    assert gerbang.authentic(received.headers, received.body, "POST", "/api/bank/v1/notifications")
    assert received.headers["Content-Type"] == "application/json"
    data = json.loads(received.body)
    key = bytes.fromhex((bank.data / "payer.key").read_text())
    assert data == {
        "notification_id": data["notification_id"],
        "bank_code": BANK,
        "billing_code": TELLER_BILL,
        "amount": 350_000,
        "paid_at": data["paid_at"],
        "ntb": ntb,
        "ntpn": ntpn.group(1),
        "channel": "teller",
        "terminal_id": "TLR-01",
        "payer_ref": keyed_ref(key, "8800112233"),
    }
    assert re.fullmatch(r"SBX-[0-9]+-[0-9a-f]{8}", data["notification_id"])
    paid_at = datetime.fromisoformat(data["paid_at"])
    assert paid_at.utcoffset() == timedelta(hours=7) and abs(paid_at - datetime.now(UTC)) < timedelta(minutes=1)
    assert "8800112233" not in received.body.decode()
    bank.wait_status(lambda s: s["notifications"]["acknowledged"] >= 1)

    # The confirmation sent again (a double click, a reload): the same receipt, no second payment.
    status, again, final = post_form(bank.url + "/teller/pay", form)
    assert status == 200 and final.endswith(ntb)
    assert "Notified to Gerbang (credited)" in again
    assert len(gerbang.for_bill(TELLER_BILL)) == 1
    # Gerbang now says paid: nobody takes money for it again.
    status, page, _ = post_form(bank.url + "/atm/inquiry", {"billing_code": TELLER_BILL, "account": "99990000"})
    assert status == 409 and "already paid" in page and "Pay Rp" not in page


def test_unknown_expired_mistyped_and_unavailable(bank: BankProcess, gerbang: FakeGerbang) -> None:
    payments = bank.status()["payments"]["count"]
    status, page, _ = post_form(bank.url + "/teller/inquiry", {"billing_code": UNKNOWN_BILL, "account": "cash"})
    assert status == 404 and "Unknown billing code" in page
    status, page, _ = post_form(bank.url + "/mobile/inquiry", {"billing_code": EXPIRED_BILL, "account": "11223344"})
    assert status == 409 and "expired" in page and "Budi Santoso" in page and "Pay Rp" not in page
    asked = len(gerbang.inquiries)
    typo = TELLER_BILL[:-1] + str((int(TELLER_BILL[-1]) + 1) % 10)
    status, page, _ = post_form(bank.url + "/teller/inquiry", {"billing_code": typo, "account": "cash"})
    assert status == 400 and "not a valid billing code" in page
    status, page, _ = post_form(bank.url + "/atm/inquiry", {"billing_code": RETRY_BILL, "account": ""})
    assert status == 400 and "6 to 20 digits" in page
    assert len(gerbang.inquiries) == asked  # Gerbang was not even asked
    gerbang.unsigned = True
    try:
        status, page, _ = post_form(bank.url + "/teller/inquiry", {"billing_code": RETRY_BILL, "account": "cash"})
    finally:
        gerbang.unsigned = False
    assert status == 503 and "Gerbang unavailable" in page and "no money was taken" in page
    # Paying is checked again: an expired bill cannot be paid with a confirmation form made up by hand.
    form = {"billing_code": EXPIRED_BILL, "account": "cash", "amount": "350000", "request_id": "x" * 24}
    status, page, _ = post_form(bank.url + "/teller/pay", form)
    assert status == 409 and "expired" in page
    assert bank.status()["payments"]["count"] == payments  # no money taken anywhere above


def test_notifications_are_retried_until_acknowledged(bank: BankProcess, gerbang: FakeGerbang) -> None:
    gerbang.fail_next = 2
    status, page, _ = post_form(bank.url + "/atm/inquiry", {"billing_code": RETRY_BILL, "account": "5566778899"})
    assert status == 200
    status, receipt, _ = post_form(bank.url + "/atm/pay", hidden_fields(page))
    assert status == 200 and "ATM-07" in receipt
    got = gerbang.wait_for(lambda got: any(r.answer == 200 for r in got if RETRY_BILL.encode() in r.body))
    mine = [r for r in got if RETRY_BILL.encode() in r.body]
    assert [r.answer for r in mine] == [500, 500, 200]
    assert len({r.body for r in mine}) == 1  # the same notification, byte for byte
    assert all(gerbang.authentic(r.headers, r.body, "POST", "/api/bank/v1/notifications") for r in mine)
    summary = bank.wait_status(lambda s: s["notifications"]["pending"] == 0)
    assert "HTTP 500" in summary["last_error"]["error"]
    assert summary["notifications"]["failed"] == 0


def test_the_test_api_records_a_wrong_amount(bank: BankProcess, gerbang: FakeGerbang) -> None:
    body = json.dumps({"billing_code": TEST_API_BILL, "amount": 300_000, "channel": "mobile"}).encode()
    status, _, answer, _ = http(bank.url + "/api/test/pay", "POST", body, {"Content-Type": "application/json"})
    assert status == 201, answer
    payment = json.loads(answer)
    assert payment["amount"] == 300_000 and payment["terminal_id"] == "MOB-APP"
    bank.wait_status(lambda s: s["notifications"]["pending"] == 0)
    [received] = gerbang.for_bill(TEST_API_BILL)
    assert json.loads(received.body)["notification_id"] == payment["notification_id"]
    _, _, receipt, _ = http(f"{bank.url}/receipts/{payment['ntb']}")
    assert "Notified to Gerbang (exception)" in receipt.decode()
    bad = json.dumps({"billing_code": "x", "amount": 0, "paid_at": "2026-06-01T10:00:00", "extra": 1}).encode()
    status, _, answer, _ = http(bank.url + "/api/test/pay", "POST", bad, {"Content-Type": "application/json"})
    assert status == 400 and set(json.loads(answer)["fields"]) == {"billing_code", "amount", "paid_at", "extra"}


def _expiry(months: int) -> dict[str, str]:
    """The expiry fields of a card expiring ``months`` months from this month at the bank (negative: ago)."""
    today = datetime.now(WIB).date()
    year, month = divmod(today.year * 12 + today.month - 1 + months, 12)
    return {"expiry_month": f"{month + 1:02d}", "expiry_year": str(year)}


def _card_form(billing_code: str, number: str, **extra: str) -> dict[str, str]:
    return {"billing_code": billing_code, "card_number": number, **_expiry(24), "card_holder": "Jane Doe", **extra}


def test_the_card_screen_refuses_a_bad_card_before_gerbang_is_asked(bank: BankProcess, gerbang: FakeGerbang) -> None:
    status, headers, body, _ = http(bank.url + "/card")
    page = body.decode()
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert 'action="/card/inquiry"' in page and "<script" not in page
    for name, autocomplete in (
        ("card_number", "cc-number"),
        ("expiry_month", "cc-exp-month"),
        ("expiry_year", "cc-exp-year"),
        ("card_holder", "cc-name"),
    ):
        assert re.search(rf'<input name="{name}" [^>]*autocomplete="{autocomplete}"[^>]* required', page), name
    assert http(bank.url + "/card/pay")[0] == 405

    payments, asked = bank.status()["payments"]["count"], len(gerbang.inquiries)
    expired = _card_form(CARD_OTHER_BILL, "4111 1111 1111 1111", **_expiry(-1))
    status, page, _ = post_form(bank.url + "/card/inquiry", expired)
    assert status == 400 and "This card has expired" in page, page
    assert VISA not in page and "4111 1111 1111 1111" not in page  # never shown again, not even as a value
    assert 'value="Jane Doe"' in page and f'value="{CARD_OTHER_BILL}"' in page  # the rest is kept
    status, page, _ = post_form(bank.url + "/card/inquiry", _card_form(CARD_OTHER_BILL, VISA[:-1] + "2"))
    assert status == 400 and "That card number is not valid" in page and "Pay Rp" not in page
    status, page, _ = post_form(bank.url + "/card/inquiry", _card_form(CARD_OTHER_BILL, VISA[:11]))
    assert status == 400 and "12 to 19 digits" in page
    status, page, _ = post_form(bank.url + "/card/inquiry", _card_form(CARD_OTHER_BILL, VISA, card_holder="  "))
    assert status == 400 and "card holder&#x27;s name" in page
    everything = {"billing_code": "123", "card_number": "", "expiry_month": "13", "expiry_year": "", "card_holder": ""}
    status, page, _ = post_form(bank.url + "/card/inquiry", everything)
    assert status == 400 and page.count("<li>") == 4  # every mistake at once
    for message in ("not a valid billing code", "Enter the card number", "expiry month", "card holder"):
        assert message in page, message
    assert len(gerbang.inquiries) == asked  # Gerbang was not even asked
    assert bank.status()["payments"]["count"] == payments


def test_a_card_payment_gives_a_receipt_and_a_signed_notification(bank: BankProcess, gerbang: FakeGerbang) -> None:
    key = bytes.fromhex((bank.data / "payer.key").read_text())
    typed = "4111 1111 1111 1111"
    status, page, _ = post_form(bank.url + "/card/inquiry", _card_form(CARD_BILL, typed))
    assert status == 200, page
    assert "Pay Rp&nbsp;350.000" in page and "Siti Rahayu" in page
    assert "Visa **** **** **** 1111" in page and "Jane Doe" in page
    assert VISA not in page and typed not in page  # not even in a hidden field
    form = hidden_fields(page)
    assert set(form) == {
        "billing_code",
        "amount",
        "request_id",
        "card_ref",
        "card_last4",
        "card_network",
        "card_expiry",
        "card_holder",
        "card_seal",
    }
    assert form["card_ref"] == keyed_ref(key, f"card:{VISA}") and form["card_last4"] == "1111"

    # The confirmation cannot be changed or made up: the bank sealed what it checked.
    payments = bank.status()["payments"]["count"]
    other_card = Store(bank.data).card(MASTERCARD)
    for name, value in (
        ("card_ref", other_card.ref),
        ("card_last4", "4444"),
        ("card_network", "Mastercard"),
        ("card_expiry", "01/2000"),
        ("card_holder", "Someone Else"),
        ("billing_code", CARD_OTHER_BILL),
        ("request_id", "y" * 24),
        ("card_seal", ""),
    ):
        status, refused, _ = post_form(bank.url + "/card/pay", form | {name: value})
        assert status == 400 and "Please start again" in refused, name
    assert bank.status()["payments"]["count"] == payments

    status, receipt, final = post_form(bank.url + "/card/pay", form)
    assert status == 200 and re.search(r"/receipts/SBX[0-9]{13}$", final), receipt
    ntb = final.rsplit("/", 1)[1]
    assert "Card (online) &middot; CARD-GW-01" in receipt and "Visa **** **** **** 1111" in receipt
    assert VISA not in receipt
    gerbang.wait_for(lambda got: any(r.answer == 200 for r in got if CARD_BILL.encode() in r.body))
    [received] = gerbang.for_bill(CARD_BILL)
    assert gerbang.authentic(received.headers, received.body, "POST", "/api/bank/v1/notifications")
    data = json.loads(received.body)
    assert set(data) == FIELDS and data["ntb"] == ntb and data["amount"] == 350_000
    assert (data["channel"], data["terminal_id"]) == ("card", "CARD-GW-01")
    assert data["payer_ref"] == keyed_ref(key, f"card:{VISA}")
    assert VISA not in received.body.decode()
    status, _, final = post_form(bank.url + "/card/pay", form)  # sent twice: one payment
    assert status == 200 and final.endswith(ntb) and len(gerbang.for_bill(CARD_BILL)) == 1

    # The same card pays for another applicant: the same reference. Another card: another one.
    refs = {}
    for billing_code, number in ((CARD_AGAIN_BILL, VISA), (CARD_OTHER_BILL, MASTERCARD)):
        status, page, _ = post_form(bank.url + "/card/inquiry", _card_form(billing_code, number))
        assert status == 200, page
        status, receipt, _ = post_form(bank.url + "/card/pay", hidden_fields(page))
        assert status == 200, receipt
        gerbang.wait_for(_notified(billing_code))
        refs[number] = json.loads(gerbang.for_bill(billing_code)[0].body)["payer_ref"]
    assert refs[VISA] == data["payer_ref"] and refs[MASTERCARD] != data["payer_ref"]

    # What the bank stored: only the masked number and the network, never the number.
    with closing(sqlite3.connect(bank.data / "bank.sqlite3")) as db:
        row = db.execute("SELECT channel, terminal_id, card_masked, card_network FROM payments WHERE ntb = ?", (ntb,))
        assert row.fetchone() == ("card", "CARD-GW-01", "**** **** **** 1111", "Visa")
    stored = _every_stored_value(bank.data / "bank.sqlite3")
    assert not any(number in value for value in stored for number in (VISA, MASTERCARD, VISA[-12:]))
    raw = _raw_bytes(bank.data)
    assert VISA.encode() not in raw and MASTERCARD.encode() not in raw
    assert VISA not in bank.output.read_text() and MASTERCARD not in bank.output.read_text()  # nor in the log


def _notified(billing_code: str) -> Callable[[list[Received]], bool]:
    return lambda got: any(billing_code.encode() in r.body for r in got)


def test_the_test_api_pays_by_card(bank: BankProcess, gerbang: FakeGerbang) -> None:
    key = bytes.fromhex((bank.data / "payer.key").read_text())
    status, paid = pay_by_test_api(
        bank, billing_code=CARD_TEST_API_BILL, amount=250_000, channel="card", card_number="5555 5555 5555 4444"
    )
    assert status == 201, paid
    assert (paid["channel"], paid["terminal_id"]) == ("card", "CARD-GW-01")
    assert paid["card"] == {"number": "**** **** **** 4444", "network": "Mastercard"}
    assert paid["payer_ref"] == keyed_ref(key, f"card:{MASTERCARD}")
    gerbang.wait_for(lambda got: any(paid["ntb"].encode() in r.body and r.answer == 200 for r in got))
    [received] = [r for r in gerbang.for_bill(CARD_TEST_API_BILL) if paid["ntb"].encode() in r.body]
    assert json.loads(received.body)["channel"] == "card"
    status, default = pay_by_test_api(bank, billing_code=CARD_TEST_API_BILL, amount=1_000, channel="card")
    assert status == 201 and default["card"] == {"number": "**** **** **** 1111", "network": "Visa"}, default
    assert default["payer_ref"] == keyed_ref(key, f"card:{TEST_CARD}")
    _, _, receipt, _ = http(f"{bank.url}/receipts/{paid['ntb']}")
    assert "Mastercard **** **** **** 4444" in receipt.decode()

    count = bank.status()["payments"]["count"]
    for fields, field_name in (
        ({"channel": "card", "card_number": MASTERCARD[:-1] + "5"}, "card_number"),  # Luhn
        ({"channel": "card", "card_number": "12345678"}, "card_number"),
        ({"channel": "card", "card_number": int(MASTERCARD)}, "card_number"),
        ({"channel": "teller", "card_number": MASTERCARD}, "card_number"),
        ({"card_number": MASTERCARD}, "card_number"),  # teller by default
        ({"channel": "card", "account": "12345678"}, "account"),
        ({"channel": "cheque"}, "channel"),
    ):
        status, answer = pay_by_test_api(bank, billing_code=CARD_TEST_API_BILL, amount=5, **fields)
        assert status == 400 and set(answer["fields"]) == {field_name}, (fields, answer)
    assert bank.status()["payments"]["count"] == count


def test_statements_are_served_to_gerbang_only(bank: BankProcess, gerbang: FakeGerbang) -> None:
    yesterday = (datetime.now(WIB) - timedelta(days=1)).date()
    path = f"/api/v1/statements/{yesterday}.mt940"
    assert http(bank.url + path)[0] == 401
    t = int(time.time())
    bad = {"Gerbang-Signature": f"t={t},v1={_mac(secrets.token_bytes(32), f'{t}.GET {path}'.encode())}"}
    assert http(bank.url + path, headers=bad)[0] == 401

    def signed(path: str) -> dict[str, str]:
        t = int(time.time())
        return {"Gerbang-Signature": f"t={t},v1={_mac(gerbang.secret, f'{t}.GET {path}'.encode())}"}

    status, headers, body, _ = http(bank.url + path, headers=signed(path))
    assert status == 404 and json.loads(body)["error"] == "the account was not open that day"  # opened today
    today = f"/api/v1/statements/{yesterday + timedelta(days=1)}.camt053.xml"
    status, headers, body, _ = http(bank.url + today, headers=signed(today))
    assert status == 409 and json.loads(body)["error"] == "the day is not over yet"
    verify(headers["Gerbang-Signature"], body, [gerbang.secret])  # the bank signs its answers


def test_a_pending_notification_survives_sigkill(tmp_path: Path, gerbang: FakeGerbang) -> None:
    secrets_path = _secrets_file(tmp_path / "keys", gerbang.secret)
    first = start_bank(tmp_path, gerbang.url, secrets_path, "--retry-base", "0.2", "--retry-cap", "0.4")
    try:
        gerbang.fail_next = 10**6
        status, page, _ = post_form(
            first.url + "/mobile/inquiry", {"billing_code": RESTART_BILL, "account": "77665544"}
        )
        assert status == 200
        status, receipt, final = post_form(first.url + "/mobile/pay", hidden_fields(page))
        assert status == 200 and "MOB-APP" in receipt
        before = gerbang.wait_for(lambda got: sum(RESTART_BILL.encode() in r.body for r in got) >= 2)
        first.process.kill()  # SIGKILL: no chance to clean up
        first.process.wait(timeout=10)
    finally:
        gerbang.fail_next = 0
        stop(first.process)
    attempts = [r for r in before if RESTART_BILL.encode() in r.body]
    assert all(r.answer == 500 for r in attempts)
    notification_id = json.loads(attempts[0].body)["notification_id"]

    second = start_bank(tmp_path, gerbang.url, secrets_path)  # default back-off: pending rows go at start
    try:
        assert http(second.url + "/api/test/pay", "POST", b"{}", {"Content-Type": "application/json"})[0] == 404
        got = gerbang.wait_for(lambda got: any(r.answer == 200 for r in got if RESTART_BILL.encode() in r.body))
        delivered = [r for r in got if RESTART_BILL.encode() in r.body and r.answer == 200]
        assert [json.loads(r.body)["notification_id"] for r in delivered] == [notification_id]
        assert delivered[0].body == attempts[0].body
        summary = second.wait_status(lambda s: s["notifications"]["acknowledged"] == 1)
        assert summary["notifications"]["pending"] == 0
        _, _, receipt_after, _ = http(second.url + urllib.parse.urlsplit(final).path)
        assert "Notified to Gerbang (credited)" in receipt_after.decode()
    finally:
        stop(second.process)


def test_the_secrets_file_may_appear_after_the_start_and_statements_are_served(
    tmp_path: Path, gerbang: FakeGerbang
) -> None:
    secrets_path = tmp_path / "keys" / f"{BANK}.secrets"
    today = datetime.now(WIB).date()
    with sqlite3.connect(Store(tmp_path / "data").path) as db:  # as if the bank had opened two days ago
        db.execute("UPDATE meta SET value = ? WHERE key = 'opened'", ((today - timedelta(days=2)).isoformat(),))
    started = start_bank(tmp_path, gerbang.url, secrets_path)
    try:
        status, page, _ = post_form(started.url + "/teller/inquiry", {"billing_code": RESTART_BILL, "account": "cash"})
        assert status == 503 and "Gerbang unavailable" in page
        assert started.status()["secrets"] is False
        _secrets_file(tmp_path / "keys", gerbang.secret)
        status, page, _ = post_form(started.url + "/teller/inquiry", {"billing_code": EXPIRED_BILL, "account": "cash"})
        assert status == 409 and "expired" in page
        assert started.status()["secrets"] is True
        yesterday = today - timedelta(days=1)
        for path in (f"/api/v1/statements/{yesterday}.mt940", f"/api/v1/statements/{yesterday}.camt053.xml"):
            t = int(time.time())
            signature = {"Gerbang-Signature": f"t={t},v1={_mac(gerbang.secret, f'{t}.GET {path}'.encode())}"}
            status, headers, body, _ = http(started.url + path, headers=signature)
            assert status == 200, body
            verify(headers["Gerbang-Signature"], body, [gerbang.secret])
            if path.endswith(".mt940"):
                assert headers["Content-Type"] == "text/plain; charset=utf-8"
                assert body.decode().split("\r\n")[2:4] == [":28C:2/1", f":60F:C{yesterday:%y%m%d}IDR0,00"]
            else:
                assert headers["Content-Type"] == "application/xml"
                parsed = statements.parse_camt053(body)
                assert parsed["sequence"] == "2" and parsed["entries"] == []
                assert parsed["balances"] == {"OPBD": "0.00", "CLBD": "0.00"}
    finally:
        started.process.send_signal(signal.SIGTERM)
        assert started.process.wait(timeout=15) == 0
    printed = started.output.read_text()
    assert "cannot read the secrets file" in printed and "bank listening on" in printed


# --- Past bookings, lost notifications, NTPN checks and exported statements -------------------------


def gerbang_get(url: str, path: str, secret: bytes, *, t: int | None = None) -> tuple[int, Message, bytes, str]:
    """A GET signed the way Gerbang signs one without body: over ``"<t>.GET <path>"``."""
    t = int(time.time()) if t is None else t
    return http(url + path, headers={"Gerbang-Signature": f"t={t},v1={_mac(secret, f'{t}.GET {path}'.encode())}"})


def pay_by_test_api(bank: BankProcess, **fields: Any) -> tuple[int, dict[str, Any]]:
    status, _, answer, _ = http(
        bank.url + "/api/test/pay", "POST", json.dumps(fields).encode(), {"Content-Type": "application/json"}
    )
    return status, json.loads(answer)


def at(day: date, hour: int, minute: int = 0) -> str:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=WIB).isoformat()


OPENED_DAYS_AGO = 3


@pytest.fixture(scope="module")
def old_bank(tmp_path_factory: pytest.TempPathFactory, gerbang: FakeGerbang) -> Iterator[BankProcess]:
    """A bank with the test API whose account opened three days ago (``--opened``)."""
    base = tmp_path_factory.mktemp("old-bank")
    secrets_path = _secrets_file(base / "keys", gerbang.secret)
    opened = datetime.now(WIB).date() - timedelta(days=OPENED_DAYS_AGO)
    extra = ("--test-api", "--opened", opened.isoformat(), "--retry-base", "0.1", "--retry-cap", "0.5")
    process = start_bank(base, gerbang.url, secrets_path, *extra)
    try:
        yield process
        process.process.send_signal(signal.SIGTERM)
        assert process.process.wait(timeout=15) == 0
    finally:
        stop(process.process)


def test_the_opened_option_sets_the_first_statement_day(old_bank: BankProcess, gerbang: FakeGerbang) -> None:
    opened = datetime.now(WIB).date() - timedelta(days=OPENED_DAYS_AGO)
    status, _, body, _ = gerbang_get(old_bank.url, f"/api/v1/statements/{opened}.mt940", gerbang.secret)
    assert status == 200 and body.decode().split("\r\n")[2] == ":28C:1/1"
    before = opened - timedelta(days=1)
    status, _, body, _ = gerbang_get(old_bank.url, f"/api/v1/statements/{before}.mt940", gerbang.secret)
    assert status == 404 and json.loads(body)["error"] == "the account was not open that day"


def test_the_test_api_refuses_a_bad_booking_time_or_notify(old_bank: BankProcess) -> None:
    today = datetime.now(WIB).date()
    opened = today - timedelta(days=OPENED_DAYS_AGO)
    count = old_bank.status()["payments"]["count"]
    soon = (datetime.now(WIB) + timedelta(minutes=5)).isoformat()
    for booked_at in (soon, at(opened - timedelta(days=1), 12), "2026-06-01T10:00:00", "yesterday", 17):
        status, answer = pay_by_test_api(old_bank, billing_code=LOST_BILL, amount=5, booked_at=booked_at)
        assert status == 400 and set(answer["fields"]) == {"booked_at"}, (booked_at, answer)
    # The day before opening, one second before midnight at the bank (WIB), even when written in UTC.
    last_second = datetime(opened.year, opened.month, opened.day, tzinfo=WIB) - timedelta(seconds=1)
    for booked_at in (last_second.isoformat(), last_second.astimezone(UTC).isoformat()):
        status, answer = pay_by_test_api(old_bank, billing_code=LOST_BILL, amount=5, booked_at=booked_at)
        assert status == 400 and set(answer["fields"]) == {"booked_at"}, (booked_at, answer)
    not_bools: tuple[Any, ...] = ("false", 0, 1, None, [], {})
    for notify in not_bools:
        status, answer = pay_by_test_api(old_bank, billing_code=LOST_BILL, amount=5, notify=notify)
        assert status == 400 and set(answer["fields"]) == {"notify"}, (notify, answer)
    assert old_bank.status()["payments"]["count"] == count  # nothing recorded
    # The first second of the opened day is fine, written in any offset.
    first_second = (datetime(opened.year, opened.month, opened.day, tzinfo=WIB) + timedelta(seconds=1)).astimezone(UTC)
    status, answer = pay_by_test_api(
        old_bank, billing_code=LOST_BILL, amount=5, booked_at=first_second.isoformat(), notify=True
    )
    assert status == 201, answer
    assert datetime.fromisoformat(answer["paid_at"]) == first_second  # paid when booked, unless told otherwise
    assert answer["paid_at"].endswith("+07:00")
    status, _, body, _ = gerbang_get(old_bank.url, f"/api/v1/statements/{opened}.mt940", gerbang_secret(old_bank))
    assert status == 200 and f"//{answer['ntb']}" in body.decode()


def gerbang_secret(bank: BankProcess) -> bytes:
    """The secret the bank was started with (its secrets file sits next to its data folder)."""
    [secret] = load_secrets(bank.data.parent / "keys" / f"{BANK}.secrets")
    return secret


def test_a_payment_booked_yesterday_with_its_notification_lost(old_bank: BankProcess, gerbang: FakeGerbang) -> None:
    yesterday = datetime.now(WIB).date() - timedelta(days=1)
    held_before = old_bank.status()["notifications"]["held"]
    status, lost = pay_by_test_api(
        old_bank, billing_code=HELD_BILL, amount=120_000, channel="atm", booked_at=at(yesterday, 10), notify=False
    )
    assert status == 201, lost
    assert lost["notification"] == {"state": "held", "attempts": 0, "answer": None}
    status, sent = pay_by_test_api(
        old_bank, billing_code=SENT_BILL, amount=80_000, account="12345678", booked_at=at(yesterday, 10, 5)
    )
    assert status == 201 and sent["notification"]["state"] == "pending", sent
    # The held notification is older, so it would have gone first: once the later one is through, it never went.
    gerbang.wait_for(lambda got: any(r.answer == 200 for r in got if SENT_BILL.encode() in r.body))
    assert gerbang.for_bill(HELD_BILL) == []
    summary = old_bank.wait_status(lambda s: s["notifications"]["pending"] == 0)
    assert summary["notifications"]["held"] == held_before + 1

    path = f"/api/v1/statements/{yesterday}.mt940"
    status, headers, body, _ = gerbang_get(old_bank.url, path, gerbang.secret)
    assert status == 200, body
    verify(headers["Gerbang-Signature"], body, [gerbang.secret])
    entries = _mt940_entries(body.decode())
    day = f"{yesterday:%y%m%d}"
    assert entries[lost["ntb"]][0] == f":61:{day}{day[2:]}C120000,00NTRF{HELD_BILL}//{lost['ntb']}"
    assert entries[lost["ntb"]][1:] == [
        f":86:NTPN {lost['ntpn']} BILLING {HELD_BILL}",
        f"PAID {at(yesterday, 10)} ATM ATM-07",
        f"PAYER {lost['payer_ref'].replace('-', '+').replace('_', '/')}",
    ]
    assert entries[sent["ntb"]][0] == f":61:{day}{day[2:]}C80000,00NTRF{SENT_BILL}//{sent['ntb']}"
    today = yesterday + timedelta(days=1)
    status, _, body, _ = gerbang_get(old_bank.url, f"/api/v1/statements/{today}.mt940", gerbang.secret)
    assert status == 409  # today is not over; and the payments are not booked today anyway
    earlier = yesterday - timedelta(days=1)
    status, _, body, _ = gerbang_get(old_bank.url, f"/api/v1/statements/{earlier}.mt940", gerbang.secret)
    assert status == 200 and lost["ntb"] not in body.decode() and sent["ntb"] not in body.decode()


def test_gerbang_checks_an_ntpn(old_bank: BankProcess, gerbang: FakeGerbang) -> None:
    status, paid = pay_by_test_api(old_bank, billing_code=LOOKUP_BILL, amount=75_000, channel="mobile")
    assert status == 201, paid
    gerbang.wait_for(lambda got: any(r.answer == 200 for r in got if LOOKUP_BILL.encode() in r.body))
    [received] = gerbang.for_bill(LOOKUP_BILL)
    path = f"/api/v1/payments/{paid['ntpn']}"
    status, headers, body, _ = gerbang_get(old_bank.url, path, gerbang.secret)
    assert status == 200 and headers["Content-Type"] == "application/json; charset=utf-8"
    assert body == received.body  # byte for byte what was notified
    assert verify(headers["Gerbang-Signature"], body, [gerbang.secret]) > 0  # signed over the body
    with pytest.raises(BadSignature):
        verify(headers["Gerbang-Signature"], body + b" ", [gerbang.secret])

    status, lost = pay_by_test_api(old_bank, billing_code=LOST_BILL, amount=9_000, notify=False)
    assert status == 201, lost
    status, headers, body, _ = gerbang_get(old_bank.url, f"/api/v1/payments/{lost['ntpn']}", gerbang.secret)
    assert status == 200, body
    verify(headers["Gerbang-Signature"], body, [gerbang.secret])
    assert body == Store(old_bank.data).notification_body(lost["ntpn"])
    data = json.loads(body)
    assert set(data) == FIELDS
    assert {k: data[k] for k in ("notification_id", "ntb", "ntpn", "amount", "payer_ref")} == {
        k: lost[k] for k in ("notification_id", "ntb", "ntpn", "amount", "payer_ref")
    }

    unknown = "Z" * 16 if paid["ntpn"] != "Z" * 16 else "Y" * 16
    status, headers, body, _ = gerbang_get(old_bank.url, f"/api/v1/payments/{unknown}", gerbang.secret)
    assert status == 404 and headers["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(body) == {"error": "no payment has this NTPN"}
    verify(headers["Gerbang-Signature"], body, [gerbang.secret])

    assert http(old_bank.url + path)[0] == 401
    other = f"/api/v1/payments/{lost['ntpn']}"
    t = int(time.time())
    for signature in (
        f"t={t},v1={_mac(secrets.token_bytes(32), f'{t}.GET {path}'.encode())}",  # another secret
        f"t={t},v1={_mac(gerbang.secret, f'{t}.GET {other}'.encode())}",  # made for another NTPN
        f"t={t},v1={_mac(gerbang.secret, f'{t}.POST {path}'.encode())}",  # another method
        f"t={t - 400},v1={_mac(gerbang.secret, f'{t - 400}.GET {path}'.encode())}",  # stale
        f"v1={_mac(gerbang.secret, f'{t}.GET {path}'.encode())}",  # no time
    ):
        status, headers, body, _ = http(old_bank.url + path, headers={"Gerbang-Signature": signature})
        assert status == 401 and json.loads(body) == {"error": "unauthorized"}, signature
        assert "Gerbang-Signature" not in headers
    status, _, body, _ = gerbang_get(old_bank.url, path.lower(), gerbang.secret)  # not an NTPN
    assert status == 404 and json.loads(body) == {"error": "not found"}


def test_the_screens_show_a_held_payment(old_bank: BankProcess) -> None:
    status, lost = pay_by_test_api(old_bank, billing_code=LOST_BILL, amount=1_000, notify=False)
    assert status == 201, lost
    status, _, body, _ = http(f"{old_bank.url}/receipts/{lost['ntb']}")
    assert status == 200 and lost["ntpn"] in body.decode()
    assert http(old_bank.url + "/")[0] == 200


def _export(data: Path, secrets_path: Path, day: date, out: Path, *extra: str) -> int:
    argv = ["--data", str(data), "--code", BANK, "--secrets", str(secrets_path), "--day", day.isoformat()]
    return export.main([*argv, "--out", str(out), *extra])


def test_export_writes_the_served_statement_and_its_signature(
    old_bank: BankProcess, gerbang: FakeGerbang, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    yesterday = datetime.now(WIB).date() - timedelta(days=1)
    status, paid = pay_by_test_api(old_bank, billing_code=EXPORT_BILL, amount=42_000, booked_at=at(yesterday, 15))
    assert status == 201, paid
    secrets_path = _secrets_file(tmp_path / "keys", gerbang.secret)
    out = tmp_path / "out" / "finance"

    assert _export(old_bank.data, secrets_path, yesterday, out, "--format", "mt940") == 0
    target = out / f"{BANK}-{yesterday}.mt940"
    assert capsys.readouterr().out == f"{target}\n"
    _, _, served, _ = gerbang_get(old_bank.url, f"/api/v1/statements/{yesterday}.mt940", gerbang.secret)
    written = target.read_bytes()
    assert written == served and f"//{paid['ntb']}".encode() in written
    [signature] = (out / f"{target.name}.sig").read_text(encoding="ascii").splitlines()
    assert (out / f"{target.name}.sig").read_text(encoding="ascii") == signature + "\n"
    assert re.fullmatch(r"t=[0-9]+,v1=[0-9a-f]{64}", signature)
    assert abs(verify(signature, written, [gerbang.secret]) - time.time()) < 60
    with pytest.raises(BadSignature):
        verify(signature, written.replace(b"42000,00", b"42001,00"), [gerbang.secret])
    with pytest.raises(BadSignature):
        verify(signature, written, [secrets.token_bytes(32)])

    assert _export(old_bank.data, secrets_path, yesterday, out, "--format", "camt053") == 0
    target = out / f"{BANK}-{yesterday}.camt053.xml"
    assert capsys.readouterr().out == f"{target}\n"
    _, _, served, _ = gerbang_get(old_bank.url, f"/api/v1/statements/{yesterday}.camt053.xml", gerbang.secret)
    written = target.read_bytes()
    verify((out / f"{target.name}.sig").read_text(encoding="ascii").strip(), written, [gerbang.secret])

    def without_creation_time(document: bytes) -> bytes:  # the one thing that differs: when it was made
        stripped, count = re.subn(rb"<CreDtTm>[^<]+</CreDtTm>", b"<CreDtTm />", document)
        assert count == 2
        return stripped

    assert without_creation_time(written) == without_creation_time(served)
    assert paid["ntb"] in statements.parse_camt053(written)["entries"][-1]["ntb"]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"{BANK}-{yesterday}.{ext}" for ext in ("mt940", "mt940.sig", "camt053.xml", "camt053.xml.sig")
    )


def test_export_refuses_an_open_day_a_day_before_opening_and_no_secrets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    today = datetime.now(WIB).date()
    opened = today - timedelta(days=2)
    data, out = tmp_path / "data", tmp_path / "out"
    Store(data, opened=opened)
    secrets_path = _secrets_file(tmp_path / "keys", secrets.token_bytes(32))

    assert _export(data, secrets_path, today, out) == 2
    assert "not over" in capsys.readouterr().err
    assert _export(data, secrets_path, today + timedelta(days=1), out) == 2
    assert "not over" in capsys.readouterr().err
    assert _export(data, secrets_path, opened - timedelta(days=1), out, "--format", "camt053") == 2
    assert "not open" in capsys.readouterr().err
    assert not out.exists()  # nothing written for a refused day

    missing = tmp_path / "nowhere"
    assert _export(missing, tmp_path / "missing.secrets", opened, out) == 2
    assert "cannot read the secrets" in capsys.readouterr().err
    assert not missing.exists()  # refused before any database is made
    empty = tmp_path / "empty.secrets"
    empty.write_text("# no secret yet\n" + "ab" * 16 + "\n")  # only a secret that is too short
    assert _export(data, empty, opened, out) == 2
    assert "no secret" in capsys.readouterr().err
    assert not out.exists()

    assert _export(data, secrets_path, opened, out) == 0  # the opened day itself is fine: an empty statement
    text = (out / f"{BANK}-{opened}.mt940").read_bytes().decode()
    assert text.split("\r\n")[2:4] == [":28C:1/1", f":60F:C{opened:%y%m%d}IDR0,00"]
