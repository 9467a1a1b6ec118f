"""Races that the database must settle (PostgreSQL: row locks and partial unique indexes)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from gerbang.accounts.models import User
from gerbang.applications import actions
from gerbang.applications.models import ApplicationVersion, PassportApplication
from gerbang.conftest import build_office, build_user
from gerbang.identity.models import CitizenIdentity, Dependant

from .support import load_demo_tariffs

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

CHILD = "3173016005150001"


def _parent(nik: str, relationship: str) -> User:
    user = build_user()
    identity = CitizenIdentity.objects.create(
        account=user,
        status="active",
        nik=nik,
        kk="3173011001200001",
        name=f"Parent {nik[-4:]}",
        birth_date=dt.date(1985, 1, 1),
        sex="F",
        relationship=relationship,
        registry_checked_at=timezone.now(),
        activated_at=timezone.now(),
    )
    Dependant.objects.create(
        guardian=identity, nik=CHILD, name="Putri", birth_date=dt.date(2015, 5, 20), sex="F", listed_at=timezone.now()
    )
    return user


def _race(calls: list[Callable[[], Any]]) -> list[str]:
    barrier = threading.Barrier(len(calls))
    outcomes: list[str] = []

    def run(call: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            call()
            outcomes.append("done")
        except ValidationError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(c,)) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return sorted(outcomes)


def test_two_parents_starting_an_application_for_the_same_child_at_once_get_one() -> None:
    mother, father = _parent("3173015708870001", "wife"), _parent("3173011203840001", "head")
    outcomes = _race(
        [
            lambda: actions.create_draft(actor=mother, applicant_nik=CHILD, kind="first"),
            lambda: actions.create_draft(actor=father, applicant_nik=CHILD, kind="first"),
        ]
    )
    assert outcomes == ["done", "refused"]
    assert PassportApplication.objects.filter(applicant_nik=CHILD).count() == 1


def test_submitting_twice_at_once_freezes_one_version() -> None:
    load_demo_tariffs()
    mother = _parent("3173015708870001", "wife")
    application = actions.create_draft(actor=mother, applicant_nik="3173015708870001", kind="renewal")
    actions.update_draft(
        application, actor=mother, renewal_reason="full", old_passport_number="A1234567", office=build_office()
    )
    from .samples import jpeg_bytes

    for kind in ("ktp", "old_passport"):
        actions.upload_document(application, actor=mother, kind=kind, stream=jpeg_bytes())
    outcomes = _race([lambda: actions.submit(application, actor=mother, declaration=True) for _ in range(3)])
    assert outcomes == ["done", "refused", "refused"]
    assert ApplicationVersion.objects.filter(application=application).count() == 1
