"""A disability needing priority service, declared on the passport step (page and API); checked at the counter."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from gerbang.accounts.actions import issue_api_token
from gerbang.applications.models import ApplicationVersion
from gerbang.appointments.actions import _is_priority
from gerbang.identity.tests.support import SITI, signed_in_citizen

from .support import fill_in, load_demo_tariffs, start, step_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def siti(registry: Any, django_capture_on_commit_callbacks: Any) -> tuple[Client, Any]:
    load_demo_tariffs()
    client, user = signed_in_citizen(SITI, "siti@example.test", django_capture_on_commit_callbacks)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client, user


def test_the_applicant_declares_a_disability_on_the_passport_step_and_it_makes_them_a_priority_applicant(
    siti: tuple[Client, Any], office: Any
) -> None:
    client, _user = siti
    application = start(client, SITI["nik"])
    step = client.get(step_url(application, "passport")).content.decode()
    assert "The applicant has a disability and needs priority service" in step
    assert "checked in person at the counter" in step
    assert not _is_priority(application, dt.date.today())  # an adult under 60, nothing declared

    fill_in(client, application, office=office, passport={"declared_disability": "on"})

    application.refresh_from_db()
    assert application.declared_disability is True
    assert _is_priority(application, dt.date.today())
    review = client.get(step_url(application, "review")).content.decode()
    assert "Declares a disability needing priority service (checked in person at the counter)" in review
    client.post(step_url(application, "review"), {"declaration": "on"})
    version = ApplicationVersion.objects.get(application=application)
    assert version.content["declared_disability"] is True
    status = client.get(f"/permohonan/{application.public_id}/").content.decode()
    assert 'id="declared-disability"' in status


def test_the_declaration_through_the_api(siti: tuple[Client, Any]) -> None:
    client, user = siti
    application = start(client, SITI["nik"])
    token, _row = issue_api_token(user)
    api = Client(headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"})
    path = f"/api/v1/applications/{application.public_id}"
    assert api.get(path).json()["declared_disability"] is False

    saved = api.patch(path, {"declared_disability": True}, "application/json")

    assert saved.status_code == 200 and saved.json()["declared_disability"] is True
    application.refresh_from_db()
    assert application.declared_disability is True
    assert api.patch(path, {"declared_disability": None}, "application/json").status_code == 422
    assert api.patch(path, {"declared_disability": "maybe"}, "application/json").status_code == 422
    assert api.patch(path, {"declared_disability": False}, "application/json").json()["declared_disability"] is False
