"""Reading statements (MT940, camt.053) and the checks a statement must pass before anything is matched."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import pytest
from django.db import DatabaseError, transaction

from gerbang.audit.models import AuditEvent
from gerbang.conftest import last_audit_id
from gerbang.payments import reconciliation
from gerbang.payments.models import Bank, Statement
from gerbang.payments.statements import SCHEMA, StatementError, format_of, parse
from services.bank import statements as bank_statements
from services.bank.store import Payment as BankPayment

pytestmark = pytest.mark.django_db

WIB = dt.timezone(dt.timedelta(hours=7))
DAY = dt.date(2026, 11, 20)
ACCOUNT = "0001234567890"


def bank_payment(n: int, amount: int = 350_000, payer_ref: str = "Ab-_cdEFgh12") -> BankPayment:
    return BankPayment(
        id=n,
        ntb=f"SBX{n:013d}",
        ntpn=f"NTPN{n:012d}",
        billing_code=f"{100000000000000 + n}",
        amount=amount,
        payer_name="",
        paid_at=dt.datetime.combine(DAY, dt.time(9, n % 60), WIB).isoformat(),
        booked_at=dt.datetime.combine(DAY, dt.time(9, n % 60, 5), WIB).isoformat(),
        channel="atm",
        terminal_id="ATM-07",
        payer_ref=payer_ref,
        test=False,
        notification_id=f"SBX-{n}",
        state="acknowledged",
        attempts=1,
        last_error=None,
        answer=None,
    )


def statement(day: dt.date = DAY, sequence: int = 7, opening: int = 1_000_000, count: int = 3) -> Any:
    return bank_statements.Statement(
        day=day,
        sequence=sequence,
        account=ACCOUNT,
        bank_code="bank-sandbox",
        opening=opening,
        entries=[bank_payment(n) for n in range(1, count + 1)],
        created_at=dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0, 5), WIB),
    )


def test_vendored_schema_is_unchanged() -> None:
    digest = hashlib.sha256(Path(SCHEMA).read_bytes()).hexdigest()
    assert digest == "05ec472590dda5e433fd646e9cf3849fa1ba01c033052aaca3089cec6862692d"


@pytest.mark.parametrize("format", ["mt940", "camt053"])
def test_both_formats_read_the_same_statement(format: str) -> None:
    source = statement()
    data = bank_statements.mt940(source).encode() if format == "mt940" else bank_statements.camt053(source)
    parsed = parse(data, format)
    assert (parsed.format, parsed.account, parsed.sequence, parsed.day) == (format, ACCOUNT, 7, DAY)
    assert (parsed.opening, parsed.closing, parsed.total) == (1_000_000, 2_050_000, 1_050_000)
    first = parsed.entries[0]
    assert (first.position, first.amount, first.ntb, first.ntpn) == (1, 350_000, "SBX0000000000001", "NTPN000000000001")
    assert first.billing_code == "100000000000001"
    assert first.paid_at == dt.datetime.combine(DAY, dt.time(9, 1), WIB)
    assert (first.channel, first.terminal_id) == ("atm", "ATM-07")
    assert first.payer_ref == "Ab-_cdEFgh12"  # base64url survives MT940's character set


def test_balances_that_do_not_add_up_are_refused() -> None:
    text = bank_statements.mt940(statement()).replace(":62F:C261120IDR2050000,00", ":62F:C261120IDR2050001,00")
    with pytest.raises(StatementError, match="opening balance 1000000 \\+ entries 1050000 != closing"):
        parse(text.encode(), "mt940")


def test_a_debit_or_another_currency_does_not_belong_on_a_collection_account() -> None:
    text = bank_statements.mt940(statement())
    with pytest.raises(StatementError, match="only credits in IDR"):
        parse(text.replace("C350000,00NTRF100000000000002", "D350000,00NTRF100000000000002", 1).encode(), "mt940")
    camt = bank_statements.camt053(statement()).replace(b'Ccy="IDR">350000.00', b'Ccy="USD">350000.00', 1)
    with pytest.raises(StatementError, match="only credits in IDR"):
        parse(camt, "camt053")


@pytest.mark.parametrize(
    "data",
    [b"", b"\xff\xfe not text", b":20:X\r\n:25:Y\r\n-", "::28C:ß".encode()],
    ids=["empty", "binary", "no balances", "not ascii"],
)
def test_what_is_not_an_mt940_statement_is_refused(data: bytes) -> None:
    with pytest.raises(StatementError):
        parse(data, "mt940")


def test_camt053_must_follow_the_iso_schema() -> None:
    good = bank_statements.camt053(statement())
    without_number = good.replace(b"<ElctrncSeqNb>7</ElctrncSeqNb>", b"<ElctrncSeqNb>seven</ElctrncSeqNb>")
    with pytest.raises(StatementError, match="ISO 20022 schema"):
        parse(without_number, "camt053")
    summary = good.replace(b"<NbOfNtries>3</NbOfNtries>", b"<NbOfNtries>4</NbOfNtries>")
    with pytest.raises(StatementError, match="summary counts 4 entries"):
        parse(summary, "camt053")


def test_xml_entities_are_never_expanded() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">&b;</Document>'
    )
    with pytest.raises(StatementError, match="not safe"):
        parse(bomb, "camt053")


def test_the_format_follows_the_file_name() -> None:
    assert format_of("bank-2026-11-20.mt940") == "mt940" and format_of("x.camt053.xml") == "camt053"
    with pytest.raises(StatementError):
        format_of("statement.pdf")


@pytest.fixture
def bank() -> Bank:
    return Bank.objects.create(code="bank-sandbox", name="Bank Sandbox", account=ACCOUNT)


def _reconcile(bank: Bank, source: Any, *, expected_day: dt.date | None = None) -> reconciliation.Outcome:
    return reconciliation.reconcile(
        bank, bank_statements.mt940(source).encode(), "mt940", source="file", expected_day=expected_day
    )


def _refused(bank: Bank, source: Any, match: str, **kwargs: Any) -> None:
    mark, count = last_audit_id(), Statement.objects.count()
    with pytest.raises(reconciliation.ReconcileRefused, match=match):
        _reconcile(bank, source, **kwargs)
    assert Statement.objects.count() == count
    assert AuditEvent.objects.filter(id__gt=mark).values_list("action", flat=True).get() == "payments.statement_refused"


def test_each_statement_must_follow_the_one_before(bank: Bank) -> None:
    first = statement(count=0)
    assert _reconcile(bank, first).status == "reconciled"
    next_day = DAY + dt.timedelta(days=1)
    _refused(bank, statement(next_day, sequence=9, opening=1_000_000, count=0), "does not follow 7")
    _refused(bank, statement(next_day, sequence=8, opening=999_999, count=0), "opening balance 999999")
    # Days may be missing (reconciled later); the numbers and balances must still move forward.
    later = DAY + dt.timedelta(days=3)
    _refused(bank, statement(later, sequence=7, opening=1_000_000, count=0), "goes backwards")
    outcome = _reconcile(bank, statement(later, sequence=10, opening=1_000_000, count=0))
    assert outcome.status == "reconciled"
    assert Statement.objects.get(day=later).report["sequence_gap"] is True


def test_the_account_and_the_day_must_be_the_ones_asked_for(bank: Bank) -> None:
    bank.account = "999"
    bank.save()
    _refused(bank, statement(count=0), "for account 0001234567890, not 999")
    bank.account = ACCOUNT
    bank.save()
    _refused(bank, statement(count=0), "is for 2026-11-20, not 2026-11-21", expected_day=DAY + dt.timedelta(days=1))


def test_a_reconciled_statement_cannot_be_changed(bank: Bank) -> None:
    _reconcile(bank, statement(count=0))
    with pytest.raises(DatabaseError), transaction.atomic():
        Statement.objects.filter(bank=bank).update(closing=0, opening=0)
    assert Statement.objects.get(bank=bank).closing == 1_000_000


def test_the_same_payment_twice_on_a_statement_is_a_mismatch_not_a_second_credit(bank: Bank) -> None:
    twice = statement(count=0)
    twice.entries.extend([bank_payment(1), bank_payment(2), bank_payment(1)])
    outcome = _reconcile(bank, twice)
    assert outcome.counts["exception"] == 2 and outcome.counts["mismatch"] == 1
    assert outcome.mismatches == [{"line": 3, "ntpn": "NTPN000000000001", "detail": "on this statement more than once"}]
    stored = Statement.objects.get(bank=bank)
    assert list(stored.entries.order_by("position").values_list("result", flat=True)) == [
        "exception",
        "exception",
        "mismatch",
    ]
