from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction

from gerbang.audit.actions import record
from gerbang.audit.schema import APPEND_ONLY_TABLES, EVENT, SEAL_COLUMNS

AUDIT_TABLES = (EVENT, *APPEND_ONLY_TABLES)


class Command(BaseCommand):
    help = (
        "PostgreSQL: give the role the web and worker processes connect with the rights they need and no "
        "more. Run it as the owner of the tables, after `migrate`. The role may read and write the ordinary "
        "tables, only insert into the audit tables (and seal events), and, not owning any table, cannot drop "
        "or disable the audit log's triggers."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("role", help="the application's database role (it must already exist)")
        parser.add_argument(
            "--allow-truncate",
            action="store_true",
            help="also allow TRUNCATE of the ordinary tables (the test suite empties them between tests)",
        )

    def handle(self, *args: Any, role: str, allow_truncate: bool, **options: Any) -> None:
        if connection.vendor != "postgresql":
            self.stdout.write("This database has no roles; nothing to grant.")
            return
        with connection.cursor() as cursor:
            cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", [role])
            row = cursor.fetchone()
            if row is None:
                raise CommandError(f"there is no role {role!r}; create it first (CREATE ROLE ... LOGIN)")
            if row[0]:
                raise CommandError(f"{role!r} is a superuser: it could drop the audit triggers; use a plain role")
            cursor.execute("SELECT current_user")
            me = cursor.fetchone()
            if me is not None and me[0] == role:
                raise CommandError("run this as the owner of the tables, not as the application's role")
            cursor.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tableowner = %s", [role]
            )
            owned = [r[0] for r in cursor.fetchall()]
            if owned:
                raise CommandError(f"{role!r} owns tables ({', '.join(owned[:5])}): it could drop their triggers")
        tables = [t for t in connection.introspection.table_names() if t not in AUDIT_TABLES]
        quote = connection.ops.quote_name
        who = quote(role)
        statements = [
            f"GRANT USAGE ON SCHEMA {quote('public')} TO {who}",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {quote('public')} TO {who}",
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {quote('public')} TO {who}",
            f"REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA {quote('public')} FROM {who}",
            f"REVOKE UPDATE, DELETE ON {', '.join(AUDIT_TABLES)} FROM {who}",
            f"GRANT UPDATE ({', '.join(SEAL_COLUMNS)}) ON {EVENT} TO {who}",
        ]
        if allow_truncate and tables:
            statements.append(f"GRANT TRUNCATE ON {', '.join(quote(t) for t in tables)} TO {who}")
        with transaction.atomic():
            with connection.cursor() as cursor:
                for sql in statements:
                    cursor.execute(sql)
            record("platform.database_role_granted", actor=None, details={"role": role, "truncate": allow_truncate})
        self.stdout.write(f"granted {role}: read/write on {len(tables)} tables, insert-only on the audit log")
