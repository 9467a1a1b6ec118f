"""The sandbox population registry as a process: command line and HTTP API.

POST /v1/verify          signed; {"nik", "kk", "name", "birth_date"} -> {"match": ...}
POST /v1/photo           signed; {"nik"} -> {"nik", "content_type", "photo" (base64 PNG)}
GET  /v1/demo-residents  the documented demo residents (development only; off with --no-demo)
GET  /healthz            "ok"

Every answer is signed with the registry's key (see ``signedhttp``) and every
answered request is recorded in the audit table (never its body).
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import sqlite3
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from signedhttp import (
    DEFAULT_MAX_AGE,
    KeyFileError,
    KeyPair,
    Keyring,
    SignatureError,
    generate_keypair,
    load_public_keys,
    sign_response,
    verify_request,
)

from ..http import DispatchingHandler, serve_until_signalled
from .registry import Store, log, parse_photo, parse_verify

MAX_BODY = 64 * 1024


@dataclass
class Registry:
    """What the HTTP handler needs: the data, the registry's key, the trusted Gerbang key file."""

    store: Store
    key: KeyPair
    gerbang_key: Path
    demo: bool = True
    max_age: int = DEFAULT_MAX_AGE
    _warned: set[str] = field(default_factory=set)

    def keyring(self) -> Keyring:
        """Gerbang's public key(s), read on each request, so the file may appear or change while running."""
        try:
            return Keyring(load_public_keys(self.gerbang_key))
        except KeyFileError as exc:
            if str(exc) not in self._warned:
                self._warned.add(str(exc))
                log.warning("no trusted Gerbang key, every signed request is refused: %s", exc)
            return Keyring()


