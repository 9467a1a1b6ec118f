from django.db import migrations

# Written out here rather than through gerbang.core.schedules.ensure_schedules, which installs whatever that
# list holds at the time the migration runs.
NAME = "mark-no-shows"


def create(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name=NAME,
        defaults={
            "func": "gerbang.appointments.tasks.mark_no_shows",
            "schedule_type": "I",
            "minutes": 15,
            "repeats": -1,
        },
    )


def remove(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("core", "0006_run_draws_schedule")]
    operations = [migrations.RunPython(create, remove)]
