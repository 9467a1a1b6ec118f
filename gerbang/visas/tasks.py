"""Background work of the visas app (scheduled in gerbang/core/schedules.py)."""

from __future__ import annotations

from . import actions


def send_expiry_reminders() -> int:
    return actions.send_expiry_reminders()
