"""The lottery draw (docs/lottery.md): pure functions, no Django, no database."""

from __future__ import annotations

import hashlib
import random
from collections import Counter

import pytest

from gerbang.appointments.draw import (
    DrawResult,
    Request,
    allocate,
    check_commitment,
    draw_seed,
    request_entry,
    request_root,
    result_for,
    ticket,
)
from tlog.rfc6962 import leaf_hash

# The worked example of docs/lottery.md.
GERBANG_SECRET = bytes([0x11]) * 32
WITNESS_SECRET = bytes([0x22]) * 32
A = "kanim-jaksel/2026-12-14/am"
B = "kanim-jaksel/2026-12-14/pm"
C = "kanim-jaksel/2026-12-15/am"
CAPACITY = {
    A: {"priority": 1, "general": 1},
    B: {"priority": 1, "general": 1},
    C: {"priority": 0, "general": 1},
}
R1, R2, R3, R4, R5, R6, R7 = (d * 32 for d in "1234567")
REQUESTS = [
    Request(R1, True, (A, B)),
    Request(R2, False, (A, C)),
    Request(R3, True, (A, C)),
    Request(R4, True, (B, A)),
    Request(R5, False, (A,)),
    Request(R6, False, (C, B)),
    Request(R7, False, (B, C)),
]

# Known answers of the worked example, also in docs/lottery.md.
EXAMPLE_ROOT = "e08f33e133ffb932a7427feb7287c62b962f92e883044cca10a2df77b41bad59"
EXAMPLE_SEED = "61ceb14ccf8b1ada62ff08cb5b8ba65927f3d138d107f7d18fa6e3d64930c64b"
EXAMPLE_TICKETS = {
    R3: "005342a287be6d85f35cfde4d76a2c177851bd03b40591b39ee8dddfbc210d8e",
    R2: "00e4481f367e3ebbaac7aa8dcb42318b7bea476c53674a3ce9fbaccda0c6a605",
    R5: "296d1e9d242f3d21cbdcabfe388264705d0384b33652c53e06e56082800db7ed",
    R6: "41669fd2f6103608956d6d866b0df8f6f174377a530c55f311d93525f7966669",
    R4: "689817790aa18ea2b0cce4436f1b09ed60b42064517880ff525f45d77b125f86",
    R1: "c659dd9abab7c140d8bf2fc866a60e4991e774800f7c1de64ba517c4696d8835",
    R7: "d9e4e87a47695aba405ce44c0503666d0d252eb04b5d1827a147ad03d728219c",
}
EXAMPLE_DIGEST = "fcb99d41e1f58e3a8ec60bbfc10b9ace62144a4e96a83487c1b22fe9fee4f9e5"


def plain_entry(rid: str, priority: bool, choices: tuple[str, ...]) -> bytes:
    """The leaf entry as docs/lottery.md defines it, without the module under test."""
    lines = [rid, "priority" if priority else "general", *choices]
    return "\n".join(lines).encode("ascii")


def random_draw(
    rng: random.Random, n_requests: int, n_groups: int, priority_share: float = 0.2
) -> tuple[list[Request], dict[str, dict[str, int]]]:
    groups = [f"kanim-{g % 7}/2026-12-{10 + g // 14:02d}/{'am' if g % 2 else 'pm'}-{g}" for g in range(n_groups)]
    capacity = {g: {"priority": rng.randint(0, 3), "general": rng.randint(0, 8)} for g in groups}
    requests = [
        Request(
            f"{rng.getrandbits(128):032x}",
            rng.random() < priority_share,
            tuple(rng.sample(groups, rng.randint(1, min(3, n_groups)))),
        )
        for _ in range(n_requests)
    ]
    return requests, capacity


def random_secret(rng: random.Random) -> bytes:
    return rng.getrandbits(256).to_bytes(32, "big")


# --- the worked example (known answers) -------------------------------------------------------------


