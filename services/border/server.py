"""The sandbox border control as a process: command line, the officer's screen, a small JSON API, the courier.

GET  /                          the officer's screen: record an entry or exit; the latest movements and their delivery
POST /movements                 the screen's form: record a movement, then redirect (303) to the screen
GET  /v1/status                 JSON: reports pending/delivered, the last delivery error
POST /v1/test/movements         only with --test-api: record a movement from JSON -> 201 {"event_id", ...}
GET  /v1/test/movements/<id>    only with --test-api: one movement and its delivery state
GET  /healthz                   "ok"

Every movement is reported to Gerbang by the courier thread (delivery.py).
"""

from __future__ import annotations

import argparse
import html
import json
import logging
import os
import re
import secrets
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from signedhttp import KeyFileError, generate_keypair

from ..http import DispatchingHandler, serve_until_signalled
from .delivery import Courier, Gerbang
from .store import EVENT_ID, FIELDS, PORTS, REQUEST_ID, Movement, Store, log, parse_movement

MAX_BODY = 16 * 1024
DIRECTION_LABELS = {"entry": ("Entry", "Kedatangan"), "exit": ("Exit", "Keberangkatan")}


@dataclass
class Border:
    """What the handler needs: the records, the courier and the options."""

    store: Store
    gerbang: Gerbang
    courier: Courier
    test_api: bool = False


