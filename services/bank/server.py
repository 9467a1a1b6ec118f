"""The sandbox bank as a process: command line, the counter screens, a JSON API and the notifier thread.

GET  /                         the four channels and the latest payments
GET  /teller | /atm | /mobile  a channel's form: billing code and account
GET  /card                     online card payment: billing code, card number, expiry, card holder
POST /<channel>/inquiry        ask Gerbang for the bill; show it with a "Pay Rp X" confirmation
POST /<channel>/pay            ask again, record the payment and its notification, redirect to the receipt
GET  /receipts/<NTB>           the receipt
GET  /api/status               JSON: notifications pending/acknowledged/failed, the last delivery error
GET  /api/v1/statements/<YYYY-MM-DD>.mt940 | .camt053.xml   signed by Gerbang: end-of-day statement
GET  /api/v1/payments/<NTPN>   signed by Gerbang: that payment's notification, as sent (an NTPN check)
POST /api/test/pay             only with --test-api: record a payment without inquiry (any amount, any past
                               booking day, or with its notification lost)
GET  /healthz                  "ok"
"""

from __future__ import annotations

import argparse
import datetime as dt
import hmac
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
from http import HTTPStatus
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from ..http import DispatchingHandler, serve_until_signalled
from . import statements
from .cards import TEST_CARD, Card, parse_card_number, parse_expiry
from .protocol import (
    BANK_CODE,
    HEADER,
    BadSignature,
    Gerbang,
    GerbangUnavailable,
    Notifier,
    log,
    normalise_billing_code,
    sign,
    verify,
)
from .store import CHANNELS, WIB, AlreadyPaid, Payment, Store

MAX_BODY = 16 * 1024
ACCOUNT = re.compile(r"[0-9]{6,20}")
REQUEST_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")
CASH_WORDS = {"", "cash", "tunai"}
CARD_EXPIRY = re.compile(r"(0[1-9]|1[0-2])/([0-9]{4})")  # MM/YYYY, as the card confirmation carries it
MAX_HOLDER = 100
BILLING_CODE_ERROR = (
    "That is not a valid billing code: check the 15 digits. (Kode billing tidak valid: periksa 15 angkanya.)"
)
START_AGAIN = "Please start again. (Silakan ulangi.)"
CHANNEL_LABELS = {
    "teller": ("Teller", "Loket teller"),
    "atm": ("ATM", "Anjungan tunai mandiri"),
    "mobile": ("Mobile banking", "M-banking"),
    "card": ("Card (online)", "Kartu kredit/debit (daring)"),
}
ACCOUNT_LABELS = {
    "teller": ("Payer's account, or cash", "Rekening pembayar, atau tunai"),
    "atm": ("Card account number", "Nomor rekening kartu"),
    "mobile": ("Account number", "Nomor rekening"),
}
STATE_LABELS = {
    "pending": ("Notification pending", "Menunggu konfirmasi Gerbang"),
    "acknowledged": ("Notified to Gerbang", "Sudah diterima Gerbang"),
    "failed": ("Notification refused: needs a person", "Ditolak Gerbang: perlu ditangani petugas"),
    "held": ("Notification held (test API: never sent)", "Notifikasi ditahan (uji: tidak dikirim)"),
}
STATUS_LABELS = {
    "expired": ("This bill has expired.", "Tagihan sudah kedaluwarsa."),
    "paid": ("This bill is already paid.", "Tagihan sudah dibayar."),
    "cancelled": ("This bill was cancelled.", "Tagihan dibatalkan."),
}


@dataclass
class Bank:
    """What the handler needs: the records, the Gerbang client, the notifier and the options."""

    store: Store
    gerbang: Gerbang
    notifier: Notifier
    test_api: bool = False
    account: str = "0001234567890"
    name: str = "Bank Sandbox"


@dataclass(frozen=True)
class CardEntry:
    """A card checked at the inquiry, carried to the pay step without its number (sealed by the bank)."""

    card: Card
    expiry: tuple[int, int]  # (year, month): valid through the end of that month
    holder: str

    @property
    def expiry_text(self) -> str:
        year, month = self.expiry
        return f"{month:02d}/{year:04d}"

    def fields(self, bank: Bank, request_id: str, billing_code: str) -> dict[str, str]:
        """The confirmation's hidden card fields, with the seal that binds them to this request and bill."""
        fields = {
            "card_ref": self.card.ref,
            "card_last4": self.card.last4,
            "card_network": self.card.network,
            "card_expiry": self.expiry_text,
            "card_holder": self.holder,
        }
        fields["card_seal"] = bank.store.seal("card", request_id, billing_code, *fields.values())
        return fields


