"""Gerbang asking a bank (docs/bank-protocol.md): end-of-day statements and NTPN checks, signed both ways.

Each request is a GET signed over ``"<t>.GET <path>"`` with the bank's shared
secret; each answer must carry the bank's signature over ``"<t>.<body>"`` within
the same 300-second tolerance, or it is not believed (:class:`BankUnavailable`).
What an answer says is then checked against what was asked (the day, the
account, the NTPN), so an answer to another question cannot be passed off.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass

from django.conf import settings

from . import signatures
from .models import Bank

log = logging.getLogger("gerbang.payments")
TIMEOUT = 30


class BankUnavailable(Exception):
    """The bank did not answer, or its answer is not signed with the shared secret."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def call(bank: Bank, path: str, *, timeout: float = TIMEOUT) -> Answer:
    if not bank.api_url:
        raise BankUnavailable(f"{bank.code}: no API address is configured")
    secrets = signatures.load_secrets(settings.BANK_SECRETS_DIR, bank.code)
    if not secrets:
        raise BankUnavailable(f"{bank.code}: no shared secret")
    url = bank.api_url.rstrip("/") + path
    if not url.startswith(("https://", "http://")):
        raise BankUnavailable(f"{bank.code}: the API address must be http(s)")
    request = urllib.request.Request(  # noqa: S310 (scheme checked above)
        url,
        method="GET",
        headers={signatures.HEADER: signatures.header_value(secrets[:1], b"", method="GET", path=path)},
    )
    try:
        with _opener.open(request, timeout=timeout) as response:
            status, body, header = response.status, response.read(), response.headers.get(signatures.HEADER)
    except urllib.error.HTTPError as error:
        status, body, header = error.code, error.read(), error.headers.get(signatures.HEADER)
    except (OSError, ValueError) as exc:
        raise BankUnavailable(f"{bank.code}: {exc}") from exc
    try:
        signatures.verify(header, body, secrets)
    except signatures.BadSignature as exc:
        log.warning("bank %s: unsigned or badly signed answer to GET %s (%s): %s", bank.code, path, status, exc)
        raise BankUnavailable(f"{bank.code}: the answer is not signed by the bank ({exc})") from exc
    return Answer(status, body)


def statement_path(day: dt.date, format: str) -> str:
    return f"/api/v1/statements/{day.isoformat()}.{'mt940' if format == 'mt940' else 'camt053.xml'}"


def fetch_statement(bank: Bank, day: dt.date, format: str = "mt940") -> Answer:
    """The bank's statement of ``day``: 200 with the statement, 409 when the day is not over, 404 when unknown."""
    return call(bank, statement_path(day, format))


def lookup_ntpn(bank: Bank, ntpn: str) -> dict[str, object] | None:
    """The bank's signed notification of the payment with ``ntpn``, or None when this bank has no such payment."""
    answer = call(bank, f"/api/v1/payments/{ntpn}")
    if answer.status == 404:
        return None
    if answer.status != 200:
        raise BankUnavailable(f"{bank.code}: NTPN check answered {answer.status}")
    try:
        data = json.loads(answer.body)
    except ValueError as exc:
        raise BankUnavailable(f"{bank.code}: NTPN check answer is not JSON") from exc
    if not isinstance(data, dict) or data.get("ntpn") != ntpn or data.get("bank_code") != bank.code:
        # Signed, but not an answer to this question.
        raise BankUnavailable(f"{bank.code}: the answer is about another payment")
    return data
