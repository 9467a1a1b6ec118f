"""Checkpoints and cosignatures as C2SP signed notes, signed with Ed25519.

- A checkpoint (C2SP tlog-checkpoint) is the text ``origin\\nsize\\nbase64(root)\\n``
  followed here by one extension line ``time <RFC 3339 UTC>``.
- A signed note is the body, an empty line, then one line per signature:
  ``— <key name> <base64(4-byte key id || signature)>``.
- Log keys have key id ``SHA-256(name || 0x0A || 0x01 || public key)[:4]``
  and sign the body itself.
- Witness keys (C2SP tlog-cosignature) have key id
  ``SHA-256(name || 0x0A || 0x04 || public key)[:4]`` and sign
  ``"cosignature/v1\\ntime <unix seconds>\\n" || body``; the signature
  value is the 8-byte big-endian timestamp followed by the signature.

Verifier keys are written ``name+hex(key id)+base64(type || public key)``, the
format of Go's golang.org/x/mod/sumdb/note, so other tools can check them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ALG_ED25519 = 0x01
ALG_COSIGNATURE_V1 = 0x04
SIGNATURE_PREFIX = "\u2014 "  # an em dash and a space


class NoteError(ValueError):
    """A note, key or signature is malformed or does not verify."""


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    time: datetime

    def body(self) -> str:
        stamp = self.time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\ntime {stamp}\n"

    @classmethod
    def parse(cls, body: str) -> Checkpoint:
        lines = body.split("\n")
        if len(lines) != 5 or lines[-1] != "":
            raise NoteError("a checkpoint has four lines: origin, size, root and time")
        origin, size_text, root_text, time_line = lines[:4]
        if not origin or not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
            raise NoteError("malformed checkpoint origin or size")
        try:
            root = base64.b64decode(root_text, validate=True)
        except binascii.Error as exc:
            raise NoteError("malformed checkpoint root") from exc
        if len(root) != 32:
            raise NoteError("a checkpoint root is 32 bytes")
        if not time_line.startswith("time "):
            raise NoteError("a checkpoint's fourth line is 'time <RFC 3339>'")
        try:
            when = datetime.strptime(time_line[5:], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError as exc:
            raise NoteError("malformed checkpoint time") from exc
        return cls(origin=origin, size=int(size_text), root=root, time=when)


@dataclass(frozen=True)
class Signature:
    name: str
    key_id: bytes
    value: bytes  # after the key id


def _key_id(name: str, alg: int, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([alg]) + public).digest()[:4]


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _check_name(name: str) -> None:
    if not name or any(c.isspace() or c == "+" for c in name):
        raise NoteError("a key name is non-empty, without spaces or '+'")


@dataclass(frozen=True)
class Signer:
    """An Ed25519 private key with its name and role (log or witness)."""

    name: str
    private: Ed25519PrivateKey
    alg: int = ALG_ED25519

    @classmethod
    def generate(cls, name: str, alg: int = ALG_ED25519) -> Signer:
        _check_name(name)
        return cls(name, Ed25519PrivateKey.generate(), alg)

    @classmethod
    def from_text(cls, text: str) -> Signer:
        """Read ``PRIVATE+KEY+name+hexid+base64(alg || seed)``."""
        text = text.strip()
        if not text.startswith("PRIVATE+KEY+"):
            raise NoteError("not a private key")
        name, key_id, alg, seed = _split_key(text.removeprefix("PRIVATE+KEY+"), "private key")
        signer = cls(name, Ed25519PrivateKey.from_private_bytes(seed), alg)
        if signer.key_id.hex() != key_id:
            raise NoteError("private key id does not match its key")
        return signer

    def to_text(self) -> str:
        from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

        seed = self.private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return f"PRIVATE+KEY+{self.name}+{self.key_id.hex()}+{base64.b64encode(bytes([self.alg]) + seed).decode()}"

    @property
    def key_id(self) -> bytes:
        return _key_id(self.name, self.alg, _raw_public(self.private.public_key()))

    def verifier(self) -> Verifier:
        return Verifier(self.name, self.private.public_key(), self.alg)

    def sign_checkpoint(self, checkpoint: Checkpoint) -> str:
        """A log's signed note over the checkpoint body."""
        if self.alg != ALG_ED25519:
            raise NoteError("a witness key cosigns, it does not sign checkpoints")
        body = checkpoint.body()
        sig = self.private.sign(body.encode())
        return body + "\n" + _signature_line(self.name, self.key_id + sig)

    def cosign(self, checkpoint: Checkpoint, when: datetime) -> str:
        """A witness's cosignature line for the checkpoint, at time ``when``."""
        if self.alg != ALG_COSIGNATURE_V1:
            raise NoteError("only a witness key cosigns")
        seconds = int(when.timestamp())
        sig = self.private.sign(_cosigned_message(checkpoint.body(), seconds))
        return _signature_line(self.name, self.key_id + seconds.to_bytes(8, "big") + sig)


