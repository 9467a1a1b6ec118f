"""Bank notification ingest bench: duplicates, forgeries and a killed web process (docs/bank-protocol.md).

    .venv/bin/python bench/payments_ingest.py [--notifications 10000] [--senders 20] [--forged 1000]
                                              [--kill-bills 2000] [--web-workers 2]

Gerbang runs as in the Procfile (gunicorn, sync workers) against a fresh
database of its own on the PostgreSQL server in ``DATABASE_URL`` (created and
dropped again: the role needs CREATEDB), or on a throwaway cluster started
with ``scripts/pg-test-cluster.sh``. This script plays the bank: it signs
every request itself, from the protocol document, and talks HTTP only.
Progress goes to stderr; the figures are one JSON object on the last line of
stdout (bench/README.md). The exit status is 1 when an invariant fails.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import hmac
import http.client
import json
import os
import platform
import random
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Generic, TypeVar

import psycopg
from psycopg import sql

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.pgserver import (
    ROOT,
    STARTED,
    Server,
    bench_database,
    free_port,
    log,
    migrated_gerbang,
    postgres_server,
)

BANK_CODE = "bench-bank"
NOTIFY_PATH = "/api/bank/v1/notifications"
HEALTH_PATH = "/api/v1/health"
SIGNATURE_HEADER = "Gerbang-Signature"
TOLERANCE = 300  # seconds; docs/bank-protocol.md
WIB = timezone(timedelta(hours=7))
AMOUNTS = (350_000, 650_000, 1_000_000, 1_350_000, 55_000)
ACKS = ("credited", "duplicate", "exception")  # a 200 with one of these ends the bank's retries
FORGERIES = ("unsigned", "altered", "stale", "wrong_secret")
# Bills of each part carry their group in the payer's name ("Bench M 00042"), notifications in their id.
MAIN, FORGED, KILL = "M", "F", "K"
MAX_ATTEMPTS = 5  # in the throughput part: a delivery that fails (no answer, 5xx) is retried this often

T = TypeVar("T")


# Bench fixtures, not the application's flow: a bill is normally issued by an
# application's submission (with its audit event); here they are bulk-inserted
# through the ORM, with no application and no audit event. The bank is
# registered through the real action (one audit event).
FIXTURES = r"""
import datetime as dt, json, random, sys
import django
django.setup()
from django.utils import timezone
from gerbang.payments import billing_codes
from gerbang.payments.actions import ensure_bank
from gerbang.payments.models import Bill

spec = json.loads(sys.argv[1])
ensure_bank(spec["bank"], "Bench bank", actor=None)
rng = random.Random(spec["seed"])
now = timezone.now()
codes = set()
bills = []
for group, count in spec["groups"].items():
    for i in range(count):
        code = billing_codes.new_billing_code()
        while code in codes:
            code = billing_codes.new_billing_code()
        codes.add(code)
        amount = rng.choice(spec["amounts"])
        bills.append(Bill(
            billing_code=code, application=None, payer_name=f"Bench {group} {i:05d}", amount=amount,
            items=[{"service": "passport", "amount": amount}], status="issued",
            issued_at=now - dt.timedelta(hours=1), expires_at=now + dt.timedelta(days=7),
        ))
Bill.objects.bulk_create(bills, batch_size=2000)
print(len(bills))
"""


@dataclass(frozen=True)
class BillRow:
    code: str
    amount: int


def load_bills(owner_url: str) -> dict[str, list[BillRow]]:
    groups: dict[str, list[BillRow]] = {MAIN: [], FORGED: [], KILL: []}
    with psycopg.connect(owner_url) as conn:
        rows = conn.execute(
            "SELECT payer_name, billing_code, amount FROM payments_bill WHERE payer_name LIKE %s ORDER BY payer_name",
            ["Bench %"],
        ).fetchall()
    for payer_name, code, amount in rows:
        groups[payer_name.split()[1]].append(BillRow(code, int(amount)))
    return groups


def server_facts(owner_url: str) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    with psycopg.connect(owner_url) as conn:
        for setting in ("server_version", "fsync", "synchronous_commit", "max_connections"):
            row = conn.execute(sql.SQL("SHOW {}").format(sql.Identifier(setting))).fetchone()
            facts[setting] = row[0] if row else None
    return facts


# --- CPU accounting (Linux /proc; figures are None elsewhere) --------------------

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def machine_cpu() -> tuple[float, float] | None:
    """(busy, total) jiffies of the whole machine."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return float(sum(fields[:8]) - idle), float(sum(fields[:8]))


