"""Reconciling a bank's end-of-day statement with the payments its notifications proved.

:func:`reconcile` takes a statement that is authentic (fetched over the bank's
signed API, or a file whose detached signature verifies), checks it (balances,
the account, the day, the sequence after the previous statement), and in one
transaction stores it, matches each entry and writes the audit event that holds
the statement's SHA-256. An entry with no notified payment is money the bank
proved but never announced: it goes through the same receiving path as a
notification (``source="statement"``), so it is credited or queued as an
exception exactly as a notification would be. A statement already reconciled
is recognised by its hash and changes nothing; a *different* statement for a
day already reconciled is refused and logged.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass, field
from typing import Any, NoReturn

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from gerbang.audit.actions import record

from . import actions, bank_client, signatures
from .models import Bank, Payment, Statement, StatementEntry
from .statements import WIB, Entry, ParsedStatement, StatementError, parse

log = logging.getLogger("gerbang.payments")
security_log = logging.getLogger("gerbang.security")
CHUNK = 5000
ABSENT_LISTED = 100


class ReconcileRefused(Exception):
    """The statement cannot be reconciled; nothing was stored (the message says why)."""


class _Refusal(Exception):
    """Raised inside the transaction to roll it back; refused (and audited) outside it."""


@dataclass
class Outcome:
    bank: str
    day: dt.date
    status: str  # "reconciled" | "already reconciled" | "not available"
    counts: dict[str, int] = field(default_factory=dict)
    absent: list[str] = field(default_factory=list)
    mismatches: list[dict[str, Any]] = field(default_factory=list)

    def line(self) -> str:
        counts = ", ".join(f"{k} {v}" for k, v in self.counts.items())
        return f"{self.bank} {self.day}: {self.status}" + (f" ({counts})" if counts else "")


def verify_file(bank: Bank, data: bytes, signature_line: str) -> None:
    """A statement file's detached signature (``t=...,v1=...`` over the file's bytes) must verify."""
    secrets = signatures.load_secrets(settings.BANK_SECRETS_DIR, bank.code)
    try:
        # A file is reconciled days after the bank signed it: the timestamp is recorded, not bounded.
        timestamp = int(signature_line.strip().split(",")[0].removeprefix("t="))
        signatures.verify(signature_line.strip(), data, secrets, now=timestamp)
    except (ValueError, signatures.BadSignature) as exc:
        security_log.warning("reconcile: refused a statement file for bank %s: bad signature (%s)", bank.code, exc)
        raise ReconcileRefused(f"the file's signature does not verify with {bank.code}'s secret") from exc


def reconcile(bank: Bank, data: bytes, format: str, *, source: str, expected_day: dt.date | None = None) -> Outcome:
    """Reconcile one authentic statement of ``bank`` (see the module's description)."""
    digest = hashlib.sha256(data).hexdigest()
    done = Statement.objects.filter(bank=bank, sha256=digest).first()
    if done is not None:  # this very statement was reconciled: nothing to read again
        return Outcome(bank.code, done.day, "already reconciled", dict(done.report.get("counts", {})))
    try:
        parsed = parse(data, format)
    except StatementError as exc:
        _refuse(bank, digest, str(exc))
    if expected_day is not None and parsed.day != expected_day:
        _refuse(bank, digest, f"the statement is for {parsed.day}, not {expected_day}")
    if bank.account and parsed.account != bank.account:
        _refuse(bank, digest, f"the statement is for account {parsed.account}, not {bank.account}")
    try:
        return _reconcile(bank, parsed, digest, source)
    except _Refusal as refusal:
        _refuse(bank, digest, str(refusal))


def _reconcile(bank: Bank, parsed: ParsedStatement, digest: str, source: str) -> Outcome:
    with transaction.atomic():
        Bank.objects.select_for_update().get(pk=bank.pk)  # one reconciliation of a bank at a time
        earlier = Statement.objects.filter(bank=bank, day=parsed.day).first()
        if earlier is not None:
            if earlier.sha256 == digest:
                return Outcome(bank.code, parsed.day, "already reconciled", dict(earlier.report.get("counts", {})))
            raise _Refusal(f"a different statement of {parsed.day} was reconciled before ({earlier.sha256})")
        previous = Statement.objects.filter(bank=bank, day__lt=parsed.day).order_by("-day").first()
        gap = _check_sequence(parsed, previous)
        results, mismatches = _match(bank, parsed)
        counts = {result: 0 for result in StatementEntry.Result.values}
        for result, _payment, _detail in results:
            counts[result] += 1
        matched_ids = {payment_id for _r, payment_id, _d in results if payment_id is not None}
        absent = _notified_but_absent(bank, parsed.day, matched_ids)
        counts["notified_absent"] = len(absent)
        report = {
            "counts": counts,
            "absent": absent[:ABSENT_LISTED],
            "mismatches": mismatches[:ABSENT_LISTED],
            "sequence_gap": gap,
        }
        statement = Statement.objects.create(
            bank=bank,
            day=parsed.day,
            sequence=parsed.sequence,
            reference=parsed.reference[:35],
            format=parsed.format,
            source=source,
            sha256=digest,
            opening=parsed.opening,
            closing=parsed.closing,
            entry_count=len(parsed.entries),
            total=parsed.total,
            report=report,
            reconciled_at=timezone.now(),
        )
        _insert_entries(statement, parsed.entries, results)
        record(
            "payments.statement_reconciled",
            actor=None,
            obj=statement,
            details={
                "bank": bank.code,
                "day": parsed.day.isoformat(),
                "sequence": parsed.sequence,
                "sha256": digest,
                "format": parsed.format,
                "source": source,
                "entries": len(parsed.entries),
                "total": parsed.total,
                **counts,
            },
        )
    return Outcome(bank.code, parsed.day, "reconciled", counts, absent, mismatches)


def _refuse(bank: Bank, digest: str, why: str) -> NoReturn:
    security_log.warning("reconcile: refused a statement of bank %s (sha256 %s): %s", bank.code, digest, why)
    with transaction.atomic():
        record("payments.statement_refused", actor=None, obj=bank, details={"sha256": digest, "why": why[:500]})
    raise ReconcileRefused(why)


def _check_sequence(parsed: ParsedStatement, previous: Statement | None) -> bool:
    """The statement follows the previous one: next number and its opening balance (True if days are missing)."""
    if previous is None:
        return False
    if previous.day == parsed.day - dt.timedelta(days=1):
        if parsed.sequence != previous.sequence + 1:
            raise _Refusal(f"statement number {parsed.sequence} does not follow {previous.sequence}")
        if parsed.opening != previous.closing:
            raise _Refusal(f"opening balance {parsed.opening} != previous closing {previous.closing}")
        return False
    if parsed.sequence <= previous.sequence or parsed.opening < previous.closing:
        raise _Refusal(f"statement number {parsed.sequence} or its opening balance goes backwards")
    return True


def _match(bank: Bank, parsed: ParsedStatement) -> tuple[list[tuple[str, int | None, str]], list[dict[str, Any]]]:
    """Each entry's (result, payment id, detail), in order; and the mismatches for the report."""
    results: list[tuple[str, int | None, str]] = []
    mismatches: list[dict[str, Any]] = []
    seen: set[int] = set()  # payments already on this statement
    entries = parsed.entries
    booked_before = StatementEntry.objects.filter(payment=OuterRef("pk")).exclude(result=StatementEntry.Result.MISMATCH)
    for start in range(0, len(entries), CHUNK):
        chunk = entries[start : start + CHUNK]
        known = {
            row["ntpn"]: row
            for row in Payment.objects.filter(ntpn__in=[e.ntpn for e in chunk if e.ntpn])
            .annotate(booked=Exists(booked_before))
            .values("id", "ntpn", "bank_id", "amount", "billing_code", "booked")
        }
        for entry in chunk:
            if not entry.ntpn:
                results.append((StatementEntry.Result.UNIDENTIFIED, None, "no NTPN on the line"))
                continue
            row = known.get(entry.ntpn)
            if row is None:
                result = _receive_from_statement(bank, entry)
                known[entry.ntpn] = {"id": result[1], "bank_id": bank.pk, "amount": entry.amount}
                known[entry.ntpn] |= {"billing_code": entry.billing_code, "booked": False}
            else:
                result = _compare(bank, entry, row)
            if result[1] in seen:
                result = (StatementEntry.Result.MISMATCH, result[1], "on this statement more than once")
            if result[0] == StatementEntry.Result.MISMATCH:
                mismatches.append({"line": entry.position, "ntpn": entry.ntpn, "detail": result[2]})
            else:
                seen.add(result[1])  # type: ignore[arg-type]
            results.append(result)
    return results, mismatches


def _compare(bank: Bank, entry: Entry, row: dict[str, Any]) -> tuple[str, int | None, str]:
    """A line whose NTPN was notified: matched, or a mismatch saying what differs."""
    problems = []
    if row["bank_id"] != bank.pk:
        problems.append("notified by another bank")
    if row["amount"] != entry.amount:
        problems.append(f"amount {entry.amount} != notified {row['amount']}")
    if row["billing_code"] != entry.billing_code:
        problems.append(f"billing code {entry.billing_code} != notified {row['billing_code']}")
    if row["booked"]:
        problems.append("already in an earlier statement")
    if problems:
        return StatementEntry.Result.MISMATCH, row["id"], "; ".join(problems)[:200]
    return StatementEntry.Result.MATCHED, row["id"], ""


def _insert_entries(statement: Statement, entries: list[Entry], results: list[tuple[str, int | None, str]]) -> None:
    """Store every line with its result: COPY on PostgreSQL (a million lines), bulk INSERT elsewhere."""
    rows = (
        (statement.pk, e.position, e.ntb, e.ntpn, e.billing_code[:40], e.amount, payment_id, result, detail)
        for e, (result, payment_id, detail) in zip(entries, results, strict=True)
    )
    if connection.vendor == "postgresql":
        columns = "statement_id, position, ntb, ntpn, billing_code, amount, payment_id, result, detail"
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(  # the psycopg cursor under Django's wrapper
                f"COPY payments_statemententry ({columns}) FROM STDIN"
            ) as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return
    StatementEntry.objects.bulk_create(
        (
            StatementEntry(
                statement=statement,
                position=position,
                ntb=ntb,
                ntpn=ntpn,
                billing_code=billing_code,
                amount=amount,
                payment_id=payment_id,
                result=result,
                detail=detail,
            )
            for _s, position, ntb, ntpn, billing_code, amount, payment_id, result, detail in rows
        ),
        batch_size=CHUNK,
    )


def _receive_from_statement(bank: Bank, entry: Entry) -> tuple[str, int | None, str]:
    """Paid per the statement but never notified: received exactly as a notification would be."""
    notification = actions.Notification(
        notification_id=f"statement:{entry.ntb}"[:64],
        bank_code=bank.code,
        billing_code=entry.billing_code,
        amount=entry.amount,
        paid_at=entry.paid_at,
        ntb=entry.ntb,
        ntpn=entry.ntpn,
        channel=entry.channel[:20] or "unknown",
        terminal_id=entry.terminal_id[:40] or "unknown",
        payer_ref=entry.payer_ref[:128] or "unknown",
    )
    outcome = actions.receive_notification(bank, notification, source=Payment.Source.STATEMENT)
    payment = Payment.objects.filter(ntpn=entry.ntpn).values_list("id", "outcome").first()
    if payment is None:  # pragma: no cover - receive_notification stores it or finds it
        raise RuntimeError(f"statement entry {entry.ntpn} was not stored")
    if outcome == "duplicate":  # a notification arrived meanwhile
        return StatementEntry.Result.MATCHED, payment[0], "notified while reconciling"
    if payment[1] == Payment.Outcome.CREDITED:
        return StatementEntry.Result.CREDITED, payment[0], ""
    return StatementEntry.Result.EXCEPTION, payment[0], ""


def _notified_but_absent(bank: Bank, day: dt.date, matched_now: set[int]) -> list[str]:
    """Notified payments of ``bank`` paid up to the end of ``day`` that no statement so far has booked."""
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0, 0), WIB)
    candidates = (
        Payment.objects.filter(bank=bank, paid_at__lt=end)
        .exclude(source=Payment.Source.STATEMENT)
        .exclude(statement_entries__isnull=False)
        .order_by("paid_at")
        .values_list("id", "notification_id")
    )
    return [notification_id for pk, notification_id in candidates.iterator() if pk not in matched_now]


