"""The witness's rule, with real signed notes and real RFC 6962 proofs."""

from __future__ import annotations

import base64

import pytest

from services.witness.witness import FetchError, decide
from tlog import note, rfc6962

from .support import MemoryLog


def _no_proof(first: int, second: int) -> list[bytes]:
    raise AssertionError(f"no proof should be needed ({first} -> {second})")


@pytest.fixture
def log() -> MemoryLog:
    log = MemoryLog()
    log.append(5)
    return log


def test_first_head_is_cosigned_on_trust(log: MemoryLog) -> None:
    decision = decide(None, log.sign(), log.verifier, _no_proof)
    assert decision.outcome == "cosigned"
    assert decision.checkpoint == log.head()


@pytest.mark.parametrize(("m", "n"), [(1, 2), (1, 8), (3, 7), (4, 8), (5, 16), (7, 8), (8, 13), (6, 21)])
def test_grown_log_with_valid_proof_is_cosigned(m: int, n: int) -> None:
    log = MemoryLog()
    log.append(n)
    decision = decide(log.head(0, m), log.sign(1), log.verifier, log.consistency_proof)
    assert decision.outcome == "cosigned", decision.reason
    assert decision.checkpoint == log.head(1)
    assert log.proofs_asked == [(m, n)]


def test_growth_from_the_empty_tree_needs_no_proof(log: MemoryLog) -> None:
    assert decide(log.head(0, 0), log.sign(1), log.verifier, _no_proof).outcome == "cosigned"


def test_corrupted_proof_is_refused(log: MemoryLog) -> None:
    last = log.head()
    log.append(6)
    log.corrupt_proofs = True
    decision = decide(last, log.sign(1), log.verifier, log.consistency_proof)
    assert decision.outcome == "refused"
    assert "consistency proof from 5 to 11" in decision.reason


@pytest.mark.parametrize("damage", ["drop", "extra", "empty"])
def test_truncated_or_padded_proof_is_refused(log: MemoryLog, damage: str) -> None:
    last = log.head()
    log.append(6)

    def proofs(first: int, second: int) -> list[bytes]:
        proof = log.consistency_proof(first, second)
        return {"drop": proof[:-1], "extra": [*proof, proof[0]], "empty": []}[damage]

    assert decide(last, log.sign(1), log.verifier, proofs).outcome == "refused"


def test_rewritten_history_is_refused_even_with_a_valid_proof_of_the_fork(log: MemoryLog) -> None:
    """The log rewrites event 2 and grows: its own proofs are consistent, but not with what was cosigned."""
    last = log.head()
    log.leaves[2] = rfc6962.leaf_hash(b"rewritten")
    log.append(3)
    decision = decide(last, log.sign(1), log.verifier, log.consistency_proof)
    assert decision.outcome == "refused"


def test_shrunk_log_is_refused(log: MemoryLog) -> None:
    decision = decide(log.head(0), log.sign(1, size=4), log.verifier, _no_proof)
    assert decision.outcome == "refused"
    assert decision.reason == "the log shrank from 5 to 4 entries"


def test_same_size_different_root_is_refused(log: MemoryLog) -> None:
    last = log.head()
    log.leaves[4] = rfc6962.leaf_hash(b"another last event")
    decision = decide(last, log.sign(1), log.verifier, _no_proof)
    assert decision.outcome == "refused"
    assert decision.reason == "same size 5, different root"


def test_same_head_is_unchanged_and_a_fresher_one_is_cosigned(log: MemoryLog) -> None:
    last = log.head(3)
    assert decide(last, log.sign(3), log.verifier, _no_proof).outcome == "unchanged"
    fresher = decide(last, log.sign(4), log.verifier, _no_proof)
    assert fresher.outcome == "cosigned"
    assert fresher.checkpoint == log.head(4)


@pytest.mark.parametrize("grow", [0, 3])
def test_older_timestamp_is_refused(log: MemoryLog, grow: int) -> None:
    last = log.head(10)
    log.append(grow)
    decision = decide(last, log.sign(9), log.verifier, log.consistency_proof)
    assert decision.outcome == "refused"
    assert "older than 2026-01-01T08:10:00Z" in decision.reason


def test_note_signed_by_another_key_is_refused(log: MemoryLog) -> None:
    impostor = MemoryLog(name=log.signer.name)  # same name, other key
    impostor.leaves = list(log.leaves)
    decision = decide(None, impostor.sign(), log.verifier, _no_proof)
    assert decision.outcome == "refused"
    assert "does not verify with the log key" in decision.reason


def test_forged_signature_is_refused(log: MemoryLog) -> None:
    text = log.sign()
    forged = text.replace(f"\n{log.head().size}\n", "\n6\n", 1)
    assert forged != text
    assert decide(None, forged, log.verifier, _no_proof).outcome == "refused"


def test_note_for_another_origin_is_refused(log: MemoryLog) -> None:
    head = note.Checkpoint("elsewhere.test/log", 5, log.head().root, log.head().time)
    decision = decide(None, log.signer.sign_checkpoint(head), log.verifier, _no_proof)
    assert decision.outcome == "refused"
    assert "origin" in decision.reason


def test_a_failing_fetch_is_not_a_decision(log: MemoryLog) -> None:
    last = log.head()
    log.append(1)

    def unreachable(first: int, second: int) -> list[bytes]:
        raise FetchError("connection refused")

    with pytest.raises(FetchError):
        decide(last, log.sign(1), log.verifier, unreachable)


def test_a_head_from_the_future_is_refused(log: MemoryLog) -> None:
    now = log.head(0).time
    assert decide(None, log.sign(4), log.verifier, _no_proof, now).outcome == "cosigned"
    decision = decide(None, log.sign(6), log.verifier, _no_proof, now)
    assert decision.outcome == "refused" and "in the future" in decision.reason


def test_a_planted_cosignature_line_does_not_hide_the_real_one(log: MemoryLog) -> None:
    witness = note.Signer.generate("witness.test", note.ALG_COSIGNATURE_V1)
    head = log.head()
    text = log.sign()
    planted = text + f"\u2014 witness.test {base64.b64encode(witness.key_id + bytes(72)).decode()}\n"
    cosigned = note.add_signature(planted, witness.cosign(head, head.time))
    assert witness.verifier().verify_cosignature(cosigned)[0] == head
    with pytest.raises(note.NoteError):
        witness.verifier().verify_cosignature(planted)