def test_worked_example_known_answer() -> None:
    assert hashlib.sha256(GERBANG_SECRET).hexdigest() == (
        "02d449a31fbb267c8f352e9968a79e3e5fc95c1bbeaa502fd6454ebde5a4bedc"
    )
    assert hashlib.sha256(WITNESS_SECRET).hexdigest() == (
        "9f72ea0cf49536e3c66c787f705186df9a4378083753ae9536d65b3ad7fcddc4"
    )
    root, seed, result = result_for(GERBANG_SECRET, WITNESS_SECRET, REQUESTS, CAPACITY)
    assert root.hex() == EXAMPLE_ROOT
    assert seed.hex() == EXAMPLE_SEED
    assert {rid: ticket(seed, rid).hex() for rid in EXAMPLE_TICKETS} == EXAMPLE_TICKETS
    draw_order = sorted((r.id for r in REQUESTS), key=lambda rid: ticket(seed, rid))
    assert draw_order == [R3, R2, R5, R6, R4, R1, R7]
    assert result.allocations == {
        R3: (A, "priority"),
        R4: (B, "priority"),
        R2: (A, "general"),
        R6: (C, "general"),
        R1: (B, "general"),
    }
    assert result.waiting == [R5, R7]
    assert result.canonical_json() == (
        b'{"allocations":{'
        b'"11111111111111111111111111111111":["kanim-jaksel/2026-12-14/pm","general"],'
        b'"22222222222222222222222222222222":["kanim-jaksel/2026-12-14/am","general"],'
        b'"33333333333333333333333333333333":["kanim-jaksel/2026-12-14/am","priority"],'
        b'"44444444444444444444444444444444":["kanim-jaksel/2026-12-14/pm","priority"],'
        b'"66666666666666666666666666666666":["kanim-jaksel/2026-12-15/am","general"]},'
        b'"waiting":["55555555555555555555555555555555","77777777777777777777777777777777"]}'
    )
    assert result.digest() == EXAMPLE_DIGEST
    assert hashlib.sha256(result.canonical_json()).hexdigest() == EXAMPLE_DIGEST


def test_worked_example_entries() -> None:
    """The leaf entries, written out by hand: id, flag word, choices in order, one a line."""
    assert request_entry(REQUESTS[0]) == (
        b"11111111111111111111111111111111\npriority\nkanim-jaksel/2026-12-14/am\nkanim-jaksel/2026-12-14/pm"
    )
    assert request_entry(REQUESTS[4]) == b"55555555555555555555555555555555\ngeneral\nkanim-jaksel/2026-12-14/am"
    assert request_entry(REQUESTS[3]) == (
        b"44444444444444444444444444444444\npriority\nkanim-jaksel/2026-12-14/pm\nkanim-jaksel/2026-12-14/am"
    )
    assert [len(request_entry(r)) for r in REQUESTS] == [95, 94, 95, 95, 67, 94, 94]
    for r in REQUESTS:
        assert request_entry(r) == plain_entry(r.id, r.priority, r.choices)


def test_worked_example_merkle_nodes() -> None:
    """The leaves and interior nodes the document lists, from the RFC 6962 definitions with
    hashlib alone (no request_entry, no tlog)."""

    def sha256(data: bytes) -> bytes:
        return hashlib.sha256(data).digest()

    def node(left: bytes, right: bytes) -> bytes:
        return sha256(b"\x01" + left + right)

    leaves = [sha256(b"\x00" + plain_entry(r.id, r.priority, r.choices)) for r in sorted(REQUESTS, key=lambda r: r.id)]
    assert leaves[0].hex() == "cc4b8606193d47cc3dfd24e030493b7993e2362e9013a651316db484d5a3c64b"
    assert leaves[0] == leaf_hash(request_entry(REQUESTS[0]))
    assert node(leaves[0], leaves[1]).hex() == "9d142f206852d7f9f0dfeffc2384cc4d1f7c746544645fb9653a3257a7b93a2a"
    assert node(leaves[2], leaves[3]).hex() == "830199796e4e12902d05776c777702325f8d099de2761a14fc1cd7308d49fd39"
    assert node(leaves[4], leaves[5]).hex() == "eccd06935bc7766bb3092c8fe7e6c015196821d25226688eab9e37271b452596"
    left = node(node(leaves[0], leaves[1]), node(leaves[2], leaves[3]))
    right = node(node(leaves[4], leaves[5]), leaves[6])
    assert left.hex() == "2ce876e7546126b2194cbf3f5a904f6668f43f370dc09bdd5117ef7a968d2251"
    assert right.hex() == "b110477631397cc77fa2422a7e1df74c9a97e1bec3d0aeecb9e755620ae7ad09"
    assert node(left, right).hex() == EXAMPLE_ROOT
    assert node(left, right) == request_root(REQUESTS)


