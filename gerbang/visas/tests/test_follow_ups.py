"""Visit-stay extensions (ITK), ITAS -> ITAP, expiry reminders and the catalogue as corrected data."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from gerbang.accounts.models import Role
from gerbang.audit.models import AuditEvent
from gerbang.casework.models import Assignment, Duty
from gerbang.casework.tests.support import two_offices
from gerbang.channel.models import Notification
from gerbang.conftest import build_staff, build_user
from gerbang.duty.tests.support import verified
from gerbang.visas import actions, catalogue
from gerbang.visas.models import Permit, Purpose, VisaKind

from .support import company_sponsor, filed, foreigner, load_data, pay, sponsored
from .test_journey import backdate, enter

pytestmark = pytest.mark.django_db


@pytest.fixture
def stage():
    load_data()
    return two_offices(province_code="31")


def work(application) -> Permit:
    for duty, act in [(Duty.VERIFICATION, "verify"), (Duty.DECISION, "decide")]:
        officer = verified(
            Assignment.objects.get(visa_application=application, duty=duty, ended_at__isnull=True).officer
        )
        if act == "verify":
            actions.verify(application, actor=officer, accept=True)
        else:
            actions.decide(application, actor=officer, outcome="approve", note="ok")
    return Permit.objects.get(application=application)


def test_a_visit_stay_is_extended_as_often_as_the_entry_visa_allows(stage, tmp_path):
    user = build_user()
    person = foreigner(user, own=True, nationality="FRA", surname="MARTIN", given_names="LUC", sex="M")
    application = filed(user, person, "evoa", stage.home)
    pay(application, tmp_path)
    evoa = application.issued_permit
    backdate(evoa, 20)
    entry = enter(person, days_ago=20)
    extension = filed(user, person, "itk", stage.home, follow_up=Purpose.EXTENSION, permit=evoa)
    pay(extension, tmp_path)
    itk = work(extension)
    allowed = timezone.localtime(entry.at).date() + dt.timedelta(days=29)
    assert itk.kind.code == "itk" and itk.valid_from == allowed + dt.timedelta(days=1)
    assert itk.valid_until == allowed + dt.timedelta(days=30) and itk.extensions_used == 1
    with pytest.raises(ValidationError) as none_left:  # the e-VoA is extendable once
        filed(user, person, "itk", stage.home, follow_up=Purpose.EXTENSION, permit=itk)
    assert "No extensions are left" in none_left.value.message_dict["follow_up"][0]


def test_itas_changes_to_itap_after_the_minimum_stay(stage, tmp_path):
    sponsor = company_sponsor()
    person = sponsored(sponsor)
    application = filed(sponsor.account, person, "e23", stage.home)
    pay(application, tmp_path)
    visa = work(application)
    backdate(visa, 3)
    enter(person, days_ago=2)
    registration = filed(sponsor.account, person, "itas", stage.home, follow_up=Purpose.REGISTRATION)
    pay(registration, tmp_path)
    itas = work(registration)
    with pytest.raises(ValidationError) as too_soon:
        filed(sponsor.account, person, "itap", stage.home, follow_up=Purpose.CHANGE, permit=itas)
    assert "long enough" in too_soon.value.message_dict["follow_up"][0]
    Permit.objects.filter(pk=itas.pk).update(valid_from=itas.valid_from - dt.timedelta(days=800))
    itas.refresh_from_db()
    change = filed(sponsor.account, person, "itap", stage.home, follow_up=Purpose.CHANGE, permit=itas)
    pay(change, tmp_path)
    itap = work(change)
    itas.refresh_from_db()
    assert itap.kind.code == "itap" and itap.previous == itas and itas.status == Permit.Status.SUPERSEDED
    assert (itap.valid_until - itap.valid_from).days == 1824


def test_stay_permits_ending_soon_remind_their_sponsor_once(stage, tmp_path):
    sponsor = company_sponsor()
    person = sponsored(sponsor)
    application = filed(sponsor.account, person, "e23", stage.home)
    pay(application, tmp_path)
    backdate(work(application), 3)
    enter(person, days_ago=2)
    registration = filed(sponsor.account, person, "itas", stage.home, follow_up=Purpose.REGISTRATION)
    pay(registration, tmp_path)
    itas = work(registration)
    assert actions.send_expiry_reminders() == 0  # a year away
    soon = itas.valid_until - dt.timedelta(days=settings.GERBANG_PERMIT_REMINDER_DAYS - 1)
    before = Notification.objects.filter(recipient=sponsor.account).count()
    assert actions.send_expiry_reminders(today=soon) == 1
    assert actions.send_expiry_reminders(today=soon) == 0
    reminder = Notification.objects.filter(recipient=sponsor.account).order_by("-pk").first()
    assert Notification.objects.filter(recipient=sponsor.account).count() == before + 1
    assert reminder is not None and itas.number in reminder.subject


def test_the_catalogue_is_data_an_administrator_corrects_with_an_audited_reason():
    load_data()
    assert catalogue.load_catalogue(Path(settings.BASE_DIR) / "data" / "visa_kinds.csv") == 0  # loaded once
    codes = set(VisaKind.objects.values_list("index_code", flat=True))
    assert {
        "B1",
        "C1",
        "C2",
        "C3",
        "C4",
        "C5",
        "D1",
        "D2",
        "E23",
        "E28A",
        "E31",
        "E33",
        "E33G",
        "ITK",
        "ITAS",
        "ITAP",
    } <= codes
    admin = verified(build_staff(Role.SYSTEM_ADMIN))
    kind = VisaKind.objects.get(code="c1")
    with pytest.raises(ValidationError) as no_reason:
        catalogue.correct_kind(kind, actor=admin, changes={"stay_days": 90}, reason=" ")
    assert "reason" in no_reason.value.message_dict
    catalogue.correct_kind(kind, actor=admin, changes={"stay_days": 90}, reason="Regulation 2026/11")
    kind.refresh_from_db()
    assert kind.stay_days == 90
    event = AuditEvent.objects.get(action="visas.kind_corrected", object_id=str(kind.pk))
    assert event.details["changes"] == {"stay_days": {"before": 60, "after": 90}}
    adjudicator = verified(build_staff(Role.ADJUDICATOR))
    from django.http import Http404

    with pytest.raises(Http404):
        catalogue.correct_kind(kind, actor=adjudicator, changes={"stay_days": 30}, reason="no")
    with pytest.raises(ValidationError):
        catalogue.correct_kind(kind, actor=admin, changes={"required_documents": ["bogus"]}, reason="x")
