"""The sandbox border control: validation, its records, the courier's retries, and the process over real HTTP.

The courier and process tests report to a small fake Gerbang written here with
http.server: it checks the RFC 9421 signature of every report against the
border's public key file (with ``signedhttp``, and the Content-Digest and the
covered components by hand), answers as the protocol says, signed with a
"Gerbang" key, and can misbehave on request.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from services.border.delivery import Courier, Gerbang, backoff
from services.border.store import MovementInput, Store, parse_movement
from services.testing import free_port, stop
from signedhttp import (
    KeyPair,
    Keyring,
    SignatureError,
    generate_keypair,
    load_public_keys,
    sign_response,
    verify_request,
)

REPO = Path(__file__).resolve().parents[3]
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
GOOD = {"direction": "entry", "nationality": "AUS", "passport_number": "PA1234567", "port": "CGK"}
REPORT_FIELDS = ["event_id", "direction", "nationality", "passport_number", "at", "port"]


# --- Validation ------------------------------------------------------------------------------------


def test_a_good_movement_is_normalised() -> None:
    parsed, errors = parse_movement(
        {
            "direction": " Entry ",
            "nationality": "aus",
            "passport_number": " pa 123 4567 ",
            "port": "dps",
            "at": "2025-06-01T08:30:00+08:00",
        },
        now=NOW,
    )
    assert errors == {}
    assert parsed == MovementInput("entry", "AUS", "PA1234567", datetime(2025, 6, 1, 0, 30, tzinfo=UTC), "DPS")
    parsed, errors = parse_movement(GOOD, now=NOW)
    assert errors == {} and parsed is not None and parsed.at == NOW  # no time: now


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("direction", "transit", '"entry" or "exit"'),
        ("direction", "", '"entry" or "exit"'),
        ("nationality", "AU", "three letters"),
        ("nationality", "A1S", "three letters"),
        ("nationality", "AUST", "three letters"),
        ("passport_number", "PA12345678", "1 to 9"),
        ("passport_number", "PA-12345", "1 to 9"),
        ("passport_number", "", "1 to 9"),
        ("port", "C", "2 to 10"),
        ("port", "CGK-T3", "2 to 10"),
        ("port", "SOEKARNOHATTA", "2 to 10"),
        ("at", "yesterday", "ISO 8601"),
        ("at", "2025-06-01T08:30:00", "give the offset"),
        ("at", "2025-06-01T12:06:00+00:00", "in the future"),
        ("at", "1999-12-31T23:59:59+00:00", "check the year"),
        ("nationality", 123, "must be a string"),
        ("at", 1748736000, "must be a string"),
    ],
)
def test_each_bad_field_is_named_with_a_clear_message(field: str, value: Any, message: str) -> None:
    parsed, errors = parse_movement(GOOD | {field: value}, now=NOW)
    assert parsed is None
    assert list(errors) == [field]
    assert message in errors[field]


def test_unknown_fields_missing_fields_and_a_non_object_are_refused() -> None:
    assert parse_movement(GOOD | {"name": "X", "event_id": "bc-1"}, now=NOW)[1] == {
        "name": "unexpected field",
        "event_id": "unexpected field",
    }
    assert set(parse_movement({}, now=NOW)[1]) == {"direction", "nationality", "passport_number", "port"}
    assert parse_movement(["entry"], now=NOW) == (None, {"body": "must be a JSON object"})


def test_the_officers_form_may_give_the_local_time_of_a_known_port() -> None:
    local = GOOD | {"at": "2025-06-01T08:30"}
    assert parse_movement(local | {"port": "DPS"}, now=NOW, local_time_at_port=True)[0] == MovementInput(
        "entry", "AUS", "PA1234567", datetime(2025, 6, 1, 0, 30, tzinfo=UTC), "DPS"
    )  # Bali: WITA, UTC+8
    bth = parse_movement(local | {"port": "BTH"}, now=NOW, local_time_at_port=True)[0]
    assert bth is not None and bth.at == datetime(2025, 6, 1, 1, 30, tzinfo=UTC)  # Batam: WIB, UTC+7
    parsed, errors = parse_movement(local | {"port": "XYZ"}, now=NOW, local_time_at_port=True)
    assert parsed is None and "does not know port XYZ" in errors["at"]
    assert parse_movement(local | {"port": "DPS"}, now=NOW)[1] == {
        "at": "give the offset, e.g. 2025-06-01T08:30:00+07:00"
    }


# --- The records -----------------------------------------------------------------------------------


def _input(**changes: Any) -> MovementInput:
    parsed, errors = parse_movement(GOOD | {"at": "2025-06-01T09:00:00+07:00"} | changes, now=NOW)
    assert parsed is not None, errors
    return parsed


def test_a_movement_and_its_report_are_recorded_together(tmp_path: Path) -> None:
    store = Store(tmp_path)
    movement, created = store.record(_input(), now=NOW)
    assert created
    assert re.fullmatch(r"bc-[0-9a-f]{24}", movement.event_id)
    assert movement.report() == {
        "event_id": movement.event_id,
        "direction": "entry",
        "nationality": "AUS",
        "passport_number": "PA1234567",
        "at": "2025-06-01T02:00:00Z",
        "port": "CGK",
    }
    assert (movement.state, movement.attempts, movement.source) == ("pending", 0, "officer")
    (row,) = store.due(NOW.timestamp())
    assert json.loads(row.body) == movement.report()
    assert list(json.loads(row.body)) == REPORT_FIELDS
    assert store.status() == {"reports": {"pending": 1, "delivered": 0}, "last_error": None}
    other, _ = store.record(_input(direction="exit"), source="test", now=NOW)
    assert other.event_id != movement.event_id
    assert [m.event_id for m in Store(tmp_path).recent()] == [other.event_id, movement.event_id]  # reopened


def test_a_form_sent_twice_records_one_movement(tmp_path: Path) -> None:
    store = Store(tmp_path)
    first, created = store.record(_input(), request_id="r" * 24, now=NOW)
    again, created_again = store.record(_input(direction="exit"), request_id="r" * 24, now=NOW)
    assert created and not created_again and again.event_id == first.event_id and again.direction == "entry"
    assert len(store.recent()) == 1
    with pytest.raises(ValueError, match="request id"):
        store.record(_input(), request_id="short", now=NOW)


def test_back_off_doubles_up_to_the_cap_with_jitter() -> None:
    assert [backoff(n, jitter=lambda: 0.5) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert backoff(1, jitter=lambda: 0.0) == pytest.approx(0.8)
    assert backoff(3, jitter=lambda: 1.0) == pytest.approx(4.8)
    assert backoff(20, jitter=lambda: 1.0) == 60


# --- A fake Gerbang --------------------------------------------------------------------------------


@dataclass
class Received:
    headers: Message
    body: bytes
    status: int


@dataclass
class FakeGerbang:
    """Gerbang's border endpoint as the protocol describes it, with knobs to misbehave."""

    key: KeyPair
    border_keys: list[Path] = field(default_factory=list)  # public key files trusted for reports
    received: list[Received] = field(default_factory=list)
    recorded: dict[str, dict[str, Any]] = field(default_factory=dict)
    fail_next: int = 0  # answer the next reports 500, unsigned
    unsigned_next: int = 0  # answer the next reports 201 without a signature
    foreign_next: int = 0  # answer the next reports 201 signed with another key
    refuse: set[str] = field(default_factory=set)  # passport numbers refused 422 (signed)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def wait_for(self, condition: Callable[[list[Received]], bool], timeout: float = 15) -> list[Received]:
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                got = list(self.received)
            if condition(got):
                return got
            if time.monotonic() > deadline:
                raise AssertionError(f"not received in time: {[(r.status, r.body) for r in got]}")
            time.sleep(0.05)

    def for_event(self, event_id: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if json.loads(r.body).get("event_id") == event_id]


