"""Database triggers that make tables append-only, installed by the migrations of the apps that own them.

On PostgreSQL UPDATE and DELETE are refused; on SQLite UPDATE is refused (DELETE
stays possible there because Django's test framework empties tables with it;
see applications.0002). The SQL depends only on the arguments, so a migration
calling this installs the same triggers whenever it runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def statements(vendor: str, *, function: str, tables: Sequence[str], message: str) -> list[str]:
    if vendor == "postgresql":
        return [
            f"""CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{message}' USING ERRCODE = 'integrity_constraint_violation';
END $$""",
            *(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {function}()"
                for table in tables
            ),
        ]
    if vendor == "sqlite":
        return [
            f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} BEGIN SELECT RAISE(ABORT, '{message}'); END"
            for table in tables
        ]
    raise RuntimeError(f"no append-only triggers for {vendor}")


def install(schema_editor: Any, *, function: str, tables: Sequence[str], message: str) -> None:
    for statement in statements(schema_editor.connection.vendor, function=function, tables=tables, message=message):
        schema_editor.execute(statement)
