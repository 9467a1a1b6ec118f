"""Reading a bank's end-of-day statement: MT940 with the mt-940 library, camt.053 with defusedxml and xmlschema.

Both give a :class:`ParsedStatement`; anything that is not a well-formed
statement of credits in rupiah whose balances add up raises
:class:`StatementError` with a message for the finance officer. What each
line's narrative carries (NTPN, the payer reference...) is described in
docs/bank-protocol.md.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import mt940
import xmlschema
from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

WIB = dt.timezone(dt.timedelta(hours=7), "WIB")
CAMT053 = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"
SCHEMA = Path(__file__).resolve().parent / "schemas" / "camt.053.001.02.xsd"
_NS = {"c": CAMT053}
NTPN = re.compile(r"[A-Z0-9]{16}")


class StatementError(ValueError):
    """Not a statement Gerbang can reconcile (malformed, not rupiah, a debit, balances that do not add up)."""


@dataclass(frozen=True)
class Entry:
    position: int
    amount: int
    ntb: str
    ntpn: str
    billing_code: str
    paid_at: dt.datetime
    channel: str
    terminal_id: str
    payer_ref: str


@dataclass(frozen=True)
class ParsedStatement:
    format: str
    reference: str
    account: str
    sequence: int
    day: dt.date
    opening: int
    closing: int
    entries: list[Entry]

    @property
    def total(self) -> int:
        return sum(entry.amount for entry in self.entries)

    def check_balances(self) -> None:
        if self.opening + self.total != self.closing:
            raise StatementError(
                f"opening balance {self.opening} + entries {self.total} != closing balance {self.closing}"
            )


def _rupiah(value: Any, what: str) -> int:
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise StatementError(f"{what}: not an amount: {value!r}") from exc
    if amount != amount.to_integral_value() or amount < 0:
        raise StatementError(f"{what}: not a whole, non-negative rupiah amount: {value}")
    return int(amount)


def _narrative(text: str) -> dict[str, str]:
    """The sandbox's narrative words: ``NTPN x BILLING y PAID iso CHANNEL TERMINAL PAYER ref`` (MT940 :86:)."""
    words = text.replace("\n", " ").split()
    found: dict[str, str] = {}
    for key in ("NTPN", "BILLING", "PAID", "PAYER", "CHANNEL", "TERMINAL"):
        if key in words:
            index = words.index(key)
            if index + 1 < len(words):
                found[key] = words[index + 1]
    if "PAID" in words:  # "PAID <time> <CHANNEL> <terminal>" in MT940
        index = words.index("PAID")
        if index + 3 < len(words) and "CHANNEL" not in found:
            found["CHANNEL"], found["TERMINAL"] = words[index + 2].lower(), words[index + 3]
    return found


def _paid_at(text: str | None, fallback: dt.date) -> dt.datetime:
    if text:
        try:
            moment = dt.datetime.fromisoformat(text)
            if moment.tzinfo is not None:
                return moment
        except ValueError:
            pass
    return dt.datetime.combine(fallback, dt.time(0, 0), WIB)


def parse_mt940(data: bytes) -> ParsedStatement:
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError as exc:
        raise StatementError("MT940: not ASCII text") from exc
    transactions = mt940.models.Transactions()
    try:
        transactions.parse(text)
    except Exception as exc:  # the library raises assorted errors on malformed input
        raise StatementError(f"MT940: cannot be read: {exc}") from exc
    head = transactions.data
    opening, closing = head.get("final_opening_balance"), head.get("final_closing_balance")
    if opening is None or closing is None or not head.get("statement_number"):
        raise StatementError("MT940: no :60F:/:62F: balance or no :28C: statement number")
    for balance, name in ((opening, "opening"), (closing, "closing")):
        if balance.status != "C" or balance.amount.currency != "IDR":
            raise StatementError(f"MT940: the {name} balance is not a credit in IDR")
    entries = []
    for position, transaction in enumerate(transactions, start=1):
        values = transaction.data
        if values.get("status") != "C" or values.get("currency") != "IDR":
            raise StatementError(f"MT940 line {position}: only credits in IDR belong on a collection account")
        words = _narrative(str(values.get("transaction_details") or ""))
        entries.append(
            Entry(
                position=position,
                amount=_rupiah(values["amount"].amount, f"MT940 line {position}"),
                ntb=str(values.get("bank_reference") or "")[:32],
                ntpn=words.get("NTPN", ""),
                billing_code=str(values.get("customer_reference") or words.get("BILLING", "")),
                paid_at=_paid_at(words.get("PAID"), values["date"]),
                channel=words.get("CHANNEL", ""),
                terminal_id=words.get("TERMINAL", ""),
                # Standard base64 in the SWIFT character set, back to the protocol's base64url.
                payer_ref=words.get("PAYER", "").replace("+", "-").replace("/", "_"),
            )
        )
    return ParsedStatement(
        format="mt940",
        reference=str(head.get("transaction_reference") or ""),
        account=str(head.get("account_identification") or ""),
        sequence=int(str(head["statement_number"])),
        day=closing.date,
        opening=_rupiah(opening.amount.amount, "MT940 opening balance"),
        closing=_rupiah(closing.amount.amount, "MT940 closing balance"),
        entries=entries,
    )


