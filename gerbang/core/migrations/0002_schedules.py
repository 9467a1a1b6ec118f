"""Periodic tasks: created by migration so every database, including a fresh one, has them."""

from django.db import migrations

from gerbang.core.schedules import SCHEDULES, ensure_schedules


def create(apps, schema_editor):
    ensure_schedules(apps.get_model("django_q", "Schedule"))


def remove(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.filter(name__in=[s[0] for s in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]
    operations = [migrations.RunPython(create, remove)]