class BorderServer(ThreadingHTTPServer):
    """A threading HTTP server that knows its border post."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], border: Border) -> None:
        super().__init__(address, BorderHandler)
        self.border = border


@dataclass
class Response:
    status: HTTPStatus
    body: bytes
    content_type: str = "text/html"
    headers: dict[str, str] = field(default_factory=dict)


def _json(status: HTTPStatus, data: Any) -> Response:
    return Response(status, (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode(), "application/json")


def _invalid(errors: dict[str, str]) -> Response:
    return _json(HTTPStatus.BAD_REQUEST, {"error": "invalid request", "fields": errors})


class BorderHandler(DispatchingHandler):
    server: BorderServer
    server_version = "gerbang-border-sandbox/1"

    # --- Routing -----------------------------------------------------------------------------------

    def _routes(self) -> list[tuple[re.Pattern[str], dict[str, Callable[..., Response]]]]:
        routes: list[tuple[str, dict[str, Callable[..., Response]]]] = [
            (r"/", {"GET": self._index}),
            (r"/movements", {"POST": self._record_form}),
            (r"/v1/status", {"GET": self._status}),
            (r"/healthz", {"GET": lambda: Response(HTTPStatus.OK, b"ok\n", "text/plain")}),
        ]
        if self.server.border.test_api:
            routes.append((r"/v1/test/movements", {"POST": self._test_record}))
            routes.append((r"/v1/test/movements/([A-Za-z0-9-]{1,64})", {"GET": self._test_movement}))
        return [(re.compile(pattern), methods) for pattern, methods in routes]

    def _dispatch(self, method: str) -> None:
        path = urlsplit(self.path).path
        self.body = b""
        methods: dict[str, Callable[..., Response]] = {}
        match: re.Match[str] | None = None
        for pattern, candidate in self._routes():
            match = pattern.fullmatch(path)
            if match is not None:
                methods = candidate
                break
        if match is None:
            self._send(self._not_found(path))
            return
        if method not in methods:
            answer = Response(HTTPStatus.METHOD_NOT_ALLOWED, b"method not allowed\n", "text/plain")
            answer.headers["Allow"] = ", ".join(methods)
            self._send(answer)
            return
        length = self.headers.get("Content-Length")
        if method == "POST" and length is None:
            self._send(Response(HTTPStatus.LENGTH_REQUIRED, b"Content-Length required\n", "text/plain"))
            return
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            self.close_connection = True
            self._send(
                Response(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"at most {MAX_BODY} bytes\n".encode(), "text/plain")
            )
            return
        self.body = self.rfile.read(int(length or 0))
        if method == "POST" and not path.startswith("/v1/") and self._cross_site():
            self._send(Response(HTTPStatus.FORBIDDEN, b"cross-site form refused\n", "text/plain"))
            return
        try:
            answer = methods[method](*match.groups())
        except (sqlite3.Error, OSError) as exc:
            log.error("%s %s failed: %s", method, path, exc)
            if path.startswith("/v1/"):
                answer = _json(HTTPStatus.SERVICE_UNAVAILABLE, {"error": "border system error"})
            else:
                answer = _page(HTTPStatus.SERVICE_UNAVAILABLE, "Border system error", "Sistem bermasalah", "")
        self._send(answer)

    def _cross_site(self) -> bool:
        """A form posted from another site (the screen only accepts its own form)."""
        if self.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
            return True
        origin = self.headers.get("Origin")
        return origin is not None and urlsplit(origin).netloc != self.headers.get("Host", "")

    def _not_found(self, path: str) -> Response:
        if path.startswith("/v1/"):
            return _json(HTTPStatus.NOT_FOUND, {"error": "not found"})
        return _page(HTTPStatus.NOT_FOUND, "Not found", "Tidak ditemukan", "<p>No such page.</p>")

    def _send(self, answer: Response) -> None:
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type + "; charset=utf-8")
        self.send_header("Content-Length", str(len(answer.body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        if answer.content_type == "text/html":
            self.send_header(
                "Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"
            )
            self.send_header("X-Frame-Options", "DENY")
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(answer.body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    # --- The officer's screen ----------------------------------------------------------------------

    def _index(self, errors: dict[str, str] | None = None, values: dict[str, str] | None = None) -> Response:
        border = self.server.border
        query = parse_qs(urlsplit(self.path).query)
        notice = ""
        recorded = (query.get("recorded") or [""])[0]
        if errors is None and EVENT_ID.fullmatch(recorded):
            movement = border.store.movement(recorded)
            if movement is not None:
                notice = (
                    f'<p class="ok">{_e(DIRECTION_LABELS[movement.direction][0])} of {_e(movement.nationality)}'
                    f" {_e(movement.passport_number)} recorded as <code>{_e(movement.event_id)}</code>."
                    " It is reported to Gerbang now. <i>Tercatat; dilaporkan ke Gerbang.</i></p>"
                )
        body = notice + _form(errors or {}, values or {})
        recent = border.store.recent(20)
        if recent:
            rows = "".join(_row(m) for m in recent)
            body += (
                "<h2>Latest movements <small>Perlintasan terakhir</small></h2>"
                '<p><a href="/">Refresh (Muat ulang)</a></p><table><tr>'
                "<th>Time <small>Waktu</small></th><th>Direction <small>Arah</small></th>"
                "<th>Passport <small>Paspor</small></th><th>Port <small>TPI</small></th>"
                "<th>Event <small>Kejadian</small></th><th>Gerbang <small>Pelaporan</small></th></tr>"
                f"{rows}</table>"
            )
        status = HTTPStatus.BAD_REQUEST if errors else HTTPStatus.OK
        return _page(status, "Border control", "Pemeriksaan keimigrasian (sandbox)", body)

    def _record_form(self) -> Response:
        try:
            submitted = parse_qs(self.body.decode(), keep_blank_values=True, max_num_fields=20)
        except (UnicodeDecodeError, ValueError):
            submitted = {}
        form = {name: values[0] for name, values in submitted.items()}
        values = {name: form.get(name, "") for name in FIELDS}
        parsed, errors = parse_movement(values, local_time_at_port=True)
        request_id = form.get("request_id", "")
        if not REQUEST_ID.fullmatch(request_id):
            errors["form"] = "the form is incomplete: open it again"
        if parsed is None or errors:
            return self._index(errors, values)
        border = self.server.border
        movement, created = border.store.record(parsed, source="officer", request_id=request_id)
        if created:
            border.courier.wake()
        return Response(HTTPStatus.SEE_OTHER, b"", "text/plain", {"Location": f"/?recorded={quote(movement.event_id)}"})

    # --- JSON ---------------------------------------------------------------------------------------

    def _status(self) -> Response:
        border = self.server.border
        data = {
            "gerbang": border.gerbang.url,
            "gerbang_key": bool(len(border.gerbang.keyring())),
            "key_id": border.gerbang.key.key_id,
            "test_api": border.test_api,
            **border.store.status(),
        }
        return _json(HTTPStatus.OK, data)

    def _test_record(self) -> Response:
        if self.headers.get_content_type() != "application/json":
            return _json(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, {"error": "send application/json"})
        try:
            data = json.loads(self.body.decode())
        except (UnicodeDecodeError, ValueError):
            return _invalid({"body": "must be JSON"})
        parsed, errors = parse_movement(data)
        if parsed is None:
            return _invalid(errors)
        border = self.server.border
        movement, _ = border.store.record(parsed, source="test")
        border.courier.wake()
        return _json(HTTPStatus.CREATED, movement.report())

    def _test_movement(self, event_id: str) -> Response:
        movement = self.server.border.store.movement(event_id)
        if movement is None:
            return _json(HTTPStatus.NOT_FOUND, {"error": "no such movement"})
        return _json(HTTPStatus.OK, movement.as_json())


# --- HTML ------------------------------------------------------------------------------------------

STYLE = """
body { font: 16px/1.45 system-ui, sans-serif; margin: 0; background: #f3f5f7; color: #1b2430; }
header { background: #5b2a86; color: #fff; padding: .8rem 1.5rem; }
header a { color: #fff; text-decoration: none; font-weight: 600; }
main { max-width: 60rem; margin: 1.5rem auto; background: #fff; padding: 1.5rem 2rem; border-radius: 8px;
       box-shadow: 0 1px 3px rgba(0,0,0,.12); }
h1 { margin-top: 0; } h1 small, h2 small, th small, label small, legend small, button small
   { display: block; font-weight: normal; font-size: .8em; color: #5a6878; }
button small { color: #e6dcef; }
form { display: grid; grid-template-columns: repeat(auto-fit, minmax(13rem, 1fr)); gap: 0 1.2rem; }
label, fieldset { display: block; margin: .6rem 0; font-weight: 600; }
fieldset { border: 0; padding: 0; } fieldset label { display: inline-block; font-weight: normal; margin-right: 1rem; }
input[type=text] { display: block; width: 100%; box-sizing: border-box; font: inherit; padding: .5rem;
                   margin-top: .3rem; }
button { font: inherit; font-weight: 600; background: #5b2a86; color: #fff; border: 0; padding: .6rem 1.2rem;
         border-radius: 6px; cursor: pointer; align-self: end; margin: .6rem 0; }
table { border-collapse: collapse; width: 100%; margin: 1rem 0; font-size: .95em; }
th, td { text-align: left; padding: .4rem .5rem; border-bottom: 1px solid #e3e7eb; vertical-align: top; }
code { font-family: ui-monospace, monospace; font-size: .9em; }
.error { color: #a4161a; font-weight: 600; } .field-error { color: #a4161a; font-weight: normal; display: block; }
.ok { color: #1b5e20; font-weight: 600; } .pending { color: #8a5a00; } .delivered { color: #1b5e20; }
"""


def _page(status: HTTPStatus, title: str, subtitle: str, body: str) -> Response:
    text = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)} - Border Sandbox</title><style>{STYLE}</style></head><body>"
        '<header><a href="/">Border Sandbox</a> &middot; border control reporting to Gerbang (sandbox)</header>'
        f"<main><h1>{_e(title)}<small>{_e(subtitle)}</small></h1>{body}</main></body></html>\n"
    )
    return Response(status, text.encode())


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _field_error(errors: dict[str, str], name: str) -> str:
    return f'<span class="field-error">{_e(errors[name])}</span>' if name in errors else ""


def _text_input(
    name: str, label: str, subtitle: str, values: dict[str, str], errors: dict[str, str], **attrs: str
) -> str:
    extra = "".join(f' {key.replace("_", "-")}="{_e(value)}"' for key, value in attrs.items())
    return (
        f"<label>{_e(label)} <small>{_e(subtitle)}</small>"
        f'<input type="text" name="{name}" value="{_e(values.get(name, ""))}" autocomplete="off"{extra}>'
        f"{_field_error(errors, name)}</label>"
    )


def _form(errors: dict[str, str], values: dict[str, str]) -> str:
    direction = values.get("direction", "entry").strip().lower()
    choices = "".join(
        f'<label><input type="radio" name="direction" value="{name}"{" checked" if name == direction else ""}>'
        f" {_e(english)} <small>{_e(indonesian)}</small></label>"
        for name, (english, indonesian) in DIRECTION_LABELS.items()
    )
    ports = "".join(f'<option value="{_e(code)}">{_e(name)}</option>' for code, (name, _) in PORTS.items())
    values = {"port": "CGK", **values}
    message = ""
    if errors:
        message = '<p class="error">Check the marked fields. <i>Periksa isian yang ditandai.</i>'
        if "form" in errors:
            message += f"<br>{_e(errors['form'])}"
        message += "</p>"
    return (
        message
        + '<form method="post" action="/movements">'
        + f'<input type="hidden" name="request_id" value="{secrets.token_urlsafe(18)}">'
        + _text_input(
            "nationality", "Nationality", "Kewarganegaraan (ISO alpha-3)", values, errors, maxlength="3", required=""
        )
        + _text_input("passport_number", "Passport number", "Nomor paspor", values, errors, maxlength="12", required="")
        + f"<fieldset><legend>Direction <small>Arah</small></legend>{choices}"
        + f"{_field_error(errors, 'direction')}</fieldset>"
        + _text_input("port", "Port", "Tempat pemeriksaan (kode)", values, errors, list="ports", required="")
        + f'<datalist id="ports">{ports}</datalist>'
        + _text_input(
            "at",
            "Time (empty: now)",
            "Waktu; local time at a listed port, else with offset",
            values,
            errors,
            placeholder="2025-06-01T08:30 or 2025-06-01T08:30+07:00",
        )
        + '<button type="submit">Record <small>Catat</small></button></form>'
    )


def _local(at: str, port: str) -> str:
    """A stored UTC time as the port's local time when the port is known, else in UTC."""
    try:
        moment = datetime.fromisoformat(at)
    except ValueError:
        return at
    zone = PORTS.get(port, (None, None))[1]
    if zone is None:
        return moment.astimezone(UTC).strftime("%d %b %Y %H:%M:%S UTC")
    return moment.astimezone(zone).strftime(f"%d %b %Y %H:%M:%S {zone.tzname(None)}")


def _delivery(movement: Movement) -> str:
    if movement.state == "delivered":
        status = (movement.answer or {}).get("status", "")
        return f'<span class="delivered">Delivered ({_e(status)}) <small>Terkirim</small></span>'
    if not movement.attempts:
        return '<span class="pending">Waiting to be sent <small>Menunggu dikirim</small></span>'
    return (
        f'<span class="pending">Not delivered: attempt {movement.attempts} failed, retrying'
        f' <small title="{_e(movement.last_error or "")}">Belum terkirim; dicoba lagi.'
        f" {_e((movement.last_error or '')[:160])}</small></span>"
    )


def _row(movement: Movement) -> str:
    english, indonesian = DIRECTION_LABELS[movement.direction]
    return (
        f"<tr><td>{_e(_local(movement.at, movement.port))}</td>"
        f"<td>{_e(english)} <small>{_e(indonesian)}</small></td>"
        f"<td>{_e(movement.nationality)} {_e(movement.passport_number)}</td>"
        f"<td>{_e(movement.port)}</td><td><code>{_e(movement.event_id)}</code></td>"
        f"<td>{_delivery(movement)}</td></tr>"
    )


# --- Command line ----------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(
        prog="python -m services.border",
        description="Sandbox border control: record foreigners' entries and exits and report them to Gerbang.",
    )
    parser.add_argument("--data", type=Path, default=Path(env("BORDER_DATA_DIR", "var/border")), help="data folder")
    parser.add_argument("--host", default=env("BORDER_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(env("BORDER_PORT", "8004")))
    parser.add_argument("--gerbang", default=env("BORDER_GERBANG_URL", "http://127.0.0.1:8000"), help="Gerbang's URL")
    parser.add_argument(
        "--gerbang-key",
        type=Path,
        default=Path(env("BORDER_GERBANG_KEY", "var/keys/gerbang-client.pub")),
        help="Gerbang's public key file (its answers must be signed with it)",
    )
    parser.add_argument("--key-id", default=env("BORDER_KEY_ID", "border-sandbox"), help="the border key's id")
    parser.add_argument("--test-api", action="store_true", help="enable POST /v1/test/movements (development only)")
    parser.add_argument("--retry-base", type=float, default=1.0, help="first retry delay in seconds (doubles)")
    parser.add_argument("--retry-cap", type=float, default=60.0, help="longest retry delay in seconds")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for Gerbang")
    args = parser.parse_args(argv)
    if args.retry_base <= 0 or args.retry_cap < args.retry_base:
        parser.error("--retry-base must be positive and at most --retry-cap")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s border %(levelname)s %(message)s", stream=sys.stderr)
    try:
        key = generate_keypair(args.key_id, args.data, stem="border")
        store = Store(args.data)
        gerbang = Gerbang(args.gerbang, key, args.gerbang_key, timeout=args.timeout)
        courier = Courier(store, gerbang, retry_base=args.retry_base, retry_cap=args.retry_cap)
        border = Border(store, gerbang, courier, test_api=args.test_api)
        server = BorderServer((args.host, args.port), border)
    except (OSError, sqlite3.Error, KeyFileError, ValueError) as exc:
        print(f"border: cannot start: {exc}", file=sys.stderr)
        return 2
    gerbang.keyring()  # warn now if Gerbang's key is missing
    store.requeue(time.time())
    host, port = server.server_address[:2]
    print(f"border listening on http://{host!s}:{port}/, reporting to {gerbang.url}", flush=True)
    print(f"border public key: {key.public_text()} (in {args.data / 'border.pub'})", flush=True)
    if args.test_api:
        print("border: the test API (POST /v1/test/movements) is enabled", flush=True)

    stop = threading.Event()
    courier_thread = threading.Thread(target=courier.run, args=(stop,), name="courier", daemon=True)
    serve_until_signalled(server, stop, [courier_thread])
    log.info("stopped")
    return 0
