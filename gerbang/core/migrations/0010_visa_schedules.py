"""Schedule of stay-permit expiry reminders (gerbang/core/schedules.py)."""

from django.db import migrations

SCHEDULES = [("remind-permit-expiry", "gerbang.visas.tasks.send_expiry_reminders", "H")]


def create(apps, schema_editor):
    schedule = apps.get_model("django_q", "Schedule")
    for name, func, kind in SCHEDULES:
        schedule.objects.update_or_create(
            name=name, defaults={"func": func, "schedule_type": kind, "minutes": None, "repeats": -1}
        )


def remove(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name__in=[s[0] for s in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [("core", "0009_casework_schedules")]

    operations = [migrations.RunPython(create, remove)]
