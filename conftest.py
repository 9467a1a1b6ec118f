"""Session-wide test set-up shared by every test folder (gerbang/, tlog/, services/).

On PostgreSQL the test database is created and migrated by the owner role in
DATABASE_URL; the tests then run as the application's role, named by
GERBANG_TEST_APP_DATABASE_URL (`.ci/run` sets it), exactly as production does:
a role that owns no table and so cannot drop the audit log's triggers.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

OWNER_SETTINGS: dict[str, Any] = {}


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    import dj_database_url
    from django.core.management import call_command
    from django.db import connections

    conn = connections["default"]
    OWNER_SETTINGS.clear()
    OWNER_SETTINGS.update(conn.settings_dict)
    app_url = os.environ.get("GERBANG_TEST_APP_DATABASE_URL", "")
    if conn.vendor != "postgresql" or not app_url:
        yield
        return
    app = dj_database_url.parse(app_url)
    with django_db_blocker.unblock():
        call_command("db_grant_app_role", app["USER"], "--allow-truncate", verbosity=0)
        conn.close()
    saved = {"USER": conn.settings_dict["USER"], "PASSWORD": conn.settings_dict["PASSWORD"]}
    conn.settings_dict.update(USER=app["USER"], PASSWORD=app["PASSWORD"])
    try:
        yield
    finally:
        with django_db_blocker.unblock():
            conn.close()
        conn.settings_dict.update(saved)
