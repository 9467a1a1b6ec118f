"""The collecting banks' side of Gerbang (docs/bank-protocol.md): bill inquiry and payment notifications.

Plain Django views, not the applicant API: the signature covers the raw
request bytes, which must be read before anything parses them. A bad or
missing signature is answered 401 and leaves nothing but a security log line.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from . import actions, billing_codes, signatures
from .models import Bank, Bill

security_log = logging.getLogger("gerbang.security")

BANK_HEADER = "Gerbang-Bank"  # which bank's secrets to check the signature against
NOTIFICATION_FIELDS = {
    "notification_id": r"[A-Za-z0-9._:-]{1,64}",
    "bank_code": r"[a-z0-9-]{1,20}",
    "billing_code": r"[0-9]{1,40}",
    "ntb": r"[A-Za-z0-9-]{1,32}",
    "ntpn": r"[A-Z0-9]{16}",
    "channel": r"(teller|atm|mobile|internet|card|post|minimarket)",
    "terminal_id": r"[A-Za-z0-9._:-]{1,40}",
    "payer_ref": r"[A-Za-z0-9+/=_-]{8,128}",
}


@dataclass(frozen=True)
class Caller:
    """An authenticated bank and the secrets its request was checked against (read once per request)."""

    bank: Bank
    secrets: list[bytes]


def _answer(caller: Caller | None, status: int, payload: dict[str, Any]) -> HttpResponse:
    """JSON, signed with the bank's first secret when the request was authenticated."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    response = HttpResponse(body, status=status, content_type="application/json")
    if caller is not None:
        response[signatures.HEADER] = signatures.header_value(caller.secrets[:1], body)
    return response


def _authenticated_bank(request: HttpRequest, body: bytes) -> Caller | None:
    code = request.headers.get(BANK_HEADER, "")
    bank = Bank.objects.filter(code=code, is_active=True).first() if re.fullmatch(r"[a-z0-9-]{1,20}", code) else None
    try:
        if bank is None:
            raise signatures.BadSignature("unknown bank")
        secrets = signatures.load_secrets(settings.BANK_SECRETS_DIR, bank.code)
        signatures.verify(
            request.headers.get(signatures.HEADER), body, secrets, method=request.method or "", path=request.path
        )
    except signatures.BadSignature as exc:
        security_log.warning(
            "bank API: refused %s %s from %s (bank %r): %s",
            request.method,
            request.path,
            request.META.get("REMOTE_ADDR", "?"),
            code[:20],
            exc,
        )
        return None
    return Caller(bank, secrets)


@csrf_exempt
@require_GET
def bill_inquiry(request: HttpRequest, billing_code: str) -> HttpResponse:
    caller = _authenticated_bank(request, b"")
    if caller is None:
        return _answer(None, 401, {"error": "unauthorized"})
    bill = Bill.objects.filter(billing_code=billing_code).first() if billing_codes.is_valid(billing_code) else None
    if bill is None:
        return _answer(caller, 404, {"error": "unknown billing code"})
    payload = {
        "billing_code": bill.billing_code,
        "amount": bill.amount,
        "currency": "IDR",
        "payer_name": bill.payer_name,
        "items": [{"service": i.get("service", ""), "amount": i["amount"]} for i in bill.items],
        "expires_at": bill.expires_at.isoformat(),
        "status": bill.status,
    }
    if not actions.payable(bill):
        # Expired (even if not yet marked so), paid or cancelled: nobody may take money for it.
        status = "expired" if bill.status == Bill.Status.ISSUED else bill.status
        return _answer(caller, 409, payload | {"status": status, "payable": False})
    return _answer(caller, 200, payload | {"payable": True})


def parse_notification(data: Any) -> tuple[actions.Notification | None, dict[str, str]]:
    """A notification from its JSON body, or field errors (nothing is stored for a malformed body)."""
    if not isinstance(data, dict):
        return None, {"body": "must be a JSON object"}
    errors: dict[str, str] = {}
    expected = {*NOTIFICATION_FIELDS, "amount", "paid_at"}
    for name in sorted(set(data) - expected):
        errors[name] = "unexpected field"
    for name, pattern in NOTIFICATION_FIELDS.items():
        value = data.get(name)
        if not isinstance(value, str) or not re.fullmatch(pattern, value):
            errors[name] = "missing or malformed"
    amount = data.get("amount")
    if not isinstance(amount, int) or isinstance(amount, bool) or not 0 < amount < 10**15:
        errors["amount"] = "must be a positive integer (rupiah)"
    paid_at: dt.datetime | None = None
    try:
        paid_at = dt.datetime.fromisoformat(str(data.get("paid_at")))
        if paid_at.tzinfo is None:
            raise ValueError
    except ValueError:
        errors["paid_at"] = "must be an ISO 8601 time with its offset"
    if errors or paid_at is None:
        return None, errors
    return actions.Notification(
        notification_id=data["notification_id"],
        bank_code=data["bank_code"],
        billing_code=data["billing_code"],
        amount=amount,  # type: ignore[arg-type]
        paid_at=paid_at,
        ntb=data["ntb"],
        ntpn=data["ntpn"],
        channel=data["channel"],
        terminal_id=data["terminal_id"],
        payer_ref=data["payer_ref"],
    ), {}


@csrf_exempt
@require_POST
def notification(request: HttpRequest) -> HttpResponse:
    body = request.body
    caller = _authenticated_bank(request, body)
    if caller is None:
        return _answer(None, 401, {"error": "unauthorized"})
    bank = caller.bank
    try:
        data = json.loads(body)
    except ValueError:
        return _answer(caller, 422, {"error": "invalid request", "fields": {"body": "not JSON"}})
    parsed, errors = parse_notification(data)
    if parsed is not None and parsed.bank_code != bank.code:
        parsed, errors = None, {"bank_code": "differs from the signing bank"}
    if parsed is None:
        return _answer(caller, 422, {"error": "invalid request", "fields": errors})
    if parsed.paid_at > timezone.now() + dt.timedelta(minutes=5):
        return _answer(caller, 422, {"error": "invalid request", "fields": {"paid_at": "in the future"}})
    outcome = actions.receive_notification(bank, parsed)
    return _answer(caller, 200, {"status": outcome})