def _check_by_hand(headers: Message, body: bytes) -> None:
    """What the profile promises, read straight from the headers (not through signedhttp)."""
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    assert headers["Content-Digest"] == f"sha-256=:{digest}:"
    assert headers["Content-Type"] == "application/json"
    signature_input = headers["Signature-Input"]
    assert signature_input.startswith('sig=("@method" "@target-uri" "content-type" "content-digest")')
    assert 'keyid="border-sandbox"' in signature_input and 'alg="ed25519"' in signature_input
    assert 'tag="gerbang-signedhttp/1"' in signature_input and ";nonce=" in signature_input


class FakeGerbangHandler(BaseHTTPRequestHandler):
    server: FakeGerbangServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        fake = self.server.fake
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        url = f"http://{self.headers['Host']}{self.path}"
        status, payload, signer = self._handle(url, body)
        with fake.lock:
            fake.received.append(Received(self.headers, body, status))
        answer = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"}
        if signer is not None:
            headers |= sign_response(
                status,
                headers,
                answer,
                key_id=signer.key_id,
                private_key=signer.private_key,
                request_method="POST",
                request_url=url,
                request_headers=self.headers,
            )
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def _handle(self, url: str, body: bytes) -> tuple[int, dict[str, Any], KeyPair | None]:
        fake = self.server.fake
        try:
            if self.path != "/api/border/v1/movements":
                raise SignatureError("wrong path")
            verify_request("POST", url, self.headers, body, Keyring.from_files(fake.border_keys))
            _check_by_hand(self.headers, body)
        except (SignatureError, AssertionError, ValueError):
            return 401, {"error": "unauthorized"}, fake.key
        with fake.lock:
            data = json.loads(body)
            assert list(data) == REPORT_FIELDS
            if fake.fail_next > 0:
                fake.fail_next -= 1
                return 500, {"error": "server error"}, None
            if data["passport_number"] in fake.refuse:
                return 422, {"error": "invalid request", "fields": {"passport_number": "refused"}}, fake.key
            event_id = data["event_id"]
            if event_id in fake.recorded:
                status, payload = 200, {"event_id": event_id, "status": "duplicate"}
            else:
                fake.recorded[event_id] = data
                status, payload = 201, {"event_id": event_id, "status": "recorded"}
            if fake.unsigned_next > 0:
                fake.unsigned_next -= 1
                return status, payload, None
            if fake.foreign_next > 0:
                fake.foreign_next -= 1
                return status, payload, KeyPair.generate("gerbang-client")
            return status, payload, fake.key


class FakeGerbangServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeGerbang) -> None:
        super().__init__(("127.0.0.1", 0), FakeGerbangHandler)
        self.fake = fake


@pytest.fixture
def gerbang(tmp_path: Path) -> Iterator[FakeGerbang]:
    fake = FakeGerbang(generate_keypair("gerbang-client", tmp_path / "gerbang-keys"))
    server = FakeGerbangServer(fake)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()


GERBANG_PUB = "gerbang-keys/gerbang-client.pub"


# --- The courier, in process -----------------------------------------------------------------------


@pytest.fixture
def courier(tmp_path: Path, gerbang: FakeGerbang) -> Courier:
    key = generate_keypair("border-sandbox", tmp_path / "border", stem="border")
    gerbang.border_keys = [tmp_path / "border" / "border.pub"]
    gerbang_client = Gerbang(gerbang.url, key, tmp_path / GERBANG_PUB, timeout=5)
    return Courier(Store(tmp_path / "border"), gerbang_client, retry_base=1, retry_cap=60)


def test_a_report_is_retried_with_back_off_until_gerbang_confirms_it(
    courier: Courier, gerbang: FakeGerbang, caplog: pytest.LogCaptureFixture
) -> None:
    store = courier.store
    movement, _ = store.record(_input(), now=NOW)
    start = NOW.timestamp()
    gerbang.fail_next = 2
    with caplog.at_level(logging.WARNING, logger="border"):
        (first,) = courier.deliver_due(start)
    assert first.outcome == "retry" and "not signed by Gerbang" in first.detail  # a bare 500
    assert "attempt 1 failed" in caplog.text
    assert courier.deliver_due(start + 0.5) == []  # not due yet: about 1 s later
    (second,) = courier.deliver_due(start + 1.3)
    assert second.outcome == "retry"
    after_two = store.movement(movement.event_id)
    assert after_two is not None and after_two.state == "pending" and after_two.attempts == 2
    assert store.status()["last_error"]["event_id"] == movement.event_id
    assert courier.deliver_due(start + 2.5) == []  # the second wait is about 2 s
    (third,) = courier.deliver_due(start + 4)
    assert (third.outcome, third.detail) == ("delivered", "recorded")
    done = store.movement(movement.event_id)
    assert done is not None and done.state == "delivered" and done.attempts == 3
    assert done.answer == {"event_id": movement.event_id, "status": "recorded"}
    assert store.status() == {"reports": {"pending": 0, "delivered": 1}, "last_error": None}
    assert courier.deliver_due(start + 1000) == []  # delivered: never sent again
    sent = gerbang.for_event(movement.event_id)
    assert [r.status for r in sent] == [500, 500, 201]
    assert len({r.body for r in sent}) == 1  # every retry is the same report
    assert len({r.headers["Signature"] for r in sent}) == 3  # each signed afresh (new nonce, new time)


