"""The appointment lottery: a deterministic draw anyone can recompute.

Pure Python, no Django and no database: the inputs are the published request
ids with their priority flags and choices, the capacity of each slot group and
the two revealed secrets; the output is the allocation and the waiting list.
docs/lottery.md is the specification; this module follows it line by line.

- ``request_entry``: a request's bytes: its id, its priority flag and its choices, one a line.
- ``request_root``: RFC 6962 Merkle tree hash of the entries, sorted by request id.
- ``draw_seed``: ``SHA-256("gerbang-draw/v1 seed\\n" || gerbang secret || witness secret || root)``.
- ``ticket``: ``SHA-256(seed || request id)``; the draw order is by ticket.
- ``allocate``: priority pool first (priority requests only), then the
  general pool (everyone not yet placed), then the waiting list.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from tlog.rfc6962 import leaf_hash, root_from_leaves

SEED_PREFIX = b"gerbang-draw/v1 seed\n"
SECRET_SIZE = 32
HASH_SIZE = 32
MAX_CHOICES = 3
PRIORITY = "priority"
GENERAL = "general"
POOLS = (PRIORITY, GENERAL)

REQUEST_ID_RE = re.compile(r"[0-9a-f]{32}")
# Slot group keys such as "kanim-jaksel/2026-12-14/am". The character set keeps
# the canonical JSON of a result identical in every language (no escaping).
SLOT_GROUP_RE = re.compile(r"[A-Za-z0-9._:/-]+")
COMMITMENT_RE = re.compile(r"[0-9a-fA-F]{64}")

Capacity = Mapping[str, Mapping[str, int]]


@dataclass(frozen=True)
class Request:
    """One request: pseudonymous id, priority flag, 1 to 3 slot groups in preference order."""

    id: str
    priority: bool
    choices: tuple[str, ...]


@dataclass(frozen=True)
class DrawResult:
    """``allocations``: request id -> (slot group key, "priority" | "general");
    ``waiting``: ids of the requests not placed, in draw order (the waiting list's rank)."""

    allocations: dict[str, tuple[str, str]] = field(default_factory=dict)
    waiting: list[str] = field(default_factory=list)

    def canonical_json(self) -> bytes:
        doc = {
            "allocations": {rid: [key, pool] for rid, (key, pool) in self.allocations.items()},
            "waiting": list(self.waiting),
        }
        return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode("ascii")

    def digest(self) -> str:
        """SHA-256 (lowercase hex) of the canonical JSON of the result."""
        return hashlib.sha256(self.canonical_json()).hexdigest()


def _check_request_id(request_id: object) -> str:
    if not isinstance(request_id, str) or not REQUEST_ID_RE.fullmatch(request_id):
        raise ValueError(f"request id {request_id!r} is not 32 lowercase hexadecimal characters")
    return request_id


def _check_unique(request_ids: Sequence[str]) -> None:
    if len(set(request_ids)) != len(request_ids):
        seen: set[str] = set()
        for rid in request_ids:
            if rid in seen:
                raise ValueError(f"request id {rid} appears more than once")
            seen.add(rid)


def _check_bytes(name: str, value: object, size: int) -> bytes:
    if not isinstance(value, bytes):
        raise ValueError(f"{name} must be bytes, not {type(value).__name__}")
    if len(value) != size:
        raise ValueError(f"{name} must be {size} bytes long, not {len(value)}")
    return value


def _check_request_shape(request: object) -> Request:
    """Everything about one request that does not depend on the capacity."""
    if not isinstance(request, Request):
        raise ValueError(f"expected a Request, not {type(request).__name__}")
    rid = _check_request_id(request.id)
    if not isinstance(request.priority, bool):
        raise ValueError(f"request {rid}: priority must be True or False, not {request.priority!r}")
    choices = request.choices
    if not isinstance(choices, tuple):
        raise ValueError(f"request {rid}: choices must be a tuple, not {type(choices).__name__}")
    if not 1 <= len(choices) <= MAX_CHOICES:
        raise ValueError(f"request {rid}: has {len(choices)} choices, must have 1 to {MAX_CHOICES}")
    for key in choices:
        if not isinstance(key, str) or not SLOT_GROUP_RE.fullmatch(key):
            raise ValueError(
                f"request {rid}: slot group key {key!r} must be non-empty and use only letters, digits and . _ : / -"
            )
    if len(set(choices)) != len(choices):
        raise ValueError(f"request {rid}: the same slot group is chosen twice in {choices!r}")
    return request


def request_entry(request: Request) -> bytes:
    """The bytes a request's Merkle leaf commits to, as ASCII:
    ``id "\\n" ("priority" | "general") "\\n" choice_1 ["\\n" choice_2 ["\\n" choice_3]]``,
    the choices in the request's order of preference, no final line feed. The request is
    checked as for the draw, except that its choices need not be in a capacity."""
    r = _check_request_shape(request)
    flag = PRIORITY if r.priority else GENERAL
    return "\n".join((r.id, flag, *r.choices)).encode("ascii")


def request_root(requests: Sequence[Request]) -> bytes:
    """RFC 6962 Merkle tree hash over the requests sorted by id (ASCII bytes); each leaf is
    ``leaf_hash(request_entry(request))``, so the root fixes every id, priority flag and
    choice. No requests: SHA-256 of the empty string."""
    if isinstance(requests, (str, bytes)):
        raise ValueError("request_root takes a sequence of Request objects, not one string: pass Request objects")
    checked: list[Request] = []
    for r in requests:
        if isinstance(r, str):
            raise ValueError(
                f"request_root got the bare id {r!r}: pass Request objects, so that the root "
                "also fixes each priority flag and each choice"
            )
        if not isinstance(r, Request):
            raise ValueError(f"expected a Request, not {type(r).__name__}: pass Request objects")
        checked.append(r)
    entries = [(r.id, request_entry(r)) for r in checked]  # checks each request
    _check_unique([rid for rid, _ in entries])
    entries.sort(key=lambda e: e[0])  # by id; the ids are ASCII: code point order is byte order
    return root_from_leaves([leaf_hash(entry) for _, entry in entries])


def draw_seed(gerbang_secret: bytes, witness_secret: bytes, root: bytes) -> bytes:
    """``SHA-256(b"gerbang-draw/v1 seed\\n" || gerbang_secret || witness_secret || root)``."""
    _check_bytes("gerbang_secret", gerbang_secret, SECRET_SIZE)
    _check_bytes("witness_secret", witness_secret, SECRET_SIZE)
    _check_bytes("root", root, HASH_SIZE)
    return hashlib.sha256(SEED_PREFIX + gerbang_secret + witness_secret + root).digest()


def ticket(seed: bytes, request_id: str) -> bytes:
    """``SHA-256(seed || request id ASCII)``; smaller tickets are drawn first."""
    _check_bytes("seed", seed, HASH_SIZE)
    return hashlib.sha256(seed + _check_request_id(request_id).encode("ascii")).digest()


def check_commitment(secret: bytes, commitment_hex: str) -> bool:
    """Whether ``commitment_hex`` (64 hex digits, either case) is SHA-256 of ``secret``."""
    if not isinstance(secret, bytes) or not isinstance(commitment_hex, str):
        return False
    if not COMMITMENT_RE.fullmatch(commitment_hex):
        return False
    return hmac.compare_digest(hashlib.sha256(secret).hexdigest(), commitment_hex.lower())


def _check_capacity(capacity: Capacity) -> dict[str, tuple[int, int]]:
    if not isinstance(capacity, Mapping):
        raise ValueError("capacity must map slot group keys to {'priority': p, 'general': g}")
    checked: dict[str, tuple[int, int]] = {}
    for key, pools in capacity.items():
        if not isinstance(key, str) or not SLOT_GROUP_RE.fullmatch(key):
            raise ValueError(f"slot group key {key!r} must be non-empty and use only letters, digits and . _ : / -")
        if not isinstance(pools, Mapping) or set(pools) != set(POOLS):
            raise ValueError(f"capacity of {key} must be exactly {{'priority': p, 'general': g}}, not {pools!r}")
        counts = []
        for pool in POOLS:
            n = pools[pool]
            if isinstance(n, bool) or not isinstance(n, int) or n < 0:
                raise ValueError(f"{pool} capacity of {key} must be a non-negative integer, not {n!r}")
            counts.append(n)
        checked[key] = (counts[0], counts[1])
    return checked


def _check_request(request: object, capacity: Mapping[str, object]) -> Request:
    checked = _check_request_shape(request)
    for key in checked.choices:
        if key not in capacity:
            raise ValueError(f"request {checked.id}: slot group {key!r} is not in the capacity")
    return checked


def allocate(seed: bytes, requests: Sequence[Request], capacity: Capacity) -> DrawResult:
    """Place requests in draw order: priority requests in the priority pool, then everyone
    not yet placed in the general pool; the rest form the waiting list, in draw order."""
    _check_bytes("seed", seed, HASH_SIZE)
    caps = _check_capacity(capacity)
    checked = [_check_request(r, caps) for r in requests]
    _check_unique([r.id for r in checked])

    sha256 = hashlib.sha256
    order = sorted(checked, key=lambda r: (sha256(seed + r.id.encode("ascii")).digest(), r.id))

    priority_left = {key: p for key, (p, _) in caps.items()}
    general_left = {key: g for key, (_, g) in caps.items()}
    allocations: dict[str, tuple[str, str]] = {}

    for r in order:  # phase 1: the priority pool, priority requests only
        if r.priority:
            for key in r.choices:
                if priority_left[key] > 0:
                    priority_left[key] -= 1
                    allocations[r.id] = (key, PRIORITY)
                    break

    waiting: list[str] = []
    for r in order:  # phase 2: the general pool, everyone not yet placed
        if r.id in allocations:
            continue
        for key in r.choices:
            if general_left[key] > 0:
                general_left[key] -= 1
                allocations[r.id] = (key, GENERAL)
                break
        else:
            waiting.append(r.id)

    return DrawResult(allocations=allocations, waiting=waiting)


def result_for(
    gerbang_secret: bytes, witness_secret: bytes, requests: Sequence[Request], capacity: Capacity
) -> tuple[bytes, bytes, DrawResult]:
    """The whole draw from the published inputs: (root, seed, result)."""
    for r in requests:
        if not isinstance(r, Request):
            raise ValueError(f"expected a Request, not {type(r).__name__}")
    root = request_root(requests)
    seed = draw_seed(gerbang_secret, witness_secret, root)
    return root, seed, allocate(seed, requests, capacity)
