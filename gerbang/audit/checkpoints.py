"""Signed tree heads: the log's Ed25519 key, signing, storing, reading.

A checkpoint is a C2SP signed note (:mod:`tlog.note`) over the sealed tree:
origin, size, base64 root and time. ``sign_checkpoint`` stores it in the
``audit_checkpoint`` table (served by the API, from any web process) and as a
file under ``settings.AUDIT_CHECKPOINT_DIR`` (``<size>-<time>.note`` and
``latest.note``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tlog import note

from . import sealing
from .actions import record
from .models import Checkpoint
from .tree import StoredTree


class KeyMissing(RuntimeError):
    """The log's signing key is not where the settings say."""


def log_signer() -> note.Signer:
    path = Path(settings.AUDIT_LOG_KEY_FILE)
    try:
        text = path.read_text()
    except FileNotFoundError as exc:
        raise KeyMissing(f"no audit-log signing key at {path}; create one with `manage.py audit_keygen`") from exc
    signer = note.Signer.from_text(text)
    if signer.name != settings.AUDIT_LOG_ORIGIN:
        raise KeyMissing(f"the key at {path} is for {signer.name!r}, not {settings.AUDIT_LOG_ORIGIN!r}")
    return signer


def log_verifier() -> note.Verifier:
    """The log's public key, derived from the signing key."""
    return log_signer().verifier()


def public_key_path() -> Path:
    return Path(settings.AUDIT_LOG_KEY_FILE).with_suffix(".vkey")


def generate_key() -> tuple[Path, bool]:
    """Create the signing key (0600) and its public verifier key file, once."""
    path = Path(settings.AUDIT_LOG_KEY_FILE)
    created = False
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        signer = note.Signer.generate(settings.AUDIT_LOG_ORIGIN)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(signer.to_text() + "\n")
        created = True
    public_key_path().write_text(log_signer().verifier().to_text() + "\n")
    return path, created


@dataclass(frozen=True)
class SignedHead:
    checkpoint: note.Checkpoint
    note: str
    path: Path | None


def sign_checkpoint(*, force: bool = False) -> SignedHead | None:
    """Sign the current sealed tree; ``None`` when it has not grown since the last head (unless ``force``)."""
    signer = log_signer()
    with transaction.atomic():
        size = sealing.chain_head().size
        last = Checkpoint.objects.order_by("-id").first()
        if last is not None and last.tree_size == size and not force:
            return None
        root = StoredTree(size).root()
        head = note.Checkpoint(origin=signer.name, size=size, root=root, time=timezone.now().replace(microsecond=0))
        text = signer.sign_checkpoint(head)
        Checkpoint.objects.create(tree_size=size, root_hash=root.hex(), signed_at=head.time, note=text)
        record("audit.checkpoint_signed", actor=None, details={"tree_size": size, "root_hash": root.hex()})
    return SignedHead(head, text, _write_file(head, text))


def _write_file(head: note.Checkpoint, text: str) -> Path:
    folder = Path(settings.AUDIT_CHECKPOINT_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{head.size:012d}-{head.time.strftime('%Y%m%dT%H%M%SZ')}.note"
    path.write_text(text)
    latest = folder / "latest.note"
    tmp = folder / ".latest.note.tmp"
    tmp.write_text(text)
    tmp.replace(latest)
    return path


def latest() -> Checkpoint | None:
    return Checkpoint.objects.order_by("-id").first()
