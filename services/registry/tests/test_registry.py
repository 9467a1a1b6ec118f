"""The registry's matching rules and storage, and its HTTP API over real signed HTTP to a real process."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from services.registry.registry import Store, VerifyQuery, parse_photo, parse_verify
from services.registry.server import Registry, RegistryServer
from services.testing import free_port, stop
from signedhttp import (
    KeyPair,
    Keyring,
    SignatureError,
    generate_keypair,
    load_public_keys,
    post_json,
    sign_request,
    verify_response,
)

from .support import raw, wait_healthy

REPO = Path(__file__).resolve().parents[3]
SITI = {"nik": "3173015708870001", "kk": "3173011001200001", "name": "Siti Rahayu", "birth_date": "1987-08-17"}
WIRAWAN = {"nik": "5171012506780001", "kk": "5171010503120001", "name": "I Made Wirawan", "birth_date": "1978-06-25"}
CHILDREN_OF_SITI = [
    {"nik": "3173016005150001", "name": "Putri Ayu Lestari", "birth_date": "2015-05-20", "sex": "F"},
    {"nik": "3173010211190001", "name": "Rizky Pratama Santoso", "birth_date": "2019-11-02", "sex": "M"},
]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return Store(tmp_path_factory.mktemp("store") / "registry.sqlite3")


def _query(fields: dict[str, str]) -> VerifyQuery:
    query, errors = parse_verify(fields)
    assert query is not None, errors
    return query


# --- Rules and storage, in process -------------------------------------------------------------


def test_a_full_match_returns_the_person_and_the_minors_on_the_card(store: Store) -> None:
    result = store.verify(_query(SITI), today=date(2026, 6, 1))
    assert result["match"] is True
    assert result["person"] == {
        "nik": "3173015708870001",
        "kk": "3173011001200001",
        "name": "Siti Rahayu",
        "birth_place": "Bandung",
        "birth_date": "1987-08-17",
        "sex": "F",
        "father_name": "Ahmad Hidayat",
        "mother_name": "Nur Aini",
        "relationship": "wife",
    }
    assert result["family"] == [child | {"relationship": "child"} for child in CHILDREN_OF_SITI]
    assert store.verify(_query(SITI | {"name": "  siti   RAHAYU "}), today=date(2026, 6, 1)) == result


def test_minors_are_counted_on_the_day_asked(store: Store) -> None:
    kadek = {"nik": "5171010801120001", "name": "I Kadek Dwi Putra", "birth_date": "2012-01-08", "sex": "M"}
    kadek |= {"relationship": "child"}
    assert store.verify(_query(WIRAWAN), today=date(2029, 1, 7))["family"] == [kadek]  # the adult daughter: no
    assert store.verify(_query(WIRAWAN), today=date(2029, 1, 8))["family"] == []  # Kadek turned 17
    child = {"nik": "3173016005150001", "kk": SITI["kk"], "name": "Putri Ayu Lestari", "birth_date": "2015-05-20"}
    result = store.verify(_query(child), today=date(2026, 6, 1))
    assert result["person"]["father_name"] == "Budi Santoso"
    assert [m["name"] for m in result["family"]] == ["Rizky Pratama Santoso"]  # not herself, not her parents


@pytest.mark.parametrize(
    "change",
    [
        {"kk": "3173011001200002"},
        {"kk": WIRAWAN["kk"]},
        {"name": "Siti Rahayuu"},
        {"name": "Rahayu Siti"},
        {"birth_date": "1987-08-18"},
        {"nik": "3173015708870002"},
        {"nik": "0000000000000000"},
        {"nik": WIRAWAN["nik"]},
    ],
)
def test_any_other_combination_is_just_no_match(store: Store, change: dict[str, str]) -> None:
    assert store.verify(_query(SITI | change)) == {"match": False}


def test_request_bodies_are_checked_field_by_field() -> None:
    assert parse_verify([]) == (None, {"body": "must be a JSON object"})
    assert parse_verify({}) == (
        None,
        {"birth_date": "required", "kk": "required", "name": "required", "nik": "required"},
    )
    _, errors = parse_verify(
        {"nik": "31730157", "kk": 3173011001200001, "name": " ", "birth_date": "17-08-1987", "extra": 1}
    )
    assert set(errors) == {"nik", "kk", "name", "birth_date", "extra"}
    assert parse_verify(SITI | {"birth_date": "1987-02-30"})[1] == {"birth_date": "must be a date YYYY-MM-DD"}
    assert parse_verify(SITI | {"name": "x" * 121})[1] == {
        "name": "must be a non-empty string of at most 120 characters"
    }
    assert parse_photo({"nik": SITI["nik"]}) == (SITI["nik"], {})
    assert parse_photo({"nik": "x"}) == (None, {"nik": "must be a string of 16 digits"})


def test_the_store_keeps_its_population_and_refuses_another_seed(tmp_path: Path) -> None:
    first = Store(tmp_path / "registry.sqlite3")
    count = first.count()
    assert Store(tmp_path / "registry.sqlite3").count() == count
    with pytest.raises(ValueError, match="seed"):
        Store(tmp_path / "registry.sqlite3", seed=1)


def test_nonces_are_used_once_until_they_expire(store: Store) -> None:
    assert store.use("gerbang-client", "n-1", 4_000_000_000.0)
    assert not store.use("gerbang-client", "n-1", 4_000_000_000.0)
    assert store.use("other-client", "n-1", 4_000_000_000.0)
    assert store.use("gerbang-client", "n-old", 1.0)  # already expired: purged on the next use
    assert store.use("gerbang-client", "n-old", 1.0)


def test_the_demo_endpoint_can_be_turned_off(tmp_path: Path, store: Store) -> None:
    key = KeyPair.generate("registry")
    for demo, expected in ((True, 200), (False, 404)):
        server = RegistryServer(("127.0.0.1", 0), Registry(store, key, tmp_path / "missing.pub", demo=demo))
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            status, _, body = raw(f"http://127.0.0.1:{server.server_address[1]}/v1/demo-residents")
        finally:
            server.shutdown()
            server.server_close()
        assert status == expected
        if demo:
            assert len(json.loads(body)["residents"]) == 11


# --- Over real HTTP, against the process -------------------------------------------------------


@dataclass
class Sandbox:
    url: str
    client: KeyPair
    registry_keys: Keyring
    data: Path

    def post(self, path: str, payload: Any, pair: KeyPair | None = None) -> tuple[int, Any]:
        pair = pair or self.client
        return post_json(
            self.url + path, payload, key_id=pair.key_id, private_key=pair.private_key, keyring=self.registry_keys
        )

    def signed_headers(self, path: str, body: bytes, content_type: str = "application/json") -> dict[str, str]:
        headers = {"Content-Type": content_type}
        return headers | sign_request(
            "POST", self.url + path, headers, body, key_id=self.client.key_id, private_key=self.client.private_key
        )


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    base = tmp_path_factory.mktemp("registry")
    client = generate_keypair("gerbang-client", base / "keys")
    port = free_port()
    output = base / "output"
    with output.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.registry", "--data", str(base / "data"), "--port", str(port)],
            cwd=REPO,
            env={**os.environ, "REGISTRY_GERBANG_KEY": str(base / "keys" / "gerbang-client.pub")},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process, str(output))
        yield Sandbox(url, client, Keyring(load_public_keys(base / "data" / "registry.pub")), base / "data")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        stop(process)
    printed = output.read_text()
    assert f"listening on {url}/ with " in printed
    assert (base / "data" / "registry.pub").read_text().strip() in printed


def test_a_signed_correct_request_matches_and_returns_the_minors(sandbox: Sandbox) -> None:
    status, data = sandbox.post("/v1/verify", SITI | {"name": "SITI  rahayu"})
    assert status == 200 and data["match"] is True
    assert data["person"]["nik"] == SITI["nik"] and data["person"]["name"] == "Siti Rahayu"
    assert data["family"] == [child | {"relationship": "child"} for child in CHILDREN_OF_SITI]


@pytest.mark.parametrize(
    "change",
    [{"kk": "3173011001200002"}, {"name": "Siti Rahmawati"}, {"birth_date": "1987-08-18"}, {"nik": "3173015708870009"}],
)
def test_a_wrong_field_is_no_match_and_reveals_nothing(sandbox: Sandbox, change: dict[str, str]) -> None:
    assert sandbox.post("/v1/verify", SITI | change) == (200, {"match": False})


def test_an_unsigned_request_is_refused(sandbox: Sandbox) -> None:
    body = json.dumps(SITI).encode()
    status, headers, answer = raw(sandbox.url + "/v1/verify", "POST", body, {"Content-Type": "application/json"})
    assert status == 401
    assert json.loads(answer)["error"] == "unauthorized" and "match" not in answer.decode()
    assert "Signature" in headers  # even the refusal is signed by the registry


def test_a_request_signed_by_an_unknown_key_is_refused(sandbox: Sandbox) -> None:
    status, data = sandbox.post("/v1/verify", SITI, pair=KeyPair.generate("gerbang-client"))
    assert status == 401 and "does not match" in data["detail"]
    status, data = sandbox.post("/v1/verify", SITI, pair=KeyPair.generate("someone-else"))
    assert status == 401 and "unknown key 'someone-else'" in data["detail"]


def test_a_tampered_body_is_refused(sandbox: Sandbox) -> None:
    body = json.dumps(SITI | {"kk": "3173011001200002"}).encode()
    headers = sandbox.signed_headers("/v1/verify", body)
    tampered = json.dumps(SITI).encode()
    status, _, answer = raw(sandbox.url + "/v1/verify", "POST", tampered, headers)
    assert status == 401 and "Content-Digest does not match" in json.loads(answer)["detail"]


def test_a_replayed_request_is_refused(sandbox: Sandbox) -> None:
    body = json.dumps(SITI).encode()
    headers = sandbox.signed_headers("/v1/verify", body)
    assert raw(sandbox.url + "/v1/verify", "POST", body, headers)[0] == 200
    status, _, answer = raw(sandbox.url + "/v1/verify", "POST", body, headers)
    assert status == 401 and "replayed" in json.loads(answer)["detail"]


def test_a_request_signed_for_another_endpoint_is_refused(sandbox: Sandbox) -> None:
    body = json.dumps({"nik": SITI["nik"]}).encode()
    headers = sandbox.signed_headers("/v1/verify", body)
    assert raw(sandbox.url + "/v1/photo", "POST", body, headers)[0] == 401


def test_malformed_bodies_are_400_with_field_errors(sandbox: Sandbox) -> None:
    body = b'{"nik": "3173015708870001",'
    status, _, answer = raw(sandbox.url + "/v1/verify", "POST", body, sandbox.signed_headers("/v1/verify", body))
    assert status == 400 and json.loads(answer) == {"error": "invalid request", "fields": {"body": "must be JSON"}}
    status, data = sandbox.post("/v1/verify", {"nik": "123", "kk": SITI["kk"], "name": "Siti Rahayu"})
    assert status == 400
    assert data["fields"] == {"nik": "must be a string of 16 digits", "birth_date": "required"}
    body = b"nik=3173015708870001"
    headers = sandbox.signed_headers("/v1/verify", body, "application/x-www-form-urlencoded")
    assert raw(sandbox.url + "/v1/verify", "POST", body, headers)[0] == 415


def test_the_response_signature_verifies_with_the_registry_key_only(sandbox: Sandbox) -> None:
    path = "/v1/verify"
    body = json.dumps(SITI).encode()
    headers = sandbox.signed_headers(path, body)
    status, answer_headers, answer = raw(sandbox.url + path, "POST", body, headers)
    assert status == 200 and json.loads(answer)["match"] is True
    request: dict[str, Any] = {"request_method": "POST", "request_url": sandbox.url + path, "request_headers": headers}
    assert verify_response(status, answer_headers, answer, sandbox.registry_keys, **request) == "registry"
    with pytest.raises(SignatureError, match="does not match"):
        verify_response(status, answer_headers, answer.replace(b"true", b"fals"), sandbox.registry_keys, **request)
    impostor = Keyring({"registry": KeyPair.generate("registry").public_key})
    with pytest.raises(SignatureError, match="does not match"):
        verify_response(status, answer_headers, answer, impostor, **request)
    with pytest.raises(SignatureError, match="does not match"):  # bound to its request: not to another one
        other = sandbox.signed_headers(path, body)
        verify_response(status, answer_headers, answer, sandbox.registry_keys, **request | {"request_headers": other})


def test_the_photo_of_a_resident(sandbox: Sandbox) -> None:
    status, data = sandbox.post("/v1/photo", {"nik": SITI["nik"]})
    assert status == 200 and data["nik"] == SITI["nik"] and data["content_type"] == "image/png"
    png = base64.b64decode(data["photo"], validate=True)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and png[16:24] == (120).to_bytes(4, "big") + (160).to_bytes(4, "big")
    assert sandbox.post("/v1/photo", {"nik": SITI["nik"]})[1]["photo"] == data["photo"]
    assert sandbox.post("/v1/photo", {"nik": "3173015708870009"}) == (404, {"error": "no such resident"})


def test_health_demo_residents_and_unknown_routes(sandbox: Sandbox) -> None:
    assert raw(sandbox.url + "/healthz")[::2] == (200, b"ok\n")
    status, _, body = raw(sandbox.url + "/v1/demo-residents")
    names = [r["name"] for r in json.loads(body)["residents"]]
    assert status == 200 and "Siti Rahayu" in names and len(names) == 11
    assert raw(sandbox.url + "/v1/residents")[0] == 404
    assert raw(sandbox.url + "/v1/verify")[0] == 405
    assert _status_line(sandbox, "POST /v1/verify HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n") == 411
    big = "POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\nConnection: close\r\n\r\n"
    assert _status_line(sandbox, big) == 413


def _status_line(sandbox: Sandbox, request: str) -> int:
    """The status of a hand-written HTTP/1.1 request (urllib always adds a Content-Length)."""
    host, port = sandbox.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request.encode())
        return int(sock.makefile("rb").readline().split()[1])


def test_every_answered_request_is_audited_without_its_body(sandbox: Sandbox) -> None:
    sandbox.post("/v1/verify", SITI)
    sandbox.post("/v1/verify", SITI | {"kk": "3173011001200002"})
    raw(sandbox.url + "/v1/verify", "POST", json.dumps(SITI).encode(), {"Content-Type": "application/json"})
    with sqlite3.connect(sandbox.data / "registry.sqlite3") as db:
        rows = db.execute("SELECT time, key_id, method, endpoint, status, match FROM audit").fetchall()
        dump = "\n".join(db.iterdump())
    assert rows[-3][1:] == ("gerbang-client", "POST", "/v1/verify", 200, 1)
    assert rows[-2][1:] == ("gerbang-client", "POST", "/v1/verify", 200, 0)
    assert rows[-1][1:] == (None, "POST", "/v1/verify", 401, None)
    assert rows[-1][0].endswith("Z")
    audit = [line for line in dump.splitlines() if 'INTO "audit"' in line]
    assert audit and not any(SITI["name"] in line or SITI["kk"] in line for line in audit)
