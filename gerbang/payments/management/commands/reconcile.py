"""``manage.py reconcile``: reconcile the banks' end-of-day statements (docs/bank-protocol.md).

Without arguments every active bank with an API address is asked for each day
since its last reconciled statement, up to yesterday (WIB). ``--file`` takes a
statement file instead; its detached signature (``<file>.sig`` unless
``--signature`` says otherwise) must verify with the bank's secret, or the file
is refused. Running it again changes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from gerbang.payments import bank_client
from gerbang.payments.models import Bank, Statement
from gerbang.payments.reconciliation import (
    ReconcileRefused,
    days_to_fetch,
    fetch_and_reconcile,
    reconcile,
    reconcile_all,
    verify_file,
    wib_yesterday,
)
from gerbang.payments.statements import StatementError, format_of


class Command(BaseCommand):
    help = "Fetch and reconcile the banks' end-of-day statements, or reconcile a signed statement file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bank", help="only this bank (its code); required with --file")
        parser.add_argument("--day", type=dt.date.fromisoformat, help="YYYY-MM-DD (default: every day still due)")
        parser.add_argument("--format", choices=["mt940", "camt053"], help="statement format (default mt940)")
        parser.add_argument("--file", type=Path, help="a statement file with a detached signature")
        parser.add_argument("--signature", type=Path, help="the detached signature (default: <file>.sig)")
        parser.add_argument("--json", action="store_true", help="print the outcomes as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        outcomes: list[Any]
        bank = None
        if options["bank"]:
            bank = Bank.objects.filter(code=options["bank"], is_active=True).first()
            if bank is None:
                raise CommandError(f"no active bank with code {options['bank']!r}")
        if options["file"]:
            if bank is None:
                raise CommandError("--file needs --bank")
            outcomes = [self._file(bank, options)]
        elif bank is not None:
            fmt = options["format"] or "mt940"
            days = [options["day"]] if options["day"] else None
            outcomes = []
            for day in days or days_to_fetch(bank, wib_yesterday()):
                try:
                    outcomes.append(fetch_and_reconcile(bank, day, fmt))
                except (bank_client.BankUnavailable, ReconcileRefused) as exc:
                    outcomes.append(f"{bank.code} {day}: not reconciled: {exc}")
                    break
        else:
            outcomes = reconcile_all(options["day"], options["format"] or "mt940")
        failed = [o for o in outcomes if isinstance(o, str)]
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    [
                        o if isinstance(o, str) else {"bank": o.bank, "day": str(o.day), "status": o.status, **o.counts}
                        for o in outcomes
                    ]
                )
            )
        else:
            for outcome in outcomes:
                self.stdout.write(outcome if isinstance(outcome, str) else outcome.line())
                if not isinstance(outcome, str):
                    for absent in outcome.absent[:20]:
                        self.stdout.write(f"  notified but absent from the statement: {absent}")
                    for mismatch in outcome.mismatches[:20]:
                        self.stdout.write(
                            f"  mismatch on line {mismatch['line']} ({mismatch['ntpn']}): {mismatch['detail']}"
                        )
            if not outcomes:
                self.stdout.write(
                    "reconcile: nothing due (every day up to yesterday is reconciled, or no bank has an API)"
                )
        if failed:
            raise CommandError(f"{len(failed)} statement(s) not reconciled")

    def _file(self, bank: Bank, options: dict[str, Any]) -> Any:
        path: Path = options["file"]
        signature_path: Path = options["signature"] or path.with_name(path.name + ".sig")
        try:
            data = path.read_bytes()
            signature = signature_path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read the statement or its signature: {exc}") from exc
        try:
            fmt = options["format"] or format_of(path.name)
            verify_file(bank, data, signature)
            return reconcile(bank, data, fmt, source=Statement.Source.FILE, expected_day=options["day"])
        except (StatementError, ReconcileRefused) as exc:
            return f"{bank.code} {path.name}: not reconciled: {exc}"
