"""Rules the database keeps even against code that forgets them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from gerbang.applications.models import Document, PassportApplication, Step
from gerbang.conftest import build_user

pytestmark = pytest.mark.django_db


def _application(**extra: object) -> PassportApplication:
    fields = {
        "filer": build_user(),
        "applicant_nik": "3173015708870001",
        "applicant_name": "Siti Rahayu",
        "applicant_birth_date": dt.date(1987, 8, 17),
        "applicant_sex": "F",
        "kind": "first",
    } | extra
    return PassportApplication.objects.create(**fields)


def _raw(sql: str, params: list[Any]) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_one_open_application_per_nik_minors_5_years_and_references_are_enforced_by_the_database() -> None:
    first = _application()
    with pytest.raises(IntegrityError), transaction.atomic():
        _application()  # a second open one for the same NIK
    first.status = "withdrawn"
    first.save()
    _application()  # a withdrawn one no longer counts
    with pytest.raises(IntegrityError), transaction.atomic():
        _application(applicant_nik="3173016005150001", applicant_minor=True, validity_years=10)
    with pytest.raises(IntegrityError), transaction.atomic():
        _application(applicant_nik="3173010211190001", status="submitted")  # submitted without a reference


def test_documents_can_only_be_marked_replaced_and_steps_never_change() -> None:
    application = _application()
    user = application.filer
    document = Document.objects.create(
        application=application,
        kind="ktp",
        stored_name="2026/11/abc.jpg",
        content_type="image/jpeg",
        size=10,
        sha256="0" * 64,
        uploaded_by=user,
        uploaded_at=timezone.now(),
    )
    step = Step.objects.create(application=application, action="create", to_status="draft", at=timezone.now())
    with pytest.raises(IntegrityError):
        _raw("UPDATE applications_document SET sha256 = %s WHERE id = %s", ["1" * 64, document.pk])
    with pytest.raises(IntegrityError):
        _raw("UPDATE applications_step SET note = %s WHERE id = %s", ["rewritten", step.pk])
    with pytest.raises(IntegrityError), transaction.atomic():
        Document.objects.create(
            application=application,
            kind="kk",
            stored_name="2026/11/x.gif",
            content_type="image/gif",
            size=1,
            sha256="0" * 64,
            uploaded_by=user,
            uploaded_at=timezone.now(),
        )
    _raw("UPDATE applications_document SET superseded_at = %s WHERE id = %s", [timezone.now(), document.pk])
    with pytest.raises(IntegrityError):  # replaced once, then final
        _raw("UPDATE applications_document SET superseded_at = NULL WHERE id = %s", [document.pk])
    document.refresh_from_db()
    step.refresh_from_db()
    assert document.sha256 == "0" * 64 and document.superseded_at is not None and step.note == ""