def group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                rest = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(rest[2]) == pgid:
                    pids.append(int(entry.name))
    return pids


def group_cpu_seconds(pgid: int) -> float:
    """CPU seconds used so far by the live processes of a process group (the web master and its workers)."""
    total = 0
    for pid in group_pids(pgid):
        with contextlib.suppress(OSError, ValueError, IndexError):
            rest = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(rest[11]) + int(rest[12])
    return total / _TICKS


# --- The bank's side of the protocol ---------------------------------------------


def mac(secret: bytes, timestamp: int, body: bytes) -> str:
    return hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature(secret: bytes, body: bytes, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    return f"t={t},v1={mac(secret, t, body)}"


def answer_signed(secret: bytes, body: bytes, header: str | None) -> bool:
    """Did Gerbang sign its answer with the bank's (first) secret, as the protocol says?"""
    if not header:
        return False
    parts: dict[str, str] = {}
    for part in header.split(","):
        key, _sep, value = part.strip().partition("=")
        parts[key] = value
    t = parts.get("t", "")
    return t.isdigit() and hmac.compare_digest(parts.get("v1", ""), mac(secret, int(t), body))


@dataclass(frozen=True)
class Notification:
    index: int
    bill: BillRow
    body: bytes


def notifications_for(group: str, bills: list[BillRow], rng: random.Random) -> list[Notification]:
    now = datetime.now(WIB).replace(microsecond=0)
    out = []
    for i, bill in enumerate(bills):
        body = {
            "notification_id": f"bench-{group}-{i:06d}-{secrets.token_hex(3)}",
            "bank_code": BANK_CODE,
            "billing_code": bill.code,
            "amount": bill.amount,
            "paid_at": (now - timedelta(seconds=rng.randrange(600))).isoformat(),
            "ntb": f"NTB{group}{i:08d}",
            "ntpn": f"{group}{i:07d}{secrets.token_hex(4).upper()}",
            "channel": "teller",
            "terminal_id": f"TLR-{i % 50:02d}",
            "payer_ref": hashlib.sha256(f"account-{group}-{i}".encode()).hexdigest()[:40],
        }
        out.append(Notification(i, bill, json.dumps(body, separators=(",", ":")).encode()))
    return out


@dataclass
class Answer:
    status: int  # 0: no HTTP answer (refused, reset, timed out)
    body: bytes = b""
    signature: str | None = None
    error: str = ""

    def outcome(self) -> str:
        if self.status == 0:
            return "no answer"
        if self.status == 200:
            with contextlib.suppress(ValueError, AttributeError):
                value = json.loads(self.body).get("status")
                if value in ACKS:
                    return str(value)
            return "200 other"
        return f"http {self.status}"

    def retry(self) -> bool:
        return self.status == 0 or self.status >= 500

    def describe(self) -> str:
        return f"{self.status} {self.error or self.body[:300]!r}"


class Connection:
    """One sender's HTTP connection: kept alive when the server allows it (gunicorn's sync workers close it)."""

    def __init__(self, port: int, timeout: float = 60.0) -> None:
        self.port = port
        self.timeout = timeout
        self.conn: http.client.HTTPConnection | None = None

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> Answer:
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            self.conn.request(method, path, body=body, headers=headers or {})
            response = self.conn.getresponse()
            data = response.read()
            answer = Answer(response.status, data, response.getheader(SIGNATURE_HEADER))
            if response.will_close:
                self.close()
            return answer
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            return Answer(0, error=f"{type(exc).__name__}: {exc}")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def bank_headers(secret: bytes, body: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "Gerbang-Bank": BANK_CODE,
        SIGNATURE_HEADER: signature(secret, body),  # signed at sending time, as a bank does on every retry
    }


class WorkList(Generic[T]):
    """The shared list the senders take their next request from."""

    def __init__(self, items: list[T]) -> None:
        self._items = items
        self._next = 0
        self._lock = threading.Lock()

    def take(self) -> T | None:
        with self._lock:
            if self._next >= len(self._items):
                return None
            item = self._items[self._next]
            self._next += 1
            return item

    def taken(self) -> int:
        with self._lock:
            return self._next


@dataclass
class Stats:
    """One sender's counts, merged after the part."""

    answers: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)  # kinds of "no answer" (refused, reset, ...)
    credited: Counter[int] = field(default_factory=Counter)  # notification index -> "credited" answers
    acks: dict[int, str] = field(default_factory=dict)  # notification index -> the acknowledging answer
    latencies: list[float] = field(default_factory=list)
    unsigned_answers: int = 0
    requests: int = 0
    ok: int = 0  # answers with HTTP status 200
    samples: list[str] = field(default_factory=list)

    def note(self, answer: Answer, secret: bytes | None) -> str:
        outcome = answer.outcome()
        self.requests += 1
        self.ok += answer.status == 200
        self.answers[outcome] += 1
        if answer.status == 0:
            self.errors[answer.error.split(":")[0]] += 1
        if (
            secret is not None
            and answer.status not in (0, 401)
            and not answer_signed(secret, answer.body, answer.signature)
        ):
            self.unsigned_answers += 1
        expected = outcome in ACKS or (answer.status == 200 and secret is None)  # health answers 200
        if not expected and len(self.samples) < 5:
            self.samples.append(answer.describe())
        return outcome

    def merge(self, other: Stats) -> None:
        self.answers.update(other.answers)
        self.errors.update(other.errors)
        self.credited.update(other.credited)
        self.acks.update(other.acks)
        self.latencies.extend(other.latencies)
        self.unsigned_answers += other.unsigned_answers
        self.requests += other.requests
        self.ok += other.ok
        self.samples.extend(other.samples[: max(0, 10 - len(self.samples))])


