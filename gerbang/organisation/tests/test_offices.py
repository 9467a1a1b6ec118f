"""The hierarchy is loaded from the real office list as data, idempotently and with an audit trail."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.test import Client

from gerbang.accounts.models import Role
from gerbang.audit.models import AuditEvent
from gerbang.conftest import build_staff, last_audit_id, staff_client
from gerbang.organisation.actions import load_offices
from gerbang.organisation.models import Division, Office

pytestmark = pytest.mark.django_db

OFFICES_CSV = Path(settings.BASE_DIR) / "data" / "immigration_offices.csv"


def _rows() -> list[dict[str, str]]:
    with OFFICES_CSV.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_load_real_offices_into_divisions_keyed_by_province_code() -> None:
    rows = _rows()
    result = load_offices(OFFICES_CSV)
    assert result.created == len(rows) == Office.objects.count()
    assert Division.objects.count() == len({r["province_code"] for r in rows})
    for row in rows:
        office = Office.objects.select_related("division").get(name=row["name"])
        assert office.division.province_code == row["province_code"]
        assert office.timezone == row["timezone"]
        assert office.units.count() == 1
    ids = [str(pk) for pk in Office.objects.values_list("pk", flat=True)]
    assert AuditEvent.objects.filter(action="organisation.office_created", object_id__in=ids).count() == len(rows)
    # Papua uses the 2022 province codes.
    assert Division.objects.filter(province_code__in=["91", "92", "93", "96"]).exists()


def test_loading_twice_changes_nothing_and_corrections_are_audited(tmp_path: Path) -> None:
    load_offices(OFFICES_CSV)
    events = AuditEvent.objects.count()
    again = load_offices(OFFICES_CSV)
    assert again.created == again.updated == 0
    assert AuditEvent.objects.count() == events

    rows = _rows()
    rows[0]["office_class"] = "I Khusus TPI"
    corrected = tmp_path / "offices.csv"
    with corrected.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    result = load_offices(corrected)
    assert result.updated == 1
    office = Office.objects.get(name=rows[0]["name"])
    assert office.office_class == "I Khusus TPI"
    event = AuditEvent.objects.filter(action="organisation.office_updated", object_id=str(office.pk)).get()
    assert event.details["fields"] == ["office_class"]


def test_bad_office_file_is_refused_whole(tmp_path: Path) -> None:
    rows = _rows()[:3]
    rows[2]["timezone"] = "Europe/Atlantis"
    bad = tmp_path / "bad.csv"
    with bad.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(ValidationError):
        load_offices(bad)
    assert Office.objects.count() == 0


def test_public_office_list_in_the_api() -> None:
    load_offices(OFFICES_CSV)
    data = Client().get("/api/v1/offices").json()
    assert len(data) == len(_rows())
    assert {o["timezone"] for o in data} == {"Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"}


def test_office_head_adds_a_counter_with_clear_errors(office) -> None:
    before = last_audit_id()  # audit events outlive the data of transactional tests that ran earlier
    head = staff_client(build_staff(Role.OFFICE_HEAD, office=office))
    unit = office.units.get()
    url = f"/staf/kantor/{office.code}/loket/"
    assert head.post(url, {"unit": unit.pk, "number": 3, "label": "Paspor"}).status_code == 302
    duplicate = head.post(url, {"unit": unit.pk, "number": 3, "label": "Lagi"})
    assert duplicate.status_code == 200 and duplicate.context["form"].errors["number"]
    nonsense = head.post(url, {"unit": unit.pk, "number": "tiga"})
    assert nonsense.status_code == 200 and nonsense.context["form"].errors["number"]
    api = head.post(
        f"/api/v1/staff/offices/{office.code}/counters", {"unit_id": unit.pk, "number": 0}, "application/json"
    )
    assert api.status_code == 422
    assert office.units.get().counters.count() == 1
    assert AuditEvent.objects.filter(id__gt=before, action="organisation.counter_added").count() == 1
