"""Sealing: give recorded events their place in the hash chain and Merkle tree.

A request's transaction only inserts its event. The sealer (the ``sealer``
process running ``manage.py audit_sealer``, or ``seal_pending()`` directly)
takes committed unsealed events in id order, in batches, and for each assigns

- ``seq``: the next sequence number (1, 2, ...);
- ``prev_hash``: the previous entry's hash (``GENESIS_HASH`` for seq 1);
- ``entry_hash``: SHA-256 of the canonical entry (:func:`canonical_entry`);

and stores the Merkle leaf ``SHA-256(0x00 || entry)`` and every perfect
subtree the batch completes (:mod:`gerbang.audit.tree`). One sealer runs at a
time: on PostgreSQL a transaction-scoped advisory lock (a second sealer skips
its turn), on SQLite the IMMEDIATE write transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from . import tree
from .models import AuditEvent

GENESIS_HASH = "0" * 64
FORMAT_VERSION = 1
BATCH_SIZE = 5000
# pg_advisory_xact_lock key: "GERBANG" sealer, any constant of our own.
_SEALER_LOCK_KEY = 0x6765726261_6E67

EVENT_FIELDS = ("id", "occurred_at", "actor_id", "office_id", "action", "object_type", "object_id", "details")


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_entry(seq: int, prev_hash: str, event: dict[str, Any]) -> bytes:
    """The bytes that are hashed: UTF-8 JSON, keys sorted, no whitespace.

    docs/audit-log.md documents the format; changing it needs a new
    ``FORMAT_VERSION``.
    """
    document = {
        "v": FORMAT_VERSION,
        "seq": seq,
        "prev": prev_hash,
        "time": format_time(event["occurred_at"]),
        "actor": event["actor_id"],
        "office": event["office_id"],
        "action": event["action"],
        "object": {"type": event["object_type"], "id": event["object_id"]},
        "details": event["details"],
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def entry_hash(entry: bytes) -> str:
    return hashlib.sha256(entry).hexdigest()


@dataclass
class ChainHead:
    size: int
    last_hash: str


def chain_head() -> ChainHead:
    last = AuditEvent.objects.filter(seq__isnull=False).order_by("-seq").values_list("seq", "entry_hash").first()
    if last is None or last[0] is None:
        return ChainHead(0, GENESIS_HASH)
    return ChainHead(last[0], last[1])


def _take_sealer_lock() -> bool:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_SEALER_LOCK_KEY])
            row = cursor.fetchone()
            return bool(row and row[0])
    return True  # SQLite: the IMMEDIATE transaction already holds the write lock


def seal_batch(batch_size: int = BATCH_SIZE) -> int:
    """Seal up to ``batch_size`` committed events; return how many were sealed."""
    with transaction.atomic():
        if not _take_sealer_lock():
            return 0
        pending = list(AuditEvent.objects.filter(seq__isnull=True).order_by("id").values(*EVENT_FIELDS)[:batch_size])
        if not pending:
            return 0
        head = chain_head()
        builder = tree.Appender.at(head.size)
        updates: list[tuple[int, str, str, int]] = []  # (seq, prev_hash, entry_hash, id)
        seq, prev = head.size, head.last_hash
        for event in pending:
            seq += 1
            entry = canonical_entry(seq, prev, event)
            digest = entry_hash(entry)
            builder.append_entry(entry)
            updates.append((seq, prev, digest, event["id"]))
            prev = digest
        _write_seals(updates, timezone.now())
        builder.save()
        return len(pending)


class SealingConflict(RuntimeError):
    """Rows changed under the sealer (they were no longer unsealed): the batch is rolled back."""


def _write_seals(updates: list[tuple[int, str, str, int]], now: datetime) -> None:
    """Write a batch's seal columns: one statement on PostgreSQL, executemany on SQLite."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            seqs, prevs, digests, ids = (list(column) for column in zip(*updates, strict=True))
            cursor.execute(
                "UPDATE audit_auditevent AS e SET seq = u.seq, prev_hash = u.prev, entry_hash = u.digest, "
                "sealed_at = %s FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::bigint[]) "
                "AS u(seq, prev, digest, id) WHERE e.id = u.id AND e.seq IS NULL",
                [now, seqs, prevs, digests, ids],
            )
            written = cursor.rowcount
        else:
            stamp = connection.ops.adapt_datetimefield_value(now)
            cursor.executemany(
                "UPDATE audit_auditevent SET seq = %s, prev_hash = %s, entry_hash = %s, sealed_at = %s "
                "WHERE id = %s AND seq IS NULL",
                [(seq, prev, digest, stamp, pk) for seq, prev, digest, pk in updates],
            )
            written = cursor.rowcount
    if written != len(updates):
        raise SealingConflict(f"sealed {written} of {len(updates)} events; another writer interfered")


def seal_pending(batch_size: int = BATCH_SIZE) -> int:
    """Seal every committed event, batch by batch; return how many were sealed."""
    total = 0
    while True:
        sealed = seal_batch(batch_size)
        total += sealed
        if sealed < batch_size:
            return total


def sealing_lag_seconds(now: datetime | None = None) -> float:
    """Age of the oldest unsealed event (0 when everything is sealed)."""
    oldest = AuditEvent.objects.filter(seq__isnull=True).order_by("id").values_list("occurred_at", flat=True).first()
    if oldest is None:
        return 0.0
    return max(0.0, ((now or timezone.now()) - oldest).total_seconds())


def unsealed_count() -> int:
    return AuditEvent.objects.filter(seq__isnull=True).count()


def iter_sealed(chunk: int = 5000, up_to: int | None = None) -> Iterable[dict[str, Any]]:
    """Sealed events in sequence order, with their stored seal columns."""
    fields = (*EVENT_FIELDS, "seq", "prev_hash", "entry_hash")
    after = 0
    while True:
        query = AuditEvent.objects.filter(seq__gt=after).order_by("seq")
        if up_to is not None:
            query = query.filter(seq__lte=up_to)
        rows = list(query.values(*fields)[:chunk])
        if not rows:
            return
        yield from rows
        after = rows[-1]["seq"]
