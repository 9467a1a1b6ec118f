"""Signed requests and responses, key files and the JSON client, with real Ed25519 keys."""

from __future__ import annotations

import json
import socket
import stat
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from signedhttp import (
    KeyFileError,
    KeyPair,
    Keyring,
    MemoryNonceStore,
    RemoteError,
    SignatureError,
    generate_keypair,
    load_keypair,
    load_public_keys,
    post_json,
    sign_request,
    sign_response,
    verify_request,
    verify_response,
)
from signedhttp.__main__ import main as cli

URL = "http://registry.test:8002/v1/verify"
BODY = b'{"nik":"3173015708850001"}'
HEADERS = {"Content-Type": "application/json"}

CLIENT = KeyPair.generate("gerbang-client")
SERVER = KeyPair.generate("registry")


def ring(*pairs: KeyPair) -> Keyring:
    return Keyring({pair.key_id: pair.public_key for pair in pairs})


def signed(
    url: str = URL, body: bytes = BODY, pair: KeyPair = CLIENT, **kwargs: Any
) -> tuple[dict[str, str], dict[str, str]]:
    """``(all request headers, the added ones)``."""
    added = sign_request("POST", url, HEADERS, body, key_id=pair.key_id, private_key=pair.private_key, **kwargs)
    return HEADERS | added, added


def test_a_signed_request_verifies_and_names_its_key() -> None:
    headers, added = signed()
    assert set(added) == {"Content-Digest", "Signature-Input", "Signature"}
    assert added["Content-Digest"].startswith("sha-256=:") and added["Content-Digest"].endswith(":")
    params = added["Signature-Input"]
    assert params.startswith('sig=("@method" "@target-uri" "content-type" "content-digest");created=')
    for part in ('keyid="gerbang-client"', 'alg="ed25519"', ";nonce=", 'tag="gerbang-signedhttp/1"'):
        assert part in params
    assert verify_request("POST", URL, headers, BODY, ring(CLIENT)) == "gerbang-client"
    # Header names are case-insensitive; an empty body is signed too.
    lower = {name.lower(): value for name, value in headers.items()}
    assert verify_request("post", URL, lower, BODY, ring(CLIENT)) == "gerbang-client"
    empty, _ = signed(body=b"")
    assert verify_request("POST", URL, empty, b"", ring(CLIENT)) == "gerbang-client"


def test_each_signature_gets_a_fresh_nonce() -> None:
    first, second = signed()[1]["Signature-Input"], signed()[1]["Signature-Input"]
    nonce = [p for p in first.split(";") if p.startswith("nonce=")]
    assert nonce and nonce[0] not in second


@pytest.mark.parametrize(
    ("method", "url", "change", "body", "reason"),
    [
        ("POST", URL, {}, b'{"nik":"3173015708850002"}', "Content-Digest does not match"),
        ("POST", URL, {}, BODY + b" ", "Content-Digest does not match"),
        ("POST", "http://registry.test:8002/v1/photo", {}, BODY, "does not match"),
        ("POST", URL + "?all=1", {}, BODY, "does not match"),
        ("POST", "http://elsewhere.test:8002/v1/verify", {}, BODY, "does not match"),
        ("PUT", URL, {}, BODY, "does not match"),
        ("POST", URL, {"Content-Type": "text/plain"}, BODY, "does not match"),
    ],
)
def test_tampering_is_refused(method: str, url: str, change: dict[str, str], body: bytes, reason: str) -> None:
    headers, _ = signed()
    with pytest.raises(SignatureError, match=reason):
        verify_request(method, url, headers | change, body, ring(CLIENT))


def test_a_rewritten_digest_is_refused() -> None:
    headers, _ = signed()
    other, _ = signed(body=b"{}")
    with pytest.raises(SignatureError, match="does not match"):
        verify_request("POST", URL, headers | {"Content-Digest": other["Content-Digest"]}, b"{}", ring(CLIENT))


def test_a_wrong_or_unknown_key_is_refused() -> None:
    headers, _ = signed()
    impostor = KeyPair.generate("gerbang-client")  # same key id, another key
    with pytest.raises(SignatureError, match="does not match"):
        verify_request("POST", URL, headers, BODY, ring(impostor))
    with pytest.raises(SignatureError, match="unknown key 'gerbang-client'"):
        verify_request("POST", URL, headers, BODY, ring(SERVER))
    with pytest.raises(SignatureError, match="unknown key"):
        verify_request("POST", URL, headers, BODY, Keyring())


def test_old_and_future_signatures_are_refused() -> None:
    now = datetime.now(UTC)
    old, _ = signed(created=now - timedelta(seconds=400))
    with pytest.raises(SignatureError, match="maximum allowable age"):
        verify_request("POST", URL, old, BODY, ring(CLIENT))
    assert verify_request("POST", URL, old, BODY, ring(CLIENT), max_age=600) == "gerbang-client"
    future, _ = signed(created=now + timedelta(minutes=10))
    with pytest.raises(SignatureError, match="in the future"):
        verify_request("POST", URL, future, BODY, ring(CLIENT))
    slightly, _ = signed(created=now + timedelta(seconds=10))  # within the allowed clock skew
    assert verify_request("POST", URL, slightly, BODY, ring(CLIENT)) == "gerbang-client"


