"""Audit log bench: sealing and verifying N events, and writes per second with and without audit.

    .venv/bin/python bench/audit_verify.py [--events 1000000] [--writers 8] [--seconds 20]

Uses the PostgreSQL server in ``DATABASE_URL`` (a fresh database of its own,
created and dropped again: the role needs CREATEDB), or starts a throwaway
cluster with ``scripts/pg-test-cluster.sh``. Progress goes to stderr; the
figures are one JSON object on the last line of stdout (bench/README.md).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier, Event
from pathlib import Path
from typing import Any

import psycopg

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.pgserver import ROOT, STARTED, bench_database, log, postgres_server, with_database

ACTIONS = ("application.submitted", "application.reviewed", "payment.confirmed", "record.viewed", "role.granted")
REASONS = ("counter", "online", "review", "appeal", "correction")

BENCH_TABLE_SQL = """
CREATE TABLE bench_item (
    id bigserial PRIMARY KEY,
    writer integer NOT NULL,
    n bigint NOT NULL,
    note varchar(100) NOT NULL,
    created_at timestamptz NOT NULL
)
"""


def setup_django(database_url: str, var_dir: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ["DATABASE_URL"] = database_url
    os.environ["GERBANG_VAR_DIR"] = var_dir
    os.environ["GERBANG_ENV"] = "development"
    os.environ["DEBUG"] = "0"  # as in production: no query log in memory
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    log("migrating")
    call_command("migrate", verbosity=0)


def server_facts() -> dict[str, Any]:
    from django.db import connection

    facts: dict[str, Any] = {}
    with connection.cursor() as cursor:
        for setting in ("server_version", "fsync", "synchronous_commit", "shared_buffers", "max_connections"):
            cursor.execute(f"SHOW {setting}")
            row = cursor.fetchone()
            facts[setting] = row[0] if row else None
    return facts


# --- Sealing, verifying, hashing ---------------------------------------------------


def insert_unsealed_events(n: int, chunk: int = 20_000) -> None:
    """COPY ``n`` unsealed events into the log, as ``record()`` would have inserted them.

    Rows are written in COPY's text format directly: every value is ASCII
    without tabs, newlines or backslashes, so nothing needs escaping.
    """
    from django.db import connection, transaction

    first = datetime.now(UTC) - timedelta(milliseconds=10 * n + 60_000)
    # Django fills prev_hash and entry_hash (no database defaults); seq and sealed_at stay NULL.
    columns = "occurred_at, actor_id, office_id, action, object_type, object_id, details, prev_hash, entry_hash"
    with transaction.atomic(), connection.cursor() as cursor:
        raw: psycopg.Cursor[Any] = cursor.cursor
        with raw.copy(f"COPY audit_auditevent ({columns}) FROM STDIN") as copy:
            for start in range(0, n, chunk):
                lines = []
                for i in range(start, min(n, start + chunk)):
                    occurred_at = (first + timedelta(microseconds=10_000 * i + i % 997)).isoformat()
                    actor = "\\N" if i % 5 == 0 else str(1 + i % 40)
                    office = "\\N" if i % 7 == 0 else str(1 + i % 12)
                    details = json.dumps({"reason": REASONS[i % len(REASONS)], "n": i, "counter": i % 8})
                    lines.append(
                        f"{occurred_at}\t{actor}\t{office}\t{ACTIONS[i % len(ACTIONS)]}\t"
                        f"applications.application\t{100_000 + i // 3}\t{details}\t\t\n"
                    )
                copy.write("".join(lines))
        cursor.execute("ANALYZE audit_auditevent")


@dataclass
class HashFigures:
    seconds: float
    bytes_hashed: int
    one_stream_seconds: float


def time_sha256() -> HashFigures:
    """Time SHA-256 of the bytes sealing hashes: the entry hash and the Merkle leaf of each entry."""
    from gerbang.audit import sealing

    entries: list[bytes] = []
    stored: list[str] = []
    for row in sealing.iter_sealed():
        entries.append(sealing.canonical_entry(row["seq"], row["prev_hash"], row))
        stored.append(row["entry_hash"])
    sha256 = hashlib.sha256
    started = time.perf_counter()
    for entry in entries:
        sha256(entry).hexdigest()  # sealing.entry_hash
        sha256(b"\x00" + entry).digest()  # rfc6962.leaf_hash
    seconds = time.perf_counter() - started
    bytes_hashed = sum(2 * len(entry) + 1 for entry in entries)
    assert [sha256(entry).hexdigest() for entry in entries] == stored, "rebuilt entries differ from the sealed ones"
    # The same bytes in two calls: what the bytes alone cost, without a call per entry.
    streams = (b"".join(entries), b"\x00" + b"\x00".join(entries))
    del entries, stored
    assert sum(map(len, streams)) == bytes_hashed
    started = time.perf_counter()
    for stream in streams:
        sha256(stream).digest()
    one_stream_seconds = time.perf_counter() - started
    return HashFigures(seconds, bytes_hashed, one_stream_seconds)


# --- Concurrent writers ------------------------------------------------------------


_bench_item_model: Any = None


def bench_item_model() -> Any:
    """A small unmanaged model over ``bench_item``, the state each write changes."""
    global _bench_item_model  # noqa: PLW0603
    if _bench_item_model is None:
        from django.db import models
        from django.utils import timezone

        class BenchItem(models.Model):
            writer = models.IntegerField()
            n = models.BigIntegerField()
            note = models.CharField(max_length=100)
            created_at = models.DateTimeField(default=timezone.now)

            class Meta:
                app_label = "bench"
                db_table = "bench_item"
                managed = False

            def __str__(self) -> str:
                return f"bench item {self.pk}"

        _bench_item_model = BenchItem
    return _bench_item_model


def prepare_writers(writers: int) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(BENCH_TABLE_SQL)
    user_model = get_user_model()
    for index in range(writers):
        user_model.objects.create_user(
            email=f"writer{index}@bench.invalid", full_name=f"Bench writer {index}", kind="staff"
        )
    bench_item_model()


@dataclass(frozen=True)
class WritePhase:
    audit: bool
    warmup: float
    seconds: float


def writer_main(index: int, phase: WritePhase, barrier: Barrier, results: Queue[Any]) -> None:
    """One writer: write for the warm-up, wait for the others, then count writes for ``phase.seconds``."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from gerbang.audit.actions import record

    try:
        item_model = bench_item_model()
        actor = get_user_model().objects.get(email=f"writer{index}@bench.invalid")

        def write(n: int) -> None:
            with transaction.atomic():
                item = item_model.objects.create(writer=index, n=n, note=f"state change {n} by writer {index}")
                if phase.audit:
                    record("bench.item_created", actor=actor, obj=item, details={"writer": index, "n": n})

        n = 0
        until = time.monotonic() + phase.warmup
        while time.monotonic() < until:
            write(n)
            n += 1
        barrier.wait(timeout=phase.warmup + 120)
        count = 0
        cpu_started = time.process_time()
        started = time.monotonic()
        until = started + phase.seconds
        while True:
            write(n)
            n += 1
            count += 1
            if time.monotonic() >= until:
                break
        elapsed = time.monotonic() - started
        results.put((index, count, elapsed, time.process_time() - cpu_started, None))
    except BaseException as exc:
        barrier.abort()
        results.put((index, 0, 0.0, 0.0, f"{type(exc).__name__}: {exc}"))
        raise
    finally:
        connection.close()


