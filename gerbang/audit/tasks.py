"""Background work of the audit log (django-q2 schedules; the sealer is its own process)."""

from __future__ import annotations

import logging

from . import checkpoints

log = logging.getLogger(__name__)


def checkpoint() -> int | None:
    """Sign a tree head if the sealed log grew since the last one; the witness fetches it."""
    try:
        head = checkpoints.sign_checkpoint()
    except checkpoints.KeyMissing as exc:
        log.error("audit checkpoint not signed: %s", exc)
        return None
    return head.checkpoint.size if head else None
