"""Lottery bench: 100,000 requests for 5,000 places drawn and verified on PostgreSQL (docs/lottery.md).

    .venv/bin/python bench/lottery.py [--requests 100000] [--slots 5000] [--days 20] [--times-per-part 5]
                                      [--priority-share 0.2] [--jit off|server] [--profile /tmp/draw.prof]
    .venv/bin/python bench/lottery.py --requests 2000 --slots 100   # smoke test

A fresh database on the PostgreSQL server in ``DATABASE_URL`` (created and
dropped again: the role needs CREATEDB), or a throwaway cluster
(``scripts/pg-test-cluster.sh``), migrated as its owner; Gerbang runs in this
process (``django.setup``) as the application's database role, as the worker
does, and the witness (``python -m services.witness``) runs as a process of
its own, over HTTP.

Set-up (``setup_s``, not in the figures below): an office and its head; the
slots, through ``actions.create_slots`` (``--slots`` places over ``--days``
weekdays, ``--times-per-part`` slots each morning and afternoon, a
``--priority-share`` of the places in the priority quota); a lottery release
through ``actions.open_release`` (the witness commits); then, bulk-inserted
through the ORM as fixtures (no audit event, no documents), ``--requests``
applicant accounts, each with a submitted application at the office and its
frozen version with a fee, and one lottery request each as ``request_slot``
makes them: a random 32-hex-digit pseudonym, the priority flag Gerbang derives
from the birth date, 1 to 3 of the release's slot groups. The window closes a
few seconds after the release opened; the bench waits for the witness's clock.

Measured:

- ``draw_s``: ``actions.run_draw(release)`` end to end: the root, the witness's
  reveal over HTTP, the allocation, a booking and a bill (``issue_bill``) per
  allocated request, the requests' ranks and outcomes, the audit event.
  ``draw_queries`` counts its SQL statements, ``draw_sql_s`` is their time
  (round trips included) and ``draw_slowest_statements`` the slowest three.
  JIT is off in the bench database unless ``--jit server`` (bench/README.md
  says why); ``database`` says which.
- ``verify_s``: ``manage.py verify_draw <draw id>`` in a process of its own
  (Django's start-up included; ``verify_peak_rss_mib`` is that process's);
  it must report every check ok. ``verify_in_process_s``: the same checks
  (``verification.verify``) in this process, without the start-up.
- ``compute_draw_s`` and ``compute_verify_s``: the computation alone
  (gerbang/appointments/draw.py) on the same requests, capacity and secrets:
  the draw, and a verifier's work from the public JSON record.

Then the database is checked with SQL: ``bookings`` (active lottery bookings)
equals ``allocated`` less the forfeited and ``min(places, requests)``, no slot
over capacity, no NIK with two active bookings, one bill per booking. The
exit status is 1 when a check fails. ``peak_rss_mib`` is this process's peak
(fixtures are made in chunks, so it is mostly the draw's). Progress on stderr;
the figures are one JSON object on the last line of stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import datetime as dt
import io
import json
import os
import platform
import pstats
import random
import resource
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import zoneinfo
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.payments_ingest import server_facts
from bench.pgserver import ROOT, STARTED, Gerbang, bench_database, free_port, log, migrated_gerbang, postgres_server

OFFICE_CODE = "kanim-bench"
TZ = "Asia/Jakarta"
CHUNK = 5_000  # fixture rows per bulk_create round (keeps this process's memory for the draw)
CHOICE_COUNTS = (1, 2, 3)
CHOICE_WEIGHTS = (0.2, 0.3, 0.5)
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


def mib(kib: int) -> float:
    return round(kib / 1024, 1)  # ru_maxrss is in KiB on Linux


# --- The witness -------------------------------------------------------------------


@dataclass(frozen=True)
class Witness:
    url: str
    key: Path  # its public key, written at its first start


@contextlib.contextmanager
def witness_service(folder: Path) -> Iterator[Witness]:
    """``python -m services.witness`` on a free port (as gerbang/appointments/tests/conftest.py starts it)."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log_file = folder / "witness.log"
    with open(log_file, "wb") as output:
        process = subprocess.Popen(  # noqa: S603 (fixed arguments)
            [
                sys.executable,
                "-m",
                "services.witness",
                "--gerbang",
                "http://127.0.0.1:9",  # no audit log to watch here: only its lottery side is used
                "--port",
                str(port),
                "--data",
                str(folder / "data"),
                "--log-key",
                str(folder / "none.vkey"),
                "--interval",
                "3600",
            ],
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=1) as answer:  # noqa: S310 (local)
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the witness did not start:\n{log_file.read_text()[-4000:]}")
            time.sleep(0.1)
        log(f"witness running at {url} (pid {process.pid})")
        yield Witness(url, folder / "data" / "witness.vkey")
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# --- Django in this process --------------------------------------------------------