@pytest.mark.parametrize("missing", ["Signature", "Signature-Input", "Content-Digest"])
def test_missing_headers_are_refused(missing: str) -> None:
    headers, _ = signed()
    del headers[missing]
    with pytest.raises(SignatureError):
        verify_request("POST", URL, headers, BODY, ring(CLIENT))


def test_unsigned_and_garbled_requests_are_refused() -> None:
    with pytest.raises(SignatureError, match="not signed"):
        verify_request("POST", URL, HEADERS, BODY, ring(CLIENT))
    headers, _ = signed()
    with pytest.raises(SignatureError):
        verify_request("POST", URL, headers | {"Signature": "sig=garbage"}, BODY, ring(CLIENT))
    with pytest.raises(SignatureError):
        verify_request("POST", URL, headers | {"Signature-Input": 'sig=("@method")'}, BODY, ring(CLIENT))


def test_a_replayed_nonce_is_refused_when_the_verifier_keeps_nonces() -> None:
    headers, _ = signed()
    nonces = MemoryNonceStore()
    assert verify_request("POST", URL, headers, BODY, ring(CLIENT), nonces=nonces) == "gerbang-client"
    with pytest.raises(SignatureError, match="replayed"):
        verify_request("POST", URL, headers, BODY, ring(CLIENT), nonces=nonces)
    fresh, _ = signed()
    assert verify_request("POST", URL, fresh, BODY, ring(CLIENT), nonces=nonces) == "gerbang-client"
    # Without a nonce store a replay inside max_age is not detected (documented).
    assert verify_request("POST", URL, headers, BODY, ring(CLIENT)) == "gerbang-client"


def test_the_nonce_store_forgets_expired_nonces() -> None:
    clock = [1000.0]
    nonces = MemoryNonceStore(clock=lambda: clock[0])
    assert nonces.use("k", "n", 1100.0) and not nonces.use("k", "n", 1100.0)
    assert nonces.use("other", "n", 1100.0)
    clock[0] = 1101.0
    assert nonces.use("k", "n", 1200.0)


def _answer(request_headers: dict[str, str], status: int = 200, body: bytes = b'{"match":false}') -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    return headers | sign_response(
        status,
        headers,
        body,
        key_id=SERVER.key_id,
        private_key=SERVER.private_key,
        request_method="POST",
        request_url=URL,
        request_headers=request_headers,
    )


def _check(
    request_headers: dict[str, str], headers: dict[str, str], status: int = 200, body: bytes = b'{"match":false}'
) -> str:
    return verify_response(
        status,
        headers,
        body,
        ring(SERVER),
        request_method="POST",
        request_url=URL,
        request_headers=request_headers,
    )


def test_a_signed_response_verifies_only_for_its_request() -> None:
    request, _ = signed()
    response = _answer(request)
    params = response["Signature-Input"]
    assert '"@status"' in params and '"signature";req;key="sig"' in params and '"@target-uri";req' in params
    assert _check(request, response) == "registry"
    with pytest.raises(SignatureError, match="does not match"):
        _check(request, response, body=b'{"match":true}')
    with pytest.raises(SignatureError, match="does not match"):
        _check(request, response, status=404)
    another, _ = signed()  # same question, new signature: the old answer is not replayable
    with pytest.raises(SignatureError, match="does not match"):
        _check(another, response)
    with pytest.raises(SignatureError, match="unknown key 'gerbang-client'"):
        _check(request, response | _client_signed_response(request))
    with pytest.raises(SignatureError, match="not signed"):
        _check(request, {"Content-Type": "application/json"})


def _client_signed_response(request: dict[str, str]) -> dict[str, str]:
    return sign_response(
        200,
        {"Content-Type": "application/json"},
        b'{"match":false}',
        key_id=CLIENT.key_id,
        private_key=CLIENT.private_key,
        request_method="POST",
        request_url=URL,
        request_headers=request,
    )


def test_a_response_to_a_garbled_request_is_signed_without_binding_and_refused_by_the_client() -> None:
    request, _ = signed()
    garbled = request | {"Signature": "nonsense"}
    response = sign_response(
        401,
        {"Content-Type": "application/json"},
        b"{}",
        key_id=SERVER.key_id,
        private_key=SERVER.private_key,
        request_method="POST",
        request_url="not a url",
        request_headers=garbled,
    )
    assert "req" not in response["Signature-Input"]
    with pytest.raises(SignatureError, match="not covered"):
        _check(request, {"Content-Type": "application/json"} | response, 401, b"{}")


