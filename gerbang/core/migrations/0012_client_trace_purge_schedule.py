"""Schedule of supervision: the daily purge of client traces (gerbang/core/schedules.py)."""

from django.db import migrations

NAME = "purge-client-traces"


def create(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name=NAME,
        defaults={
            "func": "gerbang.supervision.tasks.purge_client_traces",
            "schedule_type": "D",
            "minutes": None,
            "repeats": -1,
        },
    )


def remove(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("core", "0011_supervision_schedules")]

    operations = [migrations.RunPython(create, remove)]
