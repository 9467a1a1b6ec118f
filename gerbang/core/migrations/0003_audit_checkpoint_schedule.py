"""Re-apply the periodic schedules: signing an audit-log checkpoint every minute."""

from django.db import migrations

from gerbang.core.schedules import ensure_schedules


def create(apps, schema_editor):
    ensure_schedules(apps.get_model("django_q", "Schedule"))


def remove(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name="audit-checkpoint").delete()


class Migration(migrations.Migration):
    dependencies = [("core", "0002_schedules")]
    operations = [migrations.RunPython(create, remove)]
