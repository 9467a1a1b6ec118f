"""Submitted versions and the timeline are append-only in the database, not only in the code.

Document rows may change in one way only: being marked as replaced. On
PostgreSQL (production) UPDATE and DELETE are refused; on SQLite (the embedded
development database) UPDATE is refused but DELETE is not, because Django's
test framework empties tables between transactional tests with DELETE there
(on PostgreSQL it uses TRUNCATE, which only the table owner may run).
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

APPEND_ONLY = ("applications_applicationversion", "applications_step")
DOCUMENT = "applications_document"
DOCUMENT_CONTENT = ("id", "application_id", "kind", "stored_name", "content_type", "size", "sha256", "pages", "uploaded_by_id", "uploaded_at")

_RAISE = "RAISE EXCEPTION '%s' USING ERRCODE = 'integrity_constraint_violation'"

POSTGRESQL = [
    f"""CREATE OR REPLACE FUNCTION applications_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {_RAISE % "submitted versions and the timeline cannot be changed or deleted"};
END $$""",
    f"""CREATE OR REPLACE FUNCTION applications_document_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.superseded_at IS NULL
       AND ({", ".join("NEW." + c for c in DOCUMENT_CONTENT)}) IS NOT DISTINCT FROM ({", ".join("OLD." + c for c in DOCUMENT_CONTENT)}) THEN
        RETURN NEW;
    END IF;
    {_RAISE % "a document can only be marked as replaced, never changed or deleted"};
END $$""",
    f"CREATE TRIGGER {DOCUMENT}_guard BEFORE UPDATE OR DELETE ON {DOCUMENT} "
    "FOR EACH ROW EXECUTE FUNCTION applications_document_guard()",
]
for _table in APPEND_ONLY:
    POSTGRESQL.append(
        f"CREATE TRIGGER {_table}_append_only BEFORE UPDATE OR DELETE ON {_table} "
        "FOR EACH ROW EXECUTE FUNCTION applications_append_only()"
    )

SQLITE = [
    f"CREATE TRIGGER {DOCUMENT}_only_replace BEFORE UPDATE ON {DOCUMENT} WHEN OLD.superseded_at IS NOT NULL OR "
    + " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in DOCUMENT_CONTENT)
    + " BEGIN SELECT RAISE(ABORT, 'a document can only be marked as replaced, never changed or deleted'); END",
]
for _table in APPEND_ONLY:
    SQLITE.append(
        f"CREATE TRIGGER {_table}_no_update BEFORE UPDATE ON {_table} "
        "BEGIN SELECT RAISE(ABORT, 'submitted versions and the timeline cannot be changed or deleted'); END"
    )


def install(apps: Any, schema_editor: Any) -> None:
    vendor = schema_editor.connection.vendor
    statements = {"postgresql": POSTGRESQL, "sqlite": SQLITE}.get(vendor)
    if statements is None:
        raise RuntimeError(f"no append-only triggers for {vendor}")
    for statement in statements:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("applications", "0001_initial")]
    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
