"""The bank protocol over HTTP: signed inquiry and notifications, credit once, everything else queued."""

from __future__ import annotations

import ast
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from gerbang.applications.models import Step
from gerbang.audit.models import AuditEvent
from gerbang.conftest import last_audit_id
from gerbang.payments import billing_codes, signatures
from gerbang.payments.actions import expire_bills
from gerbang.payments.models import Bill, Payment, PaymentException

from .support import inquire, make_bank, notification, send, submitted_application

pytestmark = pytest.mark.django_db


@pytest.fixture
def bank(settings: Any, tmp_path: Path) -> Any:
    settings.BANK_SECRETS_DIR = tmp_path / "banks"
    return make_bank(settings.BANK_SECRETS_DIR)


def test_submission_issues_a_bill_with_a_checked_code_for_the_exact_fee() -> None:
    application, bill = submitted_application()
    assert billing_codes.is_valid(bill.billing_code) and len(bill.billing_code) == 15
    assert bill.amount == application.versions.get().fee["total"] == 350_000
    assert bill.status == "issued" and bill.expires_at - bill.issued_at == settings.BILL_VALIDITY["passport"]
    for i, digit in enumerate(bill.billing_code):
        typo = bill.billing_code[:i] + str((int(digit) + 1) % 10) + bill.billing_code[i + 1 :]
        assert not billing_codes.is_valid(typo)


def test_the_bank_asks_for_the_bill_then_a_signed_notification_credits_it_once(bank: Any) -> None:
    bank, secret = bank
    application, bill = submitted_application()
    client = Client()
    asked = inquire(client, bank, secret, bill.billing_code)
    assert asked.status_code == 200 and asked.json()["amount"] == 350_000 and asked.json()["payable"] is True
    # Gerbang's answer is signed too, so the bank knows it came from Gerbang.
    signatures.verify(asked[signatures.HEADER], asked.content, [secret])

    mark = last_audit_id()
    body = notification(bill, bank)
    first = send(client, bank, secret, body)
    assert first.status_code == 200 and first.json() == {"status": "credited"}
    again = send(client, bank, secret, body)
    assert again.json() == {"status": "duplicate"}
    bill.refresh_from_db()
    application.refresh_from_db()
    assert bill.status == "paid" and bill.ntpn == body["ntpn"] and application.status == "paid"
    assert Payment.objects.filter(bill=bill).count() == 1
    assert Step.objects.filter(application=application, action="pay", actor__isnull=True).count() == 1
    events = list(AuditEvent.objects.filter(id__gt=mark).values_list("action", flat=True))
    assert events.count("payments.bill_paid") == 1 and "applications.pay" in events
    # Paid: nobody can pay it again, and the applicant can no longer withdraw (a refund is a finance matter).
    assert inquire(client, bank, secret, bill.billing_code).status_code == 409
    from gerbang.applications.workflow import allowed_actions

    assert "withdraw" not in allowed_actions(application, application.filer)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"amount": 349_000}, "wrong_amount"),
        ({"billing_code": "123456789012345"}, "unknown_code"),
    ],
)
def test_money_that_cannot_be_credited_is_queued_never_dropped(bank: Any, change: dict[str, Any], reason: str) -> None:
    bank, secret = bank
    _application, bill = submitted_application()
    answer = send(Client(), bank, secret, notification(bill, bank, **change))
    assert answer.json() == {"status": "exception"}
    payment = Payment.objects.get(bank=bank, billing_code=change.get("billing_code", bill.billing_code))
    assert payment.outcome == "exception" and PaymentException.objects.get(payment=payment).reason == reason
    bill.refresh_from_db()
    assert bill.status == "issued"


def test_a_second_payment_for_a_paid_bill_goes_to_the_queue(bank: Any) -> None:
    bank, secret = bank
    _application, bill = submitted_application()
    send(Client(), bank, secret, notification(bill, bank))
    second = send(Client(), bank, secret, notification(bill, bank))
    assert second.json() == {"status": "exception"}
    assert PaymentException.objects.get(payment__bill=bill).reason == "already_paid"
    assert Payment.objects.filter(bill=bill, outcome="credited").count() == 1


def test_late_notifications_count_the_bank_time_not_the_arrival(bank: Any) -> None:
    bank, secret = bank
    _application, bill = submitted_application()
    # Paid one minute before the expiry, reported an hour after it: credited.
    Bill.objects.filter(pk=bill.pk).update(
        issued_at=timezone.now() - dt.timedelta(days=8), expires_at=timezone.now() - dt.timedelta(hours=1)
    )
    bill.refresh_from_db()
    assert inquire(Client(), bank, secret, bill.billing_code).status_code == 409  # nobody can pay it now
    paid_in_time = (bill.expires_at - dt.timedelta(minutes=1)).isoformat()
    assert send(Client(), bank, secret, notification(bill, bank, paid_at=paid_in_time)).json() == {"status": "credited"}
    _other, late_bill = submitted_application(nik="3173011203840001")
    Bill.objects.filter(pk=late_bill.pk).update(
        issued_at=timezone.now() - dt.timedelta(days=8), expires_at=timezone.now() - dt.timedelta(hours=1)
    )
    late_bill.refresh_from_db()
    late = (late_bill.expires_at + dt.timedelta(minutes=1)).isoformat()
    assert send(Client(), bank, secret, notification(late_bill, bank, paid_at=late)).json() == {"status": "exception"}
    assert PaymentException.objects.get(payment__bill=late_bill).reason == "after_expiry"


