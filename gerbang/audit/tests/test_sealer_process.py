"""The sealer is a real process: events committed by requests are sealed within seconds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import transaction
from django.test import Client

from gerbang.audit.actions import record
from gerbang.audit.models import AuditEvent
from gerbang.conftest import build_user, test_database_url

BOUND_SECONDS = 5.0


@pytest.mark.django_db(transaction=True)
def test_the_sealer_process_seals_committed_events_within_the_bound(client: Client) -> None:
    sealer = subprocess.Popen(
        [sys.executable, "manage.py", "audit_sealer", "--interval", "0.5"],
        cwd=Path(settings.BASE_DIR),
        env={**os.environ, "DATABASE_URL": test_database_url()},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        assert sealer.stdout is not None
        assert "sealing every" in sealer.stdout.readline().decode()  # started, connected
        user = build_user()
        delays = []
        for i in range(3):
            with transaction.atomic():
                event = record("test.sealer_process", actor=user, obj=user, details={"i": i})
            committed = time.monotonic()
            while AuditEvent.objects.filter(pk=event.pk, seq__isnull=True).exists():
                assert time.monotonic() - committed < BOUND_SECONDS * 2, "the sealer did not seal the event"
                time.sleep(0.05)
            delays.append(time.monotonic() - committed)
        assert max(delays) < BOUND_SECONDS, delays
        status = client.get("/api/v1/audit/status").json()
        assert status["sealing_lag_seconds"] < BOUND_SECONDS
    finally:
        os.killpg(sealer.pid, signal.SIGTERM)
        assert sealer.wait(timeout=20) == 0
