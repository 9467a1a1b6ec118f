"""Recompute the sealed log and compare it with signed heads.

Checks, in sequence order: the numbers run 1, 2, 3, ... without gaps; each
``prev_hash`` is the previous entry's hash; each ``entry_hash`` is SHA-256 of
the canonical entry rebuilt from the row; each Merkle leaf in the node store
is ``SHA-256(0x00 || entry)``. Then the recomputed root at each reference
head's size must equal that head's root. The first problem is reported with
the sequence number where the log stops being what was sealed.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from tlog import note, rfc6962

from . import sealing
from .models import TreeNode


@dataclass(frozen=True)
class Reference:
    """A signed head to compare with, and where it came from."""

    checkpoint: note.Checkpoint
    source: str


@dataclass
class Problem:
    seq: int | None
    message: str


@dataclass
class Report:
    sealed: int = 0
    unsealed: int = 0
    root: bytes = rfc6962.EMPTY_ROOT
    problems: list[Problem] = field(default_factory=list)
    matched: list[Reference] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems

    @property
    def first_wrong_seq(self) -> int | None:
        return self.problems[0].seq if self.problems else None


def verify_log(references: list[Reference], chunk: int = 5000) -> Report:
    report = Report(unsealed=sealing.unsealed_count())
    wanted: dict[int, list[Reference]] = {}
    for ref in references:
        wanted.setdefault(ref.checkpoint.size, []).append(ref)
    roots: dict[int, bytes] = {}
    if 0 in wanted:
        roots[0] = rfc6962.EMPTY_ROOT
    tree = rfc6962.CompactRange()
    expected, prev = 1, sealing.GENESIS_HASH
    stored_leaves: dict[int, bytes] = {}
    problem: Problem | None = None
    for row in sealing.iter_sealed(chunk):
        seq = row["seq"]
        if seq != expected:
            problem = Problem(expected, f"sequence number {expected} is missing (the next sealed event is {seq})")
            break
        if row["prev_hash"] != prev:
            problem = Problem(seq, f"event {seq}: its previous hash is not the hash of event {seq - 1}")
            break
        entry = sealing.canonical_entry(seq, row["prev_hash"], row)
        digest = sealing.entry_hash(entry)
        if digest != row["entry_hash"]:
            problem = Problem(seq, f"event {seq}: its content does not match its entry hash")
            break
        leaf = rfc6962.leaf_hash(entry)
        if seq - 1 not in stored_leaves:
            stored_leaves = _stored_leaves(seq - 1, chunk)
        if stored_leaves.get(seq - 1) != leaf:
            problem = Problem(seq, f"event {seq}: the Merkle leaf stored when it was sealed differs")
            break
        tree.append(leaf)
        if tree.size in wanted:
            roots[tree.size] = tree.root()
        prev = digest
        expected += 1
    report.sealed = tree.size
    # (A gap needs no check after the loop: iteration crosses gaps, so the row
    # after one arrives with the wrong number. Events sealed while we verify
    # are simply verified too.)
    if problem is not None:
        report.problems.append(problem)
        return report
    report.root = tree.root()
    for size, refs in sorted(wanted.items()):
        for ref in refs:
            if size > tree.size:
                report.problems.append(
                    Problem(
                        tree.size + 1,
                        f"{ref.source} covers {size} events but the log has only {tree.size}: "
                        f"events from {tree.size + 1} on are gone",
                    )
                )
            elif roots[size] != ref.checkpoint.root:
                report.problems.append(
                    Problem(
                        None,
                        f"the first {size} events no longer match {ref.source} "
                        f"(root {base64.b64encode(ref.checkpoint.root).decode()}); "
                        f"an event between 1 and {size} was changed, inserted, removed or reordered "
                        "and the hashes after it recomputed",
                    )
                )
            else:
                report.matched.append(ref)
    return report


def _stored_leaves(first_index: int, chunk: int) -> dict[int, bytes]:
    rows = TreeNode.objects.filter(key__gte=first_index, key__lt=first_index + chunk).values_list("key", "hash")
    return {int(k): bytes(h) for k, h in rows}
