"""Background work of the payments module (scheduled in gerbang/core/schedules.py)."""

from __future__ import annotations

from . import actions, reconciliation


def expire_bills() -> int:
    """Mark bills unpaid past their expiry and the late-notification grace as expired."""
    return actions.expire_bills()


def reconcile() -> list[str]:
    """Fetch and reconcile every bank's statements still due (``manage.py reconcile`` without arguments)."""
    return [o if isinstance(o, str) else o.line() for o in reconciliation.reconcile_all()]
