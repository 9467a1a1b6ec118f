"""The public side of the audit log: signed heads and RFC 6962 proofs.

Hashes and roots are standard base64, as in RFC 6962 and C2SP notes. Proofs
reveal hashes only, never event content, so they are public: anyone holding a
leaf hash (a receipt) or an earlier head (a witness) can check them.
"""

from __future__ import annotations

import base64
import datetime as dt

from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.errors import HttpError
from pydantic import Field

from gerbang.core.errors import FieldError

from . import checkpoints, sealing
from .tree import StoredTree

router = Router(tags=["audit log"])


def _b64(h: bytes) -> str:
    return base64.b64encode(h).decode()


class CheckpointOut(Schema):
    tree_size: int
    root_hash: str = Field(description="base64 Merkle tree hash")
    timestamp: dt.datetime
    note: str = Field(description="the C2SP signed note; verify its signature, not these fields")


class StatusOut(Schema):
    sealed_events: int
    unsealed_events: int
    sealing_lag_seconds: float
    latest_checkpoint: CheckpointOut | None


class InclusionIn(Schema):
    seq: int = Field(ge=1, description="the event's sequence number (leaf index + 1)")
    tree_size: int = Field(ge=1, description="size of the tree to prove inclusion in")


class InclusionOut(Schema):
    seq: int
    leaf_index: int
    tree_size: int
    leaf_hash: str
    proof: list[str]


class ConsistencyIn(Schema):
    first: int = Field(ge=1, description="size of the earlier tree")
    second: int = Field(ge=1, description="size of the later tree")


class ConsistencyOut(Schema):
    first: int
    second: int
    proof: list[str]


def _checkpoint_out(cp: checkpoints.Checkpoint) -> dict[str, object]:
    return {
        "tree_size": cp.tree_size,
        "root_hash": _b64(bytes.fromhex(cp.root_hash)),
        "timestamp": cp.signed_at,
        "note": cp.note,
    }


@router.get("/audit/checkpoint", response=CheckpointOut, summary="The latest signed tree head")
def latest_checkpoint(request: HttpRequest) -> dict[str, object]:
    cp = checkpoints.latest()
    if cp is None:
        raise HttpError(404, "No checkpoint has been signed yet.")
    return _checkpoint_out(cp)


@router.get("/audit/status", response=StatusOut, summary="Sealed and waiting events, sealing lag")
def status(request: HttpRequest) -> dict[str, object]:
    cp = checkpoints.latest()
    return {
        "sealed_events": sealing.chain_head().size,
        "unsealed_events": sealing.unsealed_count(),
        "sealing_lag_seconds": round(sealing.sealing_lag_seconds(), 3),
        "latest_checkpoint": _checkpoint_out(cp) if cp else None,
    }


@router.get("/audit/proof/inclusion", response=InclusionOut, summary="RFC 6962 inclusion proof of one event")
def inclusion(request: HttpRequest, query: Query[InclusionIn]) -> dict[str, object]:
    size = sealing.chain_head().size
    if query.tree_size > size:
        raise FieldError("tree_size", f"The log has {size} sealed events.")
    if query.seq > query.tree_size:
        raise FieldError("seq", "The event must lie inside the tree (seq <= tree_size).")
    tree = StoredTree(size)
    index = query.seq - 1
    return {
        "seq": query.seq,
        "leaf_index": index,
        "tree_size": query.tree_size,
        "leaf_hash": _b64(tree.leaf(index)),
        "proof": [_b64(p) for p in tree.inclusion_proof(index, query.tree_size)],
    }


@router.get("/audit/proof/consistency", response=ConsistencyOut, summary="RFC 6962 consistency proof")
def consistency(request: HttpRequest, query: Query[ConsistencyIn]) -> dict[str, object]:
    size = sealing.chain_head().size
    if query.second > size:
        raise FieldError("second", f"The log has {size} sealed events.")
    if query.first > query.second:
        raise FieldError("first", "The earlier tree cannot be larger than the later one.")
    proof = StoredTree(size).consistency_proof(query.first, query.second)
    return {"first": query.first, "second": query.second, "proof": [_b64(p) for p in proof]}
