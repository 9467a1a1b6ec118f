"""Foreigners' records under concurrent use (PostgreSQL): one border event stored once, one open application per
foreigner whoever files it."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from gerbang.audit.models import AuditEvent
from gerbang.casework.tests.support import two_offices
from gerbang.conftest import last_audit_id
from gerbang.visas import actions
from gerbang.visas.models import BorderMovement, Sponsorship, VisaApplication, VisaKind

from .support import company_sponsor, load_data, sponsored

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def _at_once(work: Callable[[Any], Any], items: list[Any]) -> tuple[list[Any], list[BaseException]]:
    barrier = threading.Barrier(len(items))
    results: list[Any] = []
    failures: list[BaseException] = []

    def run(item: Any) -> None:
        barrier.wait()
        try:
            results.append(work(item))
        except BaseException as exc:  # reported by the test
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(item,)) for item in items]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results, failures


def test_one_border_event_delivered_at_once_is_stored_once() -> None:
    load_data()
    person = sponsored(company_sponsor())
    at = timezone.now() - dt.timedelta(hours=1)
    since = last_audit_id()  # the audit log keeps other tests' events on PostgreSQL (append-only)

    def deliver(_n: int) -> bool:
        _movement, created = actions.record_movement(
            event_id="bc-concurrent-1",
            direction="entry",
            nationality=person.nationality,
            passport_number=person.passport_number,
            at=at,
            port="DPS",
        )
        return created

    results, failures = _at_once(deliver, list(range(4)))
    assert failures == []
    assert sorted(results) == [False, False, False, True]
    assert BorderMovement.objects.filter(event_id="bc-concurrent-1").count() == 1
    assert AuditEvent.objects.filter(id__gt=since, action="visas.border_entry").count() == 1


def test_two_sponsors_filing_for_one_foreigner_at_once_open_one_application() -> None:
    load_data()
    stage = two_offices(province_code="31")
    first = company_sponsor()
    person = sponsored(first)
    second = company_sponsor()
    Sponsorship.objects.create(sponsor=second, foreigner=person, relationship="client")
    kind = VisaKind.objects.get(code="e23")

    def start(sponsor: Any) -> int:
        application = actions.start_application(
            actor=sponsor.account,
            foreigner=person,
            kind=kind,
            office=stage.home,
            intended_arrival=timezone.localdate() + dt.timedelta(days=10),
        )
        return application.pk

    results, failures = _at_once(start, [first, second])
    assert len(results) == 1 and len(failures) == 1
    assert isinstance(failures[0], ValidationError) and "foreigner" in failures[0].message_dict
    assert VisaApplication.objects.filter(foreigner=person).count() == 1
