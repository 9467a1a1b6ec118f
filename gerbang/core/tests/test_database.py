"""The embedded default: SQLite in WAL mode with immediate transactions."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection

pytestmark = pytest.mark.django_db

SQLITE = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"


@pytest.mark.skipif(not SQLITE, reason="checks the embedded SQLite default; CI runs it in the SQLite phase")
def test_sqlite_uses_wal_and_immediate_transactions() -> None:
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
        cursor.execute("PRAGMA foreign_keys")
        assert cursor.fetchone()[0] == 1
    assert settings.DATABASES["default"]["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


@pytest.mark.skipif(SQLITE, reason="checks the PostgreSQL settings; CI runs it in the PostgreSQL phase")
def test_postgresql_keeps_connections_open() -> None:
    assert connection.vendor == "postgresql"
    assert (settings.DATABASES["default"]["CONN_MAX_AGE"] or 0) > 0
