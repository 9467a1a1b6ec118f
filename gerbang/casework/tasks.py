"""Background work of the casework (scheduled in gerbang/core/schedules.py)."""

from __future__ import annotations

from . import flow


def assign_waiting() -> int:
    from gerbang.visas.flow import assign_waiting as assign_waiting_visas

    return flow.assign_waiting() + assign_waiting_visas()
