"""Database-level guarantees of the audit log: append-only triggers.

Installed by migration ``audit.0002``. On PostgreSQL row triggers refuse
UPDATE of sealed events (and any change of an unsealed event other than
sealing it), every DELETE, and a statement trigger refuses TRUNCATE; on
SQLite the same rules are row triggers (SQLite has no TRUNCATE). The errors
use SQLSTATE 23000, so both databases raise ``django.db.IntegrityError``.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

EVENT = "audit_auditevent"
APPEND_ONLY_TABLES = ("audit_treenode", "audit_checkpoint")
SEAL_COLUMNS = ("seq", "prev_hash", "entry_hash", "sealed_at")
CONTENT_COLUMNS = ("id", "occurred_at", "actor_id", "office_id", "action", "object_type", "object_id", "details")

_RAISE = "RAISE EXCEPTION '%s' USING ERRCODE = 'integrity_constraint_violation'"

POSTGRESQL = [
    f"""
CREATE OR REPLACE FUNCTION audit_event_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.seq IS NOT NULL OR NEW.prev_hash <> '' OR NEW.entry_hash <> '' OR NEW.sealed_at IS NOT NULL THEN
            {_RAISE % "audit log: events are inserted unsealed; only the sealer seals them"};
        END IF;
        RETURN NEW;
    ELSIF TG_OP = 'UPDATE' THEN
        IF OLD.seq IS NOT NULL THEN
            {_RAISE % "audit log is append-only: a sealed event cannot be changed"};
        END IF;
        IF NEW.seq IS NULL
           OR ({", ".join("NEW." + c for c in CONTENT_COLUMNS)})
              IS DISTINCT FROM ({", ".join("OLD." + c for c in CONTENT_COLUMNS)}) THEN
            {_RAISE % "audit log: an unsealed event can only be sealed"};
        END IF;
        RETURN NEW;
    END IF;
    {_RAISE % "audit log is append-only: events cannot be deleted or truncated"};
END
$$""",
    f"""
CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {_RAISE % "audit log is append-only: rows cannot be changed, deleted or truncated"};
END
$$""",
    f"CREATE TRIGGER audit_event_guard BEFORE INSERT OR UPDATE OR DELETE ON {EVENT} "
    "FOR EACH ROW EXECUTE FUNCTION audit_event_guard()",
    f"CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON {EVENT} "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_guard()",
    f"CREATE INDEX audit_event_unsealed ON {EVENT} (id) WHERE seq IS NULL",
]
for _table in APPEND_ONLY_TABLES:
    POSTGRESQL += [
        f"CREATE TRIGGER {_table}_append_only BEFORE UPDATE OR DELETE ON {_table} "
        "FOR EACH ROW EXECUTE FUNCTION audit_append_only()",
        f"CREATE TRIGGER {_table}_no_truncate BEFORE TRUNCATE ON {_table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()",
    ]


def _sqlite_raise(message: str) -> str:
    return f"BEGIN SELECT RAISE(ABORT, '{message}'); END"


SQLITE = [
    f"CREATE TRIGGER audit_event_insert_unsealed BEFORE INSERT ON {EVENT} "
    "WHEN NEW.seq IS NOT NULL OR NEW.prev_hash <> '' OR NEW.entry_hash <> '' OR NEW.sealed_at IS NOT NULL "
    + _sqlite_raise("audit log: events are inserted unsealed; only the sealer seals them"),
    f"CREATE TRIGGER audit_event_sealed_is_final BEFORE UPDATE ON {EVENT} WHEN OLD.seq IS NOT NULL "
    + _sqlite_raise("audit log is append-only: a sealed event cannot be changed"),
    f"CREATE TRIGGER audit_event_only_sealing BEFORE UPDATE ON {EVENT} WHEN NEW.seq IS NULL OR "
    + " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in CONTENT_COLUMNS)
    + " "
    + _sqlite_raise("audit log: an unsealed event can only be sealed"),
    f"CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON {EVENT} "
    + _sqlite_raise("audit log is append-only: events cannot be deleted"),
    f"CREATE INDEX audit_event_unsealed ON {EVENT} (id) WHERE seq IS NULL",
]
for _table in APPEND_ONLY_TABLES:
    SQLITE += [
        f"CREATE TRIGGER {_table}_no_update BEFORE UPDATE ON {_table} "
        + _sqlite_raise("audit log is append-only: rows cannot be changed"),
        f"CREATE TRIGGER {_table}_no_delete BEFORE DELETE ON {_table} "
        + _sqlite_raise("audit log is append-only: rows cannot be deleted"),
    ]

# Triggers a database administrator would have to drop to rewrite history;
# the tamper tests drop exactly these.
TRIGGER_NAMES = {
    "postgresql": {EVENT: ["audit_event_guard", "audit_event_no_truncate"]}
    | {t: [f"{t}_append_only", f"{t}_no_truncate"] for t in APPEND_ONLY_TABLES},
    "sqlite": {
        EVENT: [
            "audit_event_insert_unsealed",
            "audit_event_sealed_is_final",
            "audit_event_only_sealing",
            "audit_event_no_delete",
        ]
    }
    | {t: [f"{t}_no_update", f"{t}_no_delete"] for t in APPEND_ONLY_TABLES},
}


class InstallAuditTriggers(migrations.operations.base.Operation):
    """Create the triggers for the database in use (no-op in the model state)."""

    reversible = False
    reduces_to_sql = True

    def state_forwards(self, app_label: str, state: Any) -> None:
        pass

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        vendor = schema_editor.connection.vendor
        statements = {"postgresql": POSTGRESQL, "sqlite": SQLITE}.get(vendor)
        if statements is None:
            raise NotImplementedError(f"no audit triggers for {vendor}")
        for sql in statements:
            schema_editor.execute(sql, params=None)

    def describe(self) -> str:
        return "Install the audit log's append-only triggers"
