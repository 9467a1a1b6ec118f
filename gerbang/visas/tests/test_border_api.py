"""Gerbang's border endpoint (docs/border-protocol.md): signed reports in, signed answers out, nothing else stored.

Requests are signed here with a border key exactly as border control signs them
(``signedhttp``, RFC 9421 with Ed25519) and sent through the Django test client;
every answer's signature is checked against Gerbang's public key. The last test
starts the real sandbox border service (services/border) against a live server.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone

from gerbang.audit.models import AuditEvent
from gerbang.visas.models import BorderMovement
from services.testing import free_port, stop
from signedhttp import KeyPair, Keyring, generate_keypair, load_public_keys, sign_request, verify_response

PATH = "/api/border/v1/movements"
URL = "http://testserver" + PATH
REPORT = {
    "event_id": "bc-0123456789abcdef01234567",
    "direction": "entry",
    "nationality": "AUS",
    "passport_number": "PA1234567",
    "at": "2025-06-01T02:00:00Z",
    "port": "DPS",
}


@dataclass
class Keys:
    border: KeyPair
    gerbang_pub: Path

    def gerbang(self) -> Keyring:
        return Keyring(load_public_keys(self.gerbang_pub))


@pytest.fixture
def keys(tmp_path: Path, settings: Any) -> Keys:
    """Gerbang's key (the one it signs registry requests with) and a border key Gerbang trusts."""
    gerbang = generate_keypair("gerbang-client", tmp_path / "keys")
    border = generate_keypair("border-sandbox", tmp_path / "border", stem="border")
    settings.REGISTRY_CLIENT_KEY_FILE = tmp_path / "keys" / "gerbang-client.key"
    settings.BORDER_PUBLIC_KEY_FILE = tmp_path / "border" / "border.pub"
    assert gerbang.key_id == "gerbang-client"
    return Keys(border, tmp_path / "keys" / "gerbang-client.pub")


@dataclass
class Answer:
    status: int
    data: dict[str, Any]
    signed_by: str  # the key id of Gerbang's verified signature


def send(
    keys: Keys,
    payload: Any = None,
    *,
    body: bytes | None = None,
    key: KeyPair | None = None,
    signed_url: str = URL,
    tamper: bytes | None = None,
    signed: bool = True,
    content_type: str = "application/json",
) -> Answer:
    """POST a report as border control does; check that Gerbang's answer is signed for this very request."""
    if body is None:
        body = json.dumps(REPORT if payload is None else payload, separators=(",", ":")).encode()
    headers = {"Content-Type": content_type}
    if signed:
        signer = key or keys.border
        headers |= sign_request("POST", signed_url, headers, body, key_id=signer.key_id, private_key=signer.private_key)
    extra = {name: value for name, value in headers.items() if name != "Content-Type"}
    response = Client().post(PATH, data=tamper or body, content_type=content_type, headers=extra)
    signed_by = verify_response(
        response.status_code,
        response.headers,
        response.content,
        keys.gerbang(),
        request_method="POST",
        request_url=URL,
        request_headers=headers,
    )
    return Answer(response.status_code, json.loads(response.content), signed_by)


@pytest.mark.django_db
def test_a_signed_report_is_recorded_and_audited(keys: Keys) -> None:
    answer = send(keys)
    assert (answer.status, answer.data, answer.signed_by) == (
        201,
        {"event_id": REPORT["event_id"], "status": "recorded"},
        "gerbang-client",
    )
    movement = BorderMovement.objects.get(event_id=REPORT["event_id"])
    assert (movement.direction, movement.nationality, movement.passport_number, movement.port) == (
        "entry",
        "AUS",
        "PA1234567",
        "DPS",
    )
    assert movement.at == dt.datetime(2025, 6, 1, 2, 0, tzinfo=dt.UTC)
    assert AuditEvent.objects.filter(action__startswith="visas.border", object_id=str(movement.pk)).exists()


@pytest.mark.django_db
def test_any_offset_is_taken_and_stored_as_the_same_instant(keys: Keys) -> None:
    report = REPORT | {"event_id": "bc-offset", "direction": "exit", "at": "2025-06-01T10:00:00+08:00"}
    assert send(keys, report).status == 201
    assert BorderMovement.objects.get(event_id="bc-offset").at == dt.datetime(2025, 6, 1, 2, 0, tzinfo=dt.UTC)