def test_answers_not_signed_by_gerbang_for_this_request_are_not_believed(
    courier: Courier, gerbang: FakeGerbang
) -> None:
    movement, _ = courier.store.record(_input(), now=NOW)
    now = NOW.timestamp()
    gerbang.unsigned_next, gerbang.foreign_next = 1, 1
    (unsigned,) = courier.deliver_due(now)
    assert unsigned.outcome == "retry" and "not signed by Gerbang" in unsigned.detail
    (foreign,) = courier.deliver_due(now + 10)
    assert foreign.outcome == "retry" and "signature does not match" in foreign.detail  # same key id, other key
    (duplicate,) = courier.deliver_due(now + 20)  # Gerbang stored it the first time: now it says so, signed
    assert (duplicate.outcome, duplicate.detail) == ("delivered", "duplicate")
    assert [r.status for r in gerbang.for_event(movement.event_id)] == [201, 200, 200]


def test_without_gerbangs_key_reports_wait_and_go_once_it_appears(
    tmp_path: Path, courier: Courier, gerbang: FakeGerbang
) -> None:
    courier.gerbang.gerbang_key = tmp_path / "not-yet" / "gerbang-client.pub"
    movement, _ = courier.store.record(_input(), now=NOW)
    (waiting,) = courier.deliver_due(NOW.timestamp())
    assert waiting.outcome == "retry" and "no trusted Gerbang key" in waiting.detail
    assert gerbang.for_event(movement.event_id) == []  # nothing sent without a key to check the answer
    courier.gerbang.gerbang_key.parent.mkdir()
    courier.gerbang.gerbang_key.write_text((tmp_path / GERBANG_PUB).read_text())
    (delivered,) = courier.deliver_due(NOW.timestamp() + 5)
    assert delivered.outcome == "delivered"


def test_a_refused_report_is_logged_as_an_error_and_tried_again(
    courier: Courier, gerbang: FakeGerbang, caplog: pytest.LogCaptureFixture
) -> None:
    gerbang.refuse.add("REFUSED1")
    movement, _ = courier.store.record(_input(passport_number="REFUSED1"), now=NOW)
    with caplog.at_level(logging.ERROR, logger="border"):
        (refused,) = courier.deliver_due(NOW.timestamp())
    assert refused.outcome == "retry" and refused.detail.startswith("HTTP 422")
    assert f"report {movement.event_id} refused by Gerbang" in caplog.text
    gerbang.refuse.clear()
    (delivered,) = courier.deliver_due(NOW.timestamp() + 5)
    assert delivered.outcome == "delivered"


def test_an_answer_about_another_event_is_not_a_confirmation(
    courier: Courier, gerbang: FakeGerbang, monkeypatch: pytest.MonkeyPatch
) -> None:
    movement, _ = courier.store.record(_input(), now=NOW)
    monkeypatch.setattr(courier.gerbang, "report", lambda body: (201, {"event_id": "bc-other", "status": "recorded"}))
    (other,) = courier.deliver_due(NOW.timestamp())
    assert other.outcome == "retry"
    monkeypatch.setattr(courier.gerbang, "report", lambda body: (200, {"event_id": body["event_id"], "status": "ok"}))
    (odd,) = courier.deliver_due(NOW.timestamp() + 5)
    assert odd.outcome == "retry"
    stored = courier.store.movement(movement.event_id)
    assert stored is not None and stored.state == "pending" and stored.attempts == 2


def test_gerbang_unreachable_is_retried(tmp_path: Path) -> None:
    key = generate_keypair("border-sandbox", tmp_path / "border", stem="border")
    generate_keypair("gerbang-client", tmp_path / "keys")
    client = Gerbang(f"http://127.0.0.1:{free_port()}", key, tmp_path / "keys" / "gerbang-client.pub", timeout=2)
    courier = Courier(Store(tmp_path / "border"), client)
    courier.store.record(_input(), now=NOW)
    (attempt,) = courier.deliver_due(NOW.timestamp())
    assert attempt.outcome == "retry" and "cannot reach" in attempt.detail


# --- The border as a process -----------------------------------------------------------------------


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


@dataclass
class BorderProcess:
    process: subprocess.Popen[bytes]
    url: str
    data: Path
    output: Path

    def record(self, **fields: Any) -> tuple[int, dict[str, Any]]:
        status, _, body, _ = http(
            self.url + "/v1/test/movements", "POST", json.dumps(fields).encode(), {"Content-Type": "application/json"}
        )
        return status, json.loads(body)

    def movement(self, event_id: str) -> dict[str, Any]:
        return dict(json.loads(http(f"{self.url}/v1/test/movements/{event_id}")[2]))

    def wait_delivered(self, event_id: str, timeout: float = 15) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while (movement := self.movement(event_id))["delivery"]["state"] != "delivered":
            assert time.monotonic() < deadline, (movement, self.output.read_text()[-3000:])
            time.sleep(0.05)
        return movement