def test_worked_example_seed_and_tickets_with_hashlib() -> None:
    root = bytes.fromhex(EXAMPLE_ROOT)
    preimage = bytes.fromhex("67657262616e672d647261772f763120736565640a") + b"\x11" * 32 + b"\x22" * 32 + root
    assert len(preimage) == 21 + 96
    seed = hashlib.sha256(preimage).digest()
    assert seed.hex() == EXAMPLE_SEED
    assert draw_seed(GERBANG_SECRET, WITNESS_SECRET, root) == seed
    for rid, expected in EXAMPLE_TICKETS.items():
        assert hashlib.sha256(seed + rid.encode("ascii")).hexdigest() == expected
    assert sorted(EXAMPLE_TICKETS, key=lambda rid: EXAMPLE_TICKETS[rid]) == [R3, R2, R5, R6, R4, R1, R7]


# --- the Merkle root ----------------------------------------------------------------------------------


def test_root_of_no_requests_is_sha256_of_nothing() -> None:
    assert request_root([]) == hashlib.sha256(b"").digest()


def test_root_of_one_request_is_its_leaf_hash() -> None:
    expected = b"\x00" + R1.encode("ascii") + b"\npriority\n" + A.encode("ascii") + b"\n" + B.encode("ascii")
    assert request_root([REQUESTS[0]]) == hashlib.sha256(expected).digest()
    assert (
        request_root([Request(R5, False, (A,))])
        == hashlib.sha256(b"\x00" + R5.encode() + b"\ngeneral\n" + A.encode()).digest()
    )


def test_root_does_not_depend_on_the_order_of_the_requests() -> None:
    assert (
        request_root(REQUESTS)
        == request_root(list(reversed(REQUESTS)))
        == request_root(tuple(sorted(REQUESTS, key=lambda r: r.id)))
    )


def test_leaves_are_sorted_by_id() -> None:
    """Not by entry bytes or input order: an id that sorts first gives the first leaf."""
    first, second = Request("f" * 32, False, (A,)), Request("0" * 32, True, (B,))
    leaves = [leaf_hash(request_entry(second)), leaf_hash(request_entry(first))]
    expected = hashlib.sha256(b"\x01" + leaves[0] + leaves[1]).digest()
    assert request_root([first, second]) == request_root([second, first]) == expected


def test_root_does_not_need_the_capacity() -> None:
    """The root is computed before the draw; whether each choice has capacity is the draw's check."""
    unknown = Request(R1, False, ("kanim-jaksel/2027-01-01/am",))
    assert request_root([unknown]) == hashlib.sha256(b"\x00" + request_entry(unknown)).digest()


def changed_requests(request: Request) -> list[Request]:
    """Changes to one request the root must notice: its flag, one choice, the order or number of its choices."""
    other = next(key for key in (A, B, C) if key not in request.choices)
    variants = [
        Request(request.id, not request.priority, request.choices),
        Request(request.id, request.priority, (other, *request.choices[1:])),  # first choice replaced
        Request(request.id, request.priority, (*request.choices[:-1], other)),  # last choice replaced
    ]
    if len(request.choices) > 1:
        variants.append(Request(request.id, request.priority, tuple(reversed(request.choices))))
        variants.append(Request(request.id, request.priority, request.choices[:-1]))  # one choice dropped
    if len(request.choices) < 3:
        variants.append(Request(request.id, request.priority, (*request.choices, other)))  # one choice added
    return list(dict.fromkeys(variants))  # with one choice, "first" and "last" are the same


