"""Rate-limit counters (docs/adr/0007-rate-limits.md): the table, UNLOGGED on PostgreSQL, and the schedule
that purges windows that are over."""

from django.db import migrations, models

# Written out here rather than through gerbang.core.schedules.ensure_schedules, which installs whatever that
# list holds at the time the migration runs.
NAME = "purge-rate-limits"


def unlogged(apps, schema_editor):
    # Counters need no crash safety; an UNLOGGED table writes no WAL, so its autocommit upserts wait for
    # no WAL flush. After a crash PostgreSQL empties it: every limit starts a fresh window.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE core_ratelimitcounter SET UNLOGGED")


def create_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name=NAME,
        defaults={
            "func": "gerbang.core.tasks.purge_rate_limit_windows",
            "schedule_type": "I",
            "minutes": 5,
            "repeats": -1,
        },
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("core", "0007_mark_no_shows_schedule")]

    operations = [
        migrations.CreateModel(
            name="RateLimitCounter",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "window_start", "bucket", blank=True, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("window_start", models.BigIntegerField(verbose_name="window start (Unix time)")),
                ("bucket", models.CharField(max_length=64, verbose_name="bucket")),
                ("hits", models.PositiveIntegerField(default=0, verbose_name="requests in the window")),
            ],
            options={
                "verbose_name": "rate-limit counter",
                "verbose_name_plural": "rate-limit counters",
            },
        ),
        migrations.RunPython(unlogged, migrations.RunPython.noop),
        migrations.RunPython(create_schedule, remove_schedule),
    ]
