"""Sealing: sequence numbers, the hash chain and the stored Merkle tree."""

from __future__ import annotations

import hashlib

import pytest
from django.db import transaction

from gerbang.audit import sealing
from gerbang.audit.actions import record
from gerbang.audit.models import AuditEvent
from gerbang.audit.tree import StoredTree
from gerbang.conftest import build_office, build_user
from tlog import rfc6962

pytestmark = pytest.mark.django_db


def _record(n: int, **details: object) -> list[int]:
    user = build_user()
    office = build_office()
    ids = []
    with transaction.atomic():
        for i in range(n):
            ids.append(record("test.sealing", actor=user, obj=user, office=office, details={"i": i, **details}).pk)
    return ids


def test_a_request_only_inserts_its_event_and_the_sealer_chains_it() -> None:
    ids = _record(3, reason="kode-7", nested={"a": [1, "dua", None, True]})
    assert AuditEvent.objects.filter(pk__in=ids, seq__isnull=True).count() == 3
    before = sealing.chain_head()

    sealed = sealing.seal_pending(batch_size=2)  # two batches

    assert sealed >= 3
    rows = list(AuditEvent.objects.filter(seq__gt=before.size).order_by("seq"))
    assert [r.seq for r in rows] == list(range(before.size + 1, before.size + 1 + len(rows)))
    prev = before.last_hash
    for row in rows:
        assert row.prev_hash == prev
        entry = sealing.canonical_entry(row.seq or 0, row.prev_hash, _fields(row))
        assert row.entry_hash == hashlib.sha256(entry).hexdigest()
        assert row.sealed_at is not None
        prev = row.entry_hash
    assert {r.pk for r in rows} >= set(ids)
    assert sealing.unsealed_count() == 0
    assert sealing.sealing_lag_seconds() == 0.0


def test_the_stored_tree_matches_a_tree_built_from_the_entries() -> None:
    _record(11)
    sealing.seal_pending(batch_size=4)
    rows = list(AuditEvent.objects.filter(seq__isnull=False).order_by("seq"))
    leaves = [rfc6962.leaf_hash(sealing.canonical_entry(r.seq or 0, r.prev_hash, _fields(r))) for r in rows]
    tree = StoredTree(len(rows))
    for size in {1, 2, 3, len(rows) // 2, len(rows) - 1, len(rows)} - {0}:
        assert tree.root(size) == rfc6962.root_from_leaves(leaves[:size])
    mth = rfc6962.memory_mth(leaves)
    n = len(rows)
    for index in (0, n // 3, n - 1):
        assert tree.inclusion_proof(index, n) == rfc6962.inclusion_proof(index, n, mth)
    for size1 in (1, n // 2, n - 1):
        assert tree.consistency_proof(size1, n) == rfc6962.consistency_proof(size1, n, mth)


def test_sealing_twice_seals_nothing_new_and_a_late_event_gets_the_next_number() -> None:
    _record(2)
    sealing.seal_pending()
    head = sealing.chain_head()
    assert sealing.seal_pending() == 0
    (late,) = _record(1)
    sealing.seal_pending()
    assert AuditEvent.objects.get(pk=late).seq == head.size + 1
    assert AuditEvent.objects.get(pk=late).prev_hash == head.last_hash


def test_the_lag_is_the_age_of_the_oldest_unsealed_event() -> None:
    sealing.seal_pending()
    _record(1)
    lag = sealing.sealing_lag_seconds()
    assert 0.0 <= lag < 60
    assert sealing.unsealed_count() == 1


@pytest.mark.parametrize("bad", [1.5, {"x": float("nan")}, {1: "int key"}, b"bytes", "nul\x00"])
def test_details_must_serialise_canonically(bad: object) -> None:
    user = build_user()
    with pytest.raises(ValueError), transaction.atomic():
        record("test.bad_details", actor=user, details={"value": bad})


def _fields(row: AuditEvent) -> dict[str, object]:
    return {name: getattr(row, name) for name in sealing.EVENT_FIELDS}