@dataclass(frozen=True)
class Verifier:
    name: str
    public: Ed25519PublicKey
    alg: int = ALG_ED25519

    @classmethod
    def from_text(cls, text: str) -> Verifier:
        """Read ``name+hexid+base64(alg || public key)``."""
        name, key_id, alg, public = _split_key(text.strip(), "verifier key")
        verifier = cls(name, Ed25519PublicKey.from_public_bytes(public), alg)
        if verifier.key_id.hex() != key_id:
            raise NoteError("verifier key id does not match its key")
        return verifier

    def to_text(self) -> str:
        raw = bytes([self.alg]) + _raw_public(self.public)
        return f"{self.name}+{self.key_id.hex()}+{base64.b64encode(raw).decode()}"

    @property
    def key_id(self) -> bytes:
        return _key_id(self.name, self.alg, _raw_public(self.public))

    def verify_note(self, note: str) -> Checkpoint:
        """Check this log key's signature on a signed checkpoint note."""
        body, signatures = split_note(note)
        for sig in signatures:
            if sig.name == self.name and sig.key_id == self.key_id:
                try:
                    self.public.verify(sig.value, body.encode())
                except InvalidSignature as exc:
                    raise NoteError(f"the signature of {self.name} does not verify") from exc
                return Checkpoint.parse(body)
        raise NoteError(f"the note carries no signature by {self.name}")

    def verify_cosignature(self, note: str) -> tuple[Checkpoint, datetime]:
        """Check this witness's cosignature on a note; return the checkpoint and cosigning time.

        Every line with this key's name and id is tried: a forged line planted
        before the real one must not hide it.
        """
        if self.alg != ALG_COSIGNATURE_V1:
            raise NoteError("not a witness key")
        body, signatures = split_note(note)
        found = False
        for sig in signatures:
            if sig.name != self.name or sig.key_id != self.key_id:
                continue
            found = True
            if len(sig.value) != 8 + 64:
                continue
            seconds = int.from_bytes(sig.value[:8], "big")
            try:
                self.public.verify(sig.value[8:], _cosigned_message(body, seconds))
            except InvalidSignature:
                continue
            return Checkpoint.parse(body), datetime.fromtimestamp(seconds, UTC)
        if found:
            raise NoteError(f"the cosignature of {self.name} does not verify")
        raise NoteError(f"the note carries no cosignature by {self.name}")


def _split_key(text: str, what: str) -> tuple[str, str, int, bytes]:
    """``name+hexid+base64(alg || 32 key bytes)`` -> (name, hex id, alg, key bytes); base64 may hold '+'."""
    parts = text.split("+", 2)
    if len(parts) != 3:
        raise NoteError(f"a {what} is name+keyid+key")
    try:
        raw = base64.b64decode(parts[2], validate=True)
    except binascii.Error as exc:
        raise NoteError(f"malformed {what}") from exc
    if len(raw) != 33 or raw[0] not in (ALG_ED25519, ALG_COSIGNATURE_V1):
        raise NoteError(f"not an Ed25519 {what}")
    return parts[0], parts[1], raw[0], raw[1:]


def _cosigned_message(body: str, seconds: int) -> bytes:
    return f"cosignature/v1\ntime {seconds}\n{body}".encode()


def _signature_line(name: str, value: bytes) -> str:
    return f"{SIGNATURE_PREFIX}{name} {base64.b64encode(value).decode()}\n"


def split_note(note: str) -> tuple[str, list[Signature]]:
    """Split a signed note into its body and signatures."""
    head, sep, tail = note.rpartition("\n\n")
    if not sep or not tail.endswith("\n"):
        raise NoteError("a signed note is a body, an empty line and signature lines")
    body = head + "\n"
    signatures = []
    for line in tail[:-1].split("\n"):
        if not line.startswith(SIGNATURE_PREFIX):
            raise NoteError("malformed signature line")
        name, _, value = line[len(SIGNATURE_PREFIX) :].partition(" ")
        try:
            raw = base64.b64decode(value, validate=True)
        except binascii.Error as exc:
            raise NoteError("malformed signature") from exc
        if len(raw) < 5:
            raise NoteError("signature too short")
        signatures.append(Signature(name=name, key_id=raw[:4], value=raw[4:]))
    return body, signatures


def add_signature(note: str, line: str) -> str:
    """Append a cosignature line to a signed note."""
    split_note(note)
    return note + line
