"""The database itself refuses to rewrite the audit log (triggers and privileges)."""

from __future__ import annotations

import os
from typing import Any

import psycopg
import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from conftest import OWNER_SETTINGS
from gerbang.audit import sealing
from gerbang.audit.actions import record
from gerbang.audit.models import AuditEvent, Checkpoint, TreeNode
from gerbang.audit.schema import EVENT
from gerbang.conftest import build_user

# Committed rows, so that on PostgreSQL the owner's own connection sees them.
# (The audit tables are never flushed between tests; everything else is.)
pytestmark = pytest.mark.django_db(transaction=True)


def _sealed_and_unsealed() -> tuple[AuditEvent, AuditEvent]:
    user = build_user()
    with transaction.atomic():
        record("test.append_only", actor=user, obj=user)
    sealing.seal_pending()
    sealed = AuditEvent.objects.filter(seq__isnull=False).latest("seq")
    with transaction.atomic():
        unsealed = record("test.append_only", actor=user, obj=user)
    return sealed, unsealed


def _refused(sql: str, params: list[Any] | None = None) -> None:
    """The statement fails; on PostgreSQL the application's role lacks the privilege, so the
    owner (who has it) must then be stopped by the trigger itself."""
    with pytest.raises(DatabaseError) as caught, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params or [])
    if "permission denied" in str(caught.value):
        with (
            _owner_connection() as owner,
            pytest.raises(psycopg.errors.IntegrityConstraintViolation, match="audit log"),
        ):
            owner.execute(sql.encode(), params or [])
    else:
        assert isinstance(caught.value, IntegrityError) and "audit log" in str(caught.value)


def test_a_sealed_event_cannot_be_changed() -> None:
    sealed, _ = _sealed_and_unsealed()
    _refused("UPDATE audit_auditevent SET action = 'rewritten' WHERE id = %s", [sealed.pk])
    _refused("UPDATE audit_auditevent SET entry_hash = %s WHERE id = %s", ["0" * 64, sealed.pk])
    _refused("UPDATE audit_auditevent SET seq = NULL WHERE id = %s", [sealed.pk])
    sealed.action = "rewritten through the ORM"
    with pytest.raises(DatabaseError), transaction.atomic():
        sealed.save()
    assert AuditEvent.objects.get(pk=sealed.pk).action == "test.append_only"


def test_no_event_can_be_deleted_sealed_or_not() -> None:
    sealed, unsealed = _sealed_and_unsealed()
    _refused("DELETE FROM audit_auditevent WHERE id = %s", [sealed.pk])
    _refused("DELETE FROM audit_auditevent WHERE id = %s", [unsealed.pk])
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=unsealed.pk).delete()
    assert AuditEvent.objects.filter(pk__in=[sealed.pk, unsealed.pk]).count() == 2


def test_an_unsealed_event_can_only_be_sealed_and_nobody_inserts_a_sealed_one() -> None:
    _, unsealed = _sealed_and_unsealed()
    _refused("UPDATE audit_auditevent SET object_id = 'forged' WHERE id = %s", [unsealed.pk])
    _refused("UPDATE audit_auditevent SET action = 'other' WHERE id = %s", [unsealed.pk])
    _refused(
        "INSERT INTO audit_auditevent (occurred_at, action, object_type, object_id, details, "
        "seq, prev_hash, entry_hash) VALUES (CURRENT_TIMESTAMP, 'forged', '', '', '{}', 999999, '', '')"
    )
    sealing.seal_pending()
    assert AuditEvent.objects.get(pk=unsealed.pk).seq is not None


def test_merkle_nodes_and_checkpoints_cannot_be_changed_or_deleted() -> None:
    _sealed_and_unsealed()
    node = TreeNode.objects.order_by("key").first()
    assert node is not None
    _refused("UPDATE audit_treenode SET hash = %s WHERE key = %s", [b"\x00" * 32, node.key])
    _refused("DELETE FROM audit_treenode WHERE key = %s", [node.key])
    with transaction.atomic():
        cp = Checkpoint.objects.create(tree_size=1, root_hash="00" * 32, signed_at="2026-01-01T00:00:00Z", note="x")
    _refused("UPDATE audit_checkpoint SET tree_size = 2 WHERE id = %s", [cp.pk])
    _refused("DELETE FROM audit_checkpoint WHERE id = %s", [cp.pk])


def _owner_connection() -> psycopg.Connection[tuple[object, ...]]:
    s = OWNER_SETTINGS
    return psycopg.connect(
        host=s["HOST"], port=s["PORT"], user=s["USER"], password=s["PASSWORD"], dbname=connection.settings_dict["NAME"]
    )


@pytest.mark.postgres_only
@pytest.mark.parametrize("table", [EVENT, "audit_treenode", "audit_checkpoint"])
def test_truncate_is_refused_even_for_the_owner(table: str) -> None:
    with _owner_connection() as owner, owner.cursor() as cursor:
        with pytest.raises(psycopg.errors.IntegrityConstraintViolation, match="append-only"):
            cursor.execute(f"TRUNCATE {table}")
        owner.rollback()


@pytest.mark.postgres_only
def test_the_application_role_cannot_drop_or_disable_the_triggers() -> None:
    assert os.environ.get("GERBANG_TEST_APP_DATABASE_URL"), (
        "on PostgreSQL the suite must run as the application's role: set GERBANG_TEST_APP_DATABASE_URL "
        "(scripts/pg-test-cluster.sh app-url), as .ci/run does"
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user")
        row = cursor.fetchone()
        assert row is not None
        user, superuser = row
        cursor.execute("SELECT count(*) FROM pg_tables WHERE tableowner = current_user")
        owned = cursor.fetchone()
    assert user != OWNER_SETTINGS["USER"] and not superuser and owned == (0,)
    for sql in [
        f"DROP TRIGGER audit_event_guard ON {EVENT}",
        f"ALTER TABLE {EVENT} DISABLE TRIGGER audit_event_guard",
        f"ALTER TABLE {EVENT} DISABLE TRIGGER ALL",
        "DROP FUNCTION audit_event_guard() CASCADE",
        "SET session_replication_role = replica",
        f"TRUNCATE {EVENT}",
        "DELETE FROM audit_auditevent",
        "UPDATE audit_auditevent SET action = 'x'",
    ]:
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
