"""Schedules of supervision: integrity signals, report deadlines, visit feedback (gerbang/core/schedules.py)."""

from django.db import migrations

SCHEDULES = [
    ("compute-integrity-signals", "gerbang.supervision.tasks.compute_signals", 15),
    ("escalate-overdue-reports", "gerbang.supervision.tasks.escalate_reports", 15),
    ("ask-visit-feedback", "gerbang.supervision.tasks.ask_visit_feedback", 5),
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
    dependencies = [("core", "0010_visa_schedules")]

    operations = [migrations.RunPython(create, remove)]