@functools.cache
def camt053_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(SCHEMA))


def _text(element: Any, path: str) -> str:
    return (element.findtext(path, namespaces=_NS) or "").strip()


def parse_camt053(data: bytes) -> ParsedStatement:
    try:
        root = SafeET.parse(io.BytesIO(data), forbid_dtd=True).getroot()
    except (SafeET.ParseError, DefusedXmlException) as exc:
        raise StatementError(f"camt.053: not safe, well-formed XML: {exc}") from exc
    error = next(camt053_schema().iter_errors(root), None)
    if error is not None:
        raise StatementError(f"camt.053: does not follow the ISO 20022 schema: {error.reason} at {error.path}")
    statements = root.findall("c:BkToCstmrStmt/c:Stmt", _NS)
    if len(statements) != 1:
        raise StatementError("camt.053: exactly one statement (Stmt) per document is expected")
    stmt = statements[0]
    balances: dict[str, int] = {}
    for balance in stmt.findall("c:Bal", _NS):
        code = _text(balance, "c:Tp/c:CdOrPrtry/c:Cd")
        if _text(balance, "c:CdtDbtInd") != "CRDT" or balance.find("c:Amt", _NS).get("Ccy") != "IDR":
            raise StatementError(f"camt.053: balance {code} is not a credit in IDR")
        balances[code] = _rupiah(_text(balance, "c:Amt"), f"camt.053 balance {code}")
    if "OPBD" not in balances or "CLBD" not in balances:
        raise StatementError("camt.053: the opening (OPBD) and closing (CLBD) balances are required")
    day_text = _text(stmt, "c:FrToDt/c:FrDtTm")[:10] or _text(stmt, "c:Bal/c:Dt/c:Dt")
    entries = []
    for position, entry in enumerate(stmt.findall("c:Ntry", _NS), start=1):
        amount = entry.find("c:Amt", _NS)
        if _text(entry, "c:CdtDbtInd") != "CRDT" or amount is None or amount.get("Ccy") != "IDR":
            raise StatementError(f"camt.053 entry {position}: only credits in IDR belong on a collection account")
        details = entry.find("c:NtryDtls/c:TxDtls", _NS)
        ntpn = ""
        words: dict[str, str] = {}
        billing_code = paid = ""
        if details is not None:
            for proprietary in details.findall("c:Refs/c:Prtry", _NS):
                if _text(proprietary, "c:Tp") == "NTPN":
                    ntpn = _text(proprietary, "c:Ref")
            billing_code = _text(details, "c:Refs/c:EndToEndId") or _text(details, "c:RmtInf/c:Strd/c:CdtrRefInf/c:Ref")
            paid = _text(details, "c:RltdDts/c:AccptncDtTm")
            words = _narrative(_text(details, "c:AddtlTxInf"))
        value_day = _text(entry, "c:ValDt/c:Dt") or day_text
        entries.append(
            Entry(
                position=position,
                amount=_rupiah(amount.text, f"camt.053 entry {position}"),
                ntb=_text(entry, "c:AcctSvcrRef")[:32],
                ntpn=ntpn,
                billing_code=billing_code,
                paid_at=_paid_at(paid, dt.date.fromisoformat(value_day)),
                channel=words.get("CHANNEL", ""),
                terminal_id=words.get("TERMINAL", ""),
                payer_ref=words.get("PAYER", ""),
            )
        )
    count = _text(stmt, "c:TxsSummry/c:TtlNtries/c:NbOfNtries")
    if count and int(count) != len(entries):
        raise StatementError(f"camt.053: the summary counts {count} entries, the statement has {len(entries)}")
    try:
        day = dt.date.fromisoformat(day_text)
        sequence = int(_text(stmt, "c:ElctrncSeqNb"))
    except ValueError as exc:
        raise StatementError("camt.053: the statement needs its period (FrToDt) and number (ElctrncSeqNb)") from exc
    return ParsedStatement(
        format="camt053",
        reference=_text(stmt, "c:Id"),
        account=_text(stmt, "c:Acct/c:Id/c:Othr/c:Id") or _text(stmt, "c:Acct/c:Id/c:IBAN"),
        sequence=sequence,
        day=day,
        opening=balances["OPBD"],
        closing=balances["CLBD"],
        entries=entries,
    )


def parse(data: bytes, format: str) -> ParsedStatement:
    """Read and check a statement: well-formed, credits in rupiah, opening + entries = closing."""
    if format == "mt940":
        statement = parse_mt940(data)
    elif format == "camt053":
        statement = parse_camt053(data)
    else:
        raise StatementError(f"unknown statement format {format!r}")
    statement.check_balances()
    return statement


def format_of(filename: str) -> str:
    """The format a statement file's name says: ``*.mt940``/``*.sta`` or ``*.xml``."""
    lowered = filename.lower()
    if lowered.endswith((".mt940", ".sta", ".940")):
        return "mt940"
    if lowered.endswith(".xml"):
        return "camt053"
    raise StatementError("cannot tell the format from the file name: use --format")
