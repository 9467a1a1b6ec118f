"""Lottery draws with an independent party: the messages it signs, shared by Gerbang and the witness.

Commit-reveal: before a request window closes, the witness draws a secret and
signs a *commitment* to it (its SHA-256); after the window closed, Gerbang
presents the list of requests (its Merkle root and size) and the witness
reveals the secret, signing it together with that list. It reveals for one
list only, so nobody can try several lists against a known secret.

Messages are UTF-8 text, one field a line, each line ending with ``\\n``::

    gerbang-draw/v1 commit\\n<draw id>\\n<commitment>\\n<closes at>\\n
    gerbang-draw/v1 reveal\\n<draw id>\\n<commitment>\\n<root>\\n<count>\\n<secret>\\n

- draw id: 1 to 64 characters of ``A-Z a-z 0-9 . _ -`` (:data:`DRAW_ID`);
- commitment, root, secret: 64 lowercase hex digits (32 bytes);
  commitment = SHA-256(secret);
- closes at: UTC, ``YYYY-MM-DDTHH:MM:SSZ``;
- count: the number of requests in the list, decimal, no leading zeros.

The message builders refuse any other form (:class:`DrawFormatError`), so one
message never reads as two different sets of fields. Signatures are plain
Ed25519 over the message, base64 (standard alphabet, padded). The first line
keeps them apart from the witness's other signatures (``cosignature/v1``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

DRAW_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
HEX32 = re.compile(r"[0-9a-f]{64}")
UTC_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")

COMMIT_PREFIX = "gerbang-draw/v1 commit\n"
REVEAL_PREFIX = "gerbang-draw/v1 reveal\n"
SIGNATURE_SIZE = 64


class DrawFormatError(ValueError):
    """A field of a draw message is malformed."""


class DrawSignatureError(ValueError):
    """A draw signature is malformed or does not verify."""


def _check(pattern: re.Pattern[str], value: object, what: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise DrawFormatError(f"malformed {what}: {value!r}")
    return value


def commit_message(draw_id: str, commitment_hex: str, closes_at_iso: str) -> bytes:
    """What the witness signs when it commits to a secret for ``draw_id``."""
    fields = (
        _check(DRAW_ID, draw_id, "draw id"),
        _check(HEX32, commitment_hex, "commitment"),
        _check(UTC_TIME, closes_at_iso, "closing time (YYYY-MM-DDTHH:MM:SSZ)"),
    )
    return (COMMIT_PREFIX + "".join(f"{f}\n" for f in fields)).encode()


def reveal_message(draw_id: str, commitment_hex: str, root_hex: str, count: int, secret_hex: str) -> bytes:
    """What the witness signs when it reveals its secret for the list with ``root_hex`` and ``count`` entries."""
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise DrawFormatError(f"malformed count: {count!r}")
    fields = (
        _check(DRAW_ID, draw_id, "draw id"),
        _check(HEX32, commitment_hex, "commitment"),
        _check(HEX32, root_hex, "root"),
        str(count),
        _check(HEX32, secret_hex, "secret"),
    )
    return (REVEAL_PREFIX + "".join(f"{f}\n" for f in fields)).encode()


def commitment(secret: bytes) -> str:
    """The commitment to ``secret``: SHA-256, lowercase hex."""
    return hashlib.sha256(secret).hexdigest()


def sign(private_key: Ed25519PrivateKey, message: bytes) -> str:
    """An Ed25519 signature over ``message``, base64."""
    return base64.b64encode(private_key.sign(message)).decode()


def verify(public_key: Ed25519PublicKey, message: bytes, signature_b64: str) -> None:
    """Check a signature made by :func:`sign`; raises :class:`DrawSignatureError` on any failure."""
    if not isinstance(signature_b64, str):
        raise DrawSignatureError("the signature is not a base64 string")
    try:
        raw = base64.b64decode(signature_b64, validate=True)
    except (binascii.Error, ValueError) as exc:  # ValueError: non-ASCII text
        raise DrawSignatureError("the signature is not valid base64") from exc
    if len(raw) != SIGNATURE_SIZE:
        raise DrawSignatureError(f"an Ed25519 signature is {SIGNATURE_SIZE} bytes, not {len(raw)}")
    try:
        public_key.verify(raw, message)
    except InvalidSignature as exc:
        raise DrawSignatureError("the signature does not verify") from exc