@pytest.mark.parametrize("index", range(len(REQUESTS)))
def test_changing_one_requests_flag_or_choices_changes_the_root(index: int) -> None:
    root = request_root(REQUESTS)
    seen = {root}
    for variant in changed_requests(REQUESTS[index]):
        changed = list(REQUESTS)
        changed[index] = variant
        new_root = request_root(changed)
        assert new_root != root, variant
        assert draw_seed(GERBANG_SECRET, WITNESS_SECRET, new_root) != draw_seed(GERBANG_SECRET, WITNESS_SECRET, root)
        seen.add(new_root)
    assert len(seen) == 1 + len(changed_requests(REQUESTS[index]))


def test_changing_one_flag_or_choice_changes_root_seed_and_digest() -> None:
    rng = random.Random(8)
    requests, capacity = random_draw(rng, 300, 12, priority_share=0.3)
    gerbang, witness = random_secret(rng), random_secret(rng)
    root, seed, result = result_for(gerbang, witness, requests, capacity)
    for index in (0, 150, 299):
        r = requests[index]
        other = next(key for key in capacity if key not in r.choices)
        reordered = tuple(reversed(r.choices)) if len(r.choices) > 1 else (other,)
        for variant in (Request(r.id, not r.priority, r.choices), Request(r.id, r.priority, reordered)):
            changed = list(requests)
            changed[index] = variant
            root2, seed2, result2 = result_for(gerbang, witness, changed, capacity)
            assert root2 != root and seed2 != seed
            assert result2.digest() != result.digest()


def test_changing_or_adding_one_id_changes_root_seed_and_digest() -> None:
    rng = random.Random(7)
    requests, capacity = random_draw(rng, 300, 12)
    root, seed, result = result_for(GERBANG_SECRET, WITNESS_SECRET, requests, capacity)

    changed = list(requests)
    first = changed[0]
    changed[0] = Request(f"{int(first.id, 16) ^ 1:032x}", first.priority, first.choices)
    root2, seed2, result2 = result_for(GERBANG_SECRET, WITNESS_SECRET, changed, capacity)

    added = [*requests, Request(f"{rng.getrandbits(128):032x}", False, (next(iter(capacity)),))]
    root3, seed3, result3 = result_for(GERBANG_SECRET, WITNESS_SECRET, added, capacity)

    assert len({root, root2, root3}) == 3
    assert len({seed, seed2, seed3}) == 3
    assert len({result.digest(), result2.digest(), result3.digest()}) == 3
    # A new seed reshuffles everyone, not only the changed request.
    assert [ticket(seed, r.id) for r in requests[1:]] != [ticket(seed2, r.id) for r in requests[1:]]


def test_either_secret_changes_the_seed() -> None:
    root = request_root(REQUESTS)
    seeds = {
        draw_seed(GERBANG_SECRET, WITNESS_SECRET, root),
        draw_seed(bytes(32), WITNESS_SECRET, root),
        draw_seed(GERBANG_SECRET, bytes(32), root),
        draw_seed(WITNESS_SECRET, GERBANG_SECRET, root),  # the order of the secrets matters
    }
    assert len(seeds) == 4


# --- the allocation ------------------------------------------------------------------------------------


def test_draw_is_deterministic() -> None:
    rng = random.Random(1)
    requests, capacity = random_draw(rng, 2000, 40)
    gerbang, witness = random_secret(rng), random_secret(rng)
    first = result_for(gerbang, witness, requests, capacity)
    again = result_for(gerbang, witness, [Request(r.id, r.priority, tuple(r.choices)) for r in requests], capacity)
    assert first == again
    assert first[2].digest() == again[2].digest()


