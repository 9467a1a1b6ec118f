"""The one way to record an audit event.

Call :func:`record` inside the ``transaction.atomic()`` block of the action it
describes: the event commits or rolls back together with the change. The
request's transaction only inserts the event; the sealer chains and hashes it
shortly after (:mod:`gerbang.audit.sealing`).

Reading personal data is an event too: :func:`record_view`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import connection, models, transaction
from django.utils import timezone

from .models import AuditEvent

if TYPE_CHECKING:
    from gerbang.accounts.models import User
    from gerbang.organisation.models import Office

_DETAILS = AuditEvent._meta.get_field("details")
_INSERT = (
    "INSERT INTO audit_auditevent (occurred_at, actor_id, office_id, action, object_type, object_id, details, "
    "prev_hash, entry_hash) VALUES (%s, %s, %s, %s, %s, %s, %s, '', '') RETURNING id"
)
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
    _check_canonical(details)
    event = AuditEvent(
        occurred_at=timezone.now(),
        actor=actor if actor is not None and actor.is_authenticated else None,
        office=office,
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        details=details,
    )
    # One plain INSERT: compiling it through the ORM cost three times the
    # statement itself, on every audited action (bench/audit_verify.py).
    params = [
        connection.ops.adapt_datetimefield_value(event.occurred_at),
        event.actor_id,
        event.office_id,
        event.action,
        event.object_type,
        event.object_id,
        _DETAILS.get_db_prep_save(details, connection),
    ]
    with connection.cursor() as cursor:
        cursor.execute(_INSERT, params)
        row = cursor.fetchone()
    if row is None:  # pragma: no cover - RETURNING always answers
        raise RuntimeError("the audit event was not inserted")
    event.pk = row[0]
    event._state.adding = False
    event._state.db = connection.alias
    return event


def record_view(
    action: str,
    *,
    actor: User | None,
    obj: models.Model | None = None,
    office: Office | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Record that someone looked at personal data (a record, a document, a search).

    Views call it before rendering; it commits on its own when the request
    has no transaction open.
    """
    with transaction.atomic():
        return record(action, actor=actor, obj=obj, office=office, details=details)


def _check_canonical(value: Any, path: str = "details") -> None:
    """Details must survive a JSON round trip byte for byte (they are hashed).

    So: strings, integers, booleans, null, lists and objects with string keys;
    no floats (their text form differs between databases).
    """
    if value is None or isinstance(value, bool | int | str):
        if isinstance(value, str) and "\x00" in value:
            raise ValueError(f"{path}: NUL characters cannot be stored")
        return
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_canonical(item, f"{path}[{i}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{path}: keys must be strings")
            _check_canonical(item, f"{path}.{key}")
        return
    raise ValueError(f"{path}: {type(value).__name__} values cannot be recorded; use a string or an integer")
