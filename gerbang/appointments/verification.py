"""Anyone can recompute a draw from its public record (docs/lottery.md): this is Gerbang's own check of it."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from gerbang.audit.witness_client import WitnessUnavailable, witness_verifier
from tlog import draws as draw_messages

from . import draw as lottery
from .models import Booking, Draw, LotteryRequest


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str = ""


def public_record(draw: Draw) -> dict[str, Any]:
    """What the public page publishes. Gerbang's secret only once the draw is done (after the witness revealed)."""
    release = draw.release
    record: dict[str, Any] = {
        "draw": draw.public_id,
        "office": release.office.code,
        "days": [release.first_day.isoformat(), release.last_day.isoformat()],
        "committed_at": release.created_at.isoformat(),
        "window_opens_at": release.window_opens_at.isoformat(),
        "window_closes_at": release.window_closes_at.isoformat(),
        "gerbang_commitment": draw.gerbang_commitment,
        "witness_commitment": draw.witness_commitment,
        "witness_commit_signature": draw.witness_commit_signature,
        "drawn": draw.drawn_at is not None,
    }
    if draw.drawn_at is None:
        return record
    return record | {
        "root": draw.root,
        "request_count": draw.request_count,
        "gerbang_secret": draw.gerbang_secret,
        "witness_secret": draw.witness_secret,
        "witness_reveal_signature": draw.witness_reveal_signature,
        "capacity": draw.capacity,
        "requests": [
            {"id": r.pseudonym, "priority": r.priority, "choices": r.choices}
            for r in release.requests.order_by("pseudonym")
        ],
        "result": draw.result,
        "result_digest": draw.result_digest,
        "drawn_at": draw.drawn_at.isoformat(),
    }


def verify(draw: Draw) -> list[Check]:
    """Every check of docs/lottery.md on the stored record, and that the bookings made are the ones drawn."""
    if draw.drawn_at is None:
        return [Check("drawn", False, "the draw has not run yet")]
    record = public_record(draw)
    checks = [
        Check(
            "Gerbang's secret matches its commitment",
            lottery.check_commitment(bytes.fromhex(draw.gerbang_secret), draw.gerbang_commitment),
        ),
        Check(
            "the witness's secret matches its commitment",
            lottery.check_commitment(bytes.fromhex(draw.witness_secret), draw.witness_commitment),
        ),
    ]
    try:
        public = witness_verifier().public
        messages = {
            "the witness signed its commitment": (
                draw_messages.commit_message(
                    draw.public_id,
                    draw.witness_commitment,
                    draw.release.window_closes_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                ),
                draw.witness_commit_signature,
            ),
            "the witness signed its reveal for this root": (
                draw_messages.reveal_message(
                    draw.public_id, draw.witness_commitment, draw.root, draw.request_count or 0, draw.witness_secret
                ),
                draw.witness_reveal_signature,
            ),
        }
        for name, (message, signature) in messages.items():
            try:
                draw_messages.verify(public, message, signature)
                checks.append(Check(name, True))
            except ValueError as exc:  # a bad signature, or a malformed record
                checks.append(Check(name, False, str(exc)))
    except WitnessUnavailable as exc:
        checks.append(Check("the witness's signatures", False, str(exc)))
    requests = [lottery.Request(r["id"], r["priority"], tuple(r["choices"])) for r in record["requests"]]
    try:
        root = lottery.request_root(requests).hex()
    except ValueError as exc:  # a malformed request in the record
        return [*checks, Check("the root is the Merkle root of the published requests", False, str(exc))]
    checks.append(
        Check(
            "the root is the Merkle root of the published requests",
            root == draw.root and len(requests) == draw.request_count,
            f"{len(requests)} requests give root {root}; published {draw.request_count} with {draw.root}",
        )
    )
    try:
        _root, _seed, result = lottery.result_for(
            bytes.fromhex(draw.gerbang_secret), bytes.fromhex(draw.witness_secret), requests, draw.capacity
        )
    except ValueError as exc:  # a record that cannot even be drawn (a choice outside the capacity...)
        checks.append(Check("the result recomputed from the record has the published digest", False, str(exc)))
        return checks
    checks.append(
        Check(
            "the result recomputed from the record has the published digest",
            result.digest() == draw.result_digest and json.loads(result.canonical_json()) == draw.result,
            f"recomputed {result.digest()}",
        )
    )
    booked = {
        b.request.pseudonym: b.slot.group  # type: ignore[union-attr]  # lottery bookings carry their request
        for b in Booking.objects.filter(request__release=draw.release, source=Booking.Source.LOTTERY).select_related(
            "request", "slot__office"
        )
    }
    drawn = {pseudonym: group for pseudonym, (group, _pool) in result.allocations.items()}
    forfeited = set(
        draw.release.requests.filter(outcome=LotteryRequest.Outcome.FORFEITED).values_list("pseudonym", flat=True)
    )
    checks.append(
        Check(
            "the lottery's bookings are exactly the allocations (less those forfeited)",
            booked == {p: g for p, g in drawn.items() if p not in forfeited} and forfeited <= set(drawn),
        )
    )
    return checks
