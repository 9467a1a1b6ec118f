"""First come, first served under a flash crowd: thousands of signed-in applicants book a few hundred places at once.

    .venv/bin/python bench/booking_flash_crowd.py [--applicants 5000] [--slots 500] [--capacity 5]
                                                  [--senders 100] [--web-workers 2]
    .venv/bin/python bench/booking_flash_crowd.py --applicants 500 --slots 50   # smoke test

Gerbang runs as in the Procfile (gunicorn, sync workers) against a fresh
database of its own on the PostgreSQL server in ``DATABASE_URL`` (created and
dropped again: the role needs CREATEDB), or on a throwaway cluster started
with ``scripts/pg-test-cluster.sh``. Every applicant is already signed in (a
session made as a fixture) and POSTs once to the booking page of a random
slot, over HTTP only. The database is then checked: exactly ``--slots``
bookings, no slot beyond its capacity, no NIK booked twice. The same run
measures the floor of any booking (a signed-in POST making one audited write)
and pgbench's guarded single-row UPDATE. Progress goes to stderr; the figures
are one JSON object on the last line of stdout (bench/README.md). The exit
status is 1 when an invariant fails.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import http.client
import json
import os
import platform
import random
import re
import secrets
import shutil
import statistics
import string
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import psycopg

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.payments_ingest import (
    HEALTH_PATH,
    WebServer,
    WorkList,
    group_cpu_seconds,
    machine_cpu,
    server_facts,
)
from bench.pgserver import ROOT, STARTED, Server, bench_database, log, migrated_gerbang, postgres_server

SESSION_COOKIE = "sessionid"  # Django's defaults (config/settings.py changes neither name)
CSRF_COOKIE = "csrftoken"
MESSAGES_COOKIE = "messages"
SUCCESS, ERROR = 25, 40  # django.contrib.messages levels
AUDITED_WRITE_ENDPOINT = (
    "POST /permohonan/<draft>/langkah/kind/ (applications.update_draft: applications.draft_updated)"
)
FEE = {
    "on": "2026-01-01",
    "total": 650_000,
    "items": [
        {
            "service": "passport-electronic-10y",
            "name": "Paspor elektronik 10 tahun",
            "amount": 650_000,
            "legal_basis": "bench fixture",
        }
    ],
}

# Bench fixtures, not the application's flow: the applicants, their submitted
# applications (with the frozen version the booking bills from), the drafts of
# the audited-write part and one signed-in session each are bulk-inserted
# through the ORM, with no audit event, no identity check, no documents and no
# timeline steps. Sessions hold what django.contrib.auth.login() stores.
FIXTURES = r"""
import datetime as dt, json, random, secrets, sys, zoneinfo
import django
django.setup()
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.hashers import make_password
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone
from django.utils.crypto import get_random_string
from stdnum import damm
from gerbang.accounts.models import User
from gerbang.applications.models import ApplicationVersion, PassportApplication
from gerbang.appointments.models import Release, Slot
from gerbang.organisation.models import Directorate, Division, Office, ServiceUnit

spec = json.loads(sys.argv[1])
rng = random.Random(spec["seed"])
now = timezone.now()
tz = zoneinfo.ZoneInfo("Asia/Jakarta")
directorate, _ = Directorate.objects.get_or_create(code="DITJENIM", defaults={"name": "Direktorat Jenderal Imigrasi"})
division, _ = Division.objects.get_or_create(
    province_code="31",
    defaults={"directorate": directorate, "province": "DKI Jakarta", "name": "Kantor Wilayah DKI Jakarta"},
)
office = Office.objects.create(
    division=division, code="kanim-bench", name="Kantor Imigrasi Bench", office_class="I TPI",
    city="Kota Bench", timezone="Asia/Jakarta",
)
ServiceUnit.objects.create(office=office, name=office.name)

