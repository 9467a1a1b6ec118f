"""Background work of the official channel (scheduled in gerbang/core/schedules.py)."""

from __future__ import annotations

from . import notifications


def send_notification(notification_id: int) -> bool:
    return notifications.send(notification_id)


def send_pending() -> int:
    return notifications.send_pending()