@dataclass
class Timed:
    wall_s: float
    sender_cpu_s: float
    web_cpu_s: float | None
    machine_busy: float | None  # share of all cores busy

    def figures(self) -> dict[str, Any]:
        return {
            "wall_s": round(self.wall_s, 2),
            "sender_cpu_s": round(self.sender_cpu_s, 2),
            "web_cpu_s": None if self.web_cpu_s is None else round(self.web_cpu_s, 2),
            "machine_busy": None if self.machine_busy is None else round(self.machine_busy, 3),
        }


def run_senders(
    senders: int,
    work: Callable[[Stats], None],
    *,
    web: WebServer | None = None,
    meanwhile: Callable[[], None] | None = None,
) -> tuple[Stats, Timed]:
    """Run ``work`` in ``senders`` threads (each with its own Stats); ``meanwhile`` runs in this thread."""
    stats = [Stats() for _ in range(senders)]
    failures: list[BaseException] = []

    def body(own: Stats) -> None:
        try:
            work(own)
        except BaseException as exc:
            failures.append(exc)
            raise

    threads = [threading.Thread(target=body, args=(s,), name=f"sender-{i}", daemon=True) for i, s in enumerate(stats)]
    cpu0, machine0 = time.process_time(), machine_cpu()
    web0 = group_cpu_seconds(web.pgid) if web else None
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    if meanwhile is not None:
        meanwhile()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    web_cpu = group_cpu_seconds(web.pgid) - web0 if web and web0 is not None else None
    machine1 = machine_cpu()
    busy = None
    if machine0 and machine1 and machine1[1] > machine0[1]:
        busy = (machine1[0] - machine0[0]) / (machine1[1] - machine0[1])
    if failures:
        raise RuntimeError(f"a sender failed: {failures[0]!r}") from failures[0]
    total = Stats()
    for s in stats:
        total.merge(s)
    return total, Timed(wall, time.process_time() - cpu0, web_cpu, busy)


# --- Gerbang's web process -------------------------------------------------------


