"""Reconciliation bench: one bank statement of a million entries (docs/bank-protocol.md, Reconciliation).

    .venv/bin/python bench/reconcile.py [--entries 1000000] [--unnotified 10000] [--absent 1000]
                                        [--mismatched 100] [--camt-entries 5000]

A fresh database on the PostgreSQL server in ``DATABASE_URL`` (created and
dropped again), or a throwaway cluster (``scripts/pg-test-cluster.sh``). Not
measured: bulk-inserting the bills and the payments their notifications proved
(COPY, as fixtures: no application, no audit event per row), and writing the
statement. The statement is the sandbox bank's own MT940 (services/bank), with
its detached signature, for yesterday; of its lines

- ``--unnotified`` were never notified: reconciliation credits them (through
  the receiving path, one transaction each inside the statement's),
- ``--mismatched`` differ in amount from what was notified,
- the rest match a notified payment;

and ``--absent`` notified payments are missing from it. Measured:
``manage.py reconcile --file`` end to end in its own process (``entries_per_s``,
its peak memory), then the same again (nothing may change: ``rerun_changed``),
and, as this machine's ceiling for the same work, the mt-940 library reading
the file alone (``parse_only_entries_per_s``). A smaller camt.053 statement is
reconciled too (``camt053_entries_per_s``): XSD validation (xmlschema) is its
cost. Progress on stderr; the figures are one JSON object on the last line.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import hmac
import json
import os
import platform
import resource
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.pgserver import ROOT, STARTED, bench_database, log, postgres_server, with_database
from services.bank import statements as bank_statements
from services.bank.store import Payment as BankPayment

WIB = dt.timezone(dt.timedelta(hours=7))
ACCOUNT = "0001234567890"
AMOUNT = 350_000


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=1_000_000, help="lines on the statement")
    parser.add_argument("--unnotified", type=int, default=10_000, help="lines whose notification never came")
    parser.add_argument("--mismatched", type=int, default=100, help="lines whose amount differs from the notified")
    parser.add_argument("--absent", type=int, default=1_000, help="notified payments missing from the statement")
    parser.add_argument("--camt-entries", type=int, default=5_000, help="lines of the camt.053 statement (0: none)")
    args = parser.parse_args(argv)
    if args.entries < 1 or args.unnotified + args.mismatched > args.entries or min(vars(args).values()) < 0:
        parser.error("--unnotified + --mismatched must fit in --entries; counts are not negative")
    return args


def manage(env: dict[str, str], *args: str) -> tuple[str, float, int]:
    """Run manage.py in its own process: (stdout, seconds, peak RSS in MiB of that process)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.monotonic()
    profile = os.environ.get("BENCH_PROFILE", "")  # a file name: profile the first reconcile run (cProfile)
    if profile and args[0] == "reconcile":
        os.environ.pop("BENCH_PROFILE")
    python = (
        [sys.executable, "-m", "cProfile", "-o", profile] if profile and args[0] == "reconcile" else [sys.executable]
    )
    done = subprocess.run(  # noqa: S603 (fixed arguments)
        [*python, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return done.stdout, seconds, round(max(peak, before) / 1024)


def sign_file(path: Path, secret: bytes) -> None:
    body = path.read_bytes()
    t = int(time.time())
    mac = hmac.new(secret, f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    path.with_name(path.name + ".sig").write_text(f"t={t},v1={mac}\n")


def code(bank_no: int, i: int) -> str:
    return f"{bank_no}{i:014d}"


def insert_fixtures(url: str, bank: str, *, bank_no: int, day: dt.date, args: argparse.Namespace, entries: int) -> None:
    """Bills for every line and every absent payment; the payments notifications proved (COPY, not measured)."""
    issued = dt.datetime.combine(day, dt.time(0, 0), WIB) - dt.timedelta(days=1)
    expires = issued + dt.timedelta(days=30)
    paid = dt.datetime.combine(day, dt.time(10, 0), WIB)
    unnotified = set(range(min(args.unnotified, entries)))
    mismatched = set(range(len(unnotified), len(unnotified) + min(args.mismatched, entries - len(unnotified))))
    total = entries + args.absent
    with psycopg.connect(url) as conn:
        bank_id = conn.execute("SELECT id FROM payments_bank WHERE code = %s", (bank,)).fetchone()[0]  # type: ignore[index]
        first_bill = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM payments_bill").fetchone()[0]  # type: ignore[index]
        with conn.cursor().copy(
            "COPY payments_bill (id, billing_code, payer_name, amount, items, status, issued_at, expires_at,"
            " paid_at, ntpn) FROM STDIN"
        ) as copy:
            for i in range(total):
                notified = i not in unnotified
                copy.write_row(
                    (
                        first_bill + i,
                        code(bank_no, i),
                        f"Bench {i}",
                        AMOUNT,
                        json.dumps([{"service": "bench", "amount": AMOUNT}]),
                        "paid" if notified else "issued",
                        issued,
                        expires,
                        paid if notified else None,
                        ntpn(bank_no, i) if notified else "",
                    )
                )
        with conn.cursor().copy(
            "COPY payments_payment (bank_id, notification_id, source, billing_code, bill_id, amount, paid_at, ntb,"
            " ntpn, channel, terminal_id, payer_ref, outcome, received_at) FROM STDIN"
        ) as copy:
            for i in range(total):
                if i in unnotified:
                    continue
                amount = AMOUNT + 1 if i in mismatched else AMOUNT
                copy.write_row(
                    (
                        bank_id,
                        f"N-{bank_no}-{i}",
                        "notification",
                        code(bank_no, i),
                        first_bill + i,
                        amount,
                        paid,
                        ntb(bank_no, i),
                        ntpn(bank_no, i),
                        "atm",
                        "ATM-07",
                        f"payer{i % 5000:05d}",
                        "credited",
                        paid,
                    )
                )
        conn.execute(
            "SELECT setval(pg_get_serial_sequence('payments_bill', 'id'), (SELECT max(id) FROM payments_bill))"
        )
        conn.commit()
        conn.execute("ANALYZE payments_bill")
        conn.execute("ANALYZE payments_payment")


def ntpn(bank_no: int, i: int) -> str:
    return f"B{bank_no}{i:014d}"


def ntb(bank_no: int, i: int) -> str:
    return f"SBX{bank_no}{i:012d}"


def write_statement(folder: Path, bank: str, *, bank_no: int, day: dt.date, entries: int, format: str) -> Path:
    paid = dt.datetime.combine(day, dt.time(10, 0), WIB).isoformat()
    lines = [
        BankPayment(
            id=i,
            ntb=ntb(bank_no, i),
            ntpn=ntpn(bank_no, i),
            billing_code=code(bank_no, i),
            amount=AMOUNT,
            payer_name="",
            paid_at=paid,
            booked_at=paid,
            channel="atm",
            terminal_id="ATM-07",
            payer_ref=f"payer{i % 5000:05d}",
            test=False,
            notification_id="",
            state="acknowledged",
            attempts=1,
            last_error=None,
            answer=None,
        )
        for i in range(entries)
    ]
    statement = bank_statements.Statement(
        day=day, sequence=1, account=ACCOUNT, bank_code=bank, opening=0, entries=lines, created_at=dt.datetime.now(WIB)
    )
    if format == "mt940":
        path = folder / f"{bank}-{day}.mt940"
        path.write_text(bank_statements.mt940(statement), encoding="ascii", newline="")
    else:
        path = folder / f"{bank}-{day}.camt053.xml"
        path.write_bytes(bank_statements.camt053(statement))
    return path


def parse_only(path: Path) -> float:
    """Seconds the mt-940 library takes to read the file, in this process: the ceiling for the whole run."""
    import mt940

    text = path.read_text(encoding="ascii")
    started = time.monotonic()
    transactions = mt940.models.Transactions()
    transactions.parse(text)
    seconds = time.monotonic() - started
    assert len(transactions) > 0
    return seconds


def counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM payments_payment), (SELECT count(*) FROM payments_statemententry),"
            " (SELECT count(*) FROM payments_statement), (SELECT count(*) FROM payments_paymentexception),"
            " (SELECT count(*) FROM payments_bill WHERE status = 'paid'), (SELECT count(*) FROM audit_auditevent)"
        ).fetchone()
    assert row is not None
    names = ["payments", "entries", "statements", "exceptions", "bills_paid", "audit_events"]
    return dict(zip(names, row, strict=True))


def run(args: argparse.Namespace, server_url: str, database: str, work: Path) -> dict[str, Any]:
    url = with_database(server_url, database)
    secrets_dir = work / "banks"
    secrets_dir.mkdir(mode=0o700)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "GERBANG_ENV": "development",
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        "GERBANG_VAR_DIR": str(work / "var"),
        "GERBANG_BANK_SECRETS_DIR": str(secrets_dir),
        "DATABASE_URL": url,
    }
    log("migrating")
    manage(env, "migrate", "--noinput")
    day = dt.datetime.now(WIB).date() - dt.timedelta(days=1)
    figures: dict[str, Any] = {}
    for bank, bank_no, entries, format in (
        ("bench-mt940", 1, args.entries, "mt940"),
        ("bench-camt", 2, args.camt_entries, "camt053"),
    ):
        if entries == 0:
            continue
        secret = secrets.token_bytes(32)
        (secrets_dir / f"{bank}.secrets").write_text(secret.hex() + "\n")
        manage(
            env,
            "shell",
            "-c",
            f"from gerbang.payments.actions import ensure_bank; "
            f"ensure_bank({bank!r}, 'Bench bank', actor=None, account={ACCOUNT!r})",
        )
        # The camt.053 statement is smaller: the same shares of never-notified, mismatched and absent payments.
        share = entries / args.entries
        part_args = argparse.Namespace(
            unnotified=round(args.unnotified * share),
            mismatched=round(args.mismatched * share),
            absent=round(args.absent * share),
        )
        log(f"{bank}: inserting {entries + part_args.absent} bills and the notified payments (COPY, not measured)")
        insert_fixtures(url, bank, bank_no=bank_no, day=day, args=part_args, entries=entries)
        log(f"{bank}: writing the {format} statement of {entries} lines (not measured)")
        path = write_statement(work, bank, bank_no=bank_no, day=day, entries=entries, format=format)
        sign_file(path, secret)
        before = counts(url)
        log(f"{bank}: manage.py reconcile --file ({path.stat().st_size / 2**20:.0f} MiB)")
        out, seconds, peak = manage(env, "reconcile", "--bank", bank, "--file", str(path), "--json")
        outcome = json.loads(out.strip().splitlines()[-1])[0]
        after = counts(url)
        log(f"{bank}: {seconds:.1f} s, {entries / seconds:.0f} entries/s, peak {peak} MiB; {outcome}")
        unnotified = min(part_args.unnotified, entries)
        mismatched = min(part_args.mismatched, entries - unnotified)
        expected = {
            "matched": entries - unnotified - mismatched,
            "credited": unnotified,
            "mismatch": mismatched,
            "exception": 0,
            "notified_absent": part_args.absent,
        }
        wrong = {k: (outcome.get(k), v) for k, v in expected.items() if outcome.get(k) != v}
        rerun_out, rerun_seconds, _ = manage(env, "reconcile", "--bank", bank, "--file", str(path), "--json")
        rerun = json.loads(rerun_out.strip().splitlines()[-1])[0]
        again = counts(url)
        part = {
            "entries": entries,
            "seconds": round(seconds, 1),
            "entries_per_s": round(entries / seconds),
            "peak_rss_mib": peak,
            "file_mib": round(path.stat().st_size / 2**20, 1),
            "outcome": outcome,
            "wrong_counts": wrong,
            "bills_paid_added": after["bills_paid"] - before["bills_paid"],
            "rerun_status": rerun["status"],
            "rerun_seconds": round(rerun_seconds, 1),
            "rerun_changed": {k: again[k] - after[k] for k in again if again[k] != after[k]},
        }
        if format == "mt940":
            log("reading the same file with the mt-940 library alone (this machine's ceiling)")
            parse_seconds = parse_only(path)
            figures |= {
                "entries": entries,
                "entries_per_s": part["entries_per_s"],
                "parse_only_entries_per_s": round(entries / parse_seconds),
                "mt940": part,
            }
        else:
            figures |= {"camt053_entries_per_s": part["entries_per_s"], "camt053": part}
        path.unlink()
    return figures


def passed(figures: dict[str, Any]) -> bool:
    parts = [figures[k] for k in ("mt940", "camt053") if k in figures]
    return bool(parts) and all(
        not p["wrong_counts"]
        and p["rerun_status"] == "already reconciled"
        and not p["rerun_changed"]
        and p["bills_paid_added"] == p["outcome"]["credited"]
        for p in parts
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="gerbang-bench-reconcile-"))
    try:
        with postgres_server() as server, bench_database(server.url) as database:
            figures = run(args, server.url, database, work)
            figures["database"] = server.source
    finally:
        shutil.rmtree(work, ignore_errors=True)
    figures["passed"] = passed(figures)
    figures |= {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "total_s": round(time.monotonic() - STARTED, 1),
    }
    print(json.dumps(figures), flush=True)
    return 0 if figures["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
