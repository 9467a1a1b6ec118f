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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from stdnum import damm

from services.bank import statements
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
ISSUED = (TELLER_BILL, RETRY_BILL, RESTART_BILL, TEST_API_BILL, INVALID_BILL, IN_PROCESS_BILL)
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
    assert store.status()["notifications"] == {"pending": 2, "acknowledged": 0, "failed": 0}


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
    assert status["notifications"] == {"pending": 0, "acknowledged": 1, "failed": 0}
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
    assert store.status()["notifications"] == {"pending": 0, "acknowledged": 0, "failed": 1}
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
    assert all(f'href="/{channel}"' in page for channel in ("teller", "atm", "mobile"))
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