def test_bills_expire_only_after_the_grace_for_late_notifications() -> None:
    _application, bill = submitted_application()
    Bill.objects.filter(pk=bill.pk).update(
        issued_at=timezone.now() - dt.timedelta(days=8), expires_at=timezone.now() - dt.timedelta(minutes=5)
    )
    assert expire_bills() == 0
    assert expire_bills(timezone.now() + settings.BILL_LATE_NOTIFICATION_GRACE) == 1
    bill.refresh_from_db()
    assert bill.status == "expired"


def _forgeries(raw: bytes, secret: bytes) -> list[tuple[bytes, str]]:
    now = int(timezone.now().timestamp())
    good = signatures.header_value([secret], raw)
    flipped = raw.replace(b'"amount": ', b'"amount": 1', 1)
    return [
        (raw, ""),  # no signature
        (raw, "t=abc,v1=zz"),  # malformed
        (flipped, good),  # a byte changed after signing
        # A minute beyond the 300-second window either way: a slow machine may take seconds to send all seven.
        (raw, signatures.header_value([secret], raw, now=now - 360)),  # stale
        (raw, signatures.header_value([secret], raw, now=now + 360)),  # from the future
        (raw, signatures.header_value([b"x" * 32], raw)),  # another secret
        (raw, good.split(",")[0] + ",v1=" + "0" * 64),  # right time, wrong MAC
    ]


def test_forged_or_altered_notifications_store_nothing(bank: Any, caplog: Any) -> None:
    bank, secret = bank
    _application, bill = submitted_application()
    raw = json.dumps(notification(bill, bank)).encode()
    for body, header in _forgeries(raw, secret):
        answer = Client().post(
            "/api/bank/v1/notifications",
            body,
            content_type="application/json",
            headers={"Gerbang-Bank": bank.code, signatures.HEADER: header},
        )
        assert answer.status_code == 401, header
    assert not Payment.objects.exists()
    assert sum("bank API: refused" in r.getMessage() for r in caplog.records) == 7
    unknown_bank = send(Client(), bank, secret, notification(bill, bank), bank_code="other-bank")
    assert unknown_bank.status_code == 401 and not Payment.objects.exists()


def test_during_key_rotation_either_secret_signs(settings: Any, tmp_path: Path) -> None:
    settings.BANK_SECRETS_DIR = tmp_path / "banks"
    new, old = b"n" * 32, b"o" * 32
    bank, _ = make_bank(settings.BANK_SECRETS_DIR, secrets=[new, old])
    _application, bill = submitted_application()
    raw = json.dumps(notification(bill, bank)).encode()
    both = signatures.header_value([b"z" * 32, old], raw)  # one unknown value and the old secret's
    answer = send(Client(), bank, new, raw, signature=both)
    assert answer.json() == {"status": "credited"}


def test_malformed_notifications_are_422_and_credit_nothing(bank: Any) -> None:
    bank, secret = bank
    _application, bill = submitted_application()
    bodies: list[dict[str, Any] | bytes] = [
        b"not json",
        b"[1, 2]",
        notification(bill, bank, amount="350000"),
        notification(bill, bank, amount=1.5),
        notification(bill, bank, paid_at="2026-11-28 10:00"),
        notification(bill, bank, ntpn="short"),
        notification(bill, bank, extra="x"),
        notification(bill, bank, bank_code="another-bank"),
    ]
    for body in bodies:
        answer = send(Client(), bank, secret, body)
        assert answer.status_code == 422, body
        assert answer.json()["error"] == "invalid request"
    assert not Payment.objects.exists()


def test_withdrawing_before_payment_cancels_the_bill(bank: Any) -> None:
    bank, secret = bank
    application, bill = submitted_application()
    from gerbang.applications.actions import withdraw

    withdraw(application, actor=application.filer, reason="")
    bill.refresh_from_db()
    assert bill.status == "cancelled"
    refused = inquire(Client(), bank, secret, bill.billing_code)
    assert refused.status_code == 409 and refused.json()["status"] == "cancelled"
    assert send(Client(), bank, secret, notification(bill, bank)).json() == {"status": "exception"}


def test_only_the_proof_paths_call_credit() -> None:
    """The one function that marks money as paid has exactly the callers the design names.

    ``_receive`` is the notification path (pushed, or pulled by an NTPN check) and the
    statement path (reconciliation receives unannounced entries through it);
    ``decide_acceptance`` credits a payment those paths already stored, on the word
    of two finance officers. Nothing else, anywhere in Gerbang, calls ``credit``.
    """
    callers = []
    for path in Path(settings.BASE_DIR, "gerbang").rglob("*.py"):
        if "tests" in path.parts:
            continue
        tree = ast.parse(path.read_text())
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.Call):
                    name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                    if name == "credit":
                        callers.append((str(path.relative_to(settings.BASE_DIR)), function.name))
    assert sorted(callers) == [
        ("gerbang/payments/actions.py", "_receive"),
        ("gerbang/payments/actions.py", "decide_acceptance"),
    ]
    reconciliation = Path(settings.BASE_DIR, "gerbang/payments/reconciliation.py").read_text()
    assert "source=Payment.Source.STATEMENT" in reconciliation