def test_draw_does_not_depend_on_the_order_of_the_input() -> None:
    rng = random.Random(2)
    requests, capacity = random_draw(rng, 2000, 40)
    gerbang, witness = random_secret(rng), random_secret(rng)
    root, seed, result = result_for(gerbang, witness, requests, capacity)
    shuffled = list(requests)
    rng.shuffle(shuffled)
    reordered_capacity = dict(reversed(list(capacity.items())))
    root2, seed2, result2 = result_for(gerbang, witness, shuffled, reordered_capacity)
    assert (root2, seed2) == (root, seed)
    assert result2.allocations == result.allocations
    assert result2.waiting == result.waiting
    assert result2.digest() == result.digest()


@pytest.mark.parametrize("seed_value", range(5))
def test_capacity_is_never_exceeded_and_everyone_is_placed_once(seed_value: int) -> None:
    rng = random.Random(seed_value)
    requests, capacity = random_draw(rng, 1500, 25, priority_share=0.4)
    _, _, result = result_for(random_secret(rng), random_secret(rng), requests, capacity)
    used = Counter(result.allocations.values())
    for (key, pool), n in used.items():
        assert n <= capacity[key][pool]
    ids = [r.id for r in requests]
    assert sorted([*result.allocations, *result.waiting]) == sorted(ids)
    assert not set(result.allocations) & set(result.waiting)
    by_id = {r.id: r for r in requests}
    for rid, (key, pool) in result.allocations.items():
        assert key in by_id[rid].choices
        assert pool in ("priority", "general")
        if pool == "priority":
            assert by_id[rid].priority, "a general request was given a priority place"


@pytest.mark.parametrize("seed_value", range(5))
def test_replay_honours_priority_and_preferences(seed_value: int) -> None:
    """Replay the draw step by step from the tickets: at each request's turn it got its first
    choice that still had room in the pool of that phase; the waiting list had no room anywhere."""
    rng = random.Random(100 + seed_value)
    requests, capacity = random_draw(rng, 1500, 25, priority_share=0.4)
    _, seed, result = result_for(random_secret(rng), random_secret(rng), requests, capacity)
    order = sorted(requests, key=lambda r: (ticket(seed, r.id), r.id))
    left = {(key, pool): n for key, pools in capacity.items() for pool, n in pools.items()}
    placed: set[str] = set()
    for r in order:  # phase 1
        if not r.priority:
            continue
        room = [key for key in r.choices if left[key, "priority"] > 0]
        if room:
            assert result.allocations[r.id] == (room[0], "priority")
            left[room[0], "priority"] -= 1
            placed.add(r.id)
        else:
            assert result.allocations.get(r.id, ("", "general"))[1] == "general"
    waiting = []
    for r in order:  # phase 2
        if r.id in placed:
            continue
        room = [key for key in r.choices if left[key, "general"] > 0]
        if room:
            assert result.allocations[r.id] == (room[0], "general")
            left[room[0], "general"] -= 1
        else:
            assert r.id not in result.allocations
            waiting.append(r.id)
    assert result.waiting == waiting
    assert all(n >= 0 for n in left.values())


def test_priority_requests_take_the_priority_pool_whatever_their_ticket() -> None:
    key = "kanim-jaksel/2026-12-14/am"
    capacity = {key: {"priority": 1, "general": 1}}
    rng = random.Random(3)
    for _ in range(20):
        requests = [Request(f"{rng.getrandbits(128):032x}", False, (key,)) for _ in range(30)]
        lucky = f"{rng.getrandbits(128):032x}"
        requests.append(Request(lucky, True, (key,)))
        _, seed, result = result_for(random_secret(rng), random_secret(rng), requests, capacity)
        assert result.allocations[lucky] == (key, "priority")
        general = [rid for rid, (_, pool) in result.allocations.items() if pool == "general"]
        assert len(general) == 1
        first_general = min((r for r in requests if not r.priority), key=lambda r: ticket(seed, r.id))
        assert general == [first_general.id]