def setup_django(env: dict[str, str]) -> None:
    names = ("DJANGO_SETTINGS_MODULE", "GERBANG_ENV", "DEBUG", "LOG_LEVEL", "GERBANG_VAR_DIR", "DATABASE_URL")
    for name in (*names, "GERBANG_WITNESS_URL", "GERBANG_WITNESS_KEY"):
        os.environ[name] = env[name]
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


@dataclass
class Statements:
    """The SQL statements Django sent: how many of each kind, their total time, the slowest."""

    counts: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    slowest: list[tuple[float, str]] = field(default_factory=list)

    def top(self, n: int = 3) -> list[dict[str, Any]]:
        return [{"s": round(t, 3), "sql": text} for t, text in sorted(self.slowest, reverse=True)[:n]]


@contextlib.contextmanager
def counting_queries() -> Iterator[Statements]:
    """Count and time the SQL statements Django sends (by their first word), keeping the slowest few."""
    from django.db import connection

    seen = Statements()

    def wrapper(execute: Callable[..., Any], statement: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(statement, params, many, context)
        finally:
            elapsed = time.perf_counter() - started
            seen.counts[statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "?"] += 1
            seen.seconds += elapsed
            seen.slowest.append((elapsed, f"{statement[:120]}... ({len(statement)} characters)"))
            if len(seen.slowest) > 50:
                seen.slowest = sorted(seen.slowest, reverse=True)[:5]

    with connection.execute_wrapper(wrapper):
        yield seen


# --- Fixtures ------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """Where the places are: (day, time, capacity, priority capacity) per slot."""

    slots: list[tuple[dt.date, dt.time, int, int]]

    @property
    def places(self) -> int:
        return sum(s[2] for s in self.slots)

    @property
    def priority_places(self) -> int:
        return sum(s[3] for s in self.slots)


def weekdays(first: dt.date, count: int) -> list[dt.date]:
    days: list[dt.date] = []
    day = first
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def slot_plan(args: argparse.Namespace, first_day: dt.date) -> Plan:
    """``--slots`` places spread as evenly as possible over the slots; the priority quota likewise."""
    times = [dt.time(8 + i // 2, 30 * (i % 2)) for i in range(args.times_per_part)]
    times += [dt.time(13 + i // 2, 30 * (i % 2)) for i in range(args.times_per_part)]
    moments = [(day, at) for day in weekdays(first_day, args.days) for at in times]
    moments = moments[: args.slots]  # fewer places than slots: one place each in the first ones
    rows = len(moments)
    capacity = [args.slots // rows + (1 if i < args.slots % rows else 0) for i in range(rows)]
    priority_total = round(args.slots * args.priority_share)
    priority = [priority_total // rows + (1 if i < priority_total % rows else 0) for i in range(rows)]
    # Spread the extra priority places from the end, so that they do not all land on the slots with an extra place.
    priority = [min(p, c) for p, c in zip(reversed(priority), capacity, strict=True)]
    return Plan([(day, at, c, p) for (day, at), c, p in zip(moments, capacity, priority, strict=True)])


def make_office_and_head() -> tuple[Any, Any]:
    """The office, and its head with an active grant approved by two others, past the second factor."""
    from django.utils import timezone

    from gerbang.accounts.models import GrantStatus, Role, RoleGrant, Scope, User
    from gerbang.organisation.models import Directorate, Division, Office, ServiceUnit

    directorate, _ = Directorate.objects.get_or_create(
        code="DITJENIM", defaults={"name": "Direktorat Jenderal Imigrasi"}
    )
    division, _ = Division.objects.get_or_create(
        province_code="31",
        defaults={"directorate": directorate, "province": "DKI Jakarta", "name": "Kantor Wilayah DKI Jakarta"},
    )
    office = Office.objects.create(
        division=division,
        code=OFFICE_CODE,
        name="Kantor Imigrasi Bench",
        office_class="I TPI",
        city="Kota Bench",
        timezone=TZ,
    )
    ServiceUnit.objects.create(office=office, name=office.name)
    password = secrets.token_urlsafe(16)
    staff = [
        User.objects.create_user(
            email=f"bench-staff-{n}@example.test",
            password=password,
            full_name=f"Pegawai Bench {n}",
            kind="staff",
            home_office=office,
            email_verified_at=timezone.now(),
        )
        for n in range(3)
    ]
    head, requester, approver = staff
    RoleGrant.objects.create(
        user=head,
        role=Role.OFFICE_HEAD,
        scope=Scope.OFFICE,
        office=office,
        reason="bench",
        requested_by=requester,
        status=GrantStatus.ACTIVE,
        decided_by=approver,
        decided_at=timezone.now(),
    )
    head.is_verified = lambda: True  # type: ignore[attr-defined]  # as the staff pages see them after the hardware token (as demo_lottery does)
    return office, head


def open_lottery(office: Any, head: Any, plan: Plan, closes_in: float) -> Any:
    """The slots through ``create_slots`` (one call per day and size), then the release through ``open_release``."""
    from django.utils import timezone

    from gerbang.appointments import actions

    calls: dict[tuple[dt.date, int, int], list[dt.time]] = {}
    for day, at, capacity, priority in plan.slots:
        calls.setdefault((day, capacity, priority), []).append(at)
    for (day, capacity, priority), times in calls.items():
        actions.create_slots(
            office=office, day=day, times=times, capacity=capacity, priority_capacity=priority, actor=head
        )
    now = timezone.now()
    return actions.open_release(
        office=office,
        first_day=plan.slots[0][0],
        last_day=plan.slots[-1][0],
        window_opens_at=now - dt.timedelta(days=7),
        window_closes_at=now + dt.timedelta(seconds=closes_in),
        actor=head,
    )


def birth_date(rng: random.Random, priority: bool) -> dt.date:
    """Priority applicants are 66 to 80 on the release's first day; the others 26 to 55 (no minors)."""
    year = rng.randrange(1946, 1961) if priority else rng.randrange(1971, 2000)
    return dt.date(year, 1 + rng.randrange(12), 1 + rng.randrange(28))


def reference(n: int) -> str:
    from stdnum import damm

    body = f"{n:011d}"
    return "PAS" + body + damm.calc_check_digit(body)


def insert_applicants_and_requests(release: Any, count: int, priority_share: float, seed: int) -> Counter[str]:
    """Accounts, submitted applications, their versions and one lottery request each (bulk, in chunks)."""
    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from django.utils import timezone

    from gerbang.accounts.models import User
    from gerbang.applications.models import ApplicationVersion, PassportApplication
    from gerbang.appointments.actions import _is_priority
    from gerbang.appointments.models import LotteryRequest
    from gerbang.appointments.selectors import release_capacity

    rng = random.Random(seed)
    groups = sorted(release_capacity(release))
    office = release.office
    now = timezone.now()
    window = (release.window_closes_at - release.window_opens_at).total_seconds()
    password = make_password(secrets.token_urlsafe(16))  # one hash for everybody: hashing is not measured here
    stats: Counter[str] = Counter()
    for start in range(0, count, CHUNK):
        ids = range(start, min(count, start + CHUNK))
        with transaction.atomic():
            users = User.objects.bulk_create(
                [
                    User(
                        email=f"bench-{i:06d}@example.test",
                        full_name=f"Pemohon Bench {i:06d}",
                        kind="applicant",
                        email_verified_at=now,
                        password=password,
                    )
                    for i in ids
                ]
            )
            applications = PassportApplication.objects.bulk_create(
                [
                    PassportApplication(
                        filer=user,
                        applicant_nik=f"3171{i:012d}",
                        applicant_name=user.full_name,
                        applicant_birth_date=birth_date(rng, rng.random() < priority_share),
                        applicant_sex=rng.choice("MF"),
                        kind="renewal",
                        renewal_reason="full",
                        old_passport_number="A1234567",
                        product="electronic",
                        validity_years=10,
                        office=office,
                        status="submitted",
                        current_version=1,
                        reference=reference(i),
                        submitted_at=now - dt.timedelta(days=10),
                    )
                    for i, user in zip(ids, users, strict=True)
                ]
            )
            ApplicationVersion.objects.bulk_create(
                [
                    ApplicationVersion(
                        application=a,
                        number=1,
                        documents=[],
                        fee=FEE,
                        reason="submitted",
                        created_by_id=a.filer_id,
                        created_at=now - dt.timedelta(days=10),
                        content={
                            "applicant": {
                                "nik": a.applicant_nik,
                                "name": a.applicant_name,
                                "birth_date": a.applicant_birth_date.isoformat(),
                                "sex": a.applicant_sex,
                                "minor": False,
                                "for_dependant": False,
                            },
                            "kind": a.kind,
                            "renewal_reason": a.renewal_reason,
                            "old_passport_number": a.old_passport_number,
                            "product": a.product,
                            "validity_years": a.validity_years,
                            "express": False,
                            "office": office.code,
                        },
                    )
                    for a in applications
                ]
            )
            requests = []
            for a in applications:
                choices = rng.sample(groups, min(len(groups), rng.choices(CHOICE_COUNTS, CHOICE_WEIGHTS)[0]))
                priority = _is_priority(a, release.first_day)  # what request_slot stores
                stats["priority" if priority else "general"] += 1
                stats[f"choices_{len(choices)}"] += 1
                requests.append(
                    LotteryRequest(
                        release=release,
                        application=a,
                        applicant_nik=a.applicant_nik,
                        pseudonym=secrets.token_hex(16),
                        priority=priority,
                        choices=choices,
                        created_at=release.window_opens_at + dt.timedelta(seconds=rng.random() * window * 0.999),
                    )
                )
            LotteryRequest.objects.bulk_create(requests)
        if (start // CHUNK) % 5 == 4:
            log(f"  {start + len(ids)} of {count} applicants with their request")
    return stats


# --- Measuring -----------------------------------------------------------------------


def timed_draw(release: Any, profile: str) -> tuple[Any, float, Statements]:
    from gerbang.appointments import actions

    profiler = cProfile.Profile() if profile else None
    with counting_queries() as queries:
        started = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        drawn = actions.run_draw(release)
        if profiler is not None:
            profiler.disable()
        seconds = time.perf_counter() - started
    if profiler is not None:
        profiler.dump_stats(profile)
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
        log(f"profile of run_draw written to {profile}; the top by cumulative time:\n{out.getvalue()}")
    return drawn, seconds, queries


# manage.py, run as it is, that writes its own peak memory (VmHWM) to a file at exit. ru_maxrss cannot tell: a child
# started from this process inherits its high-water mark (fork, and exec keeps the larger of the two).
PEAK_WRAPPER = """
import atexit, runpy, sys
def peak(path):
    with open("/proc/self/status") as status, open(path, "w") as out:
        out.write(next((l.split()[1] for l in status if l.startswith("VmHWM:")), ""))
atexit.register(peak, sys.argv[1])
sys.argv = ["manage.py", *sys.argv[2:]]
runpy.run_path("manage.py", run_name="__main__")
"""


def verify_command(env: dict[str, str], draw_id: str, work_dir: Path) -> dict[str, Any]:
    """``manage.py verify_draw`` in a process of its own: wall seconds, its own peak RSS, its answer."""
    out_path, err_path, peak_path = work_dir / "verify.out", work_dir / "verify.err", work_dir / "verify.peak"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        started = time.perf_counter()
        done = subprocess.run(  # noqa: S603 (fixed arguments)
            [sys.executable, "-c", PEAK_WRAPPER, str(peak_path), "verify_draw", draw_id],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=err,
            check=False,
        )
        seconds = time.perf_counter() - started
    lines = out_path.read_text().splitlines()
    checks = [line for line in lines if line.startswith(("ok  ", "FAIL"))]
    peak = peak_path.read_text().strip() if peak_path.exists() else ""
    return {
        "seconds": seconds,
        "exit": done.returncode,
        "checks": len(checks),
        "failed": [line for line in checks if not line.startswith("ok  ")],
        "last_line": lines[-1] if lines else "",
        "stderr": err_path.read_text()[-2000:],
        "peak_rss_mib": mib(int(peak)) if peak.isdigit() else None,
    }


def verify_in_process(draw_id: str) -> tuple[float, bool, int]:
    from gerbang.appointments.models import Draw
    from gerbang.appointments.verification import verify

    started = time.perf_counter()
    draw = Draw.objects.select_related("release__office").get(public_id=draw_id)
    checks = verify(draw)
    return time.perf_counter() - started, all(c.ok for c in checks), len(checks)


def compute_only(draw_id: str) -> dict[str, Any]:
    """The draw's computation alone, on the stored inputs; and a verifier's work from the published JSON."""
    from gerbang.appointments import draw as lottery
    from gerbang.appointments.models import Draw
    from gerbang.appointments.verification import public_record

    stored = Draw.objects.select_related("release__office").get(public_id=draw_id)
    record = json.dumps(public_record(stored))
    published = json.loads(record)
    requests = [lottery.Request(r["id"], r["priority"], tuple(r["choices"])) for r in published["requests"]]
    gerbang_secret, witness_secret = bytes.fromhex(stored.gerbang_secret), bytes.fromhex(stored.witness_secret)

    started = time.perf_counter()
    root, _seed, result = lottery.result_for(gerbang_secret, witness_secret, requests, stored.capacity)
    digest = result.digest()
    draw_s = time.perf_counter() - started

    started = time.perf_counter()
    again = json.loads(record)
    ok = lottery.check_commitment(bytes.fromhex(again["gerbang_secret"]), again["gerbang_commitment"])
    ok &= lottery.check_commitment(bytes.fromhex(again["witness_secret"]), again["witness_commitment"])
    entries = [lottery.Request(r["id"], r["priority"], tuple(r["choices"])) for r in again["requests"]]
    root_again, _seed, result_again = lottery.result_for(
        bytes.fromhex(again["gerbang_secret"]), bytes.fromhex(again["witness_secret"]), entries, again["capacity"]
    )
    ok &= root_again.hex() == again["root"] and result_again.digest() == again["result_digest"]
    verify_s = time.perf_counter() - started
    return {
        "compute_draw_s": round(draw_s, 2),
        "compute_verify_s": round(verify_s, 2),
        "compute_verified": bool(ok),
        "compute_matches_stored": root.hex() == stored.root and digest == stored.result_digest,
        "record_mib": round(len(record) / 2**20, 1),
    }


# --- What the database says -----------------------------------------------------------


def check_database(owner_url: str, release_id: int) -> dict[str, Any]:
    with psycopg.connect(owner_url) as conn:

        def one(query: str) -> int:
            row = conn.execute(query, {"release": release_id}).fetchone()
            return int(row[0]) if row and row[0] is not None else 0

        release_slots = (
            "SELECT s.* FROM appointments_slot s JOIN appointments_release r ON r.office_id = s.office_id "
            "WHERE r.id = %(release)s AND s.day BETWEEN r.first_day AND r.last_day"
        )
        outcomes: dict[str, int] = dict(
            conn.execute(
                "SELECT outcome, count(*) FROM appointments_lotteryrequest WHERE release_id = %(release)s "
                "GROUP BY outcome",
                {"release": release_id},
            ).fetchall()
        )
        lottery_bookings = (
            "SELECT b.* FROM appointments_booking b JOIN appointments_lotteryrequest q ON q.id = b.request_id "
            "WHERE q.release_id = %(release)s AND b.source = 'lottery' AND b.status = 'active'"
        )
        figures: dict[str, Any] = {
            "places": one(f"SELECT coalesce(sum(capacity), 0) FROM ({release_slots}) s"),  # noqa: S608 (constant)
            "priority_places": one(f"SELECT coalesce(sum(priority_capacity), 0) FROM ({release_slots}) s"),  # noqa: S608
            "requests": one("SELECT count(*) FROM appointments_lotteryrequest WHERE release_id = %(release)s"),
            "bookings": one(f"SELECT count(*) FROM ({lottery_bookings}) b"),  # noqa: S608 (constant)
            "priority_bookings": one(f"SELECT count(*) FROM ({lottery_bookings}) b WHERE b.priority"),  # noqa: S608
            "bookings_all": one("SELECT count(*) FROM appointments_booking"),
            "slot_rows_over_capacity": one(
                f"SELECT count(*) FROM ({release_slots}) s "  # noqa: S608 (constant)
                "WHERE s.booked > s.capacity OR s.priority_booked > s.priority_capacity"
            ),
            "slots_with_more_active_bookings_than_capacity": one(
                f"SELECT count(*) FROM ({release_slots}) s WHERE s.capacity < "  # noqa: S608 (constant)
                "(SELECT count(*) FROM appointments_booking b WHERE b.slot_id = s.id AND b.status = 'active')"
            ),
            "slots_counter_not_bookings": one(
                f"SELECT count(*) FROM ({release_slots}) s WHERE s.booked <> "  # noqa: S608 (constant)
                "(SELECT count(*) FROM appointments_booking b WHERE b.slot_id = s.id AND b.status = 'active') "
                "OR s.priority_booked <> (SELECT count(*) FROM appointments_booking b "
                "WHERE b.slot_id = s.id AND b.status = 'active' AND b.priority)"
            ),
            "double_nik": one(
                "SELECT count(*) FROM (SELECT applicant_nik FROM appointments_booking WHERE status = 'active' "
                "GROUP BY applicant_nik HAVING count(*) > 1) t"
            ),
            "bookings_outside_choices": one(
                f"SELECT count(*) FROM ({lottery_bookings}) b "  # noqa: S608 (constant)
                "JOIN appointments_slot s ON s.id = b.slot_id JOIN organisation_office o ON o.id = s.office_id "
                "JOIN appointments_lotteryrequest q ON q.id = b.request_id "
                "WHERE NOT q.choices ? (o.code || '/' || s.day::text || '/' || s.part_of_day) "
                "OR (b.priority AND NOT q.priority) OR q.outcome <> 'allocated' "
                "OR b.applicant_nik <> q.applicant_nik OR b.application_id <> q.application_id"
            ),
            "bills": one("SELECT count(*) FROM payments_bill WHERE application_id IS NOT NULL"),
            "bookings_without_one_bill": one(
                f"SELECT count(*) FROM ({lottery_bookings}) b WHERE (SELECT count(*) FROM payments_bill p "  # noqa: S608
                "WHERE p.application_id = b.application_id AND p.status = 'issued') <> 1"
            ),
            "bills_without_booking": one(
                "SELECT count(*) FROM payments_bill p WHERE NOT EXISTS (SELECT 1 FROM appointments_booking b "
                "WHERE b.application_id = p.application_id AND b.status = 'active')"
            ),
            "bills_wrong_amount": one(f"SELECT count(*) FROM payments_bill WHERE amount <> {FEE['total']}"),  # noqa: S608
            "requests_without_rank": one(
                "SELECT count(*) FROM appointments_lotteryrequest WHERE release_id = %(release)s AND rank IS NULL"
            ),
            "distinct_ranks": one(
                "SELECT count(DISTINCT rank) FROM appointments_lotteryrequest WHERE release_id = %(release)s"
            ),
        }
        audit: dict[str, int] = dict(
            conn.execute(
                "SELECT action, count(*) FROM audit_auditevent WHERE action IN "
                "('appointments.draw_completed', 'payments.bill_issued', 'appointments.waiting_list_booked') "
                "GROUP BY action"
            ).fetchall()
        )
    figures["outcomes"] = {str(k): int(v) for k, v in sorted(outcomes.items())}
    figures["audit_events"] = {str(k): int(v) for k, v in sorted(audit.items())}
    return figures


# --- Main ------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=100_000, help="applicants, one lottery request each")
    parser.add_argument("--slots", type=int, default=5_000, help="places in the release (the issue's 5,000 slots)")
    parser.add_argument("--days", type=int, default=20, help="weekdays the release covers, from a week ahead")
    parser.add_argument("--times-per-part", type=int, default=5, help="slots each morning and afternoon (1-8)")
    parser.add_argument("--priority-share", type=float, default=0.2, help="share of priority applicants and places")
    parser.add_argument("--closes-in", type=float, default=3.0, help="seconds from opening the release to its close")
    parser.add_argument("--seed", type=int, default=20261128, help="seed of the fixtures (not of the draw)")
    parser.add_argument(
        "--jit",
        choices=("off", "server"),
        default="off",
        help="PostgreSQL's JIT for the bench database: off (ALTER DATABASE ... SET jit = off), or as the server has it",
    )
    parser.add_argument("--profile", default="", help="write a cProfile of run_draw to this file (slows it down)")
    args = parser.parse_args(argv)
    if min(args.requests, args.slots, args.days) < 1 or not 1 <= args.times_per_part <= 8:
        parser.error("counts must be positive, --times-per-part 1 to 8")
    if not 0 <= args.priority_share <= 1:
        parser.error("--priority-share is a share, 0 to 1")
    if args.closes_in < 1:
        parser.error("--closes-in: at least a second (the witness's clock has whole seconds)")
    return args


def passed(figures: dict[str, Any]) -> bool:
    check = figures["db_check"]
    return bool(
        figures["verified"]
        and figures["verify_in_process_ok"]
        and figures["compute_verified"]
        and figures["compute_matches_stored"]
        and figures["bookings"] == figures["allocated"] - figures["forfeited"]
        and figures["bookings"] == min(figures["slots"], figures["requests"])
        and figures["over_capacity"] == 0
        and figures["double_nik"] == 0
        and figures["bills"] == figures["bookings"]
        and check["bookings_without_one_bill"] == 0
        and check["bills_without_booking"] == 0
        and check["bills_wrong_amount"] == 0
        and check["bookings_outside_choices"] == 0
        and check["slots_counter_not_bookings"] == 0
        and check["requests_without_rank"] == 0
        and check["distinct_ranks"] == figures["requests"]
        and check["audit_events"].get("appointments.draw_completed") == 1
        and check["audit_events"].get("payments.bill_issued") == figures["bookings"]
    )


def run(args: argparse.Namespace, gerbang: Gerbang, witness: Witness, work_dir: Path, source: str) -> dict[str, Any]:
    env = {
        **gerbang.base_env,
        "DATABASE_URL": gerbang.web_url,  # the application's role, as the worker that draws connects
        "GERBANG_WITNESS_URL": witness.url,
        "GERBANG_WITNESS_KEY": str(witness.key),
    }
    if args.jit == "off":
        # With JIT on, run_draw's bulk_update of every request (one UPDATE with a CASE of a branch per request)
        # spends its time in LLVM's code generation: more than 30 minutes at 20,000 requests (bench/README.md).
        with psycopg.connect(gerbang.owner_url, autocommit=True) as conn:
            name = urlsplit(gerbang.owner_url).path.lstrip("/")
            conn.execute(sql.SQL("ALTER DATABASE {} SET jit = off").format(sql.Identifier(name)))
    setup_django(env)
    from django.db import connection
    from django.utils import timezone

    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        jit = str((cursor.fetchone() or ["?"])[0])

    log(f"Django in this process as the database role {gerbang.web_role!r}")
    setup_started = time.perf_counter()
    office, head = make_office_and_head()
    first_day = timezone.now().astimezone(zoneinfo.ZoneInfo(TZ)).date() + dt.timedelta(days=7)
    plan = slot_plan(args, first_day)
    release = open_lottery(office, head, plan, args.closes_in)
    draw_id = release.draw.public_id
    log(
        f"release {release.pk} open (draw {draw_id}): {len(plan.slots)} slots, {plan.places} places "
        f"({plan.priority_places} priority) on {release.first_day}..{release.last_day}"
    )
    log(f"inserting {args.requests} applicants, applications, versions and lottery requests (bulk; not measured)")
    stats = insert_applicants_and_requests(release, args.requests, args.priority_share, args.seed)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # as autovacuum would have, long before a draw
    setup_s = time.perf_counter() - setup_started
    log(f"set-up done in {setup_s:.1f} s ({dict(stats)})")
    wait = (release.window_closes_at - timezone.now()).total_seconds() + 1.1  # the witness's clock has seconds
    if wait > 0:
        log(f"waiting {wait:.1f} s for the window to close")
        time.sleep(wait)

    rss_before_draw = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    log("run_draw")
    drawn, draw_s, queries = timed_draw(release, args.profile)
    rss_after_draw = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    allocated, waiting = len(drawn.result["allocations"]), len(drawn.result["waiting"])
    log(
        f"drawn in {draw_s:.2f} s: {allocated} allocated, {waiting} waiting; {sum(queries.counts.values())} "
        f"statements taking {queries.seconds:.2f} s, the slowest {queries.top(1)}"
    )

    log("manage.py verify_draw (own process)")
    verified = verify_command(env, draw_id, work_dir)
    log(f"verify_draw: {verified['last_line']!r} in {verified['seconds']:.2f} s, exit {verified['exit']}")
    if verified["failed"] or verified["exit"]:
        log(f"verify_draw failed: {verified['failed']} {verified['stderr']}")
    in_process_s, in_process_ok, in_process_checks = verify_in_process(draw_id)
    log(f"verification.verify in this process: {in_process_s:.2f} s, ok={in_process_ok}")
    computed = compute_only(draw_id)
    log(f"computation only: draw {computed['compute_draw_s']} s, verify {computed['compute_verify_s']} s")

    checked = check_database(gerbang.owner_url, release.pk)
    facts = server_facts(gerbang.owner_url)
    over = checked["slot_rows_over_capacity"] + checked["slots_with_more_active_bookings_than_capacity"]
    return {
        "requests": args.requests,
        "slots": plan.places,
        "draw_s": round(draw_s, 2),
        "verify_s": round(verified["seconds"], 2),
        "verified": verified["exit"] == 0 and not verified["failed"] and verified["checks"] > 0,
        "allocated": allocated,
        "waiting": waiting,
        "forfeited": checked["outcomes"].get("forfeited", 0),
        "bookings": checked["bookings"],
        "bills": checked["bills"],
        "over_capacity": over,
        "double_nik": checked["double_nik"],
        "all_places_taken": checked["bookings"] == min(plan.places, args.requests),
        "database": f"PostgreSQL {facts['server_version']} ({source}; fsync {facts['fsync']}, "
        f"synchronous_commit {facts['synchronous_commit']}, jit {jit}); Django in-process as role {gerbang.web_role!r}",
        "jit": jit,
        "setup_s": round(setup_s, 1),
        "draw_queries": sum(queries.counts.values()),
        "draw_queries_by_kind": dict(queries.counts.most_common()),
        "draw_sql_s": round(queries.seconds, 2),
        "draw_slowest_statements": queries.top(),
        "draw_ms_per_booking": round(1000 * draw_s / max(1, checked["bookings"]), 2),
        "verify_in_process_s": round(in_process_s, 2),
        "verify_in_process_ok": in_process_ok,
        "verify_checks": verified["checks"],
        "verify_in_process_checks": in_process_checks,
        "verify_peak_rss_mib": verified["peak_rss_mib"],
        **computed,
        "peak_rss_mib": mib(rss_after_draw),
        "peak_rss_before_draw_mib": mib(rss_before_draw),
        "slot_rows": len(plan.slots),
        "slot_groups": len(drawn.capacity),
        "priority_places": plan.priority_places,
        "priority_requests": stats["priority"],
        "priority_bookings": checked["priority_bookings"],
        "choices": {str(k): stats[f"choices_{k}"] for k in CHOICE_COUNTS},
        "profiled": bool(args.profile),
        "db_check": checked,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    work_dir = Path(tempfile.mkdtemp(prefix="gerbang-bench-lottery-"))
    try:
        with postgres_server() as server, bench_database(server.url) as database:
            gerbang = migrated_gerbang(server, database, work_dir / "var")
            with witness_service(work_dir / "witness") as witness:
                figures = run(args, gerbang, witness, work_dir, server.source)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    figures["passed"] = passed(figures)
    figures["total_s"] = round(time.monotonic() - STARTED, 1)
    log("done" if figures["passed"] else "a check FAILED")
    print(json.dumps(figures), flush=True)
    return 0 if figures["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
