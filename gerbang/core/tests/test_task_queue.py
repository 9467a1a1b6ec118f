"""Background work runs on a real task queue: a separate worker process picks up tasks and schedules."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from django_q.models import Schedule, Success
from django_q.tasks import async_task

from gerbang.audit import sealing
from gerbang.conftest import test_database_url
from gerbang.core.models import WorkerHeartbeat
from gerbang.core.schedules import SCHEDULES, ensure_schedules


def _start_worker() -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": test_database_url(), "GERBANG_WORKERS": "1", "GERBANG_Q_GUARD_CYCLE": "0.1"}
    return subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=Path(settings.BASE_DIR),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _stop(worker: subprocess.Popen[bytes]) -> None:
    # A graceful django-q shutdown takes about 20 s; the test has what it needs, so end it at once.
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()


@pytest.mark.django_db
def test_the_periodic_schedules_are_installed_idempotently() -> None:
    Schedule.objects.all().delete()
    ensure_schedules(Schedule)
    ensure_schedules(Schedule)
    assert Schedule.objects.count() == len(SCHEDULES)
    names = set(Schedule.objects.values_list("name", flat=True))
    assert {"heartbeat", "clear-expired-sessions"} <= names


@pytest.mark.django_db(transaction=True)
def test_a_separate_worker_runs_queued_and_scheduled_tasks() -> None:
    task_id = async_task("gerbang.core.tasks.heartbeat")
    Schedule.objects.create(
        name="heartbeat-test",
        func="gerbang.core.tasks.clear_expired_sessions",
        schedule_type=Schedule.MINUTES,
        minutes=1,
        next_run=timezone.now(),
    )
    assert Client().get("/api/v1/health").json()["worker"] == "stale"
    worker = _start_worker()
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            done = Success.objects.filter(id=task_id).exists()
            scheduled = Success.objects.filter(func="gerbang.core.tasks.clear_expired_sessions").exists()
            if done and scheduled:
                break
            time.sleep(0.5)
    finally:
        _stop(worker)
    assert Success.objects.filter(id=task_id).exists(), "the worker did not run the queued task"
    assert Success.objects.filter(func="gerbang.core.tasks.clear_expired_sessions").exists(), "no scheduled run"
    assert WorkerHeartbeat.objects.get().runs >= 1
    sealing.seal_pending()  # no sealer process here; health also wants the audit log sealed
    health = Client().get("/api/v1/health").json()
    assert health["worker"] == "ok" and health["status"] == "ok"