def test_priority_request_without_priority_room_competes_in_the_general_pool() -> None:
    key = "kanim-jaksel/2026-12-14/am"
    capacity = {key: {"priority": 0, "general": 1}}
    requests = [Request(R1, True, (key,)), Request(R2, False, (key,))]
    root = request_root(requests)
    seed = draw_seed(GERBANG_SECRET, WITNESS_SECRET, root)
    first = min((R1, R2), key=lambda rid: ticket(seed, rid))
    result = allocate(seed, requests, capacity)
    assert result.allocations == {first: (key, "general")}
    assert result.waiting == [R2 if first == R1 else R1]


def test_waiting_list_is_in_draw_order() -> None:
    key = "kanim-jaksel/2026-12-14/am"
    rng = random.Random(4)
    requests = [Request(f"{rng.getrandbits(128):032x}", bool(i % 3 == 0), (key,)) for i in range(50)]
    seed = bytes(range(32))
    result = allocate(seed, requests, {key: {"priority": 0, "general": 0}})
    assert result.allocations == {}
    assert result.waiting == sorted((r.id for r in requests), key=lambda rid: ticket(seed, rid))


def test_no_requests() -> None:
    root, seed, result = result_for(GERBANG_SECRET, WITNESS_SECRET, [], CAPACITY)
    assert root == hashlib.sha256(b"").digest()
    assert seed == draw_seed(GERBANG_SECRET, WITNESS_SECRET, root)
    assert result == DrawResult({}, [])
    assert result.canonical_json() == b'{"allocations":{},"waiting":[]}'


# --- commitments ------------------------------------------------------------------------------------------


def test_check_commitment() -> None:
    commitment = hashlib.sha256(GERBANG_SECRET).hexdigest()
    assert check_commitment(GERBANG_SECRET, commitment)
    assert check_commitment(GERBANG_SECRET, commitment.upper())
    assert not check_commitment(WITNESS_SECRET, commitment)
    assert not check_commitment(GERBANG_SECRET, commitment[:-1])
    assert not check_commitment(GERBANG_SECRET, commitment + "0")
    assert not check_commitment(GERBANG_SECRET, "zz" * 32)
    assert not check_commitment(GERBANG_SECRET, "")


# --- input validation --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad_id",
    [
        "1" * 31,
        "1" * 33,
        "A" * 32,  # upper case
        "g" * 32,
        " " + "1" * 31,
        "1" * 32 + "\n",
        "\u0661" * 32,  # ARABIC-INDIC DIGIT ONE: a Unicode digit, not ASCII
    ],
)
def test_malformed_request_ids_are_refused(bad_id: str) -> None:
    with pytest.raises(ValueError, match="32 lowercase hexadecimal"):
        request_root([REQUESTS[0], Request(bad_id, False, (A,))])
    with pytest.raises(ValueError, match="32 lowercase hexadecimal"):
        request_entry(Request(bad_id, False, (A,)))
    with pytest.raises(ValueError, match="32 lowercase hexadecimal"):
        allocate(bytes(32), [Request(bad_id, False, (A,))], CAPACITY)
    with pytest.raises(ValueError, match="32 lowercase hexadecimal"):
        ticket(bytes(32), bad_id)


def test_duplicate_request_ids_are_refused() -> None:
    with pytest.raises(ValueError, match=f"{R1} appears more than once"):
        request_root([REQUESTS[0], REQUESTS[1], REQUESTS[0]])
    with pytest.raises(ValueError, match=f"{R1} appears more than once"):  # same id, different contents
        request_root([Request(R1, False, (A,)), REQUESTS[1], Request(R1, True, (B,))])
    with pytest.raises(ValueError, match=f"{R1} appears more than once"):
        allocate(bytes(32), [Request(R1, False, (A,)), Request(R1, True, (B,))], CAPACITY)