class WebServer:
    """gunicorn as in the Procfile, in a process group of its own so that master and workers can be killed."""

    def __init__(self, env: dict[str, str], workers: int, log_path: Path) -> None:
        self.env = env
        self.workers = workers
        self.log_path = log_path
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        gunicorn = Path(sys.executable).with_name("gunicorn")
        self.command = [
            str(gunicorn if gunicorn.exists() else ROOT / ".venv" / "bin" / "gunicorn"),
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(workers),
            "--access-logfile",
            "-",
        ]

    @property
    def pgid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> float:
        """Start and wait until the health endpoint answers 200; the seconds that took."""
        started = time.monotonic()
        with open(self.log_path, "ab") as output:
            self.proc = subprocess.Popen(  # noqa: S603 (fixed arguments)
                self.command, cwd=ROOT, env=self.env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = started + 90
        probe = Connection(self.port, timeout=5)
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}:\n{self.log_tail()}")
            answer = probe.request("GET", HEALTH_PATH)
            if answer.status == 200:
                return time.monotonic() - started
            if time.monotonic() > deadline:
                raise RuntimeError(f"no 200 from {HEALTH_PATH} (last: {answer.describe()}):\n{self.log_tail()}")
            time.sleep(0.1)

    def kill(self) -> int:
        """SIGKILL the master and every worker at once; the number of processes that were in the group."""
        assert self.proc is not None
        pids = group_pids(self.pgid)
        os.killpg(self.pgid, signal.SIGKILL)
        self.proc.wait()
        deadline = time.monotonic() + 5
        while group_pids(self.pgid) and time.monotonic() < deadline:
            time.sleep(0.05)
        return len(pids)

    def stop(self) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pgid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pgid, signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    def log_tail(self, lines: int = 40) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def server_errors(self) -> list[str]:
        """Tracebacks and errors in the web process's log (the access log lines are left out)."""
        with contextlib.suppress(OSError):
            text = self.log_path.read_text(errors="replace").splitlines()
            return [line for line in text if "Traceback" in line or "Error" in line or "[ERROR]" in line][:20]
        return []


# --- The three parts ----------------------------------------------------------------


def trivial_part(web: WebServer, senders: int, seconds: float) -> dict[str, Any]:
    """The same senders against the health endpoint (three small queries): the stack's own ceiling here."""
    until = 0.0

    def work(stats: Stats) -> None:
        conn = Connection(web.port)
        while time.monotonic() < until:
            stats.note(conn.request("GET", HEALTH_PATH), None)
        conn.close()

    until = time.monotonic() + 1.0
    run_senders(senders, work)  # warm-up, not counted: the workers load the API on their first requests
    until = time.monotonic() + seconds
    stats, timed = run_senders(senders, work, web=web)
    return {
        "trivial_per_s": round(stats.ok / timed.wall_s, 1),
        "trivial_requests": stats.requests,
        "trivial_non_200": stats.requests - stats.ok,
    }


def main_part(web: WebServer, args: argparse.Namespace, secret: bytes, notes: list[Notification]) -> dict[str, Any]:
    rng = random.Random(args.seed)
    deliveries = [n for n in notes for _ in range(rng.randint(1, args.max_copies))]
    rng.shuffle(deliveries)
    log(f"{len(notes)} notifications in {len(deliveries)} deliveries, {args.senders} senders")
    work_list = WorkList(deliveries)

    def work(stats: Stats) -> None:
        conn = Connection(web.port)
        while (n := work_list.take()) is not None:
            for attempt in range(MAX_ATTEMPTS):
                started = time.perf_counter()
                answer = conn.request("POST", NOTIFY_PATH, n.body, bank_headers(secret, n.body))
                stats.latencies.append(time.perf_counter() - started)
                outcome = stats.note(answer, secret)
                if outcome == "credited":
                    stats.credited[n.index] += 1
                if not answer.retry():
                    break
                time.sleep(0.05 * 2**attempt)
        conn.close()

    progress_stop = threading.Event()

    def progress() -> None:
        while not progress_stop.wait(10):
            log(f"  {work_list.taken()} of {len(deliveries)} deliveries taken")

    reporter = threading.Thread(target=progress, daemon=True)
    reporter.start()
    try:
        stats, timed = run_senders(args.senders, work, web=web)
    finally:
        progress_stop.set()
    lat = sorted(stats.latencies)
    per_s = len(deliveries) / timed.wall_s
    log(f"{len(deliveries)} deliveries in {timed.wall_s:.1f} s: {per_s:.1f}/s; answers {dict(stats.answers)}")
    return {
        "deliveries": len(deliveries),
        "per_s": round(per_s, 1),
        "seconds": round(timed.wall_s, 1),
        "answers": dict(stats.answers),
        "no_answer_errors": dict(stats.errors),
        "requests": stats.requests,
        "credited_answers_twice": sum(1 for count in stats.credited.values() if count > 1),
        "unsigned_answers": stats.unsigned_answers,
        "latency_ms": {
            "p50": round(1000 * statistics.median(lat), 1),
            "p90": round(1000 * lat[int(0.9 * (len(lat) - 1))], 1),
            "p99": round(1000 * lat[int(0.99 * (len(lat) - 1))], 1),
            "max": round(1000 * lat[-1], 1),
        },
        "cpu": timed.figures(),
        "error_samples": stats.samples,
    }


