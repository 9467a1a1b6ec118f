"""The one way to record an audit event.

Call :func:`record` inside the ``transaction.atomic()`` block of the action it
describes: the event commits or rolls back together with the change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import connection, models

from .models import AuditEvent

if TYPE_CHECKING:
    from gerbang.accounts.models import User
    from gerbang.organisation.models import Office

_FORBIDDEN_DETAIL_KEYS = frozenset({"password", "secret", "seed", "token", "otp", "otp_code"})


class AuditOutsideTransaction(RuntimeError):
    """Raised when an event would be written outside the action's transaction."""


def record(
    action: str,
    *,
    actor: User | None,
    obj: models.Model | None = None,
    office: Office | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    if not connection.in_atomic_block:
        raise AuditOutsideTransaction(f"audit event {action!r} must be recorded inside the action's transaction")
    details = dict(details or {})
    leaked = _FORBIDDEN_DETAIL_KEYS.intersection(details)
    if leaked:
        raise ValueError(f"audit details must not carry secrets: {sorted(leaked)}")
    return AuditEvent.objects.create(
        action=action,
        actor=actor if actor is not None and actor.is_authenticated else None,
        office=office,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        details=details,
    )
