"""End-of-day statements of Gerbang's collection account at the bank: SWIFT MT940 and ISO 20022 camt.053.

Every payment taken for a Gerbang bill is a credit to this account, booked on
the bank's date (WIB) of recording; the value date is the day the payer paid.
Balances only grow (the sandbox never sweeps the account): the opening balance
of a day is everything booked before it, the closing balance adds that day's
credits. Statement number ``n`` is the ``n``-th day since the bank's database
was created, so every day has one fixed statement, even an empty one.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from .store import WIB, Payment, Store

CAMT053 = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"
_NOT_SWIFT_X = re.compile(r"[^A-Za-z0-9/?:().,'+ -]")


@dataclass(frozen=True)
class Statement:
    day: date
    sequence: int
    account: str
    bank_code: str
    opening: int
    entries: list[Payment]
    created_at: datetime

    @property
    def total(self) -> int:
        return sum(p.amount for p in self.entries)

    @property
    def closing(self) -> int:
        return self.opening + self.total

    @property
    def reference(self) -> str:
        """The statement's own reference (MT940 ``:20:``, at most 16 characters)."""
        return f"SBX{self.day:%y%m%d}{self.sequence % 100000:05d}"


def build(store: Store, day: date, *, account: str, bank_code: str, now: datetime | None = None) -> Statement:
    """The statement of ``day`` (a day that is over: its entries no longer change)."""
    return Statement(
        day=day,
        sequence=(day - store.opened()).days + 1,
        account=account,
        bank_code=bank_code,
        opening=store.balance_before(day),
        entries=store.booked_on(day),
        created_at=(now or datetime.now(WIB)).astimezone(WIB).replace(microsecond=0),
    )


def _mt_amount(amount: int) -> str:
    return f"{amount},00"


def _swift(text: str) -> str:
    return _NOT_SWIFT_X.sub(" ", text)


def mt940(statement: Statement) -> str:
    """The MT940 text (block 4 fields, CRLF line ends, closed by ``-``)."""
    day = f"{statement.day:%y%m%d}"
    lines = [
        f":20:{statement.reference}",
        f":25:{_swift(statement.account)}",
        f":28C:{statement.sequence % 100000}/1",
        f":60F:C{day}IDR{_mt_amount(statement.opening)}",
    ]
    for payment in statement.entries:
        value = datetime.fromisoformat(payment.paid_at).astimezone(WIB)
        booked = datetime.fromisoformat(payment.booked_at).astimezone(WIB)
        lines.append(
            f":61:{value:%y%m%d}{booked:%m%d}C{_mt_amount(payment.amount)}NTRF{payment.billing_code}//{payment.ntb}"
        )
        lines.append(f":86:NTPN {payment.ntpn} BILLING {payment.billing_code}")
        lines.append(_swift(f"PAID {value.isoformat()} {payment.channel.upper()} {payment.terminal_id}")[:65])
        # The payer reference is base64url; "_" is not in the SWIFT character set, so it travels as standard
        # base64 ("-" -> "+", "_" -> "/") and the reader maps it back.
        lines.append(f"PAYER {payment.payer_ref.replace('-', '+').replace('_', '/')}")
    lines += [f":62F:C{day}IDR{_mt_amount(statement.closing)}", f":64:C{day}IDR{_mt_amount(statement.closing)}", "-"]
    return "\r\n".join(lines) + "\r\n"


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attributes)
    if text is not None:
        element.text = text
    return element


def _path(parent: ET.Element, tags: str, text: str | None = None) -> ET.Element:
    """``_path(e, "Id/Othr/Id", "x")``: nested elements, the last holding ``text``."""
    *outer, last = tags.split("/")
    for tag in outer:
        parent = _sub(parent, tag)
    return _sub(parent, last, text)


def _camt_amount(amount: int) -> str:
    return f"{amount}.00"


def _balance(parent: ET.Element, code: str, amount: int, day: date) -> None:
    balance = _sub(parent, "Bal")
    _path(balance, "Tp/CdOrPrtry/Cd", code)
    _sub(balance, "Amt", _camt_amount(amount), Ccy="IDR")
    _sub(balance, "CdtDbtInd", "CRDT")
    _path(balance, "Dt/Dt", day.isoformat())