def forged_part(web: WebServer, args: argparse.Namespace, secret: bytes, notes: list[Notification]) -> dict[str, Any]:
    rng = random.Random(args.seed + 1)
    wrong = secrets.token_bytes(32)
    kinds: dict[int, str] = {n.index: FORGERIES[n.index % len(FORGERIES)] for n in notes}

    def forge(n: Notification) -> tuple[bytes, dict[str, str]]:
        kind = kinds[n.index]
        headers = {"Content-Type": "application/json", "Gerbang-Bank": BANK_CODE}
        now = int(time.time())
        body = n.body
        if kind == "unsigned":
            variant = n.index // len(FORGERIES) % 4
            if variant == 1:
                headers[SIGNATURE_HEADER] = f"t={now},v1={mac(secret, now, body)[:63]}"  # one hex digit short
            elif variant == 2:
                headers[SIGNATURE_HEADER] = f"t=soon,v1={mac(secret, now, body)}"
            elif variant == 3:
                headers[SIGNATURE_HEADER] = f"t={now},v2={mac(secret, now, body)}"
            # variant 0: no signature header at all
        elif kind == "altered":
            headers[SIGNATURE_HEADER] = signature(secret, body, now)
            position = rng.randrange(len(body))
            old = body[position]
            new = rng.choice([c for c in b"0123456789ABCDEFabcdef:,{}" if c != old])
            body = body[:position] + bytes([new]) + body[position + 1 :]
        elif kind == "stale":
            headers[SIGNATURE_HEADER] = signature(secret, body, now - TOLERANCE - 1 - rng.randrange(3600))
        else:  # wrong_secret
            headers[SIGNATURE_HEADER] = signature(wrong, body, now)
        return body, headers

    work_list = WorkList(notes)
    by_kind: dict[str, Counter[str]] = {kind: Counter() for kind in FORGERIES}
    lock = threading.Lock()

    def work(stats: Stats) -> None:
        conn = Connection(web.port)
        while (n := work_list.take()) is not None:
            body, headers = forge(n)
            answer = conn.request("POST", NOTIFY_PATH, body, headers)
            outcome = stats.note(answer, None)
            if answer.status == 401 and answer.body != b'{"error":"unauthorized"}':
                stats.answers["401 with another body"] += 1
            with lock:
                by_kind[kinds[n.index]][outcome] += 1
        conn.close()

    stats, timed = run_senders(args.senders, work, web=web)
    not_401 = stats.requests - stats.answers["http 401"]
    log(f"{len(notes)} forged notifications: {dict(stats.answers)}")
    return {
        "forged": len(notes),
        "forged_not_401": not_401,
        "forged_answers": {kind: dict(counter) for kind, counter in by_kind.items()},
        "forged_seconds": round(timed.wall_s, 1),
        "forged_samples": [s for s in stats.samples if not s.startswith("401")][:5],
    }