class BankServer(ThreadingHTTPServer):
    """A threading HTTP server that knows its bank."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], bank: Bank) -> None:
        super().__init__(address, BankHandler)
        self.bank = bank


@dataclass
class Response:
    status: HTTPStatus
    body: bytes
    content_type: str = "text/html"
    headers: dict[str, str] = field(default_factory=dict)


def _json(status: HTTPStatus, data: Any) -> Response:
    return Response(status, (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode(), "application/json")


def _redirect(location: str) -> Response:
    return Response(HTTPStatus.SEE_OTHER, b"", "text/plain", {"Location": location})


class BankHandler(DispatchingHandler):
    server: BankServer
    server_version = "gerbang-bank-sandbox/1"

    # --- Routing -----------------------------------------------------------------------------------

    def _routes(self) -> list[tuple[re.Pattern[str], dict[str, Callable[..., Response]]]]:
        channels = "|".join(CHANNELS)
        routes: list[tuple[str, dict[str, Callable[..., Response]]]] = [
            (r"/", {"GET": self._index}),
            (rf"/({channels})", {"GET": self._channel_form}),
            (rf"/({channels})/inquiry", {"POST": self._inquiry}),
            (rf"/({channels})/pay", {"POST": self._pay}),
            (r"/receipts/(SBX[0-9]{13})", {"GET": self._receipt}),
            (r"/api/status", {"GET": self._status}),
            (r"/api/v1/statements/([0-9]{4}-[0-9]{2}-[0-9]{2})\.(mt940|camt053\.xml)", {"GET": self._statement}),
            (r"/api/v1/payments/([A-Z0-9]{16})", {"GET": self._payment_lookup}),
            (r"/healthz", {"GET": lambda: Response(HTTPStatus.OK, b"ok\n", "text/plain")}),
        ]
        if self.server.bank.test_api:
            routes.append((r"/api/test/pay", {"POST": self._test_pay}))
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
        if method == "POST" and not path.startswith("/api/") and self._cross_site():
            self._send(Response(HTTPStatus.FORBIDDEN, b"cross-site form refused\n", "text/plain"))
            return
        try:
            answer = methods[method](*match.groups())
        except (sqlite3.Error, OSError) as exc:
            log.error("%s %s failed: %s", method, path, exc)
            answer = _page(HTTPStatus.SERVICE_UNAVAILABLE, "Bank system error", "Sistem bank bermasalah", _p(str(exc)))
        self._send(answer)

    def _cross_site(self) -> bool:
        """A form posted from another site (the counters only accept their own forms)."""
        if self.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
            return True
        origin = self.headers.get("Origin")
        return origin is not None and urlsplit(origin).netloc != self.headers.get("Host", "")

    def _not_found(self, path: str) -> Response:
        if path.startswith("/api/"):
            return _json(HTTPStatus.NOT_FOUND, {"error": "not found"})
        return _page(HTTPStatus.NOT_FOUND, "Not found", "Tidak ditemukan", _p("No such page.") + _home_link())

    def _form(self) -> dict[str, str]:
        try:
            fields = parse_qs(self.body.decode(), keep_blank_values=True, max_num_fields=20)
        except (UnicodeDecodeError, ValueError):
            return {}
        return {name: values[0] for name, values in fields.items()}

    def _send(self, answer: Response) -> None:
        content_type = answer.content_type + ("; charset=utf-8" if answer.content_type != "application/xml" else "")
        self.send_response(answer.status)
        self.send_header("Content-Type", content_type)
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
        if self.command != "HEAD":
            self.wfile.write(answer.body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    # --- Screens -----------------------------------------------------------------------------------

    def _index(self) -> Response:
        bank = self.server.bank
        items = "".join(
            f'<li><a class="channel" href="/{name}">{_e(label)}<small>{_e(subtitle)}</small></a></li>'
            for name, (label, subtitle) in CHANNEL_LABELS.items()
        )
        body = f'<p>Pay a Gerbang billing code. <i>Bayar kode billing Gerbang.</i></p><ul class="channels">{items}</ul>'
        recent = bank.store.recent(10)
        if recent:
            rows = "".join(
                f'<tr><td><a href="/receipts/{p.ntb}">{p.ntb}</a></td><td>{_code(p.billing_code)}</td>'
                f'<td class="num">{_rp(p.amount)}</td><td>{_e(CHANNEL_LABELS[p.channel][0])}</td>'
                f"<td>{_e(_state(p))}</td></tr>"
                for p in recent
            )
            body += (
                "<h2>Latest payments <small>Pembayaran terakhir</small></h2><table><tr><th>NTB</th>"
                "<th>Billing code</th><th>Amount</th><th>Channel</th><th>Notification</th></tr>"
                f"{rows}</table>"
            )
        return _page(HTTPStatus.OK, bank.name, "Bank persepsi (sandbox)", body, home=False)

    def _channel_form(self, channel: str, error: str = "", values: dict[str, str] | None = None) -> Response:
        values = values or {}
        if channel == "card":
            return self._card_form([error] if error else [], values)
        label, subtitle = CHANNEL_LABELS[channel]
        account_label, account_subtitle = ACCOUNT_LABELS[channel]
        account = values.get("account", "cash" if channel == "teller" else "")
        body = (
            (f'<p class="error">{_e(error)}</p>' if error else "")
            + f'<form method="post" action="/{channel}/inquiry">'
            + '<label>Billing code <small>Kode billing</small><input name="billing_code" inputmode="numeric"'
            ' autocomplete="off" required placeholder="12345 67890 12345"'
            f' value="{_e(values.get("billing_code", ""))}">'
            + f"</label><label>{_e(account_label)} <small>{_e(account_subtitle)}</small>"
            f'<input name="account" autocomplete="off" value="{_e(account)}"'
            + ("" if channel == "teller" else ' inputmode="numeric" required')
            + '></label><button type="submit">Check bill <small>Cek tagihan</small></button></form>'
        )
        status = HTTPStatus.BAD_REQUEST if error else HTTPStatus.OK
        return _page(status, label, subtitle, body)

    def _card_form(self, errors: list[str], values: dict[str, str]) -> Response:
        """The online card form. The card number is never filled in again: after an error it is typed anew."""
        label, subtitle = CHANNEL_LABELS["card"]

        def field(name: str, english: str, indonesian: str, attributes: str) -> str:
            value = "" if name == "card_number" else values.get(name, "")
            return (
                f"<label>{_e(english)} <small>{_e(indonesian)}</small>"
                f'<input name="{name}" {attributes} required value="{_e(value)}"></label>'
            )

        body = (
            ('<ul class="error">' + "".join(f"<li>{_e(error)}</li>" for error in errors) + "</ul>" if errors else "")
            + _p("Pay a Gerbang bill (e.g. an e-VoA) online with a credit or debit card, from anywhere.")
            + _p("Bayar tagihan Gerbang (mis. e-VoA) secara daring dengan kartu kredit atau debit.", "id")
            + '<form method="post" action="/card/inquiry">'
            + field(
                "billing_code",
                "Billing code",
                "Kode billing",
                'inputmode="numeric" autocomplete="off" placeholder="12345 67890 12345"',
            )
            + field(
                "card_number",
                "Card number",
                "Nomor kartu",
                'inputmode="numeric" autocomplete="cc-number" placeholder="0000 0000 0000 0000"',
            )
            + field(
                "expiry_month",
                "Expiry month",
                "Bulan kedaluwarsa",
                'inputmode="numeric" autocomplete="cc-exp-month" placeholder="MM" maxlength="2"',
            )
            + field(
                "expiry_year",
                "Expiry year",
                "Tahun kedaluwarsa",
                'inputmode="numeric" autocomplete="cc-exp-year" placeholder="YYYY" maxlength="4"',
            )
            + field(
                "card_holder",
                "Card holder name",
                "Nama pemegang kartu",
                f'autocomplete="cc-name" maxlength="{MAX_HOLDER}"',
            )
            + '<button type="submit">Check bill <small>Cek tagihan</small></button></form>'
        )
        status = HTTPStatus.BAD_REQUEST if errors else HTTPStatus.OK
        return _page(status, label, subtitle, body)

    def _read_card_form(self) -> tuple[str | None, CardEntry | None, list[str]]:
        """``(billing code, card, [])`` from a submitted card form, or the errors (every one of them)."""
        form = self._form()
        errors: list[str] = []
        code = normalise_billing_code(form.get("billing_code", ""))
        if code is None:
            errors.append(BILLING_CODE_ERROR)
        number, error = parse_card_number(form.get("card_number", ""))
        if error:
            errors.append(error)
        today = dt.datetime.now(WIB).date()
        expiry, error = parse_expiry(form.get("expiry_month", ""), form.get("expiry_year", ""), today)
        if error:
            errors.append(error)
        holder, error = _holder(form.get("card_holder", ""))
        if error:
            errors.append(error)
        if errors or code is None or number is None or expiry is None:
            return None, None, errors
        return code, CardEntry(self.server.bank.store.card(number), expiry, holder), []

    def _read_card_confirmation(
        self, form: dict[str, str], request_id: str
    ) -> tuple[str | None, CardEntry | None, str]:
        """``(billing code, card, "")`` from a card confirmation whose seal is the bank's own; else the error."""
        code = normalise_billing_code(form.get("billing_code", ""))
        expiry = CARD_EXPIRY.fullmatch(form.get("card_expiry", ""))
        holder, holder_error = _holder(form.get("card_holder", ""))
        if code is None or expiry is None or holder_error or not REQUEST_ID.fullmatch(request_id):
            return None, None, START_AGAIN
        try:
            card = Card(
                ref=form.get("card_ref", ""), last4=form.get("card_last4", ""), network=form.get("card_network", "")
            )
        except ValueError:
            return None, None, START_AGAIN
        entry = CardEntry(card, (int(expiry.group(2)), int(expiry.group(1))), holder)
        expected = entry.fields(self.server.bank, request_id, code)["card_seal"]
        if not hmac.compare_digest(form.get("card_seal", "").encode(), expected.encode()):
            log.warning("card confirmation for %s refused: its seal does not match", code)
            return None, None, START_AGAIN
        # Checked again: the month may have ended since the inquiry.
        year, month = entry.expiry
        _, error = parse_expiry(str(month), str(year), dt.datetime.now(WIB).date())
        if error:
            return None, None, error
        return code, entry, ""

    def _read_counter_form(self, channel: str) -> tuple[str | None, str | None, str]:
        """``(billing code, account or None for cash, error)`` from a submitted counter form."""
        form = self._form()
        raw_account = re.sub(r"[\s.-]", "", form.get("account", ""))
        account: str | None = raw_account
        if channel == "teller" and raw_account.casefold() in CASH_WORDS:
            account = None
        elif not ACCOUNT.fullmatch(raw_account):
            return None, None, "An account number is 6 to 20 digits. (Nomor rekening 6-20 angka.)"
        code = normalise_billing_code(form.get("billing_code", ""))
        if code is None:
            return None, account, BILLING_CODE_ERROR
        return code, account, ""

    def _ask_gerbang(self, channel: str, code: str) -> tuple[dict[str, Any] | None, Response | None]:
        """The payable bill, or the page that says why it cannot be paid."""
        try:
            answer = self.server.bank.gerbang.inquiry(code)
        except GerbangUnavailable as exc:
            log.warning("inquiry for %s: Gerbang unavailable: %s", code, exc)
            body = _p("Gerbang cannot be reached right now; no money was taken. Please try again later.")
            body += _p("Gerbang tidak dapat dihubungi; tidak ada uang yang diambil. Silakan coba lagi nanti.", "id")
            return None, _page(
                HTTPStatus.SERVICE_UNAVAILABLE, "Gerbang unavailable", "Gerbang tidak tersedia", body + _back(channel)
            )
        if answer.status == 404:
            body = _p(f"Gerbang does not know the billing code {_code(code)}.") + _p(
                "Kode billing tidak dikenal.", "id"
            )
            return None, _page(
                HTTPStatus.NOT_FOUND, "Unknown billing code", "Kode billing tidak dikenal", body + _back(channel)
            )
        bill = answer.data
        if answer.status == 409 or not bill.get("payable"):
            english, indonesian = STATUS_LABELS.get(
                bill["status"], ("This bill cannot be paid.", "Tagihan tidak dapat dibayar.")
            )
            body = _p(english + " No money was taken.") + _p(indonesian + " Tidak ada uang yang diambil.", "id")
            body += _bill_table(bill) + _back(channel)
            return None, _page(HTTPStatus.CONFLICT, "Not payable", "Tidak dapat dibayar", body)
        return bill, None

    def _confirm_page(
        self, channel: str, bill: dict[str, Any], account: str | None, note: str = "", card: CardEntry | None = None
    ) -> Response:
        request_id = secrets.token_urlsafe(18)
        hidden = {"billing_code": bill["billing_code"]}
        if card is None:
            hidden["account"] = "cash" if account is None else account
        hidden |= {"amount": str(bill["amount"]), "request_id": request_id}
        if card is not None:  # never the card number: its reference, last digits and expiry, sealed
            hidden |= card.fields(self.server.bank, request_id, bill["billing_code"])
        fields = "".join(f'<input type="hidden" name="{k}" value="{_e(v)}">' for k, v in hidden.items())
        if card is not None:
            payer = f"card {_e(card.card)} ({_e(card.holder)}), valid until {card.expiry_text}"
        else:
            payer = "cash (tunai)" if account is None else f"account ending {account[-4:]}"
        body = (
            (f'<p class="error">{_e(note)}</p>' if note else "")
            + _bill_table(bill)
            + _p(f"Paid from: {payer}.")
            + f'<form method="post" action="/{channel}/pay">{fields}'
            + f'<button type="submit">Pay {_rp(bill["amount"])} <small>Bayar</small></button></form>'
            + _back(channel, "Cancel (Batal)")
        )
        return _page(HTTPStatus.OK, "Confirm payment", "Konfirmasi pembayaran", body)

    def _inquiry(self, channel: str) -> Response:
        card: CardEntry | None = None
        if channel == "card":
            code, card, errors = self._read_card_form()
            if code is None:
                return self._card_form(errors, self._form())
            account = None
        else:
            code, account, error = self._read_counter_form(channel)
            if code is None:
                return self._channel_form(channel, error, self._form())
        bill, refusal = self._ask_gerbang(channel, code)
        if bill is None:
            assert refusal is not None
            return refusal
        return self._confirm_page(channel, bill, account, card=card)

    def _pay(self, channel: str) -> Response:
        bank = self.server.bank
        form = self._form()
        request_id = form.get("request_id", "")
        confirmed = form.get("amount", "")
        card: CardEntry | None = None
        if channel == "card":
            code, card, error = self._read_card_confirmation(form, request_id)
            account = None
            form = {name: form[name] for name in ("billing_code", "card_holder") if name in form}
        else:
            code, account, error = self._read_counter_form(channel)
        if code is None or not REQUEST_ID.fullmatch(request_id) or not confirmed.isdigit():
            return self._channel_form(channel, error or START_AGAIN, form)
        done = bank.store.by_request(request_id)
        if done is not None:  # the same confirmation sent twice: one payment
            return _redirect(f"/receipts/{done.ntb}")
        bill, refusal = self._ask_gerbang(channel, code)
        if bill is None:
            assert refusal is not None
            return refusal
        if bill["amount"] != int(confirmed):
            note = "The amount changed since you checked; please confirm the new amount. (Jumlah berubah.)"
            return self._confirm_page(channel, bill, account, note, card=card)
        try:
            payment, _created = bank.store.record_payment(
                bank_code=bank.gerbang.bank_code,
                billing_code=code,
                amount=bill["amount"],
                channel=channel,
                account=account,
                card=None if card is None else card.card,
                payer_name=str(bill.get("payer_name", ""))[:200],
                request_id=request_id,
            )
        except AlreadyPaid as exc:
            p = exc.payment
            body = _p(f'This bank already took the payment for {_code(code)}: <a href="/receipts/{p.ntb}">{p.ntb}</a>.')
            body += _p("Tagihan ini sudah dibayar di bank ini; tidak ada uang yang diambil.", "id")
            return _page(HTTPStatus.CONFLICT, "Already paid", "Sudah dibayar", body + _back(channel))
        bank.notifier.wake()
        return _redirect(f"/receipts/{payment.ntb}")

    def _receipt(self, ntb: str) -> Response:
        payment = self.server.bank.store.payment(ntb)
        if payment is None:
            return self._not_found(self.path)
        label = CHANNEL_LABELS[payment.channel][0]
        rows = [
            ("Billing code", "Kode billing", _code(payment.billing_code)),
            ("Payer", "Nama wajib bayar", _e(payment.payer_name)),
            ("Amount", "Jumlah", _rp(payment.amount)),
            ("Paid at", "Waktu bayar", _e(_when(payment.paid_at))),
            ("Channel", "Kanal", f"{_e(label)} &middot; {_e(payment.terminal_id)}"),
        ]
        if payment.card_masked is not None:
            rows.append(("Card", "Kartu", _e(f"{payment.card_network} {payment.card_masked}")))
        rows += [
            ("NTB", "Nomor transaksi bank", f'<span class="ntb">{payment.ntb}</span>'),
            ("NTPN", "Nomor transaksi penerimaan negara", f'<span class="ntpn">{payment.ntpn}</span>'),
            ("Status", "Status", _e(_state(payment))),
        ]
        table = "".join(f"<tr><th>{a} <small>{b}</small></th><td>{c}</td></tr>" for a, b, c in rows)
        body = f'<table class="receipt">{table}</table>' + _p(
            "Keep this receipt: the NTPN is the proof of payment. (Simpan bukti ini: NTPN adalah bukti pembayaran.)"
        )
        return _page(HTTPStatus.OK, "Receipt", "Bukti pembayaran", body + _back(payment.channel, "New payment"))

    # --- JSON API ----------------------------------------------------------------------------------

    def _status(self) -> Response:
        bank = self.server.bank
        data = {
            "bank_code": bank.gerbang.bank_code,
            "gerbang": bank.gerbang.base_url,
            "secrets": bool(bank.gerbang.secrets()),
            "test_api": bank.test_api,
            **bank.store.status(),
        }
        return _json(HTTPStatus.OK, data)

    def _test_pay(self) -> Response:
        bank = self.server.bank
        try:
            data = json.loads(self.body.decode())
        except (UnicodeDecodeError, ValueError):
            return _json(HTTPStatus.BAD_REQUEST, {"error": "invalid request", "fields": {"body": "must be JSON"}})
        parsed, errors = parse_test_payment(data)
        if parsed is None:
            return _json(HTTPStatus.BAD_REQUEST, {"error": "invalid request", "fields": errors})
        if parsed["amount"] is None:
            try:
                answer = bank.gerbang.inquiry(parsed["billing_code"])
            except (GerbangUnavailable, ValueError) as exc:
                return _json(HTTPStatus.UNPROCESSABLE_ENTITY, {"error": "give the amount", "detail": str(exc)})
            if answer.status == 404:
                return _json(HTTPStatus.UNPROCESSABLE_ENTITY, {"error": "give the amount: Gerbang knows no such bill"})
            parsed["amount"] = answer.data["amount"]
            parsed["payer_name"] = str(answer.data.get("payer_name", ""))[:200]
        booked_at, notify = parsed.pop("booked_at"), parsed.pop("notify")
        card_number = parsed.pop("card_number")
        card = None if card_number is None else bank.store.card(card_number)
        if booked_at is not None and (
            booked_at.astimezone(WIB).date() < bank.store.opened() or booked_at > dt.datetime.now(WIB)
        ):
            return _json(
                HTTPStatus.BAD_REQUEST,
                {"error": "invalid request", "fields": {"booked_at": "not a past time while the account was open"}},
            )
        payment, _ = bank.store.record_payment(
            bank_code=bank.gerbang.bank_code, test=True, notify=notify, now=booked_at, card=card, **parsed
        )
        bank.notifier.wake()
        return _json(HTTPStatus.CREATED, payment.as_json())

    def _signed_by_gerbang(self) -> list[bytes] | None:
        """The shared secrets if this GET carries Gerbang's valid signature over its path; else None (logged)."""
        path = urlsplit(self.path).path
        secrets_ = self.server.bank.gerbang.secrets()
        try:
            verify(self.headers.get(HEADER), b"", secrets_, method="GET", path=path)
        except BadSignature as exc:
            log.warning("refused %s: %s", path, exc)
            return None
        return secrets_

    def _payment_lookup(self, ntpn: str) -> Response:
        """Gerbang checks an NTPN an applicant typed in: the payment's notification, byte for byte, signed."""
        secrets_ = self._signed_by_gerbang()
        if secrets_ is None:
            return _json(HTTPStatus.UNAUTHORIZED, {"error": "unauthorized"})
        body = self.server.bank.store.notification_body(ntpn)
        if body is None:
            return self._signed(_json(HTTPStatus.NOT_FOUND, {"error": "no payment has this NTPN"}), secrets_)
        return self._signed(Response(HTTPStatus.OK, body, "application/json"), secrets_)

    def _statement(self, day_text: str, kind: str) -> Response:
        bank = self.server.bank
        secrets_ = self._signed_by_gerbang()
        if secrets_ is None:
            return _json(HTTPStatus.UNAUTHORIZED, {"error": "unauthorized"})
        try:
            day = dt.date.fromisoformat(day_text)
        except ValueError:
            return self._signed(_json(HTTPStatus.NOT_FOUND, {"error": "no such day"}), secrets_)
        today = dt.datetime.now(WIB).date()
        if day >= today:
            answer = _json(HTTPStatus.CONFLICT, {"error": "the day is not over yet", "today": today.isoformat()})
        elif day < bank.store.opened():
            answer = _json(HTTPStatus.NOT_FOUND, {"error": "the account was not open that day"})
        else:
            statement = statements.build(bank.store, day, account=bank.account, bank_code=bank.gerbang.bank_code)
            if kind == "mt940":
                answer = Response(HTTPStatus.OK, statements.mt940(statement).encode(), "text/plain")
            else:
                answer = Response(HTTPStatus.OK, statements.camt053(statement), "application/xml")
        return self._signed(answer, secrets_)

    @staticmethod
    def _signed(answer: Response, secrets_: list[bytes]) -> Response:
        """Signed the way Gerbang signs its answers: over ``"<t>.<body>"`` with the first secret."""
        answer.headers[HEADER] = sign(secrets_[:1], answer.body)
        return answer


