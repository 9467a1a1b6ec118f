"""Background work of the casework (scheduled in gerbang/core/schedules.py)."""

from __future__ import annotations

from . import flow


def assign_waiting() -> int:
    return flow.assign_waiting()
