"""The Merkle tree over sealed events, kept as perfect subtrees in ``audit_treenode``.

``TreeNode.key = level << 56 | index``. The tree of size ``n`` is the
right-to-left fold of the perfect subtrees that make up ``[0, n)``; any range
an RFC 6962 proof asks for decomposes the same way, so roots and proofs take
O(log n) stored nodes, fetched in one query.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import connection

from tlog import rfc6962

from .models import TreeNode

LEVEL_SHIFT = 56


def node_key(level: int, index: int) -> int:
    return (level << LEVEL_SHIFT) | index


def _fetch(keys: set[int]) -> dict[int, bytes]:
    found = {key: bytes(h) for key, h in TreeNode.objects.filter(key__in=keys).values_list("key", "hash")}
    missing = keys - found.keys()
    if missing:
        raise LookupError(f"the Merkle node store lacks {len(missing)} node(s), e.g. key {min(missing)}")
    return found


class Appender:
    """Appends leaves to the stored tree, writing each perfect subtree once complete."""

    def __init__(self, size: int, frontier: list[tuple[int, int, bytes]]) -> None:
        self.size = size
        self._stack = frontier  # (level, index, hash), left to right
        self._new: list[tuple[int, bytes]] = []

    @classmethod
    def at(cls, size: int) -> Appender:
        parts = rfc6962.perfect_subtrees(0, size)
        hashes = _fetch({node_key(level, index) for level, index in parts}) if parts else {}
        return cls(size, [(level, index, hashes[node_key(level, index)]) for level, index in parts])

    def append_entry(self, entry: bytes) -> bytes:
        leaf = rfc6962.leaf_hash(entry)
        self.append_leaf(leaf)
        return leaf

    def append_leaf(self, leaf: bytes) -> None:
        level, index, h = 0, self.size, leaf
        self._new.append((node_key(0, index), h))
        while self._stack and self._stack[-1][0] == level:
            _, left_index, left = self._stack.pop()
            level, index, h = level + 1, left_index >> 1, rfc6962.node_hash(left, h)
            self._new.append((node_key(level, index), h))
        self._stack.append((level, index, h))
        self.size += 1

    def root(self) -> bytes:
        return rfc6962.fold_right([h for _, _, h in self._stack])

    def save(self) -> None:
        if not self._new:
            return
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                keys, hashes = (list(column) for column in zip(*self._new, strict=True))
                cursor.execute(
                    "INSERT INTO audit_treenode (key, hash) SELECT * FROM unnest(%s::bigint[], %s::bytea[])",
                    [keys, hashes],
                )
            else:
                cursor.executemany("INSERT INTO audit_treenode (key, hash) VALUES (%s, %s)", self._new)
        self._new = []


class StoredTree:
    """Read side: roots and proofs for any size up to the sealed size."""

    def __init__(self, size: int) -> None:
        self.size = size

    def _run(self, compute: Callable[[rfc6962.Mth], list[bytes]]) -> list[bytes]:
        # First pass records which ranges the algorithm needs (its control flow
        # does not depend on hash values), then one query fetches them all.
        ranges: list[tuple[int, int]] = []

        def record(start: int, end: int) -> bytes:
            ranges.append((start, end))
            return rfc6962.EMPTY_ROOT

        compute(record)
        keys = {node_key(lv, ix) for start, end in ranges for lv, ix in rfc6962.perfect_subtrees(start, end)}
        nodes = _fetch(keys) if keys else {}

        def mth(start: int, end: int) -> bytes:
            return rfc6962.fold_right([nodes[node_key(lv, ix)] for lv, ix in rfc6962.perfect_subtrees(start, end)])

        return compute(mth)

    def root(self, size: int | None = None) -> bytes:
        size = self.size if size is None else size
        if size == 0:
            return rfc6962.EMPTY_ROOT
        return self._run(lambda mth: [mth(0, size)])[0]

    def leaf(self, index: int) -> bytes:
        return _fetch({node_key(0, index)})[node_key(0, index)]

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        self._check_size(size)
        return self._run(lambda mth: rfc6962.inclusion_proof(index, size, mth))

    def consistency_proof(self, size1: int, size2: int) -> list[bytes]:
        self._check_size(size2)
        return self._run(lambda mth: rfc6962.consistency_proof(size1, size2, mth))

    def _check_size(self, size: int) -> None:
        if size > self.size:
            raise rfc6962.ProofError(f"the log has {self.size} sealed events, not {size}")
