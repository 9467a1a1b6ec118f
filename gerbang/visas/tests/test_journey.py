"""The foreigners' journeys through the actions: a work visa to an ITAS and its extension, an overstay's fine,
an e-VoA with no officer, and every refusal path with its legal reason."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils import timezone

from gerbang.audit.models import AuditEvent
from gerbang.casework.models import Assignment, Duty
from gerbang.casework.tests.support import two_offices
from gerbang.core import mrz
from gerbang.duty.tests.support import verified
from gerbang.payments.models import Bill
from gerbang.visas import actions
from gerbang.visas.models import BorderMovement, OverstayFine, Permit, Status, VisaKind

from .support import company_sponsor, filed, foreigner, load_data, pay, sponsored

pytestmark = pytest.mark.django_db


@pytest.fixture
def stage():
    load_data()
    return two_offices(province_code="31")


def holder(application, duty):
    assignment = Assignment.objects.get(visa_application=application, duty=duty, ended_at__isnull=True)
    return verified(assignment.officer)


def backdate(permit, days: int) -> None:
    """As if the permit had been issued ``days`` ago (an entry reported now can then be dated back)."""
    shift = dt.timedelta(days=days)
    Permit.objects.filter(pk=permit.pk).update(
        issued_at=permit.issued_at - shift,
        valid_from=permit.valid_from - shift,
        valid_until=permit.valid_until - shift,
        enter_by=permit.enter_by - shift if permit.enter_by else None,
    )
    permit.refresh_from_db()


def enter(person, *, days_ago: int = 0, event: str | None = None, direction: str = "entry"):
    at = timezone.now() - dt.timedelta(days=days_ago)
    movement, created = actions.record_movement(
        event_id=event or f"bc-{person.pk}-{direction}-{days_ago}",
        direction=direction,
        nationality=person.nationality,
        passport_number=person.passport_number,
        at=at,
        port="CGK",
    )
    assert created
    return movement


def issue_visa(stage, sponsor, person, tmp_path, kind="e23"):
    application = filed(sponsor.account, person, kind, stage.home)
    assert application.status == Status.SUBMITTED and application.reference.startswith("VIS")
    pay(application, tmp_path)
    assert application.status == Status.PAID
    verifier = holder(application, Duty.VERIFICATION)
    assert verifier == stage.staff["verifier"]
    actions.verify(application, actor=stage.officer("verifier"), accept=True, note="Complete")
    adjudicator = holder(application, Duty.DECISION)
    assert adjudicator in (stage.staff["adjudicator"], stage.staff["reviewer"])  # from the other office
    actions.decide(application, actor=adjudicator, outcome="approve", note="Contract and RPTKA in order")
    application.refresh_from_db()
    assert application.status == Status.ISSUED
    return application.issued_permit


def test_work_visa_entry_itas_and_extension(stage, tmp_path):
    sponsor = company_sponsor()
    person = sponsored(sponsor)
    visa = issue_visa(stage, sponsor, person, tmp_path)
    line1, line2 = visa.mrz.split("\n")
    assert line1.startswith("V<IDN") and mrz.check_mrva(line1, line2)
    assert visa.enter_by == timezone.localdate() + dt.timedelta(days=89)

    backdate(visa, 5)
    entry = enter(person, days_ago=3)
    assert entry.permit == visa
    visa.refresh_from_db()
    assert visa.status == Permit.Status.USED  # single entry

    registration = filed(sponsor.account, person, "itas", stage.home, follow_up="registration")
    assert registration.entry == entry
    pay(registration, tmp_path)
    actions.verify(registration, actor=holder(registration, Duty.VERIFICATION), accept=True)
    actions.decide(registration, actor=holder(registration, Duty.DECISION), outcome="approve", note="Registered")
    itas = Permit.objects.get(application=registration)
    assert itas.kind.code == "itas"
    assert itas.valid_from == timezone.localtime(entry.at).date()
    assert itas.valid_until == itas.valid_from + dt.timedelta(days=364)

    extension = filed(sponsor.account, person, "itas", stage.home, follow_up="extension", permit=itas)
    pay(extension, tmp_path)
    actions.verify(extension, actor=holder(extension, Duty.VERIFICATION), accept=True)
    actions.decide(extension, actor=holder(extension, Duty.DECISION), outcome="approve", note="Contract renewed")
    extended = Permit.objects.get(application=extension)
    itas.refresh_from_db()
    assert itas.status == Permit.Status.VALID  # in force until the extension starts
    assert extended.previous == itas and extended.extensions_used == 1
    assert extended.valid_from == itas.valid_until + dt.timedelta(days=1)
    assert extended.valid_until == itas.valid_until + dt.timedelta(days=365)
    with pytest.raises(ValidationError) as twice:  # the same permit is not extended twice
        filed(sponsor.account, person, "itas", stage.home, follow_up="extension", permit=itas)
    assert "already extended" in twice.value.message_dict["follow_up"][0]


def test_only_the_sponsor_files_a_sponsored_stay(stage, tmp_path):
    sponsor = company_sponsor()
    person = sponsored(sponsor)
    issue_visa(stage, sponsor, person, tmp_path)
    enter(person)
    stranger = company_sponsor()
    with pytest.raises(ValidationError) as refused:
        filed(stranger.account, person, "itas", stage.home, follow_up="registration")
    assert "foreigner" in refused.value.message_dict


def test_registration_needs_an_entry_and_the_period(stage, tmp_path):
    sponsor = company_sponsor()
    person = sponsored(sponsor)
    with pytest.raises(ValidationError) as no_entry:
        filed(sponsor.account, person, "itas", stage.home, follow_up="registration")
    assert "entry" in no_entry.value.message_dict["follow_up"][0]
    backdate(issue_visa(stage, sponsor, person, tmp_path), 40)
    enter(person, days_ago=31)
    with pytest.raises(ValidationError) as late:
        filed(sponsor.account, person, "itas", stage.home, follow_up="registration")
    assert "period" in late.value.message_dict["follow_up"][0]


def test_overstay_is_fined_from_border_events_and_billed(stage, tmp_path):
    tourist_user = foreigner_user = None
    from gerbang.conftest import build_user

    foreigner_user = build_user(full_name="John Smith")
    person = foreigner(foreigner_user, own=True, surname="SMITH", given_names="JOHN", nationality="GBR", sex="M")
    application = filed(foreigner_user, person, "evoa", stage.home)
    pay(application, tmp_path)
    permit = application.issued_permit
    backdate(permit, 40)
    enter(person, days_ago=35)  # e-VoA: 30 days of stay, counted from the entry day
    exit_movement = enter(person, direction="exit")
    fine = OverstayFine.objects.get(foreigner=person)
    assert fine.exit == exit_movement and fine.permit == permit
    entry_day = timezone.localtime(fine.entry.at).date()
    assert fine.allowed_until == entry_day + dt.timedelta(days=29)
    assert fine.days == (timezone.localtime(exit_movement.at).date() - fine.allowed_until).days == 6
    assert fine.amount == 6 * 1_000_000
    assert fine.bill.amount == fine.amount and fine.bill.status == Bill.Status.ISSUED
    assert fine.bill.application is None and fine.bill.visa_application is None
    pay(fine.bill, tmp_path)
    assert AuditEvent.objects.filter(action="visas.fine_paid", object_id=str(fine.pk)).exists()
    assert tourist_user is None


def test_no_fine_within_the_stay_and_duplicate_events_are_ignored(stage, tmp_path):
    from gerbang.conftest import build_user

    user = build_user()
    person = foreigner(user, own=True, nationality="AUS")
    application = filed(user, person, "evoa", stage.home)
    pay(application, tmp_path)
    backdate(application.issued_permit, 12)
    entry = enter(person, days_ago=10, event="bc-one")
    again, created = actions.record_movement(
        event_id="bc-one",
        direction="entry",
        nationality="AUS",
        passport_number=person.passport_number,
        at=entry.at,
        port="CGK",
    )
    assert not created and again == entry
    enter(person, direction="exit")
    assert not OverstayFine.objects.exists()
    assert BorderMovement.objects.count() == 2


def test_evoa_is_issued_without_an_officer_when_clear(stage, tmp_path):
    from gerbang.conftest import build_user

    user = build_user()
    person = foreigner(user, own=True, nationality="JPN", surname="TANAKA", given_names="HIRO", sex="M")
    application = filed(user, person, "evoa", stage.home)
    pay(application, tmp_path)
    assert application.status == Status.ISSUED
    assert application.checks["clear"] is True
    permit = application.issued_permit
    assert permit.issued_by is None and permit.kind.code == "evoa"
    assert not Assignment.objects.filter(visa_application=application).exists()
    assert AuditEvent.objects.filter(action="visas.issue_automatically", object_id=str(application.pk)).exists()


def test_evoa_on_the_deny_list_goes_to_an_officer_and_is_refused_with_its_reason(stage, tmp_path):
    from gerbang.accounts.models import Role
    from gerbang.conftest import build_staff, build_user

    maintainer = verified(build_staff(Role.DENY_LIST_MAINTAINER))
    user = build_user()
    person = foreigner(user, own=True, nationality="NLD", surname="DEVRIES", given_names="JAN", sex="M")
    actions.add_to_deny_list(
        actor=maintainer, nationality="NLD", passport_number=person.passport_number, reason="Entry ban 12/2026"
    )
    application = filed(user, person, "evoa", stage.home)
    pay(application, tmp_path)
    assert application.status == Status.PAID
    assert application.checks == {**application.checks, "clear": False, "failed": ["deny_list"]}
    actions.verify(application, actor=holder(application, Duty.VERIFICATION), accept=True, note="Deny list hit")
    adjudicator = holder(application, Duty.DECISION)
    with pytest.raises(ValidationError) as no_reason:
        actions.decide(application, actor=adjudicator, outcome="refuse", note="Banned")
    assert "reason" in no_reason.value.message_dict
    actions.decide(application, actor=adjudicator, outcome="refuse", note="Entry ban", reason="deny_list")
    application.refresh_from_db()
    assert application.status == Status.REFUSAL_PROPOSED
    reviewer = holder(application, Duty.REFUSAL_REVIEW)
    assert reviewer != adjudicator
    actions.review_refusal(application, actor=reviewer, confirm=True, note="Confirmed")
    application.refresh_from_db()
    assert application.status == Status.REFUSED and application.refusal_reason == "deny_list"
    actions.appeal(application, actor=user, grounds="The ban was lifted")
    supervisor = holder(application, Duty.APPEAL)
    assert supervisor == stage.staff["supervisor"]
    actions.decide_appeal(application, actor=supervisor, grant=False, note="The ban stands")
    application.refresh_from_db()
    assert application.status == Status.REFUSED and application.refusal_reason == "deny_list"
    assert list(application.decisions.values_list("stage", "outcome", "reason")) == [
        ("decision", "refuse", "deny_list"),
        ("review", "refuse", "deny_list"),
        ("appeal", "refuse", "deny_list"),
    ]
    with pytest.raises(ValidationError):
        actions.appeal(application, actor=user, grounds="Again")


def test_separation_of_duties_and_only_the_holder_acts(stage, tmp_path):
    sponsor = company_sponsor()
    person = sponsored(sponsor)
    application = filed(sponsor.account, person, "e23", stage.home)
    pay(application, tmp_path)
    with pytest.raises(Http404):
        actions.verify(application, actor=stage.officer("adjudicator"), accept=True)
    actions.verify(application, actor=stage.officer("verifier"), accept=True)
    adjudicator = holder(application, Duty.DECISION)
    other = verified(
        stage.staff["reviewer"] if adjudicator == stage.staff["adjudicator"] else stage.staff["adjudicator"]
    )
    with pytest.raises(Http404):
        actions.decide(application, actor=other, outcome="approve", note="Not mine")
    actions.decide(
        application, actor=adjudicator, outcome="refuse", note="Contract unsigned", reason="false_information"
    )
    application.refresh_from_db()
    # The proposer never reviews their own refusal: the other adjudicator is drawn.
    assert holder(application, Duty.REFUSAL_REVIEW) == other
    actions.review_refusal(application, actor=other, confirm=False, note="The contract is signed on page 3")
    application.refresh_from_db()
    assert application.status == Status.ISSUED and application.issued_permit.kind.code == "e23"


def test_visa_needs_sponsor_when_the_catalogue_says_so(stage):
    from gerbang.conftest import build_user

    user = build_user()
    person = foreigner(user, own=True, nationality="USA", surname="DOE", given_names="JANE")
    with pytest.raises(ValidationError) as refused:
        filed(user, person, "e23", stage.home)
    assert "sponsor" in refused.value.message_dict["kind"][0]
    assert VisaKind.objects.get(code="e23").sponsor_required


def test_passport_must_agree_with_what_was_typed():
    from gerbang.conftest import build_user

    from .support import passport_lines

    user = build_user()
    line1, line2, number = passport_lines(surname="MUELLER")
    with pytest.raises(ValidationError) as refused:
        actions.register_foreigner(
            actor=user,
            line1=line1,
            line2=line2,
            surname="Miller",
            given_names="Anna Maria",
            birth_date=dt.date(1988, 4, 13),
            passport_number=number,
            own=True,
        )
    assert set(refused.value.message_dict) == {"surname", "birth_date"}
    corrupted = line2[:5] + ("1" if line2[5] != "1" else "2") + line2[6:]
    with pytest.raises(ValidationError) as bad:
        actions.register_foreigner(
            actor=user,
            line1=line1,
            line2=corrupted,
            surname="Mueller",
            given_names="Anna Maria",
            birth_date=dt.date(1988, 4, 12),
            passport_number=number,
            own=True,
        )
    assert "mrz" in bad.value.message_dict


def test_company_sponsor_numbers_are_checked():
    from gerbang.conftest import build_user

    user = build_user()
    with pytest.raises(ValidationError) as refused:
        actions.register_sponsor(
            actor=user, kind="company", name="PT X", address="Jakarta", nib="123", npwp="013000667091000"
        )
    assert set(refused.value.message_dict) == {"nib", "npwp"}


def test_movements_reported_before_the_passport_was_recorded_are_linked_to_it(stage):
    from gerbang.conftest import build_user

    from .support import passport_lines

    line1, line2, number = passport_lines(surname="OKAFOR", given_names="CHIDI", nationality="NGA", sex="M")
    early, created = actions.record_movement(
        event_id="bc-early-1",
        direction="entry",
        nationality="NGA",
        passport_number=number,
        at=timezone.now() - dt.timedelta(days=2),
        port="DPS",
    )
    assert created and early.foreigner is None
    user = build_user()
    person = actions.register_foreigner(
        actor=user,
        line1=line1,
        line2=line2,
        surname="Okafor",
        given_names="Chidi",
        birth_date=dt.date(1988, 4, 12),
        passport_number=number,
        own=True,
    )
    early.refresh_from_db()
    assert early.foreigner == person
    event = AuditEvent.objects.get(action="visas.foreigner_registered", object_id=str(person.pk))
    assert event.details["earlier_movements"] == 1
