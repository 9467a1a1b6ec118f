"""Proven payments, reconciled statements and their entries are append-only in the database.

On PostgreSQL UPDATE and DELETE are refused; on SQLite UPDATE is refused (DELETE
stays possible there because Django's test framework empties tables with it;
see applications.0002).
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

APPEND_ONLY = ("payments_payment", "payments_statement", "payments_statemententry")
MESSAGE = "proven payments and reconciled statements cannot be changed or deleted"

POSTGRESQL = [
    f"""CREATE OR REPLACE FUNCTION payments_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
END $$""",
    *(
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION payments_append_only()"
        for table in APPEND_ONLY
    ),
]
SQLITE = [
    f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
    for table in APPEND_ONLY
]


def install(apps: Any, schema_editor: Any) -> None:
    statements = {"postgresql": POSTGRESQL, "sqlite": SQLITE}.get(schema_editor.connection.vendor)
    if statements is None:
        raise RuntimeError(f"no append-only triggers for {schema_editor.connection.vendor}")
    for statement in statements:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("payments", "0002_reconciliation")]
    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