@pytest.mark.parametrize(
    "bad",
    [
        R1,  # one string
        R1.encode("ascii"),
        [R1, R2],  # bare ids: the root would not fix flags and choices
        [REQUESTS[0], R2],
        [(R1, True, (A,))],
    ],
)
def test_request_root_wants_request_objects(bad: object) -> None:
    with pytest.raises(ValueError, match="pass Request objects"):
        request_root(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("gerbang", "witness", "root", "message"),
    [
        (bytes(31), bytes(32), bytes(32), "gerbang_secret must be 32 bytes long, not 31"),
        (bytes(32), bytes(33), bytes(32), "witness_secret must be 32 bytes long, not 33"),
        (bytes(32), bytes(32), b"", "root must be 32 bytes long, not 0"),
        ("00" * 32, bytes(32), bytes(32), "gerbang_secret must be bytes, not str"),
    ],
)
def test_draw_seed_checks_lengths(gerbang: bytes, witness: bytes, root: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        draw_seed(gerbang, witness, root)


def test_seed_length_is_checked() -> None:
    with pytest.raises(ValueError, match="seed must be 32 bytes long"):
        ticket(bytes(16), R1)
    with pytest.raises(ValueError, match="seed must be 32 bytes long"):
        allocate(bytes(16), REQUESTS, CAPACITY)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (Request(R1, False, ()), "has 0 choices, must have 1 to 3"),
        (Request(R1, False, (A, B, C, "kanim-jaksel/2026-12-16/am")), "has 4 choices, must have 1 to 3"),
        (Request(R1, False, (A, B, A)), "the same slot group is chosen twice"),
        (Request(R1, False, ("kanim-jaksel/2027-01-01/am",)), "'kanim-jaksel/2027-01-01/am' is not in the capacity"),
        (Request(R1, False, [A]), "choices must be a tuple"),  # type: ignore[arg-type]
        (Request(R1, 1, (A,)), "priority must be True or False"),  # type: ignore[arg-type]
    ],
)
def test_malformed_requests_are_refused(bad: Request, message: str) -> None:
    with pytest.raises(ValueError, match=message) as raised:
        allocate(bytes(32), [*REQUESTS[1:], bad], CAPACITY)
    assert R1 in str(raised.value)
    if "not in the capacity" not in message:  # the root does not look at the capacity
        with pytest.raises(ValueError, match=message):
            request_root([*REQUESTS[1:], bad])
        with pytest.raises(ValueError, match=message):
            request_entry(bad)


@pytest.mark.parametrize(
    "key",
    [
        "",
        "kanim jaksel/2026-12-14/am",
        A + "\n" + B,  # a line feed would let one choice pass for two
        "kanim-jaksel/2026-12-14/pagi\u00e9",
        1,
    ],
)
def test_malformed_choice_keys_are_refused(key: object) -> None:
    bad = Request(R1, False, (key,))  # type: ignore[arg-type]
    for call in (lambda: request_entry(bad), lambda: request_root([bad]), lambda: allocate(bytes(32), [bad], CAPACITY)):
        with pytest.raises(ValueError, match=f"request {R1}: slot group key .* must be non-empty and use only"):
            call()


def test_non_requests_are_refused() -> None:
    with pytest.raises(ValueError, match="expected a Request, not tuple"):
        result_for(GERBANG_SECRET, WITNESS_SECRET, [(R1, False, (A,))], CAPACITY)  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("capacity", "message"),
    [
        ({A: {"priority": -1, "general": 1}}, "priority capacity of .* must be a non-negative integer"),
        ({A: {"priority": 1, "general": 1.0}}, "general capacity of .* must be a non-negative integer"),
        ({A: {"priority": True, "general": 1}}, "priority capacity of .* must be a non-negative integer"),
        ({A: {"general": 1}}, "must be exactly"),
        ({A: {"priority": 1, "general": 1, "vip": 1}}, "must be exactly"),
        ({A: 2}, "must be exactly"),
        ({"": {"priority": 1, "general": 1}}, "slot group key '' must be non-empty"),
        ({'kanim "jaksel"': {"priority": 1, "general": 1}}, "use only letters, digits"),
        ({"kantor-imigrasi/2026-12-14/pagi é": {"priority": 1, "general": 1}}, "use only letters, digits"),
        ([(A, {"priority": 1, "general": 1})], "capacity must map"),
    ],
)
def test_malformed_capacity_is_refused(capacity: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        allocate(bytes(32), [], capacity)  # type: ignore[arg-type]
