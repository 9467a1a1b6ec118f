"""Background work of the payments module (scheduled in gerbang/core/schedules.py)."""

from __future__ import annotations

from . import actions


def expire_bills() -> int:
    """Mark bills unpaid past their expiry and the late-notification grace as expired."""
    return actions.expire_bills()