def parse_test_payment(data: Any) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The fields of ``POST /api/test/pay``, or ``(None, field errors)``."""
    if not isinstance(data, dict):
        return None, {"body": "must be a JSON object"}
    allowed = {"billing_code", "amount", "channel", "paid_at", "account", "booked_at", "notify", "card_number"}
    errors = {name: "unexpected field" for name in data if name not in allowed}
    code = data.get("billing_code")
    if not (isinstance(code, str) and re.fullmatch(r"[0-9]{1,40}", code)):
        errors["billing_code"] = "required: a string of digits"
    amount = data.get("amount")
    if amount is not None and (not isinstance(amount, int) or isinstance(amount, bool) or not 0 < amount < 10**15):
        errors["amount"] = "a positive integer (rupiah)"
    channel = data.get("channel", "teller")
    if channel not in CHANNELS:
        errors["channel"] = f"one of {', '.join(CHANNELS)}"
    paid_at: dt.datetime | None = None
    if data.get("paid_at") is not None:
        try:
            paid_at = dt.datetime.fromisoformat(str(data["paid_at"]))
            if paid_at.utcoffset() is None:
                raise ValueError
        except ValueError:
            errors["paid_at"] = "an ISO 8601 time with its offset"
    booked_at: dt.datetime | None = None
    if data.get("booked_at") is not None:
        try:
            booked_at = dt.datetime.fromisoformat(str(data["booked_at"]))
            if booked_at.utcoffset() is None:
                raise ValueError
        except ValueError:
            errors["booked_at"] = "an ISO 8601 time with its offset"
    notify = data.get("notify", True)
    if not isinstance(notify, bool):
        errors["notify"] = "true or false"
    account = data.get("account")
    if account is not None and not (isinstance(account, str) and ACCOUNT.fullmatch(account)):
        errors["account"] = "6 to 20 digits"
    elif account is not None and channel == "card":
        errors["account"] = "not with channel card: give card_number"
    card_number: str | None = None
    if channel == "card":
        card_number = TEST_CARD
    if data.get("card_number") is not None:
        given = data["card_number"]
        if channel != "card":
            errors["card_number"] = "only with channel card"
        elif isinstance(given, str):
            card_number, error = parse_card_number(given)
            if error:
                errors["card_number"] = "12 to 19 digits with a valid Luhn check digit"
        else:
            errors["card_number"] = "a string of 12 to 19 digits with a valid Luhn check digit"
    if errors:
        return None, errors
    return {
        "billing_code": code,
        "amount": amount,
        "channel": channel,
        "paid_at": paid_at,
        "account": account,
        "booked_at": booked_at,
        "notify": notify,
        "card_number": card_number,
    }, {}


# --- HTML ------------------------------------------------------------------------------------------

STYLE = """
body { font: 16px/1.45 system-ui, sans-serif; margin: 0; background: #f3f5f7; color: #1b2430; }
header { background: #0b4f6c; color: #fff; padding: .8rem 1.5rem; }
header a { color: #fff; text-decoration: none; font-weight: 600; }
main { max-width: 42rem; margin: 1.5rem auto; background: #fff; padding: 1.5rem 2rem; border-radius: 8px;
       box-shadow: 0 1px 3px rgba(0,0,0,.12); }
h1 { margin-top: 0; } h1 small, h2 small, th small, label small, button small, .channel small
   { display: block; font-weight: normal; font-size: .8em; color: #5a6878; }
button small { color: #dfe9ef; }
label { display: block; margin: 1rem 0; font-weight: 600; }
input { display: block; width: 100%; box-sizing: border-box; font: inherit; padding: .5rem; margin-top: .3rem; }
button { font: inherit; font-weight: 600; background: #0b4f6c; color: #fff; border: 0; padding: .6rem 1.2rem;
         border-radius: 6px; cursor: pointer; }
table { border-collapse: collapse; width: 100%; margin: 1rem 0; }
th, td { text-align: left; padding: .4rem .5rem; border-bottom: 1px solid #e3e7eb; vertical-align: top; }
td.num { text-align: right; white-space: nowrap; }
.channels { list-style: none; padding: 0; display: flex; gap: 1rem; }
.channel { display: block; padding: 1rem 1.4rem; border: 1px solid #0b4f6c; border-radius: 8px;
           text-decoration: none; color: #0b4f6c; font-weight: 600; }
.error { color: #a4161a; font-weight: 600; }
.id { color: #5a6878; font-style: italic; }
.ntb, .ntpn { font-family: ui-monospace, monospace; font-size: 1.1em; }
"""


def _page(status: HTTPStatus, title: str, subtitle: str, body: str, *, home: bool = True) -> Response:
    text = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)} - Bank Sandbox</title><style>{STYLE}</style></head><body>"
        f'<header><a href="/">Bank Sandbox</a> &middot; collecting bank for Gerbang (sandbox)</header>'
        f"<main><h1>{_e(title)}<small>{_e(subtitle)}</small></h1>{body}"
        + (_home_link() if home else "")
        + "</main></body></html>\n"
    )
    return Response(status, text.encode())


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _p(text: str, lang: str = "") -> str:
    return f'<p class="id" lang="id">{text}</p>' if lang == "id" else f"<p>{text}</p>"


def _holder(text: str) -> tuple[str, str]:
    """``(name, "")``: the card holder's name as typed (spaces collapsed), or ``("", what is wrong)``."""
    name = " ".join(text.split())
    if not name:
        return "", "Enter the card holder's name as it is on the card. (Masukkan nama pemegang kartu.)"
    if len(name) > MAX_HOLDER:
        return "", f"The card holder's name is at most {MAX_HOLDER} letters. (Nama pemegang kartu terlalu panjang.)"
    if not name.isprintable():
        return "", "The card holder's name holds a character that is not a letter. (Nama mengandung karakter tak sah.)"
    return name, ""


def _home_link() -> str:
    return '<p><a href="/">All channels (Semua kanal)</a></p>'


def _back(channel: str, label: str = "Back (Kembali)") -> str:
    return f'<p><a href="/{quote(channel)}">{_e(label)}</a></p>'


def _rp(amount: int) -> str:
    """``Rp 350.000``: Indonesian thousands separators."""
    return "Rp&nbsp;" + f"{amount:,}".replace(",", ".")


def _code(code: str) -> str:
    """A billing code grouped by five, as Gerbang shows it."""
    return _e(" ".join(code[i : i + 5] for i in range(0, len(code), 5)))


def _when(iso: str) -> str:
    try:
        moment = dt.datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if moment.utcoffset() is None:
        return iso
    return moment.astimezone(WIB).strftime("%d %b %Y %H:%M:%S WIB")


def _state(payment: Payment) -> str:
    label = STATE_LABELS[payment.state][0]
    if payment.state == "acknowledged" and payment.answer:
        label += f" ({payment.answer.get('status')})"
    elif payment.state == "pending" and payment.attempts:
        label += f" (attempt {payment.attempts} failed, retrying)"
    return label


def _bill_table(bill: dict[str, Any]) -> str:
    rows = [
        ("Billing code", "Kode billing", _code(str(bill.get("billing_code", "")))),
        ("Payer", "Nama wajib bayar", _e(bill.get("payer_name", ""))),
    ]
    for item in bill.get("items") or []:
        if isinstance(item, dict) and isinstance(item.get("amount"), int):
            rows.append((_e(item.get("service", "")) or "Item", "", f'<span class="num">{_rp(item["amount"])}</span>'))
    rows += [
        ("Amount", "Jumlah", f"<strong>{_rp(bill['amount'])}</strong>"),
        ("Valid until", "Berlaku sampai", _e(_when(str(bill.get("expires_at", ""))))),
        ("Status", "Status", _e(bill.get("status", ""))),
    ]
    return (
        '<table class="bill">'
        + "".join(f"<tr><th>{a} <small>{b}</small></th><td>{c}</td></tr>" for a, b, c in rows)
        + "</table>"
    )


# --- Command line ----------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(
        prog="python -m services.bank",
        description="Sandbox collecting bank: pay Gerbang billing codes at a teller, ATM, mobile or card screen.",
    )
    parser.add_argument("--data", type=Path, default=Path(env("BANK_DATA_DIR", "var/bank")), help="data folder")
    parser.add_argument("--host", default=env("BANK_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(env("BANK_PORT", "8003")))
    parser.add_argument("--gerbang", default=env("BANK_GERBANG_URL", "http://127.0.0.1:8000"), help="Gerbang's URL")
    parser.add_argument("--code", default=env("BANK_CODE", "bank-sandbox"), help="this bank's code at Gerbang")
    parser.add_argument(
        "--secrets",
        type=Path,
        default=Path(env("BANK_SECRETS", "")) if env("BANK_SECRETS") else None,
        help="the shared secrets file (default: var/keys/banks/<code>.secrets)",
    )
    parser.add_argument("--account", default=env("BANK_ACCOUNT", "0001234567890"), help="Gerbang's account here")
    parser.add_argument("--test-api", action="store_true", help="enable POST /api/test/pay (development only)")
    parser.add_argument(
        "--opened",
        type=dt.date.fromisoformat,
        default=None,
        help="the account's first day, YYYY-MM-DD, when the data folder is new (default today; for tests)",
    )
    parser.add_argument("--retry-base", type=float, default=1.0, help="first retry delay in seconds (doubles)")
    parser.add_argument("--retry-cap", type=float, default=60.0, help="longest retry delay in seconds")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for Gerbang")
    args = parser.parse_args(argv)
    if not BANK_CODE.fullmatch(args.code):
        parser.error(f"--code: 1-20 of a-z 0-9 -, not {args.code!r}")
    if args.secrets is None:
        args.secrets = Path("var/keys/banks") / f"{args.code}.secrets"
    if args.retry_base <= 0 or args.retry_cap < args.retry_base:
        parser.error("--retry-base must be positive and at most --retry-cap")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s bank %(levelname)s %(message)s", stream=sys.stderr)
    try:
        store = Store(args.data, opened=args.opened)
        gerbang = Gerbang(args.gerbang, args.code, args.secrets, timeout=args.timeout)
        notifier = Notifier(store, gerbang, retry_base=args.retry_base, retry_cap=args.retry_cap)
        bank = Bank(store, gerbang, notifier, test_api=args.test_api, account=args.account)
        server = BankServer((args.host, args.port), bank)
    except (OSError, sqlite3.Error, ValueError) as exc:
        print(f"bank: cannot start: {exc}", file=sys.stderr)
        return 2
    gerbang.secrets()  # warn now if the secrets file is missing
    store.requeue(time.time())
    host, port = server.server_address[:2]
    print(f"bank listening on http://{host!s}:{port}/ as {args.code}, Gerbang at {gerbang.base_url}", flush=True)
    if args.test_api:
        print("bank: the test API (POST /api/test/pay) is enabled", flush=True)

    stop = threading.Event()
    notifier_thread = threading.Thread(target=notifier.run, args=(stop,), name="notifier", daemon=True)
    serve_until_signalled(server, stop, [notifier_thread])
    log.info("stopped")
    return 0
