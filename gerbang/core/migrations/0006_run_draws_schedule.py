from django.db import migrations

from gerbang.core.schedules import ensure_schedules


def create(apps, schema_editor):
    ensure_schedules(apps.get_model("django_q", "Schedule"))


def remove(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name="run-draws").delete()


class Migration(migrations.Migration):
    dependencies = [("core", "0005_reconcile_schedule")]
    operations = [migrations.RunPython(create, remove)]
