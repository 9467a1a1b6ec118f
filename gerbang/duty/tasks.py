"""Background work of the duty roster (scheduled in gerbang/core/schedules.py)."""

from __future__ import annotations

from . import actions


def close_ended_sessions() -> int:
    return actions.close_ended_sessions()