def kill_part(web: WebServer, args: argparse.Namespace, secret: bytes, notes: list[Notification]) -> dict[str, Any]:
    """Bank-like senders retry every notification until a 200 acknowledges it; the web process dies meanwhile."""
    work_list = WorkList(notes)
    deadline = time.monotonic() + args.kill_deadline
    abort = threading.Event()  # set when the restart fails: the senders stop retrying
    events: dict[str, Any] = {}

    def work(stats: Stats) -> None:
        rng = random.Random()
        conn = Connection(web.port, timeout=30)
        while (n := work_list.take()) is not None:
            attempt = 0
            while time.monotonic() < deadline and not abort.is_set():
                answer = conn.request("POST", NOTIFY_PATH, n.body, bank_headers(secret, n.body))
                outcome = stats.note(answer, secret)
                if outcome in ACKS:
                    stats.acks[n.index] = outcome
                    break
                if not answer.retry():
                    break  # refused for good (4xx): a bank would alert a person, not retry
                time.sleep(min(2.0, 0.05 * 2**attempt) * (0.5 + rng.random()))
                attempt += 1
            else:
                stats.answers["gave up (deadline or failed restart)"] += 1
        conn.close()

    def kill_and_restart() -> None:
        try:
            time.sleep(args.kill_after)
            events["taken_before_kill"] = work_list.taken()
            events["processes_killed"] = web.kill()
            killed = events["processes_killed"]
            log(f"SIGKILL to gunicorn's process group ({killed} processes) after {args.kill_after:g} s")
            time.sleep(args.down_seconds)
            events["restart_to_healthy_s"] = round(web.start(), 2)
            log(f"gunicorn restarted, healthy after {events['restart_to_healthy_s']} s")
        except BaseException:
            abort.set()
            raise

    stats, timed = run_senders(args.senders, work, meanwhile=kill_and_restart)
    log(f"kill part: {len(stats.acks)} of {len(notes)} acknowledged in {timed.wall_s:.1f} s; {dict(stats.answers)}")
    return {
        "kill_bills": len(notes),
        "kill_acknowledged": len(stats.acks),
        "kill_acks": dict(Counter(stats.acks.values())),
        "kill_answers": dict(stats.answers),
        "kill_no_answer_errors": dict(stats.errors),
        "kill_seconds": round(timed.wall_s, 1),
        "kill_unsigned_answers": stats.unsigned_answers,
        **events,
        "_acked": stats.acks,
    }


# --- What the database says ---------------------------------------------------------


def credited_by_bill(owner_url: str, group: str) -> dict[str, tuple[str, int, int]]:
    """billing code -> (bill status, credited payments, credited amount) for a group's bills."""
    with psycopg.connect(owner_url) as conn:
        rows = conn.execute(
            "SELECT b.billing_code, b.status, count(p.id) FILTER (WHERE p.outcome = 'credited'), "
            "coalesce(sum(p.amount) FILTER (WHERE p.outcome = 'credited'), 0) "
            "FROM payments_bill b LEFT JOIN payments_payment p ON p.bill_id = b.id "
            "WHERE b.payer_name LIKE %s GROUP BY b.id",
            [f"Bench {group} %"],
        ).fetchall()
    return {code: (status, int(count), int(total)) for code, status, count, total in rows}


def payments_of(owner_url: str, group: str) -> Counter[str]:
    with psycopg.connect(owner_url) as conn:
        rows = conn.execute(
            "SELECT p.outcome, count(*) FROM payments_payment p LEFT JOIN payments_bill b ON b.id = p.bill_id "
            "WHERE b.payer_name LIKE %s OR p.notification_id LIKE %s GROUP BY p.outcome",
            [f"Bench {group} %", f"bench-{group}-%"],
        ).fetchall()
    return Counter({outcome: int(count) for outcome, count in rows})


def check_main(owner_url: str, notes: list[Notification]) -> dict[str, Any]:
    by_bill = credited_by_bill(owner_url, MAIN)
    expected_total = sum(n.bill.amount for n in notes)
    credited = [by_bill.get(n.bill.code, ("missing", 0, 0)) for n in notes]
    payments = payments_of(owner_url, MAIN)
    credited_count = sum(count for _, count, _ in credited)
    credited_total = sum(total for _, _, total in credited)
    return {
        "double_credits": sum(1 for _, count, _ in credited if count > 1),
        "ledger_matches": credited_total == expected_total
        and credited_count == len(notes)
        and sum(payments.values()) == len(notes),
        "ledger": {
            "credited_payments": credited_count,
            "credited_total": credited_total,
            "notifications_total": expected_total,
            "payments_stored": dict(payments),
            "bills_not_credited": sum(1 for _, count, _ in credited if count == 0),
            "bills_paid_without_payment": sum(1 for status, count, _ in credited if status == "paid" and count == 0),
            "bills_credited_not_paid": sum(1 for status, count, _ in credited if status != "paid" and count > 0),
        },
    }


