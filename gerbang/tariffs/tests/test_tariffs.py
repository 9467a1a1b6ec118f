"""Fees are dated, versioned data: the fee due is the version in force on the day."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.test import Client

from gerbang.audit.models import AuditEvent
from gerbang.conftest import build_staff
from gerbang.tariffs.actions import load_tariffs, publish_tariff
from gerbang.tariffs.models import Service, Tariff
from gerbang.tariffs.selectors import tariff_in_force

pytestmark = pytest.mark.django_db

TARIFFS_CSV = Path(settings.BASE_DIR) / "data" / "tariffs.csv"


@pytest.fixture
def tariffs() -> int:
    """Load the tariffs; return the last audit event id before (audit events outlive other tests' data)."""
    before = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    load_tariffs(TARIFFS_CSV)
    return before


def test_the_version_in_force_on_a_date(tariffs: None) -> None:
    assert tariff_in_force("passport-regular-5y", dt.date(2020, 1, 1)).legal_basis == "PP 28/2019"  # type: ignore[union-attr]
    current = tariff_in_force("passport-electronic-10y", dt.date(2025, 6, 1))
    assert current is not None and current.amount == 950_000
    assert tariff_in_force("passport-electronic-10y", dt.date(2020, 1, 1)) is None
    assert tariff_in_force("passport-regular-5y", dt.date(2019, 1, 1)) is None


def test_a_new_version_starts_on_its_date_and_leaves_the_past_alone(tariffs: int) -> None:
    service = Service.objects.get(code="evoa")
    publish_tariff(service, valid_from=dt.date(2030, 1, 1), amount=750_000, legal_basis="PP 1/2030", actor=None)
    assert tariff_in_force("evoa", dt.date(2029, 12, 31)).amount == 500_000  # type: ignore[union-attr]
    assert tariff_in_force("evoa", dt.date(2030, 1, 1)).amount == 750_000  # type: ignore[union-attr]
    published = AuditEvent.objects.filter(action="tariffs.published", details__service="evoa", id__gt=tariffs)
    assert published.count() == 2
    with pytest.raises(ValidationError):
        publish_tariff(service, valid_from=dt.date(2030, 1, 1), amount=1, legal_basis="x", actor=None)
    with pytest.raises(ValidationError):
        publish_tariff(service, valid_from=dt.date(2031, 1, 1), amount=0, legal_basis="x", actor=None)


def test_staff_without_the_role_cannot_publish_a_tariff(tariffs: None) -> None:
    from django.http import Http404

    officer = build_staff()
    officer.is_verified = lambda: True  # type: ignore[attr-defined]
    with pytest.raises(Http404):
        publish_tariff(
            Service.objects.get(code="evoa"), valid_from=dt.date(2031, 1, 1), amount=1, legal_basis="x", actor=officer
        )


def test_tariff_page_and_api_by_date(tariffs: None) -> None:
    client = Client()
    page = client.get("/tarif/?on=2020-01-01")
    assert page.status_code == 200
    codes = [t.service.code for t in page.context["tariffs"]]
    assert "passport-regular-5y" in codes and "passport-electronic-10y" not in codes
    assert "Rp\u00a0350.000" in page.content.decode()
    bad = client.get("/tarif/?on=31-12-2020")
    assert bad.status_code == 400 and bad.context["error"]
    api = client.get("/api/v1/tariffs?on=2025-01-01").json()
    assert {"service": "passport-electronic-10y", "amount": 950_000}.items() <= next(
        t for t in api if t["service"] == "passport-electronic-10y"
    ).items()
    assert client.get("/api/v1/tariffs?on=yesterday").status_code == 422


def test_home_page_lists_services_with_their_fees(tariffs: None) -> None:
    page = Client().get("/")
    assert page.status_code == 200
    assert "Rp\u00a0950.000" in page.content.decode()


def test_only_national_system_administrators_publish_fees_over_http(tariffs: None) -> None:
    from gerbang.accounts.models import Role
    from gerbang.conftest import build_office, build_user, staff_client

    office = build_office()
    data = {
        "service": Service.objects.get(code="evoa").pk,
        "valid_from": "2031-01-01",
        "amount": "600000",
        "legal_basis": "PP 9/2031",
    }
    versions = Tariff.objects.count()
    applicant = Client()
    applicant.force_login(build_user())
    refused = {
        "anonymous": Client(),
        "applicant": applicant,
        "office head": staff_client(build_staff(Role.OFFICE_HEAD, office=office)),
        "office administrator": staff_client(build_staff(Role.SYSTEM_ADMIN, office=office)),
        "division administrator": staff_client(build_staff(Role.SYSTEM_ADMIN, division=office.division)),
    }
    for who, client in refused.items():
        response = client.post("/staf/tarif/", data)
        assert response.status_code in (302, 404), who
        assert Tariff.objects.count() == versions, who
    national = staff_client(build_staff(Role.SYSTEM_ADMIN))
    past = national.post("/staf/tarif/", {**data, "valid_from": "2020-01-01"})
    assert past.status_code == 200 and past.context["form"].errors["valid_from"]
    assert national.post("/staf/tarif/", data).status_code == 302
    assert tariff_in_force("evoa", dt.date(2031, 1, 2)).amount == 600_000  # type: ignore[union-attr]
