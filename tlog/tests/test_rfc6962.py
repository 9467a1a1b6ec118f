"""RFC 6962 proofs against the transparency-dev vectors in ../shared/vectors."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from tlog import rfc6962

VECTORS = Path(__file__).resolve().parents[2].parent / "shared" / "vectors" / "rfc6962-transparency-dev"

# The reference tree of RFC 6962 tests (README beside the vectors).
REFERENCE_ENTRIES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
]
REFERENCE_LEAVES = [rfc6962.leaf_hash(e) for e in REFERENCE_ENTRIES]


def _files(kind: str) -> list[Path]:
    files = sorted((VECTORS / kind).rglob("*.json"))
    assert files, f"no {kind} vectors under {VECTORS}"
    return files


def _b64(value: str) -> bytes:
    return base64.b64decode(value)


def _id(path: Path) -> str:
    return str(path.relative_to(VECTORS))


def test_vectors_are_all_there() -> None:
    assert len(_files("inclusion")) + len(_files("consistency")) == 196


def test_known_answers() -> None:
    assert rfc6962.EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert rfc6962.leaf_hash(b"").hex() == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    root = rfc6962.root_from_leaves(REFERENCE_LEAVES)
    assert root.hex() == "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"


@pytest.mark.parametrize("path", _files("inclusion"), ids=_id)
def test_inclusion_vector(path: Path) -> None:
    v = json.loads(path.read_text())
    args = (v["leafIdx"], v["treeSize"], _b64(v["leafHash"]), [_b64(p) for p in v["proof"] or []], _b64(v["root"]))
    if v["wantErr"]:
        with pytest.raises(rfc6962.ProofError):
            rfc6962.verify_inclusion(*args)
    else:
        rfc6962.verify_inclusion(*args)


@pytest.mark.parametrize("path", _files("consistency"), ids=_id)
def test_consistency_vector(path: Path) -> None:
    v = json.loads(path.read_text())
    args = (v["size1"], v["size2"], _b64(v["root1"]), _b64(v["root2"]), [_b64(p) for p in v["proof"] or []])
    if v["wantErr"]:
        with pytest.raises(rfc6962.ProofError):
            rfc6962.verify_consistency(*args)
    else:
        rfc6962.verify_consistency(*args)


def _happy(kind: str) -> list[dict]:
    out = [json.loads(p.read_text()) for p in _files(kind) if p.name == "happy-path.json"]
    assert out
    return out


def test_built_inclusion_proofs_equal_the_happy_path_vectors() -> None:
    for v in _happy("inclusion"):
        size = v["treeSize"]
        mth = rfc6962.memory_mth(REFERENCE_LEAVES[:size])
        proof = rfc6962.inclusion_proof(v["leafIdx"], size, mth)
        assert [base64.b64encode(p).decode() for p in proof] == (v["proof"] or [])
        assert rfc6962.root_from_leaves(REFERENCE_LEAVES[:size]) == _b64(v["root"])


def test_built_consistency_proofs_equal_the_happy_path_vectors() -> None:
    for v in _happy("consistency"):
        mth = rfc6962.memory_mth(REFERENCE_LEAVES[: v["size2"]])
        proof = rfc6962.consistency_proof(v["size1"], v["size2"], mth)
        assert [base64.b64encode(p).decode() for p in proof] == (v["proof"] or [])


@pytest.mark.parametrize("size", range(1, 34))
def test_every_proof_in_small_trees_verifies_and_a_flipped_bit_does_not(size: int) -> None:
    leaves = [rfc6962.leaf_hash(i.to_bytes(4, "big")) for i in range(size)]
    mth = rfc6962.memory_mth(leaves)
    root = rfc6962.root_from_leaves(leaves)
    for index in range(size):
        proof = rfc6962.inclusion_proof(index, size, mth)
        rfc6962.verify_inclusion(index, size, leaves[index], proof, root)
        for i in range(len(proof)):
            bad = list(proof)
            bad[i] = bytes([bad[i][0] ^ 1]) + bad[i][1:]
            with pytest.raises(rfc6962.ProofError):
                rfc6962.verify_inclusion(index, size, leaves[index], bad, root)
    for size1 in range(1, size + 1):
        old_root = rfc6962.root_from_leaves(leaves[:size1])
        proof = rfc6962.consistency_proof(size1, size, mth)
        rfc6962.verify_consistency(size1, size, old_root, root, proof)
        if proof:
            bad = list(proof)
            bad[-1] = bytes([bad[-1][0] ^ 1]) + bad[-1][1:]
            with pytest.raises(rfc6962.ProofError):
                rfc6962.verify_consistency(size1, size, old_root, root, bad)


def test_perfect_subtree_decomposition_folds_to_the_tree_hash() -> None:
    leaves = [rfc6962.leaf_hash(i.to_bytes(4, "big")) for i in range(37)]
    for start, end in [(0, 37), (32, 37), (16, 23), (0, 1), (4, 7)]:
        parts = rfc6962.perfect_subtrees(start, end)
        hashes = [rfc6962.root_from_leaves(leaves[i << lvl : (i + 1) << lvl]) for lvl, i in parts]
        assert rfc6962.fold_right(hashes) == rfc6962.root_from_leaves(leaves[start:end])
