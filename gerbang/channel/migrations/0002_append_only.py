"""Messages of the official channel, and blocked attempts, are append-only in the database (gerbang/core/append_only)."""

from __future__ import annotations

from typing import Any

from django.db import migrations

from gerbang.core import append_only


def install(apps: Any, schema_editor: Any) -> None:
    append_only.install(
        schema_editor,
        function="channel_append_only",
        tables=("channel_message", "channel_blockedmessage"),
        message="messages of the official channel cannot be changed or deleted",
    )


class Migration(migrations.Migration):
    dependencies = [("channel", "0001_initial")]
    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