def wib_yesterday() -> dt.date:
    return timezone.now().astimezone(WIB).date() - dt.timedelta(days=1)


def days_to_fetch(bank: Bank, until: dt.date, *, limit: int = 31) -> list[dt.date]:
    """From the day after the last reconciled statement (at most ``limit`` days back) up to ``until``."""
    last = Statement.objects.filter(bank=bank).order_by("-day").values_list("day", flat=True).first()
    first = max(until - dt.timedelta(days=limit - 1), last + dt.timedelta(days=1)) if last else until
    return [first + dt.timedelta(days=n) for n in range((until - first).days + 1)]


def fetch_and_reconcile(bank: Bank, day: dt.date, format: str = "mt940") -> Outcome:
    """Fetch ``day``'s statement over the bank's signed API and reconcile it."""
    answer = bank_client.fetch_statement(bank, day, format)
    if answer.status in (404, 409):
        return Outcome(bank.code, day, "not available")
    if answer.status != 200:
        raise bank_client.BankUnavailable(f"{bank.code}: statement of {day} answered {answer.status}")
    return reconcile(bank, answer.body, format, source=Statement.Source.API, expected_day=day)


def reconcile_all(day: dt.date | None = None, format: str = "mt940") -> list[Outcome | str]:
    """Every active bank with an API: the given day, or every day since the last reconciled one up to yesterday."""
    outcomes: list[Outcome | str] = []
    for bank in Bank.objects.filter(is_active=True).exclude(api_url="").order_by("code"):
        for when in [day] if day else days_to_fetch(bank, wib_yesterday()):
            try:
                outcomes.append(fetch_and_reconcile(bank, when, format))
            except (bank_client.BankUnavailable, ReconcileRefused) as exc:
                outcomes.append(f"{bank.code} {when}: not reconciled: {exc}")
                break  # a later day cannot follow a day that failed
    return outcomes
