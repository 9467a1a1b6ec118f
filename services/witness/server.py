"""The witness as a process: command line, background poller and HTTP API.

GET  /v1/cosigned             latest cosigned note (text/plain), 404 when none yet
GET  /v1/status               JSON: name, public key, log origin, last cosigned head, refusals
POST /v1/poll                 poll Gerbang now; JSON {"outcome", "size", "reason"}
POST /v1/draws/<id>           lottery: commit to a secret; JSON {"closes_at"} -> 201 (200 when repeated)
POST /v1/draws/<id>/reveal    lottery: reveal it for one list; JSON {"root", "count"} -> 200
GET  /v1/draws/<id>           lottery: the draw's public record
GET  /healthz                 "ok"

The draw endpoints speak JSON both ways, errors included ({"error": ...},
4xx); request bodies are at most 10 kB. See lottery.py and README.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sqlite3
import sys
import threading
from collections.abc import Callable, Sequence
from http import HTTPStatus
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tlog import note

from ..http import DispatchingHandler, serve_until_signalled
from .lottery import Lottery, Refusal
from .witness import HttpGerbang, Store, Witness, load_or_create_signer, log, log_key_loader

MAX_BODY = 10_000  # bytes
DRAW_PATH = re.compile(r"/v1/draws/([^/]*)(/reveal)?")


class WitnessServer(ThreadingHTTPServer):
    """A threading HTTP server that knows its witness (and its lottery, on the same key, store and clock)."""

    daemon_threads = True
    request_queue_size = 64  # listen backlog (socketserver's default, 5, drops bursts of connections)

    def __init__(self, address: tuple[str, int], witness: Witness) -> None:
        super().__init__(address, WitnessHandler)
        self.witness = witness
        self.lottery = Lottery(witness.signer, witness.store, witness.clock)


class WitnessHandler(DispatchingHandler):
    server: WitnessServer
    server_version = "gerbang-witness/1"
    timeout = 30  # seconds a client may take to send a request (or keep an idle connection)

    def _routes(self) -> dict[str, dict[str, Callable[[], None]]]:
        return {
            "/v1/cosigned": {"GET": self._cosigned},
            "/v1/status": {"GET": self._status},
            "/v1/poll": {"POST": self._poll},
            "/healthz": {"GET": self._health},
        }

    def _dispatch(self, method: str) -> None:
        path = urlsplit(self.path).path
        draw = DRAW_PATH.fullmatch(path)
        if draw is not None:
            self._draw(method, draw[1], reveal=draw[2] is not None)
            return
        methods = self._routes().get(path)
        if methods is None:
            self._send(HTTPStatus.NOT_FOUND, "not found\n")
        elif method not in methods:
            self._send(HTTPStatus.METHOD_NOT_ALLOWED, "method not allowed\n", allow=", ".join(methods))
        else:
            methods[method]()

    def _cosigned(self) -> None:
        latest = self.server.witness.store.latest()
        if latest is None:
            self._send(HTTPStatus.NOT_FOUND, "nothing cosigned yet\n")
        else:
            self._send(HTTPStatus.OK, latest.note)

    def _status(self) -> None:
        self._send_json(self.server.witness.status())

    def _poll(self) -> None:
        self._send_json(self.server.witness.poll().as_json())

    def _health(self) -> None:
        self._send(HTTPStatus.OK, "ok\n")

    def _draw(self, method: str, draw_id: str, reveal: bool) -> None:
        """The lottery endpoints: JSON answers only, a 4xx for anything a client sent wrong."""
        allowed = ("POST",) if reveal else ("GET", "POST")
        status, data, allow = HTTPStatus.OK, {}, ""
        try:
            if method not in allowed:
                allow = ", ".join(allowed)
                raise Refusal(HTTPStatus.METHOD_NOT_ALLOWED, "method not allowed")
            lottery = self.server.lottery
            if method == "GET":
                data = lottery.record(draw_id)
            else:
                body = self._read_json()
                status, data = (lottery.reveal if reveal else lottery.commit)(draw_id, body)
        except Refusal as refusal:
            status, data = refusal.status, refusal.body
        except sqlite3.Error as exc:  # e.g. the database stayed locked past the timeout
            log.error("draw %s: %s", draw_id, exc)
            status, data = HTTPStatus.SERVICE_UNAVAILABLE, {"error": "the witness's store is unavailable; try again"}
        except Exception:  # a bug, not the client's fault: logged, and still a JSON answer
            log.exception("draw %s: internal error", draw_id)
            status, data = HTTPStatus.INTERNAL_SERVER_ERROR, {"error": "internal error"}
        self._send(status, json.dumps(data, indent=2) + "\n", "application/json", allow=allow)

    def _read_json(self) -> Any:
        """The request body as JSON; :class:`Refusal` when it is missing, too large or not JSON."""
        if "Transfer-Encoding" in self.headers:
            self.close_connection = True
            raise Refusal(HTTPStatus.LENGTH_REQUIRED, "send the body with a Content-Length")
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            raise Refusal(HTTPStatus.BAD_REQUEST, "malformed Content-Length")
        if length > MAX_BODY:
            self.close_connection = True  # the body stays unread
            raise Refusal(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"the body is over {MAX_BODY} bytes")
        raw = self.rfile.read(length)
        if len(raw) != length:
            self.close_connection = True
            raise Refusal(HTTPStatus.BAD_REQUEST, "the body is shorter than its Content-Length")
        try:
            return json.loads(raw.decode("utf-8"))
        except (ValueError, RecursionError):  # bad UTF-8 or JSON, numbers too long, nesting too deep
            raise Refusal(HTTPStatus.BAD_REQUEST, "the body is not JSON (UTF-8)") from None

    def _send_json(self, data: Any) -> None:
        self._send(HTTPStatus.OK, json.dumps(data, indent=2) + "\n", "application/json")

    def _send(self, status: HTTPStatus, text: str, content_type: str = "text/plain", allow: str = "") -> None:
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", f"{content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        if allow:
            self.send_header("Allow", allow)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)


def _poll_forever(witness: Witness, interval: float, stop: threading.Event) -> None:
    """Poll every ``interval`` seconds until ``stop`` is set (``POST /v1/poll`` polls at once)."""
    while not stop.wait(interval):
        witness.poll()


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(
        prog="python -m services.witness",
        description="Witness for Gerbang's audit log: cosigns heads only when the log grows consistently.",
    )
    parser.add_argument("--gerbang", default=env("WITNESS_GERBANG_URL", "http://127.0.0.1:8000"), help="Gerbang URL")
    parser.add_argument(
        "--log-key",
        type=Path,
        default=Path(env("WITNESS_LOG_KEY", "var/keys/audit-log.vkey")),
        help="Gerbang's log verifier key file",
    )
    parser.add_argument("--data", type=Path, default=Path(env("WITNESS_DATA_DIR", "var/witness")), help="data folder")
    parser.add_argument("--host", default=env("WITNESS_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(env("WITNESS_PORT", "8001")))
    parser.add_argument("--name", default=env("WITNESS_NAME", "witness.localhost"), help="the witness key's name")
    parser.add_argument(
        "--interval", type=float, default=float(env("WITNESS_INTERVAL", "10")), help="seconds between polls"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s witness %(levelname)s %(message)s", stream=sys.stderr)
    try:
        signer = load_or_create_signer(args.data, args.name)
        store = Store(args.data / "witness.sqlite3")
        witness = Witness(signer, store, HttpGerbang(args.gerbang), log_key_loader(args.log_key))
        server = WitnessServer((args.host, args.port), witness)
    except (OSError, sqlite3.Error, note.NoteError) as exc:
        print(f"witness: cannot start: {exc}", file=sys.stderr)
        return 2
    host, port = server.server_address[:2]
    print(f"witness {signer.name} listening on http://{host!s}:{port}/ watching {args.gerbang}", flush=True)
    print(f"witness public key: {signer.verifier().to_text()} (in {args.data / 'witness.vkey'})", flush=True)

    stop = threading.Event()
    poller = threading.Thread(target=_poll_forever, args=(witness, args.interval, stop), name="poller", daemon=True)
    serve_until_signalled(server, stop, [poller])
    log.info("stopped")
    return 0