def start_border(data: Path, gerbang_url: str, gerbang_key: Path, *extra: str) -> BorderProcess:
    port = free_port()
    output = data.parent / f"border-{port}.log"
    command = [sys.executable, "-m", "services.border", "--data", str(data), "--port", str(port)]
    command += ["--gerbang", gerbang_url, "--gerbang-key", str(gerbang_key), "--timeout", "5", *extra]
    env = {k: v for k, v in os.environ.items() if not k.startswith("BORDER_")}
    with output.open("w") as out:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            if http(url + "/healthz")[2] == b"ok\n":
                return BorderProcess(process, url, data, output)
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            stop(process)
            raise AssertionError(f"the border did not start:\n{output.read_text()}")
        time.sleep(0.05)


@pytest.fixture
def border(tmp_path: Path, gerbang: FakeGerbang) -> Iterator[BorderProcess]:
    gerbang.border_keys = [tmp_path / "border" / "border.pub"]  # written by the border at its start
    process = start_border(
        tmp_path / "border",
        gerbang.url,
        tmp_path / GERBANG_PUB,
        "--test-api",
        "--retry-base",
        "0.1",
        "--retry-cap",
        "0.5",
    )
    try:
        yield process
        process.process.send_signal(signal.SIGTERM)
        assert process.process.wait(timeout=15) == 0  # a clean stop
    finally:
        stop(process.process)


def test_a_movement_posted_to_the_test_api_reaches_gerbang_signed(border: BorderProcess, gerbang: FakeGerbang) -> None:
    key = (border.data / "border.pub").read_text().split()
    assert key[:2] == ["ed25519", "border-sandbox"]
    assert oct((border.data / "border.key").stat().st_mode & 0o777) == "0o600"
    status, answer = border.record(
        direction="entry", nationality="NLD", passport_number="NX7Y8Z9A1", port="DPS", at="2025-06-01T08:30:00+08:00"
    )
    assert status == 201, answer
    event_id = answer["event_id"]
    assert answer == {
        "event_id": event_id,
        "direction": "entry",
        "nationality": "NLD",
        "passport_number": "NX7Y8Z9A1",
        "at": "2025-06-01T00:30:00Z",
        "port": "DPS",
    }
    delivered = border.wait_delivered(event_id)
    assert delivered["delivery"]["answer"] == {"event_id": event_id, "status": "recorded"}
    (received,) = gerbang.for_event(event_id)
    assert json.loads(received.body) == answer
    assert received.headers["Host"] == gerbang.url.removeprefix("http://")
    verify_request(
        "POST",
        gerbang.url + "/api/border/v1/movements",
        received.headers,
        received.body,
        Keyring(load_public_keys(border.data / "border.pub")),
        max_age=3600,
    )
    status, _, body, _ = http(border.url + "/v1/status")
    assert json.loads(body)["reports"] == {"pending": 0, "delivered": 1}


def test_the_test_api_refuses_bad_fields(border: BorderProcess) -> None:
    status, answer = border.record(direction="in", nationality="nl", passport_number="", port="DPS", name="x")
    assert status == 400
    assert set(answer["fields"]) == {"direction", "nationality", "passport_number", "name"}
    assert "nationality" not in border.record(**GOOD | {"nationality": "nld"})[1].get("fields", {})  # capitals taken
    status, _, body, _ = http(border.url + "/v1/test/movements", "POST", b"{", {"Content-Type": "application/json"})
    assert status == 400 and json.loads(body)["fields"] == {"body": "must be JSON"}
    status, _, _, _ = http(border.url + "/v1/test/movements", "POST", b"{}", {"Content-Type": "text/plain"})
    assert status == 415
    assert http(border.url + "/v1/test/movements/bc-000000000000000000000000")[0] == 404


def test_reports_are_retried_until_gerbang_confirms(border: BorderProcess, gerbang: FakeGerbang) -> None:
    gerbang.fail_next = 3
    status, answer = border.record(**GOOD)
    assert status == 201
    delivered = border.wait_delivered(answer["event_id"])
    assert delivered["delivery"]["attempts"] == 4
    assert [r.status for r in gerbang.for_event(answer["event_id"])] == [500, 500, 500, 201]