@pytest.mark.django_db
def test_a_report_sent_again_is_a_duplicate_and_changes_nothing(keys: Keys) -> None:
    assert send(keys).status == 201
    audited = AuditEvent.objects.filter(action__startswith="visas.border").count()
    again = send(keys)  # a retry: the same report, signed afresh
    assert (again.status, again.data) == (200, {"event_id": REPORT["event_id"], "status": "duplicate"})
    assert BorderMovement.objects.filter(event_id=REPORT["event_id"]).count() == 1
    assert AuditEvent.objects.filter(action__startswith="visas.border").count() == audited


@pytest.mark.django_db
def test_an_event_id_reported_again_with_other_values_is_a_conflict(
    keys: Keys, caplog: pytest.LogCaptureFixture
) -> None:
    assert send(keys).status == 201
    with caplog.at_level(logging.WARNING, logger="gerbang.security"):
        answer = send(keys, REPORT | {"direction": "exit", "port": "CGK"})
    assert answer.status == 409 and answer.data["fields"] == ["direction", "port"]
    assert "reported again with different direction, port" in caplog.text
    movement = BorderMovement.objects.get(event_id=REPORT["event_id"])
    assert (movement.direction, movement.port) == ("entry", "DPS")  # the first report stands


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("unsigned", "not signed"),
        ("other-key", "does not match"),
        ("unknown-key-id", "unknown key"),
        ("tampered-body", "digest"),
        ("other-url", "does not match"),
    ],
)
def test_a_bad_signature_is_refused_and_nothing_is_stored(
    keys: Keys, how: str, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    choices: dict[str, dict[str, Any]] = {
        "unsigned": {"signed": False},
        "other-key": {"key": KeyPair.generate("border-sandbox")},  # the trusted key id, but another key
        "unknown-key-id": {"key": KeyPair.generate("someone-else")},
        "tampered-body": {"tamper": json.dumps(REPORT | {"direction": "exit"}, separators=(",", ":")).encode()},
        "other-url": {"signed_url": "http://testserver/api/border/v1/other"},
    }
    with caplog.at_level(logging.WARNING, logger="gerbang.security"):
        answer = send(keys, **choices[how])
    assert (answer.status, answer.data) == (401, {"error": "unauthorized"})
    assert answer.signed_by == "gerbang-client"  # refusals are signed too
    assert not BorderMovement.objects.exists()
    (line,) = [r for r in caplog.records if r.name == "gerbang.security"]
    assert "border API: refused POST /api/border/v1/movements" in line.getMessage()
    assert reason in line.getMessage().lower()


@pytest.mark.django_db
def test_without_the_border_key_file_every_report_is_refused(
    keys: Keys, settings: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings.BORDER_PUBLIC_KEY_FILE = tmp_path / "missing" / "border.pub"
    with caplog.at_level(logging.WARNING, logger="gerbang.security"):
        answer = send(keys)
    assert answer.status == 401 and not BorderMovement.objects.exists()
    assert "cannot read" in caplog.text


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"direction": "transit"}, "direction", '"entry" or "exit"'),
        ({"nationality": "aus"}, "nationality", "alpha-3"),
        ({"nationality": "AU"}, "nationality", "alpha-3"),
        ({"passport_number": "PA 123"}, "passport_number", "1-9"),
        ({"passport_number": "PA12345678"}, "passport_number", "1-9"),
        ({"port": "C"}, "port", "port code"),
        ({"event_id": ""}, "event_id", "1-64"),
        ({"event_id": 12}, "event_id", "1-64"),
        ({"at": "2025-06-01T02:00:00"}, "at", "offset"),
        ({"at": "1 June 2025"}, "at", "ISO 8601"),
        ({"name": "Jane Citizen"}, "name", "unexpected field"),
    ],
)
def test_a_bad_field_is_named_and_nothing_is_stored(
    keys: Keys, change: dict[str, Any], field: str, message: str
) -> None:
    answer = send(keys, REPORT | change)
    assert answer.status == 422 and answer.data["error"] == "invalid request"
    assert list(answer.data["fields"]) == [field] and message in answer.data["fields"][field]
    assert not BorderMovement.objects.exists()


