"""Schedules of casework assignment, notifications and counter sessions (gerbang/core/schedules.py)."""

from django.db import migrations

# Written out here rather than through ensure_schedules, which installs whatever that list holds when it runs.
SCHEDULES = [
    ("assign-waiting-cases", "gerbang.casework.tasks.assign_waiting", 1),
    ("send-notifications", "gerbang.channel.tasks.send_pending", 1),
    ("close-ended-sessions", "gerbang.duty.tasks.close_ended_sessions", 5),
]


def create(apps, schema_editor):
    schedule = apps.get_model("django_q", "Schedule")
    for name, func, minutes in SCHEDULES:
        schedule.objects.update_or_create(
            name=name, defaults={"func": func, "schedule_type": "I", "minutes": minutes, "repeats": -1}
        )


def remove(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name__in=[s[0] for s in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [("core", "0008_rate_limits"), ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more")]

    operations = [migrations.RunPython(create, remove)]
