"""A bank delivering the same payment several times at once, and two payments racing for one bill."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from gerbang.payments.models import Payment

from .support import make_bank, notification, send, submitted_application

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def test_concurrent_deliveries_credit_once_and_the_rest_are_duplicates_or_queued(settings: Any, tmp_path: Path) -> None:
    settings.BANK_SECRETS_DIR = tmp_path / "banks"
    bank, secret = make_bank(settings.BANK_SECRETS_DIR)
    _application, bill = submitted_application()
    same = notification(bill, bank)
    other = notification(bill, bank)  # a second, real payment of the same bill (paid twice)
    bodies = [same] * 6 + [other] * 2
    barrier = threading.Barrier(len(bodies))
    answers: list[str] = []

    def deliver(body: dict[str, Any]) -> None:
        barrier.wait()
        try:
            answers.append(send(Client(), bank, secret, body).json()["status"])
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver, args=(b,)) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert answers.count("credited") == 1 and answers.count("exception") == 1
    assert answers.count("duplicate") == 6
    assert Payment.objects.filter(bill=bill, outcome="credited").count() == 1
    assert Payment.objects.filter(bill=bill).count() == 2
