"""RFC 6962 (and RFC 9162 section 2.1) Merkle trees.

Leaf hash ``SHA-256(0x00 || entry)``, interior node ``SHA-256(0x01 || left ||
right)``. Proofs are built from a function ``mth(start, end)`` returning the
Merkle tree hash of leaves ``[start, end)``, so the same code serves an
in-memory list and the database's node store. Verification follows RFC 9162
section 2.1.3.2 and 2.1.4.2 and is checked against the transparency-dev test
vectors (../shared/vectors).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

Mth = Callable[[int, int], bytes]


class ProofError(ValueError):
    """A proof is malformed or does not prove what it claims."""


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_from_leaves(leaves: Sequence[bytes]) -> bytes:
    """Merkle tree hash of leaf hashes, computed level by level (no recursion)."""
    if not leaves:
        return EMPTY_ROOT
    # Fold perfect subtrees as on a stack, then join the right edge.
    stack: list[tuple[int, bytes]] = []  # (size, hash)
    for leaf in leaves:
        size, h = 1, leaf
        while stack and stack[-1][0] == size:
            left_size, left = stack.pop()
            size, h = left_size + size, node_hash(left, h)
        stack.append((size, h))
    size, h = stack.pop()
    while stack:
        _, left = stack.pop()
        h = node_hash(left, h)
    return h


def memory_mth(leaves: Sequence[bytes]) -> Mth:
    """``mth`` over an in-memory list of leaf hashes (tests, small trees)."""

    def mth(start: int, end: int) -> bytes:
        return root_from_leaves(leaves[start:end])

    return mth


def inclusion_proof(index: int, size: int, mth: Mth) -> list[bytes]:
    """RFC 6962 PATH(index, D[0:size])."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    proof: list[bytes] = []
    start, end, m = 0, size, index
    while end - start > 1:
        k = split_point(end - start)
        if m < k:
            proof.append(mth(start + k, end))
            end = start + k
        else:
            proof.append(mth(start, start + k))
            start, m = start + k, m - k
    proof.reverse()
    return proof


def consistency_proof(size1: int, size2: int, mth: Mth) -> list[bytes]:
    """RFC 6962 PROOF(size1, D[0:size2]) (SUBPROOF with b = true)."""
    if not 0 < size1 <= size2:
        raise ProofError(f"no consistency proof from size {size1} to size {size2}")
    proof: list[bytes] = []
    start, end, m, complete = 0, size2, size1, True
    while m != end - start:
        k = split_point(end - start)
        if m <= k:
            proof.append(mth(start + k, end))
            end = start + k
        else:
            proof.append(mth(start, start + k))
            start, m, complete = start + k, m - k, False
    if not complete:
        proof.append(mth(start, end))
    proof.reverse()
    return proof


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> None:
    """Raise :class:`ProofError` unless ``proof`` proves ``leaf`` at ``index`` in ``root``."""
    if index < 0 or index >= size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    _check_hashes(leaf, root, *proof)
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError("inclusion proof is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion proof is too short")
    if r != root:
        raise ProofError("inclusion proof does not lead to the root")


def verify_consistency(size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]) -> None:
    """Raise :class:`ProofError` unless the tree of ``size2`` extends the tree of ``size1``."""
    if size1 < 0 or size2 < size1:
        raise ProofError(f"size1 ({size1}) is greater than size2 ({size2})")
    if size1 == 0:
        raise ProofError("a consistency proof from the empty tree proves nothing")
    if size1 == size2:
        if proof:
            raise ProofError("trees of equal size need an empty proof")
        if root1 != root2:
            raise ProofError("trees of equal size have different roots")
        return
    if not proof:
        raise ProofError("empty consistency proof")
    _check_hashes(root1, root2, *proof)
    path = list(proof)
    if size1 & (size1 - 1) == 0:  # a power of two: the old root is the first node
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof is too short")
    if fr != root1:
        raise ProofError("consistency proof does not lead to the old root")
    if sr != root2:
        raise ProofError("consistency proof does not lead to the new root")


def _check_hashes(*hashes: bytes) -> None:
    for h in hashes:
        if len(h) != HASH_SIZE:
            raise ProofError(f"a hash is {len(h)} bytes long, not {HASH_SIZE}")


def perfect_subtrees(start: int, end: int) -> list[tuple[int, int]]:
    """Split ``[start, end)`` (``start`` aligned as in RFC 6962 recursion) into
    aligned perfect subtrees, left to right, as ``(level, index)`` pairs.

    ``mth(start, end)`` is then the right-to-left fold of their hashes.
    """
    parts: list[tuple[int, int]] = []
    while start < end:
        n = end - start
        size = 1 << (n.bit_length() - 1)  # largest power of two <= n
        # An aligned block: RFC 6962 recursion only asks for ranges whose
        # left parts start at multiples of their size.
        while start % size:
            size >>= 1
        level = size.bit_length() - 1
        parts.append((level, start >> level))
        start += size
    return parts


def fold_right(hashes: Sequence[bytes]) -> bytes:
    """Join perfect-subtree hashes of a range from the right edge inwards."""
    if not hashes:
        return EMPTY_ROOT
    h = hashes[-1]
    for left in reversed(hashes[:-1]):
        h = node_hash(left, h)
    return h


class CompactRange:
    """Root of a growing tree in O(log n) memory: the perfect subtrees of its right edge."""

    def __init__(self) -> None:
        self.size = 0
        self._stack: list[tuple[int, bytes]] = []  # (level, hash)

    def append(self, leaf: bytes) -> None:
        level, h = 0, leaf
        while self._stack and self._stack[-1][0] == level:
            _, left = self._stack.pop()
            level, h = level + 1, node_hash(left, h)
        self._stack.append((level, h))
        self.size += 1

    def root(self) -> bytes:
        return fold_right([h for _, h in self._stack])