def check_forged(owner_url: str, notes: list[Notification]) -> dict[str, int]:
    by_bill = credited_by_bill(owner_url, FORGED)
    return {
        "forged_payments_stored": sum(payments_of(owner_url, FORGED).values()),
        "forged_bills_not_issued": sum(1 for n in notes if by_bill[n.bill.code][0] != "issued"),
    }


def check_kill(owner_url: str, notes: list[Notification], acked: dict[int, str]) -> dict[str, Any]:
    by_bill = credited_by_bill(owner_url, KILL)
    lost = sum(1 for n in notes if n.index in acked and by_bill[n.bill.code][1] == 0)
    double = sum(1 for n in notes if by_bill[n.bill.code][1] > 1)
    return {
        "lost_or_double_after_kill": lost + double,
        "kill_lost": lost,
        "kill_double": double,
        "kill_payments_stored": dict(payments_of(owner_url, KILL)),
    }


def audit_counts(owner_url: str) -> dict[str, int]:
    with psycopg.connect(owner_url) as conn:
        rows = conn.execute(
            "SELECT action, count(*) FROM audit_auditevent WHERE action LIKE %s GROUP BY action", ["payments.%"]
        ).fetchall()
    return {action: int(count) for action, count in sorted(rows)}


# --- Main ------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notifications", type=int, default=10_000, help="distinct notifications (one bill each)")
    parser.add_argument("--max-copies", type=int, default=5, help="each is delivered 1 to this many times")
    parser.add_argument("--senders", type=int, default=20, help="concurrent sender threads (the bank's)")
    parser.add_argument("--forged", type=int, default=1_000, help="forged or altered notifications")
    parser.add_argument("--kill-bills", type=int, default=2_000, help="notifications in the kill part")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn workers (the Procfile has 2)")
    parser.add_argument("--trivial-seconds", type=float, default=5.0, help="seconds against the health endpoint")
    parser.add_argument("--kill-after", type=float, default=1.0, help="seconds of sending before the SIGKILL")
    parser.add_argument("--down-seconds", type=float, default=2.0, help="seconds the web process stays dead")
    parser.add_argument("--kill-deadline", type=float, default=600.0, help="seconds the bank keeps retrying")
    parser.add_argument("--seed", type=int, default=20261128, help="seed for copies, order and amounts")
    args = parser.parse_args(argv)
    if (
        min(args.notifications, args.senders, args.web_workers, args.max_copies) < 1
        or min(args.forged, args.kill_bills) < 0
    ):
        parser.error("counts must be positive (--forged and --kill-bills may be 0)")
    return args


