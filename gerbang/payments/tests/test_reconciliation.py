"""Reconciliation against the real sandbox bank: statements fetched over its signed API or taken as signed files."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from gerbang.accounts.actions import issue_api_token
from gerbang.applications.models import PassportApplication
from gerbang.audit.models import AuditEvent
from gerbang.conftest import last_audit_id
from gerbang.payments import bank_client
from gerbang.payments.models import Bill, Payment, PaymentException, Statement, StatementEntry
from services.bank import export

from .conftest import ACCOUNT, SandboxBank, at_noon, today_wib
from .support import submitted_application

pytestmark = pytest.mark.django_db(transaction=True)

NIKS = ["3173015708870001", "3173014508900002", "3173016203850003", "3173012211920004"]
UNKNOWN_CODE = "987654321098765"


def reconcile(*args: str) -> str:
    out = io.StringIO()
    call_command("reconcile", "--bank", "bank-sandbox", *args, stdout=out)
    return out.getvalue()


def table_sizes() -> tuple[int, int, int, int]:
    return (
        Payment.objects.count(),
        Statement.objects.count(),
        StatementEntry.objects.count(),
        PaymentException.objects.count(),
    )


def test_a_day_is_reconciled_once_and_money_never_notified_is_credited_from_the_statement(
    sandbox_bank: SandboxBank,
) -> None:
    yesterday = today_wib() - dt.timedelta(days=1)
    (_app_a, bill_a), (app_b, bill_b), (_app_c, bill_c) = (submitted_application(nik) for nik in NIKS[:3])
    # A: paid yesterday and notified; B: paid yesterday, the notification lost; an unknown code paid
    # yesterday, its notification lost too; C: paid yesterday but booked today, notified.
    paid_a = sandbox_bank.pay(bill_a.billing_code, booked_at=at_noon(yesterday))
    paid_b = sandbox_bank.pay(bill_b.billing_code, booked_at=at_noon(yesterday), notify=False)
    paid_u = sandbox_bank.pay(UNKNOWN_CODE, amount=125_000, booked_at=at_noon(yesterday), notify=False)
    paid_c = sandbox_bank.pay(bill_c.billing_code, paid_at=at_noon(yesterday))
    sandbox_bank.wait_idle()
    bill_a.refresh_from_db()
    bill_b.refresh_from_db()
    assert (bill_a.status, bill_b.status) == ("paid", "issued")
    expected = bank_client.fetch_statement(sandbox_bank.bank, yesterday, "mt940")
    assert expected.status == 200
    mark = last_audit_id()

    output = reconcile("--day", yesterday.isoformat())

    assert "reconciled (matched 1, credited 1, exception 1, mismatch 0, unidentified 0, notified_absent 1)" in output
    assert f"notified but absent from the statement: {paid_c['notification_id']}" in output
    # B is paid from the statement, through the same receiving path as a notification.
    bill_b.refresh_from_db()
    assert (bill_b.status, bill_b.ntpn) == ("paid", paid_b["ntpn"])
    from_statement = Payment.objects.get(ntpn=paid_b["ntpn"])
    assert from_statement.source == "statement" and from_statement.outcome == "credited"
    assert from_statement.payer_ref == paid_b["payer_ref"]  # back from the SWIFT character set
    assert from_statement.channel == "teller" and from_statement.terminal_id == paid_b["terminal_id"]
    assert PassportApplication.objects.get(pk=app_b.pk).status == "paid"
    # Money for an unknown code waits in the exception queue.
    unknown = PaymentException.objects.get(payment__ntpn=paid_u["ntpn"])
    assert (unknown.reason, unknown.payment.source, unknown.payment.amount) == ("unknown_code", "statement", 125_000)
    # The statement, its lines and the audit event holding its hash.
    statement = Statement.objects.get(bank=sandbox_bank.bank, day=yesterday)
    assert statement.sha256 == hashlib.sha256(expected.body).hexdigest()
    assert (statement.entry_count, statement.source, statement.format) == (3, "api", "mt940")
    assert statement.closing - statement.opening == bill_a.amount + bill_b.amount + 125_000
    assert statement.report["absent"] == [paid_c["notification_id"]]
    results = dict(statement.entries.values_list("ntpn", "result"))
    assert results == {paid_a["ntpn"]: "matched", paid_b["ntpn"]: "credited", paid_u["ntpn"]: "exception"}
    event = AuditEvent.objects.get(id__gt=mark, action="payments.statement_reconciled")
    assert event.details["sha256"] == statement.sha256 and event.details["credited"] == 1

    # Running it again changes nothing, and writes nothing.
    sizes, mark = table_sizes(), last_audit_id()
    again = reconcile("--day", yesterday.isoformat())
    assert "already reconciled" in again
    assert table_sizes() == sizes and last_audit_id() == mark
    # Without --day: the days since the last reconciled one up to yesterday, so nothing is due.
    assert "nothing due" in reconcile()
    # Today is not over: the bank has no statement yet.
    assert "not available" in reconcile("--day", today_wib().isoformat())
    assert table_sizes() == sizes


def test_camt053_then_mt940_the_sequence_and_balances_carry_over(sandbox_bank: SandboxBank) -> None:
    two_days_ago, yesterday = today_wib() - dt.timedelta(days=2), today_wib() - dt.timedelta(days=1)
    (_app_a, bill_a), (_app_b, bill_b) = (submitted_application(nik) for nik in NIKS[:2])
    sandbox_bank.pay(bill_a.billing_code, booked_at=at_noon(two_days_ago), notify=False)
    sandbox_bank.pay(bill_b.billing_code, booked_at=at_noon(yesterday))
    sandbox_bank.wait_idle()

    assert "reconciled (matched 0, credited 1," in reconcile("--day", two_days_ago.isoformat(), "--format", "camt053")
    assert "reconciled (matched 1, credited 0," in reconcile("--day", yesterday.isoformat())

    first, second = Statement.objects.filter(bank=sandbox_bank.bank).order_by("day")
    assert (first.format, second.format) == ("camt053", "mt940")
    assert second.sequence == first.sequence + 1 and second.opening == first.closing
    bill_a.refresh_from_db()
    assert bill_a.status == "paid"


def test_a_changed_statement_for_a_reconciled_day_is_refused_and_logged(
    sandbox_bank: SandboxBank, caplog: pytest.LogCaptureFixture
) -> None:
    yesterday = today_wib() - dt.timedelta(days=1)
    (_app_a, bill_a), (_app_b, bill_b) = (submitted_application(nik) for nik in NIKS[:2])
    sandbox_bank.pay(bill_a.billing_code, booked_at=at_noon(yesterday))
    sandbox_bank.wait_idle()
    reconcile("--day", yesterday.isoformat())
    # The bank's history of yesterday changes after the fact.
    late = sandbox_bank.pay(bill_b.billing_code, booked_at=at_noon(yesterday), notify=False)
    sizes, mark = table_sizes(), last_audit_id()

    with caplog.at_level(logging.WARNING, logger="gerbang.security"), pytest.raises(CommandError):
        reconcile("--day", yesterday.isoformat())

    assert table_sizes() == sizes
    assert not Payment.objects.filter(ntpn=late["ntpn"]).exists()
    refused = AuditEvent.objects.get(id__gt=mark, action="payments.statement_refused")
    assert "a different statement" in refused.details["why"]
    assert any("refused a statement" in r.getMessage() for r in caplog.records)


def test_a_statement_file_is_taken_only_with_a_valid_detached_signature(
    sandbox_bank: SandboxBank, tmp_path: Path
) -> None:
    yesterday = today_wib() - dt.timedelta(days=1)
    _app, bill = submitted_application(NIKS[0])
    sandbox_bank.pay(bill.billing_code, booked_at=at_noon(yesterday), notify=False)
    common = ["--data", str(sandbox_bank.data), "--secrets", str(sandbox_bank.secrets_file), "--account", ACCOUNT]
    assert export.main([*common, "--day", yesterday.isoformat(), "--out", str(tmp_path / "files")]) == 0
    genuine = tmp_path / "files" / f"bank-sandbox-{yesterday}.mt940"
    signature = genuine.with_name(genuine.name + ".sig")
    # One byte changed: the amount of the line (the balances are changed to match, so only the MAC tells).
    forged = tmp_path / "forged.mt940"
    text = genuine.read_text()
    forged.write_text(text.replace(f"C{bill.amount},00", f"C{bill.amount - 1},00"))
    forged.with_name("forged.mt940.sig").write_text(signature.read_text())
    wrong_key = tmp_path / "wrong.mt940"
    wrong_key.write_bytes(genuine.read_bytes())
    wrong_key.with_name("wrong.mt940.sig").write_text("t=1700000000,v1=" + "0" * 64 + "\n")
    sizes = table_sizes()

    for refused in (forged, wrong_key):
        with pytest.raises(CommandError):
            reconcile("--file", str(refused))
        assert table_sizes() == sizes
    with pytest.raises(CommandError, match="cannot read"):
        reconcile("--file", str(tmp_path / "missing.mt940"))
    bill.refresh_from_db()
    assert bill.status == "issued"

    assert "reconciled (matched 0, credited 1," in reconcile("--file", str(genuine))
    statement = Statement.objects.get(bank=sandbox_bank.bank, day=yesterday)
    assert statement.source == "file"
    assert statement.sha256 == hashlib.sha256(genuine.read_bytes()).hexdigest()
    bill.refresh_from_db()
    assert bill.status == "paid"
    # The same day over the API afterwards is the same statement: nothing changes.
    assert "already reconciled" in reconcile("--day", yesterday.isoformat())


def _signed_in(application: PassportApplication) -> Client:
    client = Client(headers={"accept-language": "en"})
    client.force_login(application.filer)
    return client


def test_an_applicant_has_an_ntpn_checked_with_the_bank_at_once(sandbox_bank: SandboxBank) -> None:
    (application, bill), (_other_app, other_bill) = (submitted_application(nik) for nik in NIKS[:2])
    lost = sandbox_bank.pay(bill.billing_code, notify=False)
    someone_else = sandbox_bank.pay(other_bill.billing_code, notify=False)
    client = _signed_in(application)
    detail = f"/permohonan/{application.public_id}/"
    assert b"Check with the bank" in client.get(detail).content
    mark = last_audit_id()

    for typed, message in (
        ("ABC", b"16 letters and digits"),
        ("ZZZZZZZZZZZZZZZZ", b"No bank has a payment with this NTPN"),
        (someone_else["ntpn"], b"payment for another billing code"),
    ):
        page = client.post(detail + "cek-ntpn/", {"ntpn": typed}, follow=True)
        assert message in page.content, typed
    bill.refresh_from_db()
    assert bill.status == "issued"
    assert not Payment.objects.filter(ntpn=someone_else["ntpn"]).exists()

    # Typed in lower case with spaces, as people do.
    typed = " ".join([lost["ntpn"][:8].lower(), lost["ntpn"][8:]])
    page = client.post(detail + "cek-ntpn/", {"ntpn": typed}, follow=True)
    assert b"The bank confirmed your payment" in page.content
    bill.refresh_from_db()
    assert (bill.status, bill.ntpn) == ("paid", lost["ntpn"])
    payment = Payment.objects.get(ntpn=lost["ntpn"])
    assert (payment.source, payment.notification_id) == ("ntpn_check", lost["notification_id"])
    checks = AuditEvent.objects.filter(id__gt=mark, action="payments.ntpn_checked").order_by("id")
    assert [e.details["outcome"] for e in checks] == ["not_found", "other_bill", "credited"]
    assert b"Check with the bank" not in client.get(detail).content
    # The same check again: already received, nothing twice.
    assert b"already received" in client.post(detail + "cek-ntpn/", {"ntpn": lost["ntpn"]}, follow=True).content
    assert Payment.objects.filter(ntpn=lost["ntpn"]).count() == 1


def test_ntpn_checks_are_limited_and_answered_in_the_api(sandbox_bank: SandboxBank) -> None:
    application, bill = submitted_application(NIKS[0])
    lost = sandbox_bank.pay(bill.billing_code, notify=False)
    client = Client()
    token, _row = issue_api_token(application.filer)  # signing in for a token is tested in accounts
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
    path = f"/api/v1/applications/{application.public_id}/ntpn-check"

    bad = client.post(path, {"ntpn": "12"}, "application/json", headers=headers)
    assert bad.status_code == 422 and "16 letters and digits" in bad.content.decode()
    answer = client.post(path, {"ntpn": lost["ntpn"]}, "application/json", headers=headers)
    assert answer.status_code == 200
    assert answer.json()["outcome"] == "credited" and answer.json()["bill"]["status"] == "paid"
    for _ in range(4):
        assert client.post(path, {"ntpn": lost["ntpn"]}, "application/json", headers=headers).json()["outcome"] == (
            "duplicate"
        )
    limited = client.post(path, {"ntpn": lost["ntpn"]}, "application/json", headers=headers)
    assert limited.status_code == 422 and "Too many checks" in limited.content.decode()


def test_an_unreachable_or_unsigned_bank_is_a_503_and_nothing_is_stored(
    sandbox_bank: SandboxBank, settings: Any, tmp_path: Path
) -> None:
    application, _bill = submitted_application(NIKS[0])
    client = Client()
    path = f"/api/v1/applications/{application.public_id}/ntpn-check"
    # A different secret at Gerbang: the bank refuses the request, and its 401 is not signed with ours.
    settings.BANK_SECRETS_DIR = tmp_path / "other-secrets"
    settings.BANK_SECRETS_DIR.mkdir()
    (settings.BANK_SECRETS_DIR / "bank-sandbox.secrets").write_text("ab" * 32 + "\n")
    token, _row = issue_api_token(application.filer)
    answer = client.post(
        path, {"ntpn": "ABCDEFGHIJ123456"}, "application/json", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 503 and answer.headers["Retry-After"]
    assert Payment.objects.count() == 0
    assert Bill.objects.get(application=application).status == "issued"
    # The bank is gone altogether: the same answer.
    sandbox_bank.bank.api_url = "http://127.0.0.1:9"
    sandbox_bank.bank.save()
    settings.BANK_SECRETS_DIR = sandbox_bank.secrets_file.parent
    down = client.post(
        path, {"ntpn": "ABCDEFGHIJ123456"}, "application/json", headers={"Authorization": f"Bearer {token}"}
    )
    assert down.status_code == 503 and Payment.objects.count() == 0