def _hidden(page: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page))


def test_the_officers_screen(border: BorderProcess, gerbang: FakeGerbang) -> None:
    status, headers, body, _ = http(border.url + "/")
    page = body.decode()
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert "default-src 'none'" in headers["Content-Security-Policy"] and "<script" not in page
    fields = _hidden(page) | {
        "nationality": "jpn",
        "passport_number": "TR1234567",
        "direction": "exit",
        "port": "BTH",
        "at": "",
    }
    form = urllib.parse.urlencode(fields).encode()
    status, _, body, final = http(border.url + "/movements", "POST", form)
    page = body.decode()
    assert status == 200 and "/?recorded=bc-" in final
    event_id = final.rsplit("=", 1)[1]
    assert f"recorded as <code>{event_id}</code>" in page
    assert "JPN TR1234567" in page and "Exit" in page
    border.wait_delivered(event_id)
    assert "Delivered (recorded)" in http(border.url + "/")[2].decode()
    # The same form sent again (a double click, a reload) records nothing new.
    status, _, _, again = http(border.url + "/movements", "POST", form)
    assert again == final
    assert len([r for r in gerbang.received if json.loads(r.body)["passport_number"] == "TR1234567"]) == 1


def test_the_form_names_its_mistakes_and_escapes_what_was_typed(border: BorderProcess) -> None:
    page = http(border.url + "/")[2].decode()
    fields = _hidden(page) | {
        "nationality": "<b>x",
        "passport_number": '"><script>alert(1)</script>',
        "direction": "entry",
        "port": "CGK",
        "at": "2025-06-01T08:30",
    }
    status, _, body, _ = http(border.url + "/movements", "POST", urllib.parse.urlencode(fields).encode())
    page = body.decode()
    assert status == 400
    assert "<script>" not in page and "&lt;script&gt;" in page and "&lt;b&gt;x" in page
    assert "three letters A-Z" in page and "1 to 9 letters" in page
    fields |= {"nationality": "JPN", "passport_number": "TR1234567", "request_id": "x"}
    status, _, body, _ = http(border.url + "/movements", "POST", urllib.parse.urlencode(fields).encode())
    assert status == 400 and "open it again" in body.decode()
    status, _, _, _ = http(
        border.url + "/movements",
        "POST",
        urllib.parse.urlencode(_hidden(page) | GOOD).encode(),
        {"Origin": "http://evil.example"},
    )
    assert status == 403
    assert http(border.url + "/movements")[0] == 405
    assert http(border.url + "/nowhere")[0] == 404


def test_without_the_test_api_there_is_no_test_route(tmp_path: Path, gerbang: FakeGerbang) -> None:
    process = start_border(tmp_path / "plain", gerbang.url, tmp_path / GERBANG_PUB)
    try:
        status, _, _, _ = http(process.url + "/v1/test/movements", "POST", b"{}", {"Content-Type": "application/json"})
        assert status == 404
    finally:
        stop(process.process)


def test_an_undelivered_report_survives_sigkill(tmp_path: Path, gerbang: FakeGerbang) -> None:
    data = tmp_path / "border"
    gerbang.border_keys = [data / "border.pub"]
    missing_key = tmp_path / "later" / "gerbang-client.pub"  # no Gerbang key yet: nothing can be delivered
    first = start_border(data, gerbang.url, missing_key, "--test-api")
    try:
        status, answer = first.record(**GOOD)
        assert status == 201
        time.sleep(0.3)
        assert first.movement(answer["event_id"])["delivery"]["state"] == "pending"
    finally:
        first.process.kill()
        first.process.wait()
    second = start_border(data, gerbang.url, tmp_path / GERBANG_PUB, "--test-api")
    try:
        second.wait_delivered(answer["event_id"])
        assert [r.status for r in gerbang.for_event(answer["event_id"])] == [201]
    finally:
        stop(second.process)


def test_reports_are_stamped_in_utc(tmp_path: Path) -> None:
    store = Store(tmp_path)
    movement, _ = store.record(_input(at="2025-06-01T09:00:00+09:00", port="DJJ"), now=NOW)
    assert movement.at == "2025-06-01T00:00:00Z"
    assert datetime.fromisoformat(movement.at) == datetime(2025, 6, 1, tzinfo=UTC)
    assert datetime.fromisoformat(movement.recorded_at) - NOW == timedelta(0)