def test_key_files_are_created_once_private_and_reloaded(tmp_path: Path) -> None:
    pair = generate_keypair("gerbang-client", tmp_path / "keys")
    key_file, pub_file = tmp_path / "keys" / "gerbang-client.key", tmp_path / "keys" / "gerbang-client.pub"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert pub_file.read_text().startswith("ed25519 gerbang-client ")
    assert generate_keypair("gerbang-client", tmp_path / "keys").public_text() == pair.public_text()
    pub_file.unlink()
    assert generate_keypair("gerbang-client", tmp_path / "keys").public_text() + "\n" == pub_file.read_text()
    assert load_keypair(key_file).public_text() == pair.public_text()
    assert list(load_public_keys(pub_file)) == ["gerbang-client"]
    with pytest.raises(KeyFileError, match="holds key 'gerbang-client'"):
        generate_keypair("registry", tmp_path / "keys", stem="gerbang-client")
    other = generate_keypair("registry-sandbox", tmp_path / "keys", stem="registry")
    keyring = Keyring.from_files([pub_file, tmp_path / "keys" / "registry.pub"])
    assert keyring.key_ids() == ["gerbang-client", "registry-sandbox"]
    headers, _ = signed(pair=other)
    assert verify_request("POST", URL, headers, BODY, keyring) == "registry-sandbox"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "ed25519 gerbang-client",
        "ed25519 bad/id AAAA",
        "ed25519 k notbase64!",
        "ed25519 k AAAA",
        "rsa k " + "A" * 44,
    ],
)
def test_malformed_public_key_files_are_refused(tmp_path: Path, text: str) -> None:
    (tmp_path / "k.pub").write_text(text)
    with pytest.raises(KeyFileError):
        load_public_keys(tmp_path / "k.pub")


def test_a_public_key_file_may_hold_several_keys_but_not_one_id_twice(tmp_path: Path) -> None:
    lines = [CLIENT.public_text(), SERVER.public_text()]
    (tmp_path / "trusted.pub").write_text("# trusted\n\n" + "\n".join(lines) + "\n")
    assert sorted(load_public_keys(tmp_path / "trusted.pub")) == ["gerbang-client", "registry"]
    (tmp_path / "twice.pub").write_text(CLIENT.public_text() + "\n" + KeyPair.generate("gerbang-client").public_text())
    with pytest.raises(KeyFileError, match="twice"):
        load_public_keys(tmp_path / "twice.pub")
    with pytest.raises(KeyFileError, match="cannot read"):
        load_keypair(tmp_path / "missing.key")


def test_the_keygen_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["keygen", "gerbang-client", str(tmp_path)]) == 0
    assert capsys.readouterr().out == (tmp_path / "gerbang-client.pub").read_text()
    assert cli(["keygen", "bad/id", str(tmp_path)]) == 2


# --- post_json against a small signed server ---------------------------------------------------


Handler = Callable[[BaseHTTPRequestHandler, bytes], tuple[int, bytes, dict[str, str]]]


@pytest.fixture
def serve() -> Iterator[Callable[[Handler], str]]:
    servers: list[ThreadingHTTPServer] = []

    def start(handle: Handler) -> str:
        class RequestHandler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status, answer, headers = handle(self, body)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), RequestHandler)
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{server.server_address[1]}/v1/echo"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _echo(signer: KeyPair | None, nonces: MemoryNonceStore | None = None) -> Handler:
    def handle(request: BaseHTTPRequestHandler, body: bytes) -> tuple[int, bytes, dict[str, str]]:
        url = f"http://{request.headers['Host']}{request.path}"
        try:
            key_id = verify_request("POST", url, request.headers, body, ring(CLIENT), nonces=nonces)
            status, answer = 200, json.dumps({"key_id": key_id, "echo": json.loads(body)}).encode()
        except SignatureError as exc:
            status, answer = 401, json.dumps({"error": str(exc)}).encode()
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
                request_headers=request.headers,
            )
        return status, answer, headers

    return handle


def _post(url: str, payload: Any = None, keyring: Keyring | None = None, pair: KeyPair = CLIENT) -> tuple[int, Any]:
    return post_json(
        url,
        {"nik": "3173015708850001"} if payload is None else payload,
        key_id=pair.key_id,
        private_key=pair.private_key,
        keyring=keyring or ring(SERVER),
        timeout=10,
    )


def test_post_json_round_trip(serve: Callable[[Handler], str]) -> None:
    url = serve(_echo(SERVER, MemoryNonceStore()))
    assert _post(url, {"name": "Siti Rahayu", "n": [1, 2]}) == (
        200,
        {"key_id": "gerbang-client", "echo": {"name": "Siti Rahayu", "n": [1, 2]}},
    )
    assert _post(url) == (200, {"key_id": "gerbang-client", "echo": {"nik": "3173015708850001"}})  # fresh nonce
    status, data = _post(url, pair=KeyPair.generate("stranger"))  # the signed 401 is returned, verified
    assert status == 401 and "unknown key 'stranger'" in data["error"]


def test_post_json_refuses_unsigned_or_foreign_answers(serve: Callable[[Handler], str]) -> None:
    with pytest.raises(SignatureError, match="not signed"):
        _post(serve(_echo(None)))
    with pytest.raises(SignatureError, match="unknown key 'gerbang-client'"):
        _post(serve(_echo(CLIENT)))


def test_post_json_reports_an_unreachable_service() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(RemoteError, match="cannot reach"):
        _post(f"http://127.0.0.1:{port}/v1/verify")
    with pytest.raises(ValueError, match="not an http"):
        _post("file:///etc/passwd")