class RegistryServer(ThreadingHTTPServer):
    """A threading HTTP server that knows its registry."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], registry: Registry) -> None:
        super().__init__(address, RegistryHandler)
        self.registry = registry


@dataclass
class _Answer:
    status: HTTPStatus
    data: Any
    match: bool | None = None
    content_type: str = "application/json"


class RegistryHandler(DispatchingHandler):
    server: RegistryServer
    server_version = "gerbang-registry-sandbox/1"

    def _routes(self) -> dict[str, dict[str, Callable[[bytes], _Answer]]]:
        routes: dict[str, dict[str, Callable[[bytes], _Answer]]] = {
            "/v1/verify": {"POST": self._signed(self._verify)},
            "/v1/photo": {"POST": self._signed(self._photo)},
            "/healthz": {"GET": lambda body: _Answer(HTTPStatus.OK, "ok\n", content_type="text/plain")},
        }
        if self.server.registry.demo:
            routes["/v1/demo-residents"] = {"GET": self._demo_residents}
        return routes

    def _dispatch(self, method: str) -> None:
        self.key_id: str | None = None
        path = urlsplit(self.path).path
        methods = self._routes().get(path)
        allow = ""
        body = b""
        if methods is None:
            answer = _error(HTTPStatus.NOT_FOUND, "not found")
        elif method not in methods:
            answer, allow = _error(HTTPStatus.METHOD_NOT_ALLOWED, "method not allowed"), ", ".join(methods)
        else:
            length = self.headers.get("Content-Length")
            if method == "POST" and length is None:
                answer = _error(HTTPStatus.LENGTH_REQUIRED, "Content-Length required")
            elif length is not None and (not length.isdigit() or int(length) > MAX_BODY):
                answer = _error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"at most {MAX_BODY} bytes")
            else:
                body = self.rfile.read(int(length or 0))
                answer = methods[method](body)
        if not body and self.headers.get("Content-Length", "0") != "0":
            self.close_connection = True  # an unread body must not be taken for the next request
        try:  # recorded before answering: no answer leaves without its audit entry
            self.server.registry.store.audit(self.key_id, method, path, answer.status, answer.match)
        except sqlite3.Error as exc:
            log.error("cannot write the audit entry: %s", exc)
            answer = _error(HTTPStatus.SERVICE_UNAVAILABLE, "audit log unavailable")
        self._send(answer, allow)

    def _url(self) -> str:
        """The URL the client addressed (the signed ``@target-uri``)."""
        host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
        return f"http://{host}{self.path}"

    def _signed(self, handler: Callable[[Any], _Answer]) -> Callable[[bytes], _Answer]:
        """Verify the request's signature (401 otherwise), then parse JSON (400 otherwise) and handle it."""

        def run(body: bytes) -> _Answer:
            registry = self.server.registry
            try:
                self.key_id = verify_request(
                    "POST",
                    self._url(),
                    self.headers,
                    body,
                    registry.keyring(),
                    max_age=registry.max_age,
                    nonces=registry.store,
                )
            except SignatureError as exc:
                log.warning("refused request to %s: %s", urlsplit(self.path).path, exc)
                return _error(HTTPStatus.UNAUTHORIZED, "unauthorized", detail=str(exc))
            if self.headers.get_content_type() != "application/json":
                return _error(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send application/json")
            try:
                data = json.loads(body.decode())
            except (UnicodeDecodeError, ValueError):
                return _error(HTTPStatus.BAD_REQUEST, "invalid request", fields={"body": "must be JSON"})
            return handler(data)

        return run

    def _verify(self, data: Any) -> _Answer:
        query, errors = parse_verify(data)
        if query is None:
            return _error(HTTPStatus.BAD_REQUEST, "invalid request", fields=errors)
        result = self.server.registry.store.verify(query)
        return _Answer(HTTPStatus.OK, result, match=bool(result["match"]))

    def _photo(self, data: Any) -> _Answer:
        nik, errors = parse_photo(data)
        if nik is None:
            return _error(HTTPStatus.BAD_REQUEST, "invalid request", fields=errors)
        png = self.server.registry.store.photo(nik)
        if png is None:
            return _error(HTTPStatus.NOT_FOUND, "no such resident")
        return _Answer(
            HTTPStatus.OK, {"nik": nik, "content_type": "image/png", "photo": base64.b64encode(png).decode()}
        )

    def _demo_residents(self, body: bytes) -> _Answer:
        return _Answer(HTTPStatus.OK, {"residents": self.server.registry.store.demo_residents()})

    def _send(self, answer: _Answer, allow: str = "") -> None:
        if answer.content_type == "application/json":
            body = (json.dumps(answer.data, indent=2, ensure_ascii=False) + "\n").encode()
        else:
            body = str(answer.data).encode()
        headers = {"Content-Type": f"{answer.content_type}; charset=utf-8"}
        key = self.server.registry.key
        try:
            headers |= sign_response(
                answer.status,
                headers,
                body,
                key_id=key.key_id,
                private_key=key.private_key,
                request_method=self.command,
                request_url=self._url(),
                request_headers=self.headers,
            )
        except ValueError as exc:  # a request too garbled to answer with a signature
            log.warning("answering unsigned: %s", exc)
        self.send_response(answer.status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        if allow:
            self.send_header("Allow", allow)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)


def _error(status: HTTPStatus, message: str, **extra: Any) -> _Answer:
    return _Answer(status, {"error": message, **extra})


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(
        prog="python -m services.registry",
        description="Sandbox population registry (Dukcapil-like identity verification) with synthetic residents.",
    )
    parser.add_argument("--data", type=Path, default=Path(env("REGISTRY_DATA_DIR", "var/registry")), help="data folder")
    parser.add_argument("--host", default=env("REGISTRY_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(env("REGISTRY_PORT", "8002")))
    parser.add_argument(
        "--gerbang-key",
        type=Path,
        default=Path(env("REGISTRY_GERBANG_KEY", "var/keys/gerbang-client.pub")),
        help="Gerbang's public key file (requests must be signed with it)",
    )
    parser.add_argument("--key-id", default=env("REGISTRY_KEY_ID", "registry"), help="the registry key's id")
    parser.add_argument("--no-demo", action="store_true", help="disable GET /v1/demo-residents")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s registry %(levelname)s %(message)s", stream=sys.stderr)
    try:
        key = generate_keypair(args.key_id, args.data, stem="registry")
        store = Store(args.data / "registry.sqlite3")
        registry = Registry(store, key, args.gerbang_key, demo=not args.no_demo)
        server = RegistryServer((args.host, args.port), registry)
    except (OSError, sqlite3.Error, KeyFileError, ValueError) as exc:
        print(f"registry: cannot start: {exc}", file=sys.stderr)
        return 2
    registry.keyring()  # warn now if Gerbang's key is missing
    host, port = server.server_address[:2]
    print(f"registry listening on http://{host!s}:{port}/ with {store.count()} residents", flush=True)
    print(f"registry public key: {key.public_text()} (in {args.data / 'registry.pub'})", flush=True)

    serve_until_signalled(server, threading.Event())
    log.info("stopped")
    return 0