def sealer_main(stop: Event, interval: float, results: Queue[Any]) -> None:
    """The sealer process's loop (manage.py audit_sealer): seal, then wait for the rest of the interval."""
    from django.db import connection

    from gerbang.audit import sealing

    sealed = 0
    try:
        while not stop.is_set():
            started = time.monotonic()
            sealed += sealing.seal_pending()
            stop.wait(max(0.0, interval - (time.monotonic() - started)))
        results.put(("sealer", sealed, 0.0, 0.0, None))
    except BaseException as exc:
        results.put(("sealer", sealed, 0.0, 0.0, f"{type(exc).__name__}: {exc}"))
        raise
    finally:
        connection.close()


@dataclass
class PhaseResult:
    writes_per_s: float
    writes: int
    client_cpu_ms_per_write: float  # the writer processes' own CPU (Django, psycopg), not the server's
    sealed_by_sealer: int | None


def run_writers(
    writers: int, audit: bool, warmup: float, seconds: float, sealer_interval: float | None = None
) -> PhaseResult:
    from django.db import connections

    connections.close_all()  # children must not share the parent's connection
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(writers)
    results: Queue[Any] = ctx.Queue()
    stop = ctx.Event()
    procs = [
        ctx.Process(
            target=writer_main, args=(i, WritePhase(audit, warmup, seconds), barrier, results), name=f"writer-{i}"
        )
        for i in range(writers)
    ]
    if sealer_interval is not None:
        procs.append(ctx.Process(target=sealer_main, args=(stop, sealer_interval, results), name="sealer"))
    for proc in procs:
        proc.start()
    outcomes: list[tuple[Any, int, float, float, str | None]] = []
    try:
        for _ in range(writers):
            outcomes.append(results.get(timeout=warmup + seconds + 180))
        stop.set()
        if sealer_interval is not None:
            outcomes.append(results.get(timeout=600))
    finally:
        stop.set()
        for proc in procs:
            proc.join(timeout=60)
            if proc.is_alive():
                proc.terminate()
                proc.join()
    errors = [f"{who}: {error}" for who, _, _, _, error in outcomes if error]
    if errors:
        raise RuntimeError("writers failed: " + "; ".join(errors))
    timed = [(count, elapsed, cpu) for who, count, elapsed, cpu, _ in outcomes if who != "sealer"]
    sealed = next((count for who, count, _, _, _ in outcomes if who == "sealer"), None)
    writes = sum(count for count, _, _ in timed)
    return PhaseResult(
        writes_per_s=sum(count / elapsed for count, elapsed, _ in timed),
        writes=writes,
        client_cpu_ms_per_write=1000 * sum(cpu for _, _, cpu in timed) / max(1, writes),
        sealed_by_sealer=sealed,
    )


