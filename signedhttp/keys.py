"""Ed25519 key files and the keyring of trusted public keys.

Both files are one-line text files (``#`` comments and blank lines are ignored)::

    <key_id>.key   ed25519-private <key_id> <base64 of the 32-byte raw private key>
    <key_id>.pub   ed25519 <key_id> <base64 of the 32-byte raw public key>

A public key file may hold several ``ed25519`` lines (one trusted key per line,
like an ``authorized_keys`` file). Key ids are 1-64 characters of
``A-Z a-z 0-9 . _ -``, so they are safe both as file names and inside the
``keyid`` signature parameter.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from http_message_signatures import HTTPSignatureKeyResolver

KEY_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
PRIVATE_TAG = "ed25519-private"
PUBLIC_TAG = "ed25519"


class KeyFileError(ValueError):
    """A key file is missing, unreadable or not in the documented format."""


def check_key_id(key_id: str) -> str:
    """Return ``key_id`` if it is a valid key id, else raise :class:`KeyFileError`."""
    if not isinstance(key_id, str) or not KEY_ID.fullmatch(key_id):
        raise KeyFileError(f"invalid key id {key_id!r}: use 1-64 characters of A-Z a-z 0-9 . _ -")
    return key_id


def _raw_private(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def private_key_text(key_id: str, key: Ed25519PrivateKey) -> str:
    """The private key file's line for ``key``."""
    return f"{PRIVATE_TAG} {check_key_id(key_id)} {base64.b64encode(_raw_private(key)).decode()}"


def public_key_text(key_id: str, key: Ed25519PublicKey) -> str:
    """The public key file's line for ``key``."""
    return f"{PUBLIC_TAG} {check_key_id(key_id)} {base64.b64encode(_raw_public(key)).decode()}"


def _lines(text: str) -> Iterator[list[str]]:
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            yield line.split()


def _decode(value: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(value, validate=True)
    except binascii.Error as exc:
        raise KeyFileError(f"{what}: not base64") from exc
    if len(raw) != 32:
        raise KeyFileError(f"{what}: expected 32 bytes, got {len(raw)}")
    return raw


def parse_private_key(text: str) -> tuple[str, Ed25519PrivateKey]:
    """``(key_id, key)`` from a private key file's text."""
    lines = list(_lines(text))
    if len(lines) != 1 or len(lines[0]) != 3 or lines[0][0] != PRIVATE_TAG:
        raise KeyFileError(f"expected one line '{PRIVATE_TAG} <key id> <base64 key>'")
    _, key_id, value = lines[0]
    return check_key_id(key_id), Ed25519PrivateKey.from_private_bytes(_decode(value, "private key"))


def parse_public_keys(text: str) -> dict[str, Ed25519PublicKey]:
    """``{key_id: key}`` from a public key file's text (one or more lines)."""
    keys: dict[str, Ed25519PublicKey] = {}
    for number, fields in enumerate(_lines(text), 1):
        if len(fields) != 3 or fields[0] != PUBLIC_TAG:
            raise KeyFileError(f"line {number}: expected '{PUBLIC_TAG} <key id> <base64 key>'")
        key_id = check_key_id(fields[1])
        if key_id in keys:
            raise KeyFileError(f"line {number}: key id {key_id!r} appears twice")
        keys[key_id] = Ed25519PublicKey.from_public_bytes(_decode(fields[2], f"line {number}"))
    if not keys:
        raise KeyFileError("no public key found")
    return keys


def _read(path: Path) -> str:
    try:
        return Path(path).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"cannot read {path}: {exc}") from exc


def load_private_key(path: Path) -> tuple[str, Ed25519PrivateKey]:
    """``(key_id, key)`` from a private key file."""
    try:
        return parse_private_key(_read(path))
    except KeyFileError as exc:
        raise KeyFileError(f"{path}: {exc}") from exc


def load_public_keys(path: Path) -> dict[str, Ed25519PublicKey]:
    """``{key_id: key}`` from a public key file."""
    try:
        return parse_public_keys(_read(path))
    except KeyFileError as exc:
        raise KeyFileError(f"{path}: {exc}") from exc


@dataclass(frozen=True)
class KeyPair:
    """A signing key and its id."""

    key_id: str
    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    def public_text(self) -> str:
        return public_key_text(self.key_id, self.public_key)

    @classmethod
    def generate(cls, key_id: str) -> KeyPair:
        return cls(check_key_id(key_id), Ed25519PrivateKey.generate())


def generate_keypair(key_id: str, folder: Path, *, stem: str | None = None) -> KeyPair:
    """The key pair ``folder/<stem>.key`` (mode 0600) and ``folder/<stem>.pub``, created if missing.

    ``stem`` defaults to ``key_id``. An existing private key is kept (its key id
    must be ``key_id``); the public file is rewritten from it, so a lost
    ``.pub`` is restored.
    """
    check_key_id(key_id)
    stem = check_key_id(stem or key_id)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    key_path, pub_path = folder / f"{stem}.key", folder / f"{stem}.pub"
    if key_path.exists():
        found_id, private_key = load_private_key(key_path)
        if found_id != key_id:
            raise KeyFileError(f"{key_path} holds key {found_id!r}, not {key_id!r}")
        pair = KeyPair(key_id, private_key)
    else:
        pair = KeyPair.generate(key_id)
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write("# Ed25519 private signing key: keep secret\n")
            handle.write(private_key_text(key_id, pair.private_key) + "\n")
    text = pair.public_text() + "\n"
    if not pub_path.exists() or pub_path.read_text(encoding="ascii") != text:
        pub_path.write_text(text, encoding="ascii")
    return pair


def load_keypair(path: Path) -> KeyPair:
    """The key pair of a private key file."""
    key_id, private_key = load_private_key(path)
    return KeyPair(key_id, private_key)


class Keyring(HTTPSignatureKeyResolver):
    """The public keys a verifier trusts, by key id (an unknown id resolves to ``None``)."""

    def __init__(self, keys: Mapping[str, Ed25519PublicKey] | None = None) -> None:
        self._keys: dict[str, Ed25519PublicKey] = {}
        for key_id, key in (keys or {}).items():
            self.add(key_id, key)

    @classmethod
    def from_files(cls, paths: Iterable[Path]) -> Keyring:
        """A keyring of every key in the given public key files."""
        ring = cls()
        for path in paths:
            for key_id, key in load_public_keys(path).items():
                ring.add(key_id, key)
        return ring

    def add(self, key_id: str, key: Ed25519PublicKey) -> None:
        check_key_id(key_id)
        if not isinstance(key, Ed25519PublicKey):
            raise TypeError("only Ed25519 public keys are supported")
        existing = self._keys.get(key_id)
        if existing is not None and _raw_public(existing) != _raw_public(key):
            raise KeyFileError(f"two different keys for key id {key_id!r}")
        self._keys[key_id] = key

    def __contains__(self, key_id: object) -> bool:
        return key_id in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def key_ids(self) -> list[str]:
        return sorted(self._keys)

    def resolve_public_key(self, key_id: str) -> Ed25519PublicKey | None:
        return self._keys.get(key_id)

    def resolve_private_key(self, key_id: str) -> Ed25519PrivateKey:
        raise KeyError("a keyring holds public keys only")
