"""The draw messages, commitments and signatures shared by Gerbang and the witness."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tlog import draws

SECRET = bytes(range(32))
COMMITMENT = hashlib.sha256(SECRET).hexdigest()
ROOT = "ab" * 32
CLOSES_AT = "2026-03-01T10:00:00Z"
COMMIT: dict[str, Any] = {"draw_id": "kanim-jaksel.2026-03_a", "commitment_hex": COMMITMENT, "closes_at_iso": CLOSES_AT}
REVEAL: dict[str, Any] = {
    "draw_id": "kanim-jaksel.2026-03_a",
    "commitment_hex": COMMITMENT,
    "root_hex": ROOT,
    "count": 12,
    "secret_hex": SECRET.hex(),
}


@pytest.fixture(scope="module")
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def test_commitment_is_sha256_hex() -> None:
    assert draws.commitment(SECRET) == COMMITMENT
    assert draws.commitment(b"") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_messages_are_exactly_the_documented_text() -> None:
    assert (
        draws.commit_message(**COMMIT)
        == (f"gerbang-draw/v1 commit\nkanim-jaksel.2026-03_a\n{COMMITMENT}\n2026-03-01T10:00:00Z\n").encode()
    )
    assert (
        draws.reveal_message(**REVEAL)
        == (f"gerbang-draw/v1 reveal\nkanim-jaksel.2026-03_a\n{COMMITMENT}\n{ROOT}\n12\n{SECRET.hex()}\n").encode()
    )
    assert draws.reveal_message(**{**REVEAL, "count": 0}).split(b"\n")[4] == b"0"


def test_a_signature_verifies_with_the_matching_public_key(key: Ed25519PrivateKey) -> None:
    for message in (draws.commit_message(**COMMIT), draws.reveal_message(**REVEAL)):
        signature = draws.sign(key, message)
        assert len(base64.b64decode(signature, validate=True)) == 64
        draws.verify(key.public_key(), message, signature)
    with pytest.raises(draws.DrawSignatureError, match="does not verify"):
        draws.verify(Ed25519PrivateKey.generate().public_key(), message, signature)


@pytest.mark.parametrize(
    ("field", "other"),
    [
        ("draw_id", "kanim-jaksel.2026-03_b"),
        ("commitment_hex", "cd" * 32),
        ("closes_at_iso", "2026-03-01T10:00:01Z"),
    ],
)
def test_changing_any_commit_field_breaks_the_signature(key: Ed25519PrivateKey, field: str, other: str) -> None:
    signature = draws.sign(key, draws.commit_message(**COMMIT))
    with pytest.raises(draws.DrawSignatureError):
        draws.verify(key.public_key(), draws.commit_message(**{**COMMIT, field: other}), signature)


@pytest.mark.parametrize(
    ("field", "other"),
    [
        ("draw_id", "another-draw"),
        ("commitment_hex", "cd" * 32),
        ("root_hex", "ac" * 32),
        ("count", 13),
        ("secret_hex", "ef" * 32),
    ],
)
def test_changing_any_reveal_field_breaks_the_signature(key: Ed25519PrivateKey, field: str, other: Any) -> None:
    signature = draws.sign(key, draws.reveal_message(**REVEAL))
    with pytest.raises(draws.DrawSignatureError):
        draws.verify(key.public_key(), draws.reveal_message(**{**REVEAL, field: other}), signature)


def test_a_commit_signature_is_not_a_reveal_signature(key: Ed25519PrivateKey) -> None:
    signature = draws.sign(key, draws.commit_message(**COMMIT))
    with pytest.raises(draws.DrawSignatureError):
        draws.verify(key.public_key(), draws.reveal_message(**REVEAL), signature)


def _flip(signature: str) -> str:
    raw = bytearray(base64.b64decode(signature))
    raw[10] ^= 1
    return base64.b64encode(bytes(raw)).decode()


@pytest.mark.parametrize(
    ("tamper", "error"),
    [
        (_flip, "does not verify"),
        (lambda s: s[:-4], "not valid base64|64 bytes"),
        (lambda s: base64.b64encode(base64.b64decode(s) + b"\0\0\0").decode(), "64 bytes, not 67"),
        (lambda s: base64.b64encode(base64.b64decode(s)[:63]).decode(), "64 bytes, not 63"),
        (lambda s: "", "64 bytes, not 0"),
        (lambda s: s[:10] + "!" + s[11:], "not valid base64"),
        (lambda s: s[:10] + "\u00e9" + s[11:], "not valid base64"),
        (lambda s: s + "\n", "not valid base64"),
        (lambda s: None, "not a base64 string"),
        (base64.b64decode, "not a base64 string"),
    ],
)
def test_malformed_signatures_raise_draw_signature_error(key: Ed25519PrivateKey, tamper: Any, error: str) -> None:
    message = draws.commit_message(**COMMIT)
    signature = draws.sign(key, message)
    with pytest.raises(draws.DrawSignatureError, match=error) as caught:
        draws.verify(key.public_key(), message, tamper(signature))
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("field", "bad"),
    [
        ("draw_id", ""),
        ("draw_id", "x" * 65),
        ("draw_id", "a b"),
        ("draw_id", "a/b"),
        ("draw_id", "draw\n"),
        ("commitment_hex", COMMITMENT.upper()),
        ("commitment_hex", COMMITMENT[:-1]),
        ("commitment_hex", COMMITMENT + "\n"),
        ("closes_at_iso", "2026-03-01T10:00:00+00:00"),
        ("closes_at_iso", "2026-03-01T10:00:00.5Z"),
        ("closes_at_iso", "2026-03-01T10:00:00Z\nx"),
    ],
)
def test_commit_message_refuses_malformed_fields(field: str, bad: str) -> None:
    with pytest.raises(draws.DrawFormatError):
        draws.commit_message(**{**COMMIT, field: bad})


@pytest.mark.parametrize(
    ("field", "bad"),
    [
        ("draw_id", "é"),
        ("root_hex", ROOT[:-2]),
        ("root_hex", "AB" * 32),
        ("secret_hex", "00" * 31),
        ("secret_hex", "zz" * 32),
        ("count", -1),
        ("count", True),
        ("count", 1.0),
        ("count", "12"),
    ],
)
def test_reveal_message_refuses_malformed_fields(field: str, bad: Any) -> None:
    with pytest.raises(draws.DrawFormatError):
        draws.reveal_message(**{**REVEAL, field: bad})


def test_draw_id_pattern() -> None:
    assert draws.DRAW_ID.fullmatch("A-z_0.9")
    assert draws.DRAW_ID.fullmatch("x" * 64)
    assert not draws.DRAW_ID.fullmatch("x" * 65)
    assert not draws.DRAW_ID.fullmatch("")
