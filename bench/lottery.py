"""Lottery bench: 100,000 requests for 5,000 slots drawn, then verified from the published record (docs/lottery.md).

    .venv/bin/python bench/lottery.py [--requests 100000] [--slots 5000] [--groups 1000] [--priority-share 0.2]

This measures the draw's computation only (gerbang/appointments/draw.py): the
Merkle root of the requests, the seed, the tickets, the allocation and the
result digest (``draw_s``); and a verifier's work from the public JSON record
(parse it, check both commitments, recompute root and digest: ``verify_s``).
Loading the requests from PostgreSQL and writing the bookings are not in it
yet (the closing note of issue 6 says so). Figures: one JSON object on the last
line.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import secrets
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from gerbang.appointments import draw


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--slots", type=int, default=5_000, help="places, spread over --groups slot groups")
    parser.add_argument("--groups", type=int, default=1_000, help="slot groups (office/day/part of day)")
    parser.add_argument("--priority-share", type=float, default=0.2, help="share of priority requests and places")
    parser.add_argument("--seed", type=int, default=20261128)
    args = parser.parse_args(argv)
    if min(args.requests, args.slots, args.groups) < 1 or args.slots < args.groups:
        parser.error("counts must be positive, with at least one place per group")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rng = random.Random(args.seed)
    groups = [
        f"kanim-bench/2026-12-{1 + g // 2 % 28:02d}/{'am' if g % 2 == 0 else 'pm'}-{g}" for g in range(args.groups)
    ]
    per_group = args.slots // args.groups
    priority_places = max(0, round(per_group * args.priority_share))
    capacity = {g: {"priority": priority_places, "general": per_group - priority_places} for g in groups}
    requests = [
        draw.Request(secrets.token_hex(16), rng.random() < args.priority_share, tuple(rng.sample(groups, 3)))
        for _ in range(args.requests)
    ]
    gerbang_secret, witness_secret = secrets.token_bytes(32), secrets.token_bytes(32)

    started = time.perf_counter()
    root, seed, result = draw.result_for(gerbang_secret, witness_secret, requests, capacity)
    digest = result.digest()
    draw_s = time.perf_counter() - started

    record = json.dumps(
        {
            "gerbang_commitment": hashlib.sha256(gerbang_secret).hexdigest(),
            "witness_commitment": hashlib.sha256(witness_secret).hexdigest(),
            "gerbang_secret": gerbang_secret.hex(),
            "witness_secret": witness_secret.hex(),
            "root": root.hex(),
            "capacity": capacity,
            "requests": [{"id": r.id, "priority": r.priority, "choices": list(r.choices)} for r in requests],
            "result_digest": digest,
        }
    )
    started = time.perf_counter()
    published = json.loads(record)
    ok = draw.check_commitment(bytes.fromhex(published["gerbang_secret"]), published["gerbang_commitment"])
    ok &= draw.check_commitment(bytes.fromhex(published["witness_secret"]), published["witness_commitment"])
    again = [draw.Request(r["id"], r["priority"], tuple(r["choices"])) for r in published["requests"]]
    root_again, _seed, result_again = draw.result_for(
        bytes.fromhex(published["gerbang_secret"]), bytes.fromhex(published["witness_secret"]), again, capacity
    )
    ok &= root_again.hex() == published["root"] and result_again.digest() == published["result_digest"]
    verify_s = time.perf_counter() - started

    placed = len(result.allocations)
    figures: dict[str, Any] = {
        "requests": args.requests,
        "slots": per_group * args.groups,
        "draw_s": round(draw_s, 2),
        "verify_s": round(verify_s, 2),
        "verified": ok,
        "allocated": placed,
        "waiting": len(result.waiting),
        "record_mib": round(len(record) / 2**20, 1),
        "seed_hex": seed.hex()[:16],
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "database": "none (computation only)",
    }
    print(json.dumps(figures), flush=True)
    return 0 if ok and placed <= figures["slots"] else 1


if __name__ == "__main__":
    sys.exit(main())