# Slots: 16 a day (08:00 to 15:30, every half hour) from tomorrow, office time; no priority quota.
first_day = now.astimezone(tz).date() + dt.timedelta(days=1)
slots = []
for i in range(spec["slot_rows"]):
    day = first_day + dt.timedelta(days=i // 16)
    at = dt.time(8 + (i % 16) // 2, 30 * (i % 2))
    slots.append(Slot(
        office=office, starts_at=dt.datetime.combine(day, at, tz), day=day,
        part_of_day="am" if at.hour < 12 else "pm", capacity=spec["capacity"], priority_capacity=0,
    ))
Slot.objects.bulk_create(slots)
Release.objects.create(
    office=office, mode="first_come", first_day=first_day, last_day=slots[-1].day,
    window_opens_at=now - dt.timedelta(hours=1), window_closes_at=now + dt.timedelta(days=1), created_at=now,
)

# One password hash for everybody (hashing 5,000 passwords is not what this bench is about).
password = make_password(secrets.token_urlsafe(16))
groups = {"b": spec["applicants"], "d": spec["drafts"]}
users = {
    group: [
        User(email=f"bench-{group}-{i:05d}@example.test", full_name=f"Pemohon Bench {group.upper()} {i:05d}",
             kind="applicant", email_verified_at=now, password=password)
        for i in range(count)
    ]
    for group, count in groups.items()
}
User.objects.bulk_create([u for group in users.values() for u in group], batch_size=2000)

used_references = set()
def reference():
    while True:
        body = f"{rng.randrange(10**11):011d}"
        if body not in used_references:
            used_references.add(body)
            return "PAS" + body + damm.calc_check_digit(body)

applications = {}
for group, prefix in (("b", "3171"), ("d", "3172")):
    submitted = group == "b"
    applications[group] = [
        PassportApplication(
            filer=user, applicant_nik=f"{prefix}{i:012d}", applicant_name=user.full_name,
            applicant_birth_date=dt.date(1970 + rng.randrange(30), 1 + rng.randrange(12), 1 + rng.randrange(28)),
            applicant_sex=rng.choice("MF"), kind="renewal", renewal_reason="full", old_passport_number="A1234567",
            product="electronic", validity_years=10, office=office,
            status="submitted" if submitted else "draft", current_version=1 if submitted else 0,
            reference=reference() if submitted else "", submitted_at=now if submitted else None,
        )
        for i, user in enumerate(users[group])
    ]
    PassportApplication.objects.bulk_create(applications[group], batch_size=2000)
ApplicationVersion.objects.bulk_create(
    [
        ApplicationVersion(
            application=a, number=1, documents=[], fee=spec["fee"], reason="submitted", created_by_id=a.filer_id,
            created_at=now,
            content={"applicant": {"nik": a.applicant_nik, "name": a.applicant_name,
                                   "birth_date": a.applicant_birth_date.isoformat(), "sex": a.applicant_sex,
                                   "minor": False, "for_dependant": False},
                     "kind": a.kind, "renewal_reason": a.renewal_reason,
                     "old_passport_number": a.old_passport_number, "product": a.product,
                     "validity_years": a.validity_years, "express": False, "office": office.code},
        )
        for a in applications["b"]
    ],
    batch_size=2000,
)

store = SessionStore()
auth_hash = users["b"][0].get_session_auth_hash()  # the same password hash for all
expires = now + dt.timedelta(seconds=settings.SESSION_COOKIE_AGE)
sessions, out = [], {}
for group in groups:
    out[group] = []
    for user, application in zip(users[group], applications[group]):
        key = get_random_string(32, "abcdefghijklmnopqrstuvwxyz0123456789")
        data = {SESSION_KEY: str(user.pk), BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
                HASH_SESSION_KEY: auth_hash}
        sessions.append(Session(session_key=key, session_data=store.encode(data), expire_date=expires))
        out[group].append([key, str(application.public_id)])
Session.objects.bulk_create(sessions, batch_size=2000)
print(json.dumps({"slots": [s.pk for s in slots], "bookers": out["b"], "drafts": out["d"]}))
"""


@dataclass(frozen=True)
class Applicant:
    session: str
    public_id: str
    csrf: str  # the csrftoken cookie a browser got with the page, sent back as X-CSRFToken
    address: str  # the applicant's own client address, as the trusted proxy in front of Gerbang reports it

    def headers(self, body: bytes) -> dict[str, str]:
        return {
            "Cookie": f"{SESSION_COOKIE}={self.session}; {CSRF_COOKIE}={self.csrf}",
            "X-CSRFToken": self.csrf,
            "X-Forwarded-For": self.address,
            "Content-Type": "application/x-www-form-urlencoded",
            "Content-Length": str(len(body)),
        }


def client_address(n: int) -> str:
    """A distinct private address per applicant (10.x.y.z): a crowd, not one machine."""
    return f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"


# The rate limiter stays on (its counting is part of every request's cost), with each applicant at an address of
# their own behind one trusted proxy, as in production. The audited-write baseline is one account writing again
# and again, far beyond what a person does: only its per-account write limit is raised.
RATE_LIMIT_ENV = {
    "GERBANG_TRUSTED_PROXY_COUNT": "1",
    "GERBANG_RATE_LIMITS": json.dumps({"page-write": {"account": 1_000_000}}),
}


def csrf_secret() -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(32))


# --- HTTP ----------------------------------------------------------------------


@dataclass
class Reply:
    status: int  # 0: no HTTP answer (refused, reset, timed out)
    location: str = ""
    cookies: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    error: str = ""

    def messages(self) -> list[tuple[int, str]]:
        """(level, text) of the django.contrib.messages cookie the answer set (read, not verified)."""
        value = self.cookies.get(MESSAGES_COOKIE, "").strip('"')
        if not value:
            return []
        payload = value.split(":", 1)[0]
        compressed = payload.startswith(".")
        payload = payload.lstrip(".")
        try:
            raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
            data = json.loads(zlib.decompress(raw) if compressed else raw)
        except (binascii.Error, zlib.error, ValueError):
            return [(0, f"undecodable messages cookie {value[:60]!r}")]
        return [(int(m[2]), str(m[3])) for m in data if isinstance(m, list) and len(m) >= 4]


class Connection:
    """One sender's HTTP connection, kept alive when the server allows it (gunicorn's sync workers close it)."""

    def __init__(self, port: int, timeout: float = 120.0) -> None:
        self.port = port
        self.timeout = timeout
        self.conn: http.client.HTTPConnection | None = None

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> Reply:
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            self.conn.request(method, path, body=body, headers=headers or {})
            response = self.conn.getresponse()
            data = response.read()
            cookies = {}
            for header in response.headers.get_all("Set-Cookie") or []:
                name, _sep, rest = header.partition("=")
                cookies[name.strip()] = rest.split(";", 1)[0]
            reply = Reply(response.status, response.getheader("Location") or "", cookies, data)
            if response.will_close:
                self.close()
            return reply
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            return Reply(0, error=f"{type(exc).__name__}: {exc}")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


@dataclass
class Timed:
    wall_s: float
    sender_cpu_s: float
    web_cpu_s: float | None
    machine_busy: float | None

    def figures(self) -> dict[str, Any]:
        return {
            "sender_cpu_s": round(self.sender_cpu_s, 2),
            "web_cpu_s": None if self.web_cpu_s is None else round(self.web_cpu_s, 2),
            "machine_busy": None if self.machine_busy is None else round(self.machine_busy, 3),
        }


def run_threads(senders: int, work: Callable[[int], None], web: WebServer | None = None) -> Timed:
    """Run ``work(i)`` in ``senders`` threads; wall time and CPU of the whole run."""
    failures: list[BaseException] = []

    def body(i: int) -> None:
        try:
            work(i)
        except BaseException as exc:
            failures.append(exc)
            raise

    threads = [threading.Thread(target=body, args=(i,), name=f"sender-{i}", daemon=True) for i in range(senders)]
    cpu0, machine0 = time.process_time(), machine_cpu()
    web0 = group_cpu_seconds(web.pgid) if web else None
    started = time.perf_counter()
    for thread in threads:
        thread.start()
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
    return Timed(wall, time.process_time() - cpu0, web_cpu, busy)


def percentile(ordered: list[float], share: float) -> float:
    return ordered[round(share * (len(ordered) - 1))] if ordered else 0.0


# --- The parts -------------------------------------------------------------------


def trivial_part(web: WebServer, senders: int, seconds: float) -> dict[str, Any]:
    """The health endpoint (no session): this stack's ceiling here. Also warms the workers up."""
    until = time.monotonic() + 1.0
    counts = [0] * senders

    def work(i: int) -> None:
        conn = Connection(web.port)
        while time.monotonic() < until:
            counts[i] += conn.request("GET", HEALTH_PATH).status == 200
        conn.close()

    run_threads(senders, work)  # warm-up, not counted
    counts = [0] * senders
    until = time.monotonic() + seconds
    timed = run_threads(senders, work, web)
    return {"trivial_per_s": round(sum(counts) / timed.wall_s, 1)}


def audited_write_part(web: WebServer, drafts: list[Applicant], seconds: float) -> dict[str, Any]:
    """Each sender, signed in as its own applicant, saves a step of its own draft again and again.

    Every POST changes the renewal reason (full, expired, full, ...), so it is one locked read, one UPDATE
    and one audit event (applications.update_draft), answered with a 302 to the next step: the floor of any
    booking, through the same session, CSRF and auth middleware.
    """
    until = 0.0
    ok = [0] * len(drafts)
    other: list[Counter[str]] = [Counter() for _ in drafts]
    flip = [0] * len(drafts)

    def work(i: int) -> None:
        applicant = drafts[i]
        path = f"/permohonan/{applicant.public_id}/langkah/kind/"
        conn = Connection(web.port)
        while time.monotonic() < until:
            flip[i] += 1
            reason = "expired" if flip[i] % 2 else "full"
            body = urlencode({"kind": "renewal", "renewal_reason": reason, "old_passport_number": "A1234567"}).encode()
            reply = conn.request("POST", path, body, applicant.headers(body))
            if reply.status == 302 and reply.location.endswith("/langkah/passport/"):
                ok[i] += 1
            else:
                other[i][f"{reply.status} {reply.location or reply.error}"[:120]] += 1
        conn.close()

    until = time.monotonic() + 1.0
    run_threads(len(drafts), work)  # warm-up, not counted
    ok = [0] * len(drafts)
    other = [Counter() for _ in drafts]
    until = time.monotonic() + seconds
    timed = run_threads(len(drafts), work, web)
    others: Counter[str] = Counter()
    for counter in other:
        others.update(counter)
    cpu = timed.figures()
    if timed.web_cpu_s is not None:
        cpu["web_cpu_ms_per_write"] = round(1000 * timed.web_cpu_s / max(1, sum(ok)), 1)
    return {
        "per_s": round(sum(ok) / timed.wall_s, 1),
        "writes": sum(ok),
        "other_answers": dict(others.most_common(5)),
        "cpu": cpu,
    }


@dataclass
class Outcome:
    done_at: float  # seconds after the first request started
    latency: float
    status: int
    level: int  # messages level of the answer (SUCCESS, ERROR), 0 without one
    text: str


def booking_part(
    web: WebServer,
    applicants: list[Applicant],
    slot_ids: list[int],
    *,
    senders: int,
    places: int,
    seed: int,
    exact: bool = False,
) -> dict[str, Any]:
    # As the status page's "Book" button sends it: that time, or the nearest free one of the same part of the day.
    body = b"" if exact else b"or_next=1"
    rng = random.Random(seed)
    plan = [(a, rng.choice(slot_ids)) for a in applicants]
    rng.shuffle(plan)
    work_list = WorkList(plan)
    outcomes: list[list[Outcome]] = [[] for _ in range(senders)]
    errors: Counter[str] = Counter()
    lock = threading.Lock()
    started = 0.0

    def work(i: int) -> None:
        conn = Connection(web.port)
        while (item := work_list.take()) is not None:
            applicant, slot_id = item
            t0 = time.perf_counter()
            reply = conn.request(
                "POST", f"/permohonan/{applicant.public_id}/jadwal/{slot_id}/", body, applicant.headers(body)
            )
            t1 = time.perf_counter()
            messages = reply.messages()
            level, text = max(messages) if messages else (0, "")
            outcomes[i].append(Outcome(t1 - started, t1 - t0, reply.status, level, text))
            if reply.status == 0:
                with lock:
                    errors[reply.error.split(":")[0]] += 1
        conn.close()

    stop = threading.Event()
    cpu_samples: list[tuple[float, float]] = []  # (seconds after the start, web CPU seconds so far)

    def progress() -> None:
        last_log = time.monotonic()
        while not stop.wait(0.25):
            cpu_samples.append((time.perf_counter() - started, group_cpu_seconds(web.pgid)))
            if time.monotonic() - last_log >= 10:
                last_log = time.monotonic()
                log(f"  {work_list.taken()} of {len(plan)} bookings sent")

    reporter = threading.Thread(target=progress, daemon=True)
    started = time.perf_counter()
    cpu_at_start = group_cpu_seconds(web.pgid)
    reporter.start()
    try:
        timed = run_threads(senders, work, web)
    finally:
        stop.set()
        reporter.join()
    everything = [o for own in outcomes for o in own]
    booked = sorted(o.done_at for o in everything if o.status == 302 and o.level == SUCCESS)
    latencies = sorted(o.latency for o in everything)
    answers = Counter(
        "booked"
        if o.status == 302 and o.level == SUCCESS
        else "refused"
        if o.status == 302 and o.level == ERROR
        else f"http {o.status}" + ("" if o.level else " without a message")
        for o in everything
    )
    until_last = booked[places - 1] if len(booked) >= places else None
    before_last = None if until_last is None else sum(1 for o in everything if o.done_at <= until_last)
    # The web processes' CPU per answer before and after the last place went (after it, every answer is a
    # refusal): the two give the CPU of one booking and of one refusal without the other load on the machine.
    cpu_split = None
    if until_last is not None and before_last and cpu_samples and timed.web_cpu_s is not None:
        at, cpu = min(cpu_samples, key=lambda sample: abs(sample[0] - until_last))
        answered = sum(1 for o in everything if o.done_at <= at)
        after = len(everything) - answered
        refusal_ms = 1000 * (cpu_at_start + timed.web_cpu_s - cpu) / after if after else None
        before_ms = 1000 * (cpu - cpu_at_start) / answered if answered else None
        booked_then = sum(1 for t in booked if t <= at)
        booking_ms = None
        if refusal_ms is not None and before_ms is not None and booked_then:
            booking_ms = (before_ms * answered - refusal_ms * (answered - booked_then)) / booked_then
        cpu_split = {
            "web_cpu_ms_per_answer_until_last_place": None if before_ms is None else round(before_ms, 1),
            "web_cpu_ms_per_refusal_after": None if refusal_ms is None else round(refusal_ms, 1),
            "web_cpu_ms_per_booking_estimated": None if booking_ms is None else round(booking_ms, 1),
        }
    return {
        "success_answers": len(booked),
        "seconds_to_last_place": None if until_last is None else round(until_last, 2),
        # Random slot choices: the last slot to fill takes its last place long after most others are full.
        "attempts_until_last_place": before_last,
        "attempts_per_s_until_last_place": None if until_last is None else round((before_last or 0) / until_last, 1),
        "bookings_per_s": round(len(booked[:places]) / (until_last or timed.wall_s), 1),
        "attempts_per_s": round(len(everything) / timed.wall_s, 1),
        "p50_ms": round(1000 * statistics.median(latencies), 1) if latencies else None,
        "p99_ms": round(1000 * percentile(latencies, 0.99), 1),
        "latency_ms": {
            "p90": round(1000 * percentile(latencies, 0.9), 1),
            "max": round(1000 * latencies[-1], 1) if latencies else None,
            "p50_of_successful": round(1000 * statistics.median(o.latency for o in everything if o.level == SUCCESS), 1)
            if booked
            else None,
        },
        "errors_5xx": sum(1 for o in everything if o.status >= 500),
        "no_answer": sum(1 for o in everything if o.status == 0),
        "no_answer_errors": dict(errors),
        "answers": dict(answers),
        "refusals": dict(Counter(o.text for o in everything if o.level == ERROR).most_common(5)),
        "requests": len(everything),
        "wall_s": round(timed.wall_s, 2),
        "cpu": timed.figures()
        | {
            "web_cpu_ms_per_answer": None
            if timed.web_cpu_s is None
            else round(1000 * timed.web_cpu_s / max(1, len(everything)), 1)
        }
        | (cpu_split or {}),
    }


def pgbench_binary() -> str | None:
    found = []
    for candidate in Path("/usr/lib/postgresql").glob("*/bin/pgbench"):
        version = candidate.parent.parent.name
        found.append((tuple(int(p) for p in version.split(".") if p.isdigit()), str(candidate)))
    if found:
        return max(found)[1]
    return shutil.which("pgbench")


def pgbench_part(owner_url: str, rows: int, clients: int, seconds: float, work_dir: Path) -> dict[str, Any]:
    """pgbench's ceiling for the booking's core: one guarded single-row UPDATE per transaction, on as many rows."""
    binary = pgbench_binary()
    if binary is None:
        log("no pgbench binary (Debian's postgresql-contrib / postgresql package): pgbench_tps left out")
        return {"pgbench_tps": None, "pgbench": {"error": "no pgbench binary"}}
    capacity = 2_000_000_000  # never reached: every UPDATE writes (a full row would make it a read)
    with psycopg.connect(owner_url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE slot (id integer PRIMARY KEY, capacity integer NOT NULL, "
            "booked integer NOT NULL DEFAULT 0 CHECK (booked <= capacity))"
        )
        conn.execute("INSERT INTO slot (id, capacity) SELECT g, %s FROM generate_series(1, %s) g", [capacity, rows])
    script = work_dir / "guarded_update.sql"
    script.write_text(
        f"\\set id random(1, {rows})\nUPDATE slot SET booked = booked + 1 WHERE id = :id AND booked < capacity;\n"
    )
    threads = max(1, min(clients, os.cpu_count() or 1))
    duration = max(1, round(seconds))
    command = [binary, "-n", "-f", str(script), "-c", str(clients), "-j", str(threads), "-T", str(duration), owner_url]
    log(f"pgbench: {clients} clients, {threads} threads, {duration} s, guarded UPDATE on {rows} rows")
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 (fixed arguments)
    if done.returncode != 0:
        log(f"pgbench failed ({done.returncode}): {done.stderr[-2000:]}")
        return {"pgbench_tps": None, "pgbench": {"error": done.stderr[-500:]}}
    text = done.stdout
    tps = re.search(r"tps = ([0-9.]+) \((?:without initial connection time|excluding connections)", text)
    latency = re.search(r"latency average = ([0-9.]+) ms", text)
    processed = re.search(r"number of transactions actually processed: (\d+)", text)
    with psycopg.connect(owner_url) as conn:
        row = conn.execute(
            "SELECT coalesce(sum(booked), 0), count(*) FILTER (WHERE booked > capacity) FROM slot"
        ).fetchone()
    return {
        "pgbench_tps": round(float(tps.group(1)), 1) if tps else None,
        "pgbench": {
            "clients": clients,
            "threads": threads,
            "seconds": duration,
            "rows": rows,
            "capacity": capacity,
            "transactions": int(processed.group(1)) if processed else None,
            "rows_updated": int(row[0]) if row else None,
            "over_capacity": int(row[1]) if row else None,
            "latency_avg_ms": float(latency.group(1)) if latency else None,
            "binary": binary,
        },
    }


# --- What the database says ---------------------------------------------------------


def check_database(owner_url: str) -> dict[str, Any]:
    with psycopg.connect(owner_url) as conn:

        def one(query: str) -> int:
            row = conn.execute(query).fetchone()
            return int(row[0]) if row and row[0] is not None else 0

        booked = one("SELECT count(*) FROM appointments_booking WHERE status = 'active' AND source = 'first_come'")
        rows_over = one("SELECT count(*) FROM appointments_slot WHERE booked > capacity")
        bookings_over = one(
            "SELECT count(*) FROM (SELECT s.id FROM appointments_slot s "
            "JOIN appointments_booking b ON b.slot_id = s.id WHERE b.status = 'active' "
            "GROUP BY s.id, s.capacity HAVING count(*) > s.capacity) t"
        )
        counter_mismatch = one(
            "SELECT count(*) FROM appointments_slot s WHERE s.booked <> "
            "(SELECT count(*) FROM appointments_booking b WHERE b.slot_id = s.id AND b.status = 'active')"
        )
        double_nik = one(
            "SELECT count(*) FROM (SELECT applicant_nik FROM appointments_booking WHERE status = 'active' "
            "GROUP BY applicant_nik HAVING count(*) > 1) t"
        )
        slot_places = one("SELECT coalesce(sum(capacity), 0) FROM appointments_slot")
        slots_booked = one("SELECT coalesce(sum(booked), 0) FROM appointments_slot")
        bills = one("SELECT count(*) FROM payments_bill WHERE application_id IS NOT NULL")
        bills_without_booking = one(
            "SELECT count(*) FROM payments_bill p WHERE NOT EXISTS (SELECT 1 FROM appointments_booking b "
            "WHERE b.application_id = p.application_id AND b.status = 'active')"
        )
        audit: dict[str, int] = dict(
            conn.execute(
                "SELECT action, count(*) FROM audit_auditevent WHERE action IN "
                "('appointments.booked', 'payments.bill_issued', 'applications.draft_updated') GROUP BY action"
            ).fetchall()
        )
    return {
        "booked": booked,
        "over_capacity": rows_over + bookings_over,
        "double_nik": double_nik,
        "check": {
            "slot_rows_over_capacity": rows_over,
            "slots_with_more_active_bookings_than_capacity": bookings_over,
            "slots_counter_not_bookings": counter_mismatch,
            "places": slot_places,
            "slots_booked_sum": slots_booked,
            "bills_issued": bills,
            "bills_without_booking": bills_without_booking,
            "audit_events": {k: int(v) for k, v in sorted(audit.items())},
        },
    }


# --- Main ------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--applicants", type=int, default=5_000, help="signed-in applicants, one booking POST each")
    parser.add_argument("--slots", type=int, default=500, help="places to book (the issue's 500 slots)")
    parser.add_argument("--capacity", type=int, default=5, help="places per slot row (--slots / this many rows)")
    parser.add_argument("--senders", type=int, default=100, help="concurrent sender threads (and pgbench clients)")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn workers (the Procfile has 2)")
    parser.add_argument("--trivial-seconds", type=float, default=3.0, help="seconds against the health endpoint")
    parser.add_argument("--audited-seconds", type=float, default=10.0, help="seconds of audited writes")
    parser.add_argument("--pgbench-seconds", type=float, default=10.0, help="seconds of pgbench")
    parser.add_argument("--seed", type=int, default=20261128, help="seed for the fixtures and the slot choices")
    parser.add_argument(
        "--exact",
        action="store_true",
        help="book exactly the chosen slot or be refused (the API's default); without it, as the page's button: "
        "that slot or the nearest free one of the same part of the day",
    )
    args = parser.parse_args(argv)
    if min(args.applicants, args.slots, args.capacity, args.senders, args.web_workers) < 1:
        parser.error("counts must be positive")
    if args.slots % args.capacity:
        parser.error("--slots must be a multiple of --capacity")
    if args.applicants < args.slots:
        parser.error("--applicants must be at least --slots (the places must all be taken)")
    return args


def run(args: argparse.Namespace, server: Server, database: str, work_dir: Path) -> dict[str, Any]:
    gerbang = migrated_gerbang(server, database, work_dir / "var")
    base_env, owner_url, owner_env = gerbang.base_env, gerbang.owner_url, gerbang.owner_env
    web_url, web_role = gerbang.web_url, gerbang.web_role

    rows = args.slots // args.capacity
    log(
        f"fixtures: {args.applicants} signed-in applicants with submitted applications, {rows} slots of "
        f"{args.capacity} places, a first-come release, {args.senders} drafts (ORM bulk insert; not measured)"
    )
    spec = {
        "seed": args.seed,
        "applicants": args.applicants,
        "drafts": args.senders,
        "slot_rows": rows,
        "capacity": args.capacity,
        "fee": FEE,
    }
    fixtures_started = time.monotonic()
    done = subprocess.run(  # noqa: S603 (fixed arguments)
        [sys.executable, "-c", FIXTURES, json.dumps(spec)],
        cwd=ROOT,
        env=owner_env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"creating the fixtures failed:\n{done.stderr[-4000:]}")
    made = json.loads(done.stdout.strip().splitlines()[-1])
    fixtures_s = time.monotonic() - fixtures_started
    log(f"fixtures made in {fixtures_s:.1f} s")
    bookers = [Applicant(s, p, csrf_secret(), client_address(n)) for n, (s, p) in enumerate(made["bookers"])]
    drafts = [
        Applicant(s, p, csrf_secret(), client_address(len(bookers) + n)) for n, (s, p) in enumerate(made["drafts"])
    ]

    facts = server_facts(owner_url)
    load_before = [round(x, 2) for x in os.getloadavg()]  # other work on the machine skews every rate
    figures: dict[str, Any] = {}
    web = WebServer(
        {**base_env, **RATE_LIMIT_ENV, "DATABASE_URL": web_url}, args.web_workers, work_dir / "gunicorn.log"
    )
    try:
        log(f"starting gunicorn with {args.web_workers} workers on port {web.port} (database role {web_role})")
        web.start()
        trivial = trivial_part(web, args.senders, args.trivial_seconds)
        log(f"trivial (health, no session): {trivial['trivial_per_s']}/s")
        log(f"audited writes: {args.senders} signed-in senders for {args.audited_seconds:g} s")
        audited_before = audited_write_part(web, drafts, args.audited_seconds)
        log(f"audited writes: {audited_before['per_s']}/s")
        log(f"flash crowd: {len(bookers)} applicants, {args.senders} senders, {args.slots} places in {rows} slots")
        booking = booking_part(
            web,
            bookers,
            made["slots"],
            senders=args.senders,
            places=args.slots,
            seed=args.seed + 1,
            exact=args.exact,
        )
        log(
            f"flash crowd: {booking['success_answers']} booked in {booking['seconds_to_last_place']} s, "
            f"{booking['requests']} answers in {booking['wall_s']} s; {booking['answers']}"
        )
        log(f"audited writes again, after the crowd: {args.senders} senders for {args.audited_seconds:g} s")
        audited_after = audited_write_part(web, drafts, args.audited_seconds)
        log(f"audited writes: {audited_after['per_s']}/s")
        web_errors = web.server_errors()
    finally:
        web.stop()
    checked = check_database(owner_url)
    log(
        f"database: booked {checked['booked']}, over capacity {checked['over_capacity']}, "
        f"double NIK {checked['double_nik']}"
    )
    pgbench = pgbench_part(owner_url, rows, args.senders, args.pgbench_seconds, work_dir)
    log(f"pgbench: {pgbench['pgbench_tps']} tps")

    figures = {
        "booked": checked["booked"],
        "over_capacity": checked["over_capacity"],
        "double_nik": checked["double_nik"],
        "errors_5xx": booking.pop("errors_5xx"),
        "bookings_per_s": booking.pop("bookings_per_s"),
        "attempts_per_s": booking.pop("attempts_per_s"),
        "p50_ms": booking.pop("p50_ms"),
        "p99_ms": booking.pop("p99_ms"),
        # Before and after the crowd, averaged: other work on a shared machine drifts over a run.
        "audited_write_rps": round((audited_before["per_s"] + audited_after["per_s"]) / 2, 1),
        "audited_write_endpoint": AUDITED_WRITE_ENDPOINT,
        "pgbench_tps": pgbench.pop("pgbench_tps"),
    }
    figures["target_met"] = figures["bookings_per_s"] >= figures["audited_write_rps"] / 2
    figures |= {
        "applicants": args.applicants,
        "slots": args.slots,
        "slot_rows": rows,
        "capacity_per_slot": args.capacity,
        "priority_places": 0,
        "senders": args.senders,
        "sender_kind": "threads, one POST per applicant, no retry",
        "booking_mode": "exact slot" if args.exact else "the slot or the nearest free one of that part of the day",
        "rate_limits": "on; one client address per applicant (X-Forwarded-For behind 1 trusted proxy)",
        "web_workers": args.web_workers,
        "web_database_role": web_role,
        "cores": os.cpu_count(),
        "database": server.source,
        "booking": booking,
        "db_check": checked["check"],
        "audited_write": {"before_crowd": audited_before, "after_crowd": audited_after},
        **trivial,
        **pgbench,
        "fixtures_s": round(fixtures_s, 1),
        "web_log_errors": web_errors,
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "postgres": facts.pop("server_version"),
            "postgres_settings": facts,
            "load_average_before_web": load_before,
        },
    }
    return figures


def passed(figures: dict[str, Any]) -> bool:
    booking = figures.get("booking", {})
    check = figures.get("db_check", {})
    return (
        figures.get("booked") == figures.get("slots")
        and figures.get("over_capacity") == 0
        and figures.get("double_nik") == 0
        and figures.get("errors_5xx") == 0
        and booking.get("no_answer") == 0
        and booking.get("success_answers") == figures.get("booked")
        and check.get("slots_counter_not_bookings") == 0
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    work_dir = Path(tempfile.mkdtemp(prefix="gerbang-bench-booking-"))
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