def run(args: argparse.Namespace, server: Server, database: str, work_dir: Path) -> dict[str, Any]:
    secrets_dir = work_dir / "banks"
    secrets_dir.mkdir(mode=0o700)
    gerbang = migrated_gerbang(server, database, work_dir / "var", GERBANG_BANK_SECRETS_DIR=str(secrets_dir))
    base_env, owner_url, owner_env = gerbang.base_env, gerbang.owner_url, gerbang.owner_env
    web_url, web_role = gerbang.web_url, gerbang.web_role

    # The bank's secret, exchanged out of band (manage.py bank_secret does this in production).
    secret = secrets.token_bytes(32)
    secret_file = secrets_dir / f"{BANK_CODE}.secrets"
    secret_file.write_text(secret.hex() + "\n")
    secret_file.chmod(0o600)
    groups = {MAIN: args.notifications, FORGED: args.forged, KILL: args.kill_bills}
    log(f"creating the bank {BANK_CODE!r} and {sum(groups.values())} bills (ORM bulk insert; not measured)")
    spec = {"bank": BANK_CODE, "seed": args.seed, "groups": groups, "amounts": AMOUNTS}
    done = subprocess.run(  # noqa: S603 (fixed arguments)
        [sys.executable, "-c", FIXTURES, json.dumps(spec)],
        cwd=ROOT,
        env=owner_env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"creating the bills failed:\n{done.stderr[-4000:]}")
    bills = load_bills(owner_url)
    rng = random.Random(args.seed + 2)
    notes = {group: notifications_for(group, bills[group], rng) for group in groups}

    facts = server_facts(owner_url)
    figures: dict[str, Any] = {"notifications": args.notifications}
    web = WebServer({**base_env, "DATABASE_URL": web_url}, args.web_workers, work_dir / "gunicorn.log")
    try:
        log(f"starting gunicorn with {args.web_workers} workers on port {web.port} (database role {web_role})")
        web.start()

        log(f"{args.senders} senders against {HEALTH_PATH} for {args.trivial_seconds:g} s")
        trivial = trivial_part(web, args.senders, args.trivial_seconds)
        log(f"trivial: {trivial['trivial_per_s']}/s")

        main_figures = main_part(web, args, secret, notes[MAIN])
        checked = check_main(owner_url, notes[MAIN])
        log(f"double credits {checked['double_credits']}, ledger matches {checked['ledger_matches']}")
        figures |= {
            "deliveries": main_figures.pop("deliveries"),
            "per_s": main_figures.pop("per_s"),
            "double_credits": checked["double_credits"],
            "ledger_matches": checked["ledger_matches"],
        }

        forged_figures: dict[str, Any] = {"forged": 0, "forged_not_401": 0}
        forged_checked = {"forged_payments_stored": 0, "forged_bills_not_issued": 0}
        if notes[FORGED]:
            forged_figures = forged_part(web, args, secret, notes[FORGED])
            forged_checked = check_forged(owner_url, notes[FORGED])
        figures["forged_accepted"] = forged_figures["forged_not_401"] + forged_checked["forged_payments_stored"]

        kill_figures: dict[str, Any] = {}
        kill_checked: dict[str, Any] = {"lost_or_double_after_kill": 0}
        if notes[KILL]:
            log(f"kill part: {len(notes[KILL])} notifications, SIGKILL after {args.kill_after:g} s")
            kill_figures = kill_part(web, args, secret, notes[KILL])
            acked = kill_figures.pop("_acked")
            kill_checked = check_kill(owner_url, notes[KILL], acked)
            kill_figures["kill_not_acknowledged"] = len(notes[KILL]) - len(acked)
            log(f"lost or double after the kill: {kill_checked['lost_or_double_after_kill']}")
        figures["lost_or_double_after_kill"] = kill_checked.pop("lost_or_double_after_kill")
        figures["seconds"] = main_figures.pop("seconds")
        figures |= trivial
        figures |= {
            "cores": os.cpu_count(),
            "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
            "database": server.source,
            "web_workers": args.web_workers,
            "web_database_role": web_role,
            "senders": args.senders,
            "sender_kind": "threads",
            "main": main_figures | {"ledger": checked["ledger"]},
            "forged_detail": forged_figures | forged_checked,
            "kill_detail": kill_figures | kill_checked,
            "audit_events": audit_counts(owner_url),
            "web_log_errors": web.server_errors(),
            "machine": {
                "python": platform.python_version(),
                "platform": platform.platform(),
                "postgres": facts.pop("server_version"),
                "postgres_settings": facts,
            },
        }
    finally:
        web.stop()
    return figures


def passed(figures: dict[str, Any]) -> bool:
    return (
        figures.get("double_credits") == 0
        and figures.get("ledger_matches") is True
        and figures.get("forged_accepted") == 0
        and figures.get("lost_or_double_after_kill") == 0
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    work_dir = Path(tempfile.mkdtemp(prefix="gerbang-bench-payments-"))
    try:
        with postgres_server() as server, bench_database(server.url) as database:
            figures = run(args, server, database, work_dir)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    figures["passed"] = passed(figures)
    figures["total_s"] = round(time.monotonic() - STARTED, 1)
    print(json.dumps(figures, sort_keys=False), flush=True)
    return 0 if figures["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
