"""Check-in with the ID card and both photos, walk-in priority applicants, the counters' calls and the displays.

Everything goes through HTTP: the applicant's QR code on their status page, the
front desk's pages (photos uploaded as files, the registry photo fetched from
the real sandbox registry), the counter screen, the public display and ticket.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from gerbang.accounts.actions import issue_api_token
from gerbang.accounts.models import Role
from gerbang.applications.models import PassportApplication
from gerbang.applications.tests.samples import jpeg_bytes
from gerbang.appointments import actions as appointments
from gerbang.appointments.models import Booking, Release, Slot
from gerbang.audit.models import AuditEvent
from gerbang.conftest import RegistryService, build_office, build_staff, last_audit_id, staff_client
from gerbang.duty.models import Shift
from gerbang.duty.tests.support import counter as duty_counter
from gerbang.duty.tests.support import on_duty, serving
from gerbang.identity.tests.support import BUDI, SITI
from gerbang.organisation.models import Counter, Office, ServiceUnit
from gerbang.payments.tests.support import make_bank, notification, send, submitted_application
from gerbang.visits import codes
from gerbang.visits.actions import office_today
from gerbang.visits.models import Visit

pytestmark = pytest.mark.django_db


def _head(office: Office) -> Any:
    user = build_staff(Role.OFFICE_HEAD, office=office)
    user.is_verified = lambda: True  # type: ignore[attr-defined]
    return user


def _today_slots(office: Office, *, capacity: int = 3, priority_capacity: int = 1) -> list[Slot]:
    head = _head(office)
    today = office_today(office)
    slots = appointments.create_slots(
        office=office,
        day=today,
        times=[dt.time(8), dt.time(13)],
        capacity=capacity,
        priority_capacity=priority_capacity,
        actor=head,
    )
    now = timezone.now()
    appointments.open_release(
        office=office,
        first_day=today,
        last_day=today,
        window_opens_at=now - dt.timedelta(hours=1),
        window_closes_at=now + dt.timedelta(hours=1),
        actor=head,
        mode=Release.Mode.FIRST_COME,
    )
    return slots


def _applicant(office: Office, nik: str, *, birth: dt.date | None = None) -> tuple[PassportApplication, Client]:
    application, _no_bill = submitted_application(nik, bill=False)
    changes: dict[str, Any] = {"office": office}
    if birth is not None:
        changes["applicant_birth_date"] = birth
    PassportApplication.objects.filter(pk=application.pk).update(**changes)
    application.refresh_from_db()
    client = Client(headers={"accept-language": "en"})
    client.force_login(application.filer)
    return application, client


def _pay(application: PassportApplication, settings: Any, tmp_path: Any) -> None:
    settings.BANK_SECRETS_DIR = tmp_path / "banks"
    bank, secret = make_bank(settings.BANK_SECRETS_DIR)
    bill = application.bills.get(status="issued")
    assert send(Client(), bank, secret, notification(bill, bank)).json() == {"status": "credited"}
    application.refresh_from_db()


def _booked_and_paid(office: Office, slot: Slot, nik: str, settings: Any, tmp_path: Any) -> tuple[Booking, Client]:
    application, client = _applicant(office, nik)
    page = client.post(f"/permohonan/{application.public_id}/jadwal/{slot.pk}/", follow=True)
    assert b"Your appointment is booked" in page.content
    _pay(application, settings, tmp_path)
    return Booking.objects.get(application=application, status="active"), client


def _desk(office: Office, role: Role = Role.FRONT_DESK) -> Client:
    """A staff member of ``office``; a front-desk officer also on the roster at a counter, serving there."""
    officer = build_staff(role, office=office)
    if role == Role.FRONT_DESK:  # at a desk numbered from 100, apart from the counters the tests call to
        desk = duty_counter(office, 100 + Shift.objects.filter(office=office, role=role).count())
        serving(officer, on_duty(officer, office, role, at_counter=desk))
    client = staff_client(officer)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def _at_counter(office: Office, role: Role, counter: Counter) -> Client:
    """An officer serving at ``counter``: on the roster there, devices in a locker, the session open."""
    officer = build_staff(role, office=office)
    client = _desk_client(officer)
    # Without the session the counter calls nobody.
    refused = client.post(f"/staf/loket/{counter.pk}/antrean/aksi/", {"do": "next"}, follow=True)
    assert b"Open your counter session at this counter first" in refused.content
    serving(officer, on_duty(officer, office, role, at_counter=counter))
    return client


def _desk_client(user: Any) -> Client:
    client = staff_client(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def _photo() -> io.BytesIO:
    upload = io.BytesIO(jpeg_bytes(320, 400))
    upload.name = "desk.jpg"
    return upload


def _qr_code_on_status_page(client: Client, application: PassportApplication) -> str:
    page = client.get(f"/permohonan/{application.public_id}/").content.decode()
    found = re.search(r'id="checkin-code">([^<]+)<', page)
    assert found, "the status page shows the booking's check-in code beside its QR code"
    assert "data:image/svg+xml" in page
    return found.group(1)


def test_check_in_with_id_card_and_both_photos_then_a_counter_calls_the_number(
    registry: RegistryService, settings: Any, tmp_path: Any
) -> None:
    office = build_office()
    slot, later = _today_slots(office)
    booking, applicant = _booked_and_paid(office, slot, SITI["nik"], settings, tmp_path)
    code = _qr_code_on_status_page(applicant, booking.application)
    token, _row = issue_api_token(booking.application.filer)
    api = Client(headers={"authorization": f"Bearer {token}"})
    api_url = f"/api/v1/applications/{booking.application.public_id}/visit"
    assert api.get(api_url).json() == {"checkin_code": code, "queue": None}
    desk = _desk(office)
    before = last_audit_id()

    found = desk.get(f"/staf/kantor/{office.code}/kedatangan/", {"code": code}).content.decode()
    assert booking.application.reference in found and 'id="registry-photo"' in found
    assert SITI["nik"] not in found  # masked on the page

    # Another person's ID card: refused, and the refusal stays on record.
    wrong = desk.post(
        f"/staf/kantor/{office.code}/kedatangan/?code={code}",
        {"id_card_nik": BUDI["nik"], "photo": _photo(), "face_matches": "on"},
    )
    assert wrong.status_code == 200 and b"not the applicant&#x27;s NIK" in wrong.content
    # The officer did not confirm the face: refused too.
    no_face = desk.post(
        f"/staf/kantor/{office.code}/kedatangan/?code={code}", {"id_card_nik": SITI["nik"], "photo": _photo()}
    )
    assert b"face matches the registry photo" in no_face.content
    assert not Visit.objects.exists()
    refusals = AuditEvent.objects.filter(id__gt=before, action="visits.check_in_refused")
    assert sorted(e.details["reason"] for e in refusals) == ["face_mismatch", "id_card_mismatch"]

    done = desk.post(
        f"/staf/kantor/{office.code}/kedatangan/?code={code}",
        {"id_card_nik": SITI["nik"], "photo": _photo(), "face_matches": "on"},
        follow=True,
    )
    visit = Visit.objects.get()
    assert visit.code == "A-001" and visit.code.encode() in done.content
    booking.refresh_from_db()
    assert booking.status == "attended" and booking.checked_in_at == visit.checked_in_at
    event = AuditEvent.objects.get(id__gt=before, action="visits.checked_in")
    assert event.details["registry_photo_sha256"] == visit.registry_photo_sha256
    assert event.details["checkin_photo_sha256"] == visit.checkin_photo_sha256
    # Checked in once only.
    again = desk.get(f"/staf/kantor/{office.code}/kedatangan/", {"code": code})
    assert b"Attended" in again.content or b"not active" in again.content

    # The applicant sees their number and place on the status page and on the public ticket.
    status = applicant.get(f"/permohonan/{booking.application.public_id}/").content.decode()
    assert "A-001" in status and f"/antrean/tiket/{visit.ticket}/" in status
    ticket = Client(headers={"accept-language": "en"}).get(f"/antrean/tiket/{visit.ticket}/").content.decode()
    assert "A-001" in ticket and "0 people before you" in ticket and SITI["full_name"] not in ticket
    assert "You checked in at" in status
    # A visit that took place needs no other appointment: booking again is refused.
    again_booked = applicant.post(f"/permohonan/{booking.application.public_id}/jadwal/{later.pk}/", follow=True)
    assert b"visit to the office has already taken place" in again_booked.content
    assert not Booking.objects.filter(application=booking.application, status="active").exists()
    queue = api.get(api_url).json()["queue"]
    assert queue["number"] == "A-001" and queue["status"] == "waiting" and queue["ahead"] == 0
    assert queue["ticket_url"].endswith(f"/antrean/tiket/{visit.ticket}/")

    # A counter calls it; the counter screen shows both photos, served by the office's staff only.
    counter = Counter.objects.create(unit=ServiceUnit.objects.get(office=office), number=1)
    officer = _at_counter(office, Role.DOCUMENT_VERIFIER, counter)
    officer.post(f"/staf/loket/{counter.pk}/antrean/aksi/", {"do": "next"})
    screen = officer.get(f"/staf/loket/{counter.pk}/antrean/").content.decode()
    assert "Now serving A-001" in screen and 'id="registry-photo"' in screen and 'id="checkin-photo"' in screen
    registry_photo = officer.get(f"/staf/kunjungan/{visit.pk}/foto/registry/")
    checkin_photo = officer.get(f"/staf/kunjungan/{visit.pk}/foto/checkin/")
    assert hashlib.sha256(registry_photo.content).hexdigest() == visit.registry_photo_sha256
    assert hashlib.sha256(checkin_photo.content).hexdigest() == visit.checkin_photo_sha256
    assert checkin_photo["Cache-Control"] == "no-store"
    elsewhere = _desk(build_office(), Role.DOCUMENT_VERIFIER)
    assert elsewhere.get(f"/staf/kunjungan/{visit.pk}/foto/checkin/").status_code == 404
    assert elsewhere.get(f"/staf/loket/{counter.pk}/antrean/").status_code == 404
    assert AuditEvent.objects.filter(id__gt=before, action="visits.photo_viewed").count() == 2

    display = Client(headers={"accept-language": "en"}).get(f"/antrean/{office.code}.json").json()
    assert display["calling"] == [{"number": "A-001", "counter": 1}] and display["waiting"] == 0
    called_ticket = Client(headers={"accept-language": "en"}).get(f"/antrean/tiket/{visit.ticket}/")
    assert b"Please go to counter 1 now" in called_ticket.content

    officer.post(f"/staf/loket/{counter.pk}/antrean/aksi/", {"do": "served", "visit": visit.pk})
    visit.refresh_from_db()
    assert visit.status == "served" and visit.finished_at is not None
    actions_seen = set(AuditEvent.objects.filter(id__gt=before).values_list("action", flat=True))
    assert {"visits.checked_in", "visits.called", "visits.served"} <= actions_seen


def test_check_in_is_refused_for_an_unpaid_fee_another_day_or_a_made_up_code(
    registry: RegistryService, settings: Any, tmp_path: Any
) -> None:
    office = build_office()
    slot, _later = _today_slots(office)
    application, applicant = _applicant(office, SITI["nik"])
    applicant.post(f"/permohonan/{application.public_id}/jadwal/{slot.pk}/")
    booking = Booking.objects.get(application=application)
    code = codes.booking_code(booking)
    # A front-desk officer without an open counter session (devices not in a locker) checks nobody in.
    away = _desk_client(build_staff(Role.FRONT_DESK, office=office))
    refused = away.post(
        f"/staf/kantor/{office.code}/kedatangan/?code={code}",
        {"id_card_nik": SITI["nik"], "photo": _photo(), "face_matches": "on"},
    )
    assert refused.status_code == 200 and b"Open your counter session at the front desk first" in refused.content
    desk = _desk(office)
    unpaid = desk.post(
        f"/staf/kantor/{office.code}/kedatangan/?code={code}",
        {"id_card_nik": SITI["nik"], "photo": _photo(), "face_matches": "on"},
    )
    assert b"no money is taken at the office" in unpaid.content and not Visit.objects.exists()
    # A code whose signature does not match, or of another office's booking, finds nothing.
    forged = code[:-3] + ("aaa" if not code.endswith("aaa") else "bbb")
    assert (
        b"not a booking code of this office"
        in desk.get(f"/staf/kantor/{office.code}/kedatangan/", {"code": forged}).content
    )
    other = _desk(build_office())
    assert other.get(f"/staf/kantor/{office.code}/kedatangan/", {"code": code}).status_code == 404
    # The appointment is on another day.
    _pay(application, settings, tmp_path)
    Slot.objects.filter(pk=slot.pk).update(day=slot.day + dt.timedelta(days=1))
    later = desk.post(
        f"/staf/kantor/{office.code}/kedatangan/?code={code}",
        {"id_card_nik": SITI["nik"], "photo": _photo(), "face_matches": "on"},
    )
    assert b"not today" in later.content and not Visit.objects.exists()
    # A PDF is not a photo; a broken file is refused with the upload checks' message.
    Slot.objects.filter(pk=slot.pk).update(day=slot.day)
    broken = io.BytesIO(b"not an image")
    broken.name = "x.jpg"
    refused = desk.post(
        f"/staf/kantor/{office.code}/kedatangan/?code={code}",
        {"id_card_nik": SITI["nik"], "photo": broken, "face_matches": "on"},
    )
    assert refused.status_code == 200 and not Visit.objects.exists()
    # Only a front-desk officer checks people in.
    assert _desk(office, Role.OFFICE_HEAD).get(f"/staf/kantor/{office.code}/kedatangan/").status_code == 404


def test_walk_in_priority_applicants_get_numbers_within_the_quota_and_are_called_first(
    registry: RegistryService, settings: Any, tmp_path: Any
) -> None:
    office = build_office()
    slot, _later = _today_slots(office, capacity=2, priority_capacity=1)  # two priority places today
    booking, _client = _booked_and_paid(office, slot, SITI["nik"], settings, tmp_path)
    desk = _desk(office)
    desk.post(
        f"/staf/kantor/{office.code}/kedatangan/?code={codes.booking_code(booking)}",
        {"id_card_nik": SITI["nik"], "photo": _photo(), "face_matches": "on"},
    )
    # Budi, 42 and without a disability, is not a priority applicant: he books online.
    budi, _budi_client = _applicant(office, BUDI["nik"])
    PassportApplication.objects.filter(pk=budi.pk).update(paid_at=timezone.now(), status="paid")
    url = f"/staf/kantor/{office.code}/kedatangan/tanpa-janji/?nik={BUDI['nik']}"
    found = desk.get(url).content.decode()
    assert budi.reference in found and 'id="registry-photo"' in found
    refused = desk.post(url, {"id_card_nik": BUDI["nik"], "photo": _photo(), "face_matches": "on"})
    assert b"Walk-ins are only for priority applicants" in refused.content
    # Declared disability (seen at the desk): a priority number, from today's priority quota.
    taken = desk.post(
        url, {"id_card_nik": BUDI["nik"], "photo": _photo(), "face_matches": "on", "disability": "on"}, follow=True
    )
    walk_in = Visit.objects.get(walk_in=True)
    assert walk_in.code == "P-002" and walk_in.priority_reason == "disability" and b"P-002" in taken.content
    assert sum(Slot.objects.filter(office=office).values_list("priority_booked", flat=True)) == 1
    # The same person again on the same day: refused by the database's one-visit-per-day rule.
    twice = desk.post(url, {"id_card_nik": BUDI["nik"], "photo": _photo(), "face_matches": "on", "disability": "on"})
    assert b"already been checked in today" in twice.content
    # Priority first: P-002 is called before A-001, although it came later.
    counter = Counter.objects.create(unit=ServiceUnit.objects.get(office=office), number=2)
    officer = _at_counter(office, Role.INTERVIEWER, counter)
    officer.post(f"/staf/loket/{counter.pk}/antrean/aksi/", {"do": "next"})
    walk_in.refresh_from_db()
    assert walk_in.status == "called" and walk_in.counter == counter
    first = Visit.objects.get(walk_in=False)
    ticket = Client(headers={"accept-language": "en"}).get(f"/antrean/tiket/{first.ticket}/")
    assert b"0 people before you" in ticket.content
    # A second call while someone is at the counter is refused; "did not come" frees the counter.
    busy = officer.post(f"/staf/loket/{counter.pk}/antrean/aksi/", {"do": "next"}, follow=True)
    assert b"Finish the person called to this counter first" in busy.content
    officer.post(f"/staf/loket/{counter.pk}/antrean/aksi/", {"do": "absent", "visit": walk_in.pk})
    officer.post(f"/staf/loket/{counter.pk}/antrean/aksi/", {"do": "next"})
    first.refresh_from_db()
    assert first.status == "called"
    nobody = officer.post(f"/staf/loket/{counter.pk}/antrean/aksi/", {"do": "served", "visit": first.pk})
    assert nobody.status_code == 302
    empty = officer.post(f"/staf/loket/{counter.pk}/antrean/aksi/", {"do": "next"}, follow=True)
    assert b"Nobody is waiting" in empty.content
    # Bad input is a 404, not a 500.
    assert officer.post(f"/staf/loket/{counter.pk}/antrean/aksi/", {"do": "served", "visit": "x"}).status_code == 404


def test_the_database_refuses_a_visit_without_the_identity_checks_or_a_duplicate_number(
    registry: RegistryService, settings: Any, tmp_path: Any
) -> None:
    office = build_office()
    slot, _later = _today_slots(office)
    booking, _client = _booked_and_paid(office, slot, SITI["nik"], settings, tmp_path)
    desk = _desk(office)
    desk.post(
        f"/staf/kantor/{office.code}/kedatangan/?code={codes.booking_code(booking)}",
        {"id_card_nik": SITI["nik"], "photo": _photo(), "face_matches": "on"},
    )
    visit = Visit.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        Visit.objects.filter(pk=visit.pk).update(face_matches=False)
    with pytest.raises(IntegrityError), transaction.atomic():
        Visit.objects.filter(pk=visit.pk).update(checkin_photo_sha256="")
    with pytest.raises(IntegrityError), transaction.atomic():
        Visit.objects.filter(pk=visit.pk).update(booking=None)  # a visit without a booking is a priority walk-in
    with pytest.raises(IntegrityError), transaction.atomic():
        Visit.objects.filter(pk=visit.pk).update(status="called")  # called, but to no counter


def test_the_public_display_shows_numbers_and_counters_but_no_names(registry: RegistryService) -> None:
    office = build_office()
    page = Client(headers={"accept-language": "id"}).get(f"/antrean/{office.code}/")
    assert page.status_code == 200 and b'http-equiv="refresh"' in page.content
    assert Client().get("/antrean/tidak-ada/").status_code == 404
    assert Client().get("/antrean/tiket/tidak-ada/").status_code == 404