def camt053(statement: Statement) -> bytes:
    """The camt.053.001.02 document (UTF-8 XML)."""
    document = ET.Element("Document", xmlns=CAMT053)
    root = _sub(document, "BkToCstmrStmt")
    header = _sub(root, "GrpHdr")
    _sub(header, "MsgId", statement.reference)
    _sub(header, "CreDtTm", statement.created_at.isoformat())
    stmt = _sub(root, "Stmt")
    _sub(stmt, "Id", statement.reference)
    _sub(stmt, "ElctrncSeqNb", str(statement.sequence))
    _sub(stmt, "CreDtTm", statement.created_at.isoformat())
    period = _sub(stmt, "FrToDt")
    _sub(period, "FrDtTm", datetime.combine(statement.day, time(0, 0, 0), WIB).isoformat())
    _sub(period, "ToDtTm", datetime.combine(statement.day, time(23, 59, 59), WIB).isoformat())
    account = _sub(stmt, "Acct")
    _path(account, "Id/Othr/Id", statement.account)
    _sub(account, "Ccy", "IDR")
    _sub(account, "Nm", "Gerbang collection account")
    _path(account, "Svcr/FinInstnId/Othr/Id", statement.bank_code)
    _balance(stmt, "OPBD", statement.opening, statement.day)
    _balance(stmt, "CLBD", statement.closing, statement.day)
    summary = _sub(stmt, "TxsSummry")
    totals = _sub(summary, "TtlNtries")
    _sub(totals, "NbOfNtries", str(len(statement.entries)))
    _sub(totals, "Sum", _camt_amount(statement.total))
    _sub(totals, "TtlNetNtryAmt", _camt_amount(statement.total))
    _sub(totals, "CdtDbtInd", "CRDT")
    credits = _sub(summary, "TtlCdtNtries")
    _sub(credits, "NbOfNtries", str(len(statement.entries)))
    _sub(credits, "Sum", _camt_amount(statement.total))
    for number, payment in enumerate(statement.entries, start=1):
        _entry(stmt, number, payment)
    ET.indent(document)
    return ET.tostring(document, encoding="utf-8", xml_declaration=True) + b"\n"


def _entry(stmt: ET.Element, number: int, payment: Payment) -> None:
    paid = datetime.fromisoformat(payment.paid_at).astimezone(WIB)
    entry = _sub(stmt, "Ntry")
    _sub(entry, "NtryRef", str(number))
    _sub(entry, "Amt", _camt_amount(payment.amount), Ccy="IDR")
    _sub(entry, "CdtDbtInd", "CRDT")
    _sub(entry, "Sts", "BOOK")
    _path(entry, "BookgDt/DtTm", datetime.fromisoformat(payment.booked_at).astimezone(WIB).isoformat())
    _path(entry, "ValDt/Dt", paid.date().isoformat())
    _sub(entry, "AcctSvcrRef", payment.ntb)
    _path(entry, "BkTxCd/Prtry/Cd", "NTRF")
    details = _path(entry, "NtryDtls/TxDtls")
    refs = _sub(details, "Refs")
    _sub(refs, "AcctSvcrRef", payment.ntb)
    _sub(refs, "EndToEndId", payment.billing_code)
    proprietary = _sub(refs, "Prtry")
    _sub(proprietary, "Tp", "NTPN")
    _sub(proprietary, "Ref", payment.ntpn)
    _path(details, "RmtInf/Strd/CdtrRefInf/Ref", payment.billing_code)
    _path(details, "RltdDts/AccptncDtTm", paid.isoformat())
    _sub(details, "AddtlTxInf", f"CHANNEL {payment.channel} TERMINAL {payment.terminal_id} PAYER {payment.payer_ref}")


def parse_camt053(data: bytes) -> dict[str, Any]:
    """The essentials of a camt.053 document (used by the tests, and handy to read one)."""
    ns = {"c": CAMT053}
    root = ET.fromstring(data)  # noqa: S314 (our own output)
    stmt = root.find("c:BkToCstmrStmt/c:Stmt", ns)
    if stmt is None:
        raise ValueError("no statement")
    balances = {
        b.findtext("c:Tp/c:CdOrPrtry/c:Cd", namespaces=ns): b.findtext("c:Amt", namespaces=ns)
        for b in stmt.findall("c:Bal", ns)
    }
    entries = [
        {
            "amount": e.findtext("c:Amt", namespaces=ns),
            "ntb": e.findtext("c:AcctSvcrRef", namespaces=ns),
            "billing_code": e.findtext("c:NtryDtls/c:TxDtls/c:Refs/c:EndToEndId", namespaces=ns),
            "ntpn": e.findtext("c:NtryDtls/c:TxDtls/c:Refs/c:Prtry/c:Ref", namespaces=ns),
        }
        for e in stmt.findall("c:Ntry", ns)
    ]
    return {
        "sequence": stmt.findtext("c:ElctrncSeqNb", namespaces=ns),
        "account": stmt.findtext("c:Acct/c:Id/c:Othr/c:Id", namespaces=ns),
        "balances": balances,
        "entries": entries,
    }