@pytest.mark.django_db
def test_missing_fields_a_future_time_and_bodies_that_are_not_reports(keys: Keys) -> None:
    assert set(send(keys, {}).data["fields"]) == {*REPORT}
    future = (timezone.now() + dt.timedelta(minutes=10)).isoformat()
    assert send(keys, REPORT | {"at": future}).data["fields"] == {"at": "in the future"}
    assert send(keys, ["entry"]).data == {"error": "invalid request", "fields": {"body": "must be a JSON object"}}
    not_json = send(keys, body=b"{not json")
    assert (not_json.status, not_json.data["fields"]) == (400, {"body": "must be JSON"})
    assert send(keys, body=b"direction=entry", content_type="text/plain").status == 415
    assert not BorderMovement.objects.exists()


@pytest.mark.django_db
def test_only_post_is_answered(keys: Keys) -> None:
    assert Client().get(PATH).status_code == 405


@pytest.mark.django_db
def test_without_gerbangs_own_key_nothing_is_stored(keys: Keys, settings: Any, tmp_path: Path) -> None:
    settings.REGISTRY_CLIENT_KEY_FILE = tmp_path / "missing.key"
    body = json.dumps(REPORT).encode()
    headers = {"Content-Type": "application/json"}
    headers |= sign_request("POST", URL, headers, body, key_id="border-sandbox", private_key=keys.border.private_key)
    extra = {name: value for name, value in headers.items() if name != "Content-Type"}
    response = Client().post(PATH, data=body, content_type="application/json", headers=extra)
    assert response.status_code == 503 and "Signature" not in response.headers
    assert not BorderMovement.objects.exists()


# --- The real border service against a live Gerbang -------------------------------------------------


@pytest.fixture
def border_service(live_server: Any, tmp_path: Path, settings: Any) -> Iterator[str]:
    """The sandbox border control (services/border) as a process, reporting to the live server."""
    generate_keypair("gerbang-client", tmp_path / "keys")
    settings.REGISTRY_CLIENT_KEY_FILE = tmp_path / "keys" / "gerbang-client.key"
    settings.BORDER_PUBLIC_KEY_FILE = tmp_path / "border" / "border.pub"  # written by the service when it starts
    port = free_port()
    log = tmp_path / "border.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "services.border",
                "--data",
                str(tmp_path / "border"),
                "--port",
                str(port),
                "--gerbang",
                str(live_server.url),
                "--gerbang-key",
                str(tmp_path / "keys" / "gerbang-client.pub"),
                "--test-api",
                "--retry-base",
                "0.2",
                "--retry-cap",
                "1",
            ],
            cwd=django_settings.BASE_DIR,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=1) as answer:  # noqa: S310 (local)
                    if answer.read() == b"ok\n":
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the border service did not start:\n{log.read_text()}")
            time.sleep(0.1)
        yield url
    finally:
        stop(process)
        if log.exists():
            print(log.read_text()[-3000:])  # shown when the test fails


def _post_json(url: str, payload: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(  # noqa: S310 (local)
        url, json.dumps(payload).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 (local)
        return dict(json.loads(answer.read()))


def _get_json(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 (local)
        return dict(json.loads(answer.read()))


@pytest.mark.django_db(transaction=True)
def test_a_movement_recorded_at_the_border_arrives_in_gerbangs_database(border_service: str) -> None:
    at = (timezone.now() - dt.timedelta(hours=2)).replace(microsecond=0)
    recorded = _post_json(
        border_service + "/v1/test/movements",
        {
            "direction": "entry",
            "nationality": "JPN",
            "passport_number": "TR7654321",
            "port": "CGK",
            "at": at.isoformat(),
        },
    )
    event_id = recorded["event_id"]
    deadline = time.monotonic() + 30
    while (movement := BorderMovement.objects.filter(event_id=event_id).first()) is None:
        assert time.monotonic() < deadline, _get_json(border_service + "/v1/status")
        time.sleep(0.1)
    assert (movement.direction, movement.nationality, movement.passport_number, movement.port, movement.at) == (
        "entry",
        "JPN",
        "TR7654321",
        "CGK",
        at,
    )
    # The border believes Gerbang's signed answer and marks the report delivered.
    while (state := _get_json(f"{border_service}/v1/test/movements/{event_id}")["delivery"])["state"] != "delivered":
        assert time.monotonic() < deadline, state
        time.sleep(0.1)
    assert state["answer"] == {"event_id": event_id, "status": "recorded"}
    assert BorderMovement.objects.filter(event_id=event_id).count() == 1
