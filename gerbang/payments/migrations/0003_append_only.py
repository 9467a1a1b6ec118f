"""Proven payments, reconciled statements and their entries are append-only in the database.

On PostgreSQL UPDATE and DELETE are refused; on SQLite UPDATE is refused (DELETE
stays possible there because Django's test framework empties tables with it;
see applications.0002).
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

from gerbang.core import append_only


def install(apps: Any, schema_editor: Any) -> None:
    append_only.install(
        schema_editor,
        function="payments_append_only",
        tables=("payments_payment", "payments_statement", "payments_statemententry"),
        message="proven payments and reconciled statements cannot be changed or deleted",
    )


class Migration(migrations.Migration):
    dependencies = [("payments", "0002_reconciliation")]
    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