# --- Main ------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000, help="events to seal and verify")
    parser.add_argument("--writers", type=int, default=8, help="concurrent writer processes")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds per write phase")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds before each write phase")
    parser.add_argument(
        "--seal-interval",
        type=float,
        default=1.0,
        help="the concurrent sealer's interval in the third write phase (the sealer's default is 1 s)",
    )
    parser.add_argument("--no-sealer-phase", action="store_true", help="skip the write phase with a sealer")
    args = parser.parse_args(argv)
    if args.events < 1 or args.writers < 1 or args.seconds <= 0 or args.warmup < 0:
        parser.error("--events and --writers must be at least 1, --seconds positive, --warmup not negative")
    return args


def bench(args: argparse.Namespace, source: str) -> dict[str, Any]:
    from django.db import connection

    from gerbang.audit import sealing
    from gerbang.audit.verify import verify_log

    n = args.events
    figures: dict[str, Any] = {"events": n}

    log(f"inserting {n} unsealed events (COPY; not measured)")
    insert_unsealed_events(n)

    log("sealing")
    started = time.perf_counter()
    sealed = sealing.seal_pending()
    seal_s = time.perf_counter() - started
    assert sealed == n, f"sealed {sealed} events, expected {n}"
    log(f"sealed {sealed} events in {seal_s:.1f} s")

    log("verifying")
    started = time.perf_counter()
    report = verify_log([])
    verify_s = time.perf_counter() - started
    assert report.intact, f"the log is not intact: {report.problems}"
    assert report.sealed == n, f"verified {report.sealed} events, expected {n}"
    log(f"verified {report.sealed} events in {verify_s:.1f} s")

    log("rebuilding the canonical entries and timing SHA-256 over them")
    hashed = time_sha256()
    log(f"SHA-256 of {hashed.bytes_hashed} bytes in {hashed.seconds:.2f} s")

    figures |= {
        "seal_s": round(seal_s, 3),
        "verify_s": round(verify_s, 3),
        "sha256_s": round(hashed.seconds, 3),
        "sha256_bytes": hashed.bytes_hashed,
        "sha256_one_stream_s": round(hashed.one_stream_seconds, 3),
        "seal_events_per_s": round(n / seal_s, 1),
        "verify_events_per_s": round(n / verify_s, 1),
    }

    with connection.cursor() as cursor:  # settle the dead row versions sealing left behind (not measured)
        cursor.execute("VACUUM (ANALYZE) audit_auditevent")
        cursor.execute("VACUUM (ANALYZE) audit_treenode")

    w, secs, warm = args.writers, args.seconds, args.warmup
    prepare_writers(w)
    log(f"{w} writers without audit for {secs:g} s (+{warm:g} s warm-up)")
    without = run_writers(w, audit=False, warmup=warm, seconds=secs)
    log(f"without audit: {without.writes_per_s:.1f} writes/s")
    log(f"{w} writers with audit for {secs:g} s (+{warm:g} s warm-up)")
    with_audit = run_writers(w, audit=True, warmup=warm, seconds=secs)
    log(f"with audit: {with_audit.writes_per_s:.1f} writes/s")
    figures |= {
        "writers": w,
        "write_seconds": secs,
        "writes_per_s_with_audit": round(with_audit.writes_per_s, 1),
        "writes_per_s_without": round(without.writes_per_s, 1),
        "audit_overhead": round(1 - with_audit.writes_per_s / without.writes_per_s, 4),
        "client_cpu_ms_per_write_without": round(without.client_cpu_ms_per_write, 3),
        "client_cpu_ms_per_write_with_audit": round(with_audit.client_cpu_ms_per_write, 3),
    }

    if not args.no_sealer_phase:
        log("sealing the events of the previous phase (not measured)")
        sealing.seal_pending()
        log(f"{w} writers with audit and a sealer every {args.seal_interval:g} s for {secs:g} s")
        with_sealer = run_writers(w, audit=True, warmup=warm, seconds=secs, sealer_interval=args.seal_interval)
        log(f"with audit and sealer: {with_sealer.writes_per_s:.1f} writes/s")
        figures |= {
            "writes_per_s_with_audit_and_sealer": round(with_sealer.writes_per_s, 1),
            "sealer_interval_s": args.seal_interval,
            "sealer_sealed": with_sealer.sealed_by_sealer,
            "unsealed_after_sealer_phase": sealing.unsealed_count(),
        }

    facts = server_facts()
    figures["machine"] = {
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "postgres": facts.pop("server_version"),
        "postgres_settings": facts,
        "database": source,
    }
    return figures


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    var_dir = tempfile.mkdtemp(prefix="gerbang-bench-var-")
    try:
        with postgres_server() as server, bench_database(server.url) as database:
            setup_django(with_database(server.url, database), var_dir)
            figures = bench(args, server.source)
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)
    figures["total_s"] = round(time.monotonic() - STARTED, 1)
    print(json.dumps(figures, sort_keys=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
