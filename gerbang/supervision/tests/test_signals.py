"""Integrity signals from the database: facts made by real actions and HTTP, refresh_signals, the signal pages.

Each test builds the records a signal stands for the way Gerbang makes them (officers' pages, the duty and
channel actions, the bank's signed notifications, the applicant's submit page and API, the audit sealer),
runs :func:`refresh_signals` as the schedule does, and checks the stored signal, its plain-language
explanation and its evidence, and who may see and work it over HTTP.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.utils import timezone, translation

from gerbang.accounts.actions import issue_api_token, revoke_grant
from gerbang.accounts.models import GrantStatus, Role, RoleGrant, User
from gerbang.applications import actions as application_actions
from gerbang.applications import references, rules
from gerbang.applications.models import PassportApplication, Step
from gerbang.applications.tests.samples import jpeg_bytes
from gerbang.applications.tests.support import load_demo_tariffs
from gerbang.audit import checkpoints, sealing
from gerbang.audit.actions import record_view
from gerbang.audit.models import AuditEvent
from gerbang.casework.models import Assignment
from gerbang.casework.tests.support import next_nik, paid_application, two_offices
from gerbang.channel.models import BlockedMessage
from gerbang.conftest import build_division, build_office, build_staff, build_user, last_audit_id, staff_client
from gerbang.duty import actions as duty
from gerbang.duty.tests.support import counter, office_head, on_duty, verified
from gerbang.identity.models import CitizenIdentity, Dependant
from gerbang.organisation.models import Office
from gerbang.payments.actions import issue_bill
from gerbang.payments.models import Bill, Payment
from gerbang.payments.tests.support import make_bank, notification, send
from gerbang.supervision import tasks, traces
from gerbang.supervision.explain import explain
from gerbang.supervision.models import ClientTrace, Signal, SignalStatus
from gerbang.supervision.signals import collect, refresh_signals, work_signal

pytestmark = pytest.mark.django_db

SIGNALS = "/staf/pengawasan/sinyal/"


# --- Builders --------------------------------------------------------------------------------------------------


def english(client: Client) -> Client:
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def signed_in_staff(user: User) -> Client:
    return english(staff_client(user))


def signal_of(kind: str, **filters: Any) -> Signal:
    found = list(Signal.objects.filter(kind=kind, **filters))
    assert len(found) == 1, f"expected one {kind} signal with {filters}, found {[s.key for s in found]}"
    return found[0]


def kinds_for(officer: User) -> set[str]:
    return set(Signal.objects.filter(officer=officer, present=True).values_list("kind", flat=True))


def thresholds(settings: Any, **changes: float) -> None:
    settings.INTEGRITY_THRESHOLDS = {**settings.INTEGRITY_THRESHOLDS, **changes}


# What these tests plant is a few acts each (three views, two blocked messages, three refused sessions): they
# test what the collector reads and how it is stored, with these thresholds; bench/integrity_sim.py calibrates
# the ones in settings, which are higher for some signals.
SMALL_THRESHOLDS = {
    "view_not_assigned_min": 3.0,
    "view_off_roster_min": 3.0,
    "no_deposit_min": 1.0,
    "refused_sessions_min": 3.0,
    "blocked_min": 2.0,
}


@pytest.fixture(autouse=True)
def small_thresholds(settings: Any) -> None:
    settings.INTEGRITY_THRESHOLDS = {**settings.INTEGRITY_THRESHOLDS, **SMALL_THRESHOLDS}


def citizen(nik: str, *, relationship: str = "head", children: tuple[str, ...] = ()) -> User:
    """An applicant account whose NIK the registry confirmed, with minors on their family card."""
    load_demo_tariffs()
    user = build_user()
    now = timezone.now()
    identity = CitizenIdentity.objects.create(
        account=user,
        status="active",
        nik=nik,
        kk="3173" + nik[-12:],  # a family card of their own: strangers are not one family
        name=f"Warga {nik[-4:]}",
        birth_date=dt.date(1985, 1, 1),
        sex="F",
        relationship=relationship,
        registry_checked_at=now,
        activated_at=now,
    )
    for i, child in enumerate(children):
        Dependant.objects.create(
            guardian=identity, nik=child, name=f"Anak {i}", birth_date=dt.date(2015, 5, 20), sex="M", listed_at=now
        )
    return user


def draft(user: User, nik: str, office: Office, *, kind: str = "renewal") -> PassportApplication:
    """A complete draft (answers and documents) through the applicant's actions, not yet submitted."""
    application = application_actions.create_draft(actor=user, applicant_nik=nik, kind=kind)
    changes: dict[str, Any] = {"office": office, "product": "regular", "validity_years": 5}
    if kind == "renewal":
        changes |= {"renewal_reason": "full", "old_passport_number": "A1234567"}
    application_actions.update_draft(application, actor=user, **changes)
    application.refresh_from_db()
    for document in rules.required_documents(application):
        application_actions.upload_document(application, actor=user, kind=document, stream=jpeg_bytes())
    application.refresh_from_db()
    return application


def submit_with_bill(user: User, application: PassportApplication) -> Bill:
    version = application_actions.submit(
        application, actor=user, declaration=True, parental_consent=application.applicant_minor
    )
    with transaction.atomic():
        return issue_bill(
            application=application,
            payer_name=application.applicant_name,
            items=version.fee["items"],
            service="passport",
            actor=user,
        )


def submitted(office: Office) -> PassportApplication:
    """A submitted application of a new applicant at ``office``."""
    nik = next_nik()
    user = citizen(nik)
    application = draft(user, nik, office)
    application_actions.submit(application, actor=user, declaration=True)
    application.refresh_from_db()
    return application


def case_with_steps(office: Office, steps: list[tuple[str, dt.datetime]]) -> PassportApplication:
    """A passport case whose timeline is ``steps`` (status, time); its status is the last one."""
    times = dict(steps)
    application = PassportApplication.objects.create(
        filer=build_user(),
        applicant_nik=next_nik(),
        applicant_name="Siti Rahayu",
        applicant_birth_date=dt.date(1987, 8, 17),
        applicant_sex="F",
        kind="renewal",
        product="regular",
        validity_years=5,
        office=office,
        reference=references.new_reference(),
        status=steps[-1][0],
        current_version=1,
        submitted_at=times.get("submitted"),
        paid_at=times.get("paid"),
    )
    before = ""
    for status, at in steps:
        Step.objects.create(application=application, action=status, from_status=before, to_status=status, at=at)
        before = status
    return application


def spot_check(office: Office, officer: User, finding: str = "phone_at_desk") -> Any:
    return duty.record_spot_check(
        office=office, officer=officer, finding=finding, counter=counter(office), actor=office_head(office)
    )


def refuse_sessions(officer: User, office: Office, times: int) -> None:
    """The officer tries to open a counter session with no shift there: refused, and each refusal audited."""
    for _ in range(times):
        with pytest.raises(ValidationError):
            duty.open_counter_session(counter=counter(office), actor=verified(officer))


# --- 1. Personal data viewed without a case or outside the roster -----------------------------------------------


def test_an_unassigned_verifier_cannot_open_a_case_on_the_staff_page_so_nothing_is_viewed(office: Office) -> None:
    cases = [submitted(office) for _ in range(3)]
    verifier = build_staff(Role.DOCUMENT_VERIFIER, office=office)
    browser = signed_in_staff(verifier)
    mark = last_audit_id()
    for application in cases:
        assert browser.get(f"/staf/permohonan/{application.reference}/").status_code == 404
    assert not AuditEvent.objects.filter(id__gt=mark, action="applications.viewed_by_officer").exists()
    refresh_signals(audit=False)
    assert kinds_for(verifier) == set()


def test_views_by_an_officer_never_assigned_and_off_the_roster_raise_two_signals_with_the_audit_events(
    office: Office,
) -> None:
    cases = [submitted(office) for _ in range(3)]
    snoop = verified(build_staff(Role.DOCUMENT_VERIFIER, office=office))
    # The staff page refuses them (previous test); any other way in that records a view is caught the same way.
    events = [record_view("applications.viewed_by_officer", actor=snoop, obj=a, office=office).pk for a in cases]
    # The office head opens the same cases on the staff page: supervisors' views are not counted.
    head = office_head(office)
    head_browser = signed_in_staff(head)
    for application in cases:
        assert head_browser.get(f"/staf/permohonan/{application.reference}/").status_code == 200
    assert AuditEvent.objects.filter(action="applications.viewed_by_officer", actor=head).count() == 3

    refresh_signals(audit=False)

    not_assigned = signal_of("view_not_assigned", officer=snoop)
    off_roster = signal_of("view_off_roster", officer=snoop)
    for found in (not_assigned, off_roster):
        assert found.office == office and found.params == {"views": 3, "cases": 3}
        assert sorted(ref for kind, ref in found.evidence if kind == "audit") == sorted(events)
    assert kinds_for(head) == set()
    with translation.override("en"):
        assert "3 cases (3 times) that were never assigned to them" in explain(not_assigned)
        assert "outside any shift" in explain(off_roster)
    # The head follows the evidence to the audit event itself.
    page = head_browser.get(f"{SIGNALS}{not_assigned.pk}/bukti/audit/{events[0]}/")
    assert page.status_code == 200
    assert "applications.viewed_by_officer" in page.content.decode() and snoop.full_name in page.content.decode()


def test_an_assigned_officer_viewing_on_the_staff_page_counts_only_when_off_the_roster(office: Office) -> None:
    on_shift = build_staff(Role.DOCUMENT_VERIFIER, office=office)
    on_duty(on_shift, office, Role.DOCUMENT_VERIFIER)
    off_shift = build_staff(Role.DOCUMENT_VERIFIER, office=office)  # no shift at all
    for officer in (on_shift, off_shift):
        for _ in range(3):
            application = submitted(office)
            Assignment.objects.create(
                application=application, duty="verification", officer=officer, office=office, assigned_at=timezone.now()
            )
            assert signed_in_staff(officer).get(f"/staf/permohonan/{application.reference}/").status_code == 200
    refresh_signals(audit=False)
    assert kinds_for(on_shift) == set()
    assert kinds_for(off_shift) == {"view_off_roster"}


def test_a_former_office_heads_views_made_while_head_are_not_flagged_after_the_grant_ends(office: Office) -> None:
    head = office_head(office)
    browser = signed_in_staff(head)
    for _ in range(3):
        application = submitted(office)
        assert browser.get(f"/staf/permohonan/{application.reference}/").status_code == 200
    refresh_signals(audit=False)
    assert kinds_for(head) == set()
    # The head moves on: the grant is revoked. The views were allowed when they were made.
    admin = verified(build_staff(Role.SYSTEM_ADMIN))
    revoke_grant(RoleGrant.objects.get(user=head, role=Role.OFFICE_HEAD), actor=admin, reason="Pindah tugas")
    assert not RoleGrant.objects.filter(user=head, status=GrantStatus.ACTIVE).exists()
    refresh_signals(audit=False)
    assert kinds_for(head) == set(), (
        "BUG signals._views: views an office head made while holding the grant are flagged as "
        f"{sorted(kinds_for(head))} once the grant is revoked, because _supervisors() reads today's active "
        "grants instead of the grants in force when each view happened"
    )


# --- 2. Contact details blocked in the official channel --------------------------------------------------------


def test_an_officers_blocked_messages_raise_a_signal_whose_evidence_only_the_offices_supervisors_read(
    settings: Any, tmp_path: Path
) -> None:
    stage = two_offices()
    application = paid_application(stage.home, settings, tmp_path)
    verifier = signed_in_staff(stage.staff["verifier"])
    for body in ("Hubungi WA saya 0812-3456-7890 ya", "Atau telepon 0813 2222 3333 sore ini"):
        page = verifier.post(f"/staf/kasus/{application.reference}/", {"do": "message", "message-body": body})
        assert page.status_code == 200 and b"Phone numbers cannot be sent" in page.content
    blocked = list(BlockedMessage.objects.filter(application=application).order_by("id"))
    assert len(blocked) == 2

    refresh_signals(audit=False)

    found = signal_of("blocked_contact", officer=stage.staff["verifier"])
    assert found.office == stage.home and found.params == {"attempts": 2, "cases": 1}
    assert sorted(found.evidence) == [["blocked_message", b.pk] for b in blocked]
    with translation.override("en"):
        assert "blocked 2 messages of this officer (in 1 cases)" in explain(found)
    evidence = f"{SIGNALS}{found.pk}/bukti/blocked_message/{blocked[0].pk}/"
    mark = last_audit_id()
    for supervisor in (stage.staff["head"], stage.staff["supervisor"]):
        page = signed_in_staff(supervisor).get(evidence)
        assert page.status_code == 200
        assert "Hubungi WA saya 0812-3456-7890 ya" in page.content.decode()
    viewed = AuditEvent.objects.filter(id__gt=mark, action="supervision.evidence_viewed")
    assert {e.actor_id for e in viewed} == {stage.staff["head"].pk, stage.staff["supervisor"].pk}
    # The supervisor of another division, and an officer who supervises nothing, find nothing there.
    elsewhere = build_staff(Role.REGIONAL_SUPERVISOR, division=build_division("33"))
    for outsider in (elsewhere, stage.staff["interviewer"]):
        browser = signed_in_staff(outsider)
        assert browser.get(evidence).status_code == 404
        assert browser.get(f"{SIGNALS}{found.pk}/").status_code == 404
    # Only records the signal lists are shown through it.
    other = signed_in_staff(stage.staff["head"]).get(f"{SIGNALS}{found.pk}/bukti/blocked_message/{blocked[1].pk + 99}/")
    assert other.status_code == 404


def test_one_blocked_message_is_below_the_threshold(settings: Any, tmp_path: Path) -> None:
    stage = two_offices()
    application = paid_application(stage.home, settings, tmp_path)
    signed_in_staff(stage.staff["verifier"]).post(
        f"/staf/kasus/{application.reference}/", {"do": "message", "message-body": "WA saya 0812-3456-7890"}
    )
    assert BlockedMessage.objects.filter(application=application).count() == 1
    refresh_signals(audit=False)
    assert not Signal.objects.filter(kind="blocked_contact").exists()


def test_a_dismissed_signal_found_again_half_as_strong_again_is_reopened_by_gerbang_and_audited(
    settings: Any, tmp_path: Path
) -> None:
    stage = two_offices()
    application = paid_application(stage.home, settings, tmp_path)
    verifier = signed_in_staff(stage.staff["verifier"])
    case_page = f"/staf/kasus/{application.reference}/"

    def blocked_attempt(number: str) -> None:
        page = verifier.post(case_page, {"do": "message", "message-body": f"WA saya {number}"})
        assert page.status_code == 200 and b"Phone numbers cannot be sent" in page.content

    blocked_attempt("0812-3456-7890")
    blocked_attempt("0813-2222-3333")
    refresh_signals(audit=False)
    found = signal_of("blocked_contact", officer=stage.staff["verifier"])
    region = signed_in_staff(stage.staff["supervisor"])
    reason = "Nomor kantor, sudah diklarifikasi dengan petugas."
    assert region.post(f"{SIGNALS}{found.pk}/", {"step": "dismiss", "note": reason}).status_code == 302
    found.refresh_from_db()
    assert found.status == SignalStatus.DISMISSED and found.dismissed_score == 2.0

    # Found again as strong: it stays dismissed. Then stronger, but not yet reopen_growth x as strong.
    mark = last_audit_id()
    assert refresh_signals(audit=False).reopened == 0
    found.refresh_from_db()
    assert found.status == SignalStatus.DISMISSED
    thresholds(settings, reopen_growth=2.0)
    blocked_attempt("0814-5555-6666")
    assert refresh_signals(audit=False).reopened == 0  # 3 attempts: below 2 x 2
    found.refresh_from_db()
    assert found.status == SignalStatus.DISMISSED and found.score == 3.0
    assert not AuditEvent.objects.filter(id__gt=mark, action="supervision.signal_reopened_grown").exists()

    blocked_attempt("0815-7777-8888")
    assert refresh_signals(audit=False).reopened == 1  # 4 attempts: twice as many as when dismissed
    found.refresh_from_db()
    assert found.status == SignalStatus.OPEN and found.score == 4.0
    assert found.dismissed_score is None and found.status_changed_by is None and found.status_note == ""
    (event,) = AuditEvent.objects.filter(id__gt=mark, action="supervision.signal_reopened_grown")
    assert event.actor is None and event.object_id == str(found.pk) and event.office == stage.home
    assert event.details == {
        "kind": "blocked_contact",
        "from": "dismissed",
        "to": "open",
        "score_when_dismissed": "2",
        "score": "4",
        "note": "2 → 4",
    }
    # The page shows the dismissal with its reason and Gerbang's reopening, in words.
    detail = english(region).get(f"{SIGNALS}{found.pk}/").content.decode()
    assert reason in detail and "Reopened by Gerbang: found again, stronger than when dismissed" in detail
    # Open now, it stays open on the next run (nothing to reopen), and can be dismissed again at its new strength.
    assert refresh_signals(audit=False).reopened == 0
    assert region.post(f"{SIGNALS}{found.pk}/", {"step": "dismiss", "note": reason}).status_code == 302
    found.refresh_from_db()
    assert found.status == SignalStatus.DISMISSED and found.dismissed_score == 4.0


# --- 3. Spot checks and refused counter sessions ----------------------------------------------------------------


def test_a_spot_check_finding_and_three_refused_sessions_are_signals_a_clean_check_is_not(office: Office) -> None:
    caught = build_staff(Role.INTERVIEWER, office=office)
    clean = build_staff(Role.INTERVIEWER, office=office)
    check = spot_check(office, caught, "phone_at_desk")
    spot_check(office, clean, "clean")
    mark = last_audit_id()
    refuse_sessions(caught, office, 3)
    refused = list(
        AuditEvent.objects.filter(id__gt=mark, action="duty.counter_session_refused").values_list("id", flat=True)
    )
    assert len(refused) == 3
    refuse_sessions(clean, office, 2)  # two are under the threshold of three

    refresh_signals(audit=False)

    finding = signal_of("spot_check", officer=caught)
    assert finding.office == office and finding.counter == counter(office)
    assert finding.evidence == [["spot_check", check.pk]]
    sessions = signal_of("refused_sessions", officer=caught)
    assert sessions.params == {"attempts": 3} and sorted(r for _k, r in sessions.evidence) == sorted(refused)
    assert kinds_for(clean) == set()
    with translation.override("en"):
        assert explain(finding) == "A spot check recorded this finding: A phone or other device at the desk."
        assert "refused 3 attempts by this officer to open a counter session" in explain(sessions)
    page = signed_in_staff(office_head(office)).get(f"{SIGNALS}{finding.pk}/bukti/spot_check/{check.pk}/")
    assert page.status_code == 200 and "A phone or other device at the desk" in page.content.decode()


# --- 4. Brokers: one payer or one client acting for many unrelated applicants -----------------------------------


def _bank(settings: Any, tmp_path: Path) -> tuple[Any, bytes]:
    settings.BANK_SECRETS_DIR = tmp_path / "banks"
    return make_bank(settings.BANK_SECRETS_DIR)


def _pay(bill: Bill, bank: Any, secret: bytes, payer_ref: str) -> None:
    answer = send(Client(), bank, secret, notification(bill, bank, payer_ref=payer_ref))
    assert answer.json() == {"status": "credited"}, answer.content


def test_one_payer_paying_for_four_strangers_is_a_broker_one_family_is_not(
    office: Office, settings: Any, tmp_path: Path
) -> None:
    bank, secret = _bank(settings, tmp_path)
    for _ in range(4):
        nik = next_nik()
        user = citizen(nik)
        _pay(submit_with_bill(user, draft(user, nik, office)), bank, secret, "CALO-REKENING-0001")
    # A mother files for herself and the three children on her family card and pays all four.
    mother_nik = next_nik()
    children = ("3173012005150001", "3173011107170002", "3173014203190003")
    mother = citizen(mother_nik, relationship="wife", children=children)
    family = [draft(mother, mother_nik, office)] + [draft(mother, c, office, kind="first") for c in children]
    assert [a.applicant_minor for a in family] == [False, True, True, True]
    for application in family:
        _pay(submit_with_bill(mother, application), bank, secret, "KELUARGA-REKENING-01")
    assert Payment.objects.filter(payer_ref="KELUARGA-REKENING-01").count() == 4

    refresh_signals(audit=False)

    broker = signal_of("broker", key="broker:payer:CALO-REKENING-0001")
    assert broker.office == office and broker.officer is None
    assert broker.params == {"channel": "payer", "key": "CALO-REKENING-00", "applicants": 4, "unrelated": 4}
    payments = sorted(Payment.objects.filter(payer_ref="CALO-REKENING-0001").values_list("id", flat=True))
    assert sorted(ref for kind, ref in broker.evidence if kind == "payment") == payments
    assert not Signal.objects.filter(key__contains="KELUARGA").exists()
    with translation.override("en"):
        assert explain(broker).startswith("One payer (the same bank account or card) acted for 4 applicants from 4")
    page = signed_in_staff(office_head(office)).get(f"{SIGNALS}{broker.pk}/bukti/payment/{payments[0]}/")
    assert page.status_code == 200 and "CALO-REKENING-0001" in page.content.decode()


def test_four_accounts_submitting_from_one_address_and_browser_leave_hashed_traces_and_a_broker_signal(
    office: Office, settings: Any
) -> None:
    # An address and a browser are shared by many more people than a card: their thresholds are set low here.
    settings.INTEGRITY_THRESHOLDS = {**settings.INTEGRITY_THRESHOLDS, "broker_min_client": 4, "broker_min_device": 4}
    address, browser = "203.0.113.77", "Mozilla/5.0 (CaloBrowser 1.0)"
    mark = last_audit_id()
    applications = []
    for i in range(4):
        nik = next_nik()
        user = citizen(nik)
        application = draft(user, nik, office)
        if i < 3:  # the applicant's pages
            client = english(Client())
            client.force_login(user)
            answer = client.post(
                f"/permohonan/{application.public_id}/langkah/review/",
                {"declaration": "on"},
                REMOTE_ADDR=address,
                HTTP_USER_AGENT=browser,
            )
        else:  # the mobile API
            token, _row = issue_api_token(user)
            answer = Client().post(
                f"/api/v1/applications/{application.public_id}/submit",
                {"declaration": True},
                "application/json",
                headers={"Authorization": f"Bearer {token}"},
                REMOTE_ADDR=address,
                HTTP_USER_AGENT=browser,
            )
        assert answer.status_code in (200, 302), answer.content.decode()[:2000]
        application.refresh_from_db()
        assert application.status == "submitted"
        applications.append(application)

    rows = list(ClientTrace.objects.filter(application__in=applications))
    assert len(rows) == 4 and {r.kind for r in rows} == {"submit"}
    assert {r.client for r in rows} == {traces.keyed("client", address)}
    # The browser as seen from that address (a browser version alone is shared by strangers everywhere).
    assert {r.device for r in rows} == {traces.keyed("device", f"{address}|{browser}")}
    assert {r.account_id for r in rows} == {a.filer_id for a in applications}
    # Neither the address nor the browser is stored: not in the traces, not in their audit events.
    for row in ClientTrace.objects.values():
        assert address not in str(row) and "CaloBrowser" not in str(row)
    noted = AuditEvent.objects.filter(id__gt=mark, action="supervision.client_noted")
    assert noted.count() == 4
    assert all(address not in str(e.details) and "CaloBrowser" not in str(e.details) for e in noted)
    # The audit log, kept for ever, names the trace, not its hashes (kept only as long as the traces).
    assert {e.details["trace"] for e in noted} == {r.pk for r in rows}

    refresh_signals(audit=False)

    client_signal = signal_of("broker", key=f"broker:client:{traces.keyed('client', address)}")
    assert client_signal.office == office and client_signal.params["unrelated"] == 4
    assert sorted(ref for _kind, ref in client_signal.evidence) == sorted(a.reference for a in applications)
    device = traces.keyed("device", f"{address}|{browser}")
    assert signal_of("broker", key=f"broker:device:{device}").params["applicants"] == 4
    with translation.override("en"):
        assert explain(client_signal).startswith("One client address acted for 4 applicants")

    # Traces are kept CLIENT_TRACE_KEEP_DAYS (never fewer than the window the signals read), then deleted by the
    # daily task; the purge is audited with its count.
    assert settings.CLIENT_TRACE_KEEP_DAYS >= settings.INTEGRITY_WINDOW_DAYS
    old = timezone.now() - dt.timedelta(days=settings.CLIENT_TRACE_KEEP_DAYS, hours=1)
    ClientTrace.objects.filter(pk=rows[0].pk).update(at=old)
    mark = last_audit_id()
    assert tasks.purge_client_traces() == 1
    kept = set(ClientTrace.objects.filter(application__in=applications).values_list("pk", flat=True))
    assert kept == {r.pk for r in rows[1:]}
    (event,) = AuditEvent.objects.filter(id__gt=mark, action="supervision.client_traces_purged")
    assert event.actor is None and event.details["deleted"] == 1
    assert tasks.purge_client_traces() == 0


# --- 5. A case held far beyond the office's usual time ----------------------------------------------------------


def _usual_office(office: Office, now: dt.datetime) -> None:
    """Six cases whose documents were checked a day after payment: the office's usual time."""
    for i in range(6):
        paid = now - dt.timedelta(days=12 - i)
        case_with_steps(
            office,
            [
                ("submitted", paid - dt.timedelta(days=2)),
                ("paid", paid),
                ("verified", paid + dt.timedelta(days=1, hours=i)),
            ],
        )


def test_a_case_left_at_a_step_far_longer_than_the_offices_median_is_a_slow_case(office: Office) -> None:
    now = timezone.now()
    _usual_office(office, now)
    held = case_with_steps(office, [("submitted", now - dt.timedelta(days=22)), ("paid", now - dt.timedelta(days=20))])
    fresh = case_with_steps(office, [("submitted", now - dt.timedelta(days=3)), ("paid", now - dt.timedelta(days=2))])
    holder = build_staff(Role.DOCUMENT_VERIFIER, office=office)
    Assignment.objects.create(
        application=held, duty="verification", officer=holder, office=office, assigned_at=now - dt.timedelta(days=20)
    )

    refresh_signals(now, audit=False)

    slow = signal_of("slow_case", office=office)
    assert slow.officer == holder
    assert slow.params["days"] == pytest.approx(20.0, abs=0.1)
    assert slow.params["median"] == pytest.approx(1.1, abs=0.1)
    assert slow.params["step"] == "paid" and slow.params["open"] is True
    assert held.reference in slow.key and fresh.reference not in str(Signal.objects.values_list("key", flat=True))
    assert slow.evidence == [["case", ["p", held.reference]]]
    with translation.override("en"):
        text = explain(slow)
    assert "for 20.0 days" in text and "in 1.1 days" in text and "documents waiting to be checked" in text
    assert held.reference in text and "('p'" not in text, (
        "BUG detectors.slow_cases/explain: the explanation names the case as the Python repr of signals.py's "
        f"case id tuple instead of its reference: {text!r}"
    )


def test_a_case_held_longer_than_the_window_is_still_a_slow_case(office: Office) -> None:
    now = timezone.now()
    _usual_office(office, now)
    held = case_with_steps(office, [("submitted", now - dt.timedelta(days=42)), ("paid", now - dt.timedelta(days=40))])
    # Nobody touched it since it was paid (that is the point of holding it back).
    PassportApplication.objects.filter(pk=held.pk).update(updated_at=now - dt.timedelta(days=40))

    refresh_signals(now, audit=False)

    found = [s.key for s in Signal.objects.filter(kind="slow_case")]
    assert any(held.reference in key for key in found), (
        "BUG signals._spells: a passport case whose last change is older than INTEGRITY_WINDOW_DAYS is left out "
        "(filter updated_at >= since; visas: steps__at >= since), so a case held longer than the window, the "
        f"blatant slow-walk, is never (or no longer) a slow_case signal; found {found}"
    )


# --- 6. refresh_signals: one signal per key, audited once, kept when no longer found ----------------------------


def test_refreshing_twice_stores_each_signal_once_and_keeps_a_signal_no_longer_found(
    office: Office, settings: Any
) -> None:
    officer = build_staff(Role.INTERVIEWER, office=office)
    spot_check(office, officer)
    refuse_sessions(officer, office, 3)
    mark = last_audit_id()

    first = refresh_signals(audit=False)

    assert (first.found, first.new, first.gone) == (2, 2, 0)
    stored = {s.kind: s for s in Signal.objects.all()}
    assert set(stored) == {"spot_check", "refused_sessions"}
    raised = AuditEvent.objects.filter(id__gt=mark, action="supervision.signal_raised")
    assert sorted(int(e.object_id) for e in raised) == sorted(s.pk for s in stored.values())
    assert all(e.actor is None and e.object_type == "supervision.signal" and e.office == office for e in raised)
    assert {e.details["kind"] for e in raised} == {"spot_check", "refused_sessions"}

    second_mark = last_audit_id()
    second = refresh_signals(audit=False)

    assert (second.found, second.new, second.gone) == (2, 0, 0)
    assert Signal.objects.count() == 2
    assert not AuditEvent.objects.filter(id__gt=second_mark, action="supervision.signal_raised").exists()
    computed = AuditEvent.objects.filter(id__gt=mark, action="supervision.signals_computed").order_by("id")
    assert [e.details for e in computed] == [
        {"found": 2, "new": 2, "no_longer_found": 0, "reopened": 0},
        {"found": 2, "new": 0, "no_longer_found": 0, "reopened": 0},
    ]
    sessions = Signal.objects.get(pk=stored["refused_sessions"].pk)
    assert sessions.last_seen_at > stored["refused_sessions"].last_seen_at
    assert sessions.first_seen_at == stored["refused_sessions"].first_seen_at

    # The supervisor acknowledges it; then the threshold is raised and the next run no longer finds it.
    work_signal(sessions, actor=office_head(office), step="acknowledge")
    thresholds(settings, refused_sessions_min=4.0)
    third = refresh_signals(audit=False)
    assert (third.found, third.new, third.gone) == (1, 0, 1)
    sessions.refresh_from_db()
    assert sessions.present is False and sessions.status == SignalStatus.ACKNOWLEDGED
    assert Signal.objects.get(kind="spot_check").present is True
    page = signed_in_staff(office_head(office)).get(f"{SIGNALS}?status=all")
    assert "no longer found" in page.content.decode()

    # Found again: the same row, present again, its status kept, not raised a second time.
    thresholds(settings, refused_sessions_min=3.0)
    fourth_mark = last_audit_id()
    assert refresh_signals(audit=False).new == 0
    sessions.refresh_from_db()
    assert sessions.present is True and sessions.status == SignalStatus.ACKNOWLEDGED
    assert not AuditEvent.objects.filter(id__gt=fourth_mark, action="supervision.signal_raised").exists()


# --- 7. The supervisor's workflow over HTTP ---------------------------------------------------------------------


def test_office_heads_see_their_offices_signals_and_work_them_with_reasons_audited(settings: Any) -> None:
    here = build_office(province_code="51")
    there = build_office(province_code="52")
    mine = spot_check(here, build_staff(Role.INTERVIEWER, office=here))
    spot_check(there, build_staff(Role.INTERVIEWER, office=there))
    thresholds(settings, seal_lag_s=0.0)  # every unsealed event is late: a system-wide signal
    refresh_signals()
    ours = signal_of("spot_check", office=here)
    theirs = signal_of("spot_check", office=there)
    system = signal_of("seal_lag")
    assert system.office is None and ours.evidence == [["spot_check", mine.pk]]

    head = office_head(here)
    browser = signed_in_staff(head)
    listed = browser.get(SIGNALS)
    assert listed.status_code == 200
    html = listed.content.decode()
    assert f'id="signal-{ours.pk}"' in html
    assert f'id="signal-{theirs.pk}"' not in html and f'id="signal-{system.pk}"' not in html
    assert browser.get(f"{SIGNALS}{theirs.pk}/").status_code == 404
    assert browser.get(f"{SIGNALS}{theirs.pk}/bukti/spot_check/{theirs.evidence[0][1]}/").status_code == 404
    assert browser.get(f"{SIGNALS}{system.pk}/").status_code == 404
    # The region sees its offices but not the system-wide signal; the directorate's auditor sees everything.
    region = signed_in_staff(build_staff(Role.REGIONAL_SUPERVISOR, division=here.division))
    assert region.get(f"{SIGNALS}{ours.pk}/").status_code == 200
    assert region.get(f"{SIGNALS}{system.pk}/").status_code == 404
    auditor = signed_in_staff(build_staff(Role.DIRECTORATE_AUDITOR))
    for pk in (ours.pk, theirs.pk, system.pk):
        assert auditor.get(f"{SIGNALS}{pk}/").status_code == 200
    with translation.override("en"):
        assert "The oldest audit event waiting to be sealed is" in explain(system)
    # Officers who supervise nothing have no signal pages at all.
    assert signed_in_staff(build_staff(Role.INTERVIEWER, office=here)).get(SIGNALS).status_code == 404

    # Acknowledge: the status changes and the audit log names the supervisor.
    mark = last_audit_id()
    assert browser.post(f"{SIGNALS}{ours.pk}/", {"step": "acknowledge"}).status_code == 302
    ours.refresh_from_db()
    assert ours.status == SignalStatus.ACKNOWLEDGED and ours.status_changed_by == head
    (event,) = AuditEvent.objects.filter(id__gt=mark, action="supervision.signal_acknowledged")
    assert event.actor == head and event.object_id == str(ours.pk) and event.office == here
    assert event.details == {"kind": "spot_check", "from": "open", "to": "acknowledged", "note": ""}

    # The office head cannot dismiss a signal about the office: the level above decides.
    mark = last_audit_id()
    reason = "Ponsel petugas adalah ponsel dinas yang diizinkan."
    refused = browser.post(f"{SIGNALS}{ours.pk}/", {"step": "dismiss", "note": reason})
    assert refused.status_code == 422 and "Only the regional division or the directorate" in refused.content.decode()
    # Dismissing needs a reason: a form error in the page, nothing changed, nothing audited.
    refused = region.post(f"{SIGNALS}{ours.pk}/", {"step": "dismiss", "note": "  "})
    assert refused.status_code == 422
    assert "Write why (at least 10 characters)" in refused.content.decode()
    ours.refresh_from_db()
    assert ours.status == SignalStatus.ACKNOWLEDGED
    assert not AuditEvent.objects.filter(id__gt=mark, action__startswith="supervision.signal_").exists()

    assert region.post(f"{SIGNALS}{ours.pk}/", {"step": "dismiss", "note": reason}).status_code == 302
    ours.refresh_from_db()
    assert ours.status == SignalStatus.DISMISSED and ours.status_note == reason
    (event,) = AuditEvent.objects.filter(id__gt=mark, action="supervision.signal_dismissed")
    assert event.actor == ours.status_changed_by and event.actor != head
    assert event.details["note"] == reason and event.details["from"] == "acknowledged"
    detail = browser.get(f"{SIGNALS}{ours.pk}/").content.decode()
    assert reason in detail and "supervision.signal_dismissed" in detail

    # Steps that do not apply to a dismissed signal, and made-up steps, are refused.
    mark = last_audit_id()
    for step in ("acknowledge", "investigate", "dismiss", "approve", ""):
        answer = region.post(f"{SIGNALS}{ours.pk}/", {"step": step, "note": "Alasan yang cukup panjang."})
        assert answer.status_code == 422, step
    assert (
        "it cannot be changed that way" in region.post(f"{SIGNALS}{ours.pk}/", {"step": "acknowledge"}).content.decode()
    )
    ours.refresh_from_db()
    assert ours.status == SignalStatus.DISMISSED
    assert not AuditEvent.objects.filter(id__gt=mark, action__startswith="supervision.signal_").exists()
    # A dismissed signal is reopened with a reason (by the division); then the head investigates it.
    assert (
        region.post(f"{SIGNALS}{ours.pk}/", {"step": "reopen", "note": "Temuan baru dari pengaduan."}).status_code
        == 302
    )
    assert browser.post(f"{SIGNALS}{ours.pk}/", {"step": "investigate"}).status_code == 302
    ours.refresh_from_db()
    assert ours.status == SignalStatus.INVESTIGATING
    assert AuditEvent.objects.filter(id__gt=mark, action="supervision.signal_reopened").count() == 1
    # The head cannot work another office's signal either.
    assert browser.post(f"{SIGNALS}{theirs.pk}/", {"step": "acknowledge"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == SignalStatus.OPEN


def test_the_csv_export_carries_the_explanation_and_the_database_refuses_a_dismissal_without_reason(
    office: Office,
) -> None:
    spot_check(office, build_staff(Role.INTERVIEWER, office=office), "cash_in_drawer")
    refresh_signals(audit=False)
    found = signal_of("spot_check")
    exported = signed_in_staff(office_head(office)).get(f"{SIGNALS}?status=all&format=csv")
    assert exported.status_code == 200 and exported["Content-Type"].startswith("text/csv")
    header, *rows = list(csv.reader(io.StringIO(exported.content.decode())))
    assert header[-1] == "explanation" and len(rows) == 1
    assert rows[0][0] == str(found.pk) and rows[0][1] == "spot_check" and rows[0][2] == office.code
    assert rows[0][-1] == "A spot check recorded this finding: Cash in a drawer or at the desk."

    head = office_head(office)
    with pytest.raises(IntegrityError) as refused, transaction.atomic():
        Signal.objects.filter(pk=found.pk).update(
            status="dismissed", status_note="", status_changed_by=head, status_changed_at=timezone.now()
        )
    assert "supervision_signal_dismissed_reason" in str(refused.value)
    with pytest.raises(IntegrityError), transaction.atomic():
        Signal.objects.filter(pk=found.pk).update(status="acknowledged")  # nobody named
    found.refresh_from_db()
    assert found.status == SignalStatus.OPEN


# --- 8. The audit log's health ----------------------------------------------------------------------------------


def test_an_event_left_unsealed_past_the_lag_is_a_signal_until_the_sealer_runs(office: Office) -> None:
    sealing.seal_pending()  # events other tests left (audit events outlive transactional tests' data)
    spot_check(office, build_staff(Role.INTERVIEWER, office=office))  # leaves unsealed events
    now = timezone.now()
    refresh_signals(now, audit=True)
    assert not Signal.objects.filter(kind="seal_lag").exists()

    later = now + dt.timedelta(seconds=400)  # the sealer stopped; the clock moves on
    refresh_signals(later, audit=True)
    lag = signal_of("seal_lag")
    assert lag.office is None and lag.params["seconds"] >= 400

    sealing.seal_pending()
    refresh_signals(later + dt.timedelta(seconds=1), audit=True)
    lag.refresh_from_db()
    assert lag.present is False


def _signed_head() -> None:
    checkpoints.generate_key()
    sealing.seal_pending()
    assert checkpoints.sign_checkpoint(force=True) is not None
    sealing.seal_pending()


def test_a_signed_head_the_witness_never_cosigned_is_a_signal_after_the_lag(office: Office, settings: Any) -> None:
    # No witness runs in the tests (AUDIT_WITNESS_URL points at a closed port).
    spot_check(office, build_staff(Role.INTERVIEWER, office=office))  # events to seal and sign
    _signed_head()
    now = timezone.now()
    assert collect(now).audit is not None
    refresh_signals(now)
    assert not Signal.objects.filter(kind="witness_missing").exists()
    refresh_signals(now + dt.timedelta(seconds=settings.INTEGRITY_THRESHOLDS["witness_lag_s"] + 60))
    missing = signal_of("witness_missing")
    assert missing.office is None and missing.params["seconds"] > settings.INTEGRITY_THRESHOLDS["witness_lag_s"]


def test_a_checkpoint_that_cannot_be_verified_is_an_audit_verify_signal(settings: Any) -> None:
    _signed_head()
    facts = collect()
    assert facts.audit is not None and facts.audit.verify_ok, facts.audit
    Path(settings.AUDIT_LOG_KEY_FILE).unlink()  # the key that verifies the signed head is gone

    health = collect().audit
    assert health is not None and not health.verify_ok and "signing key" in health.verify_problem
    refresh_signals()
    broken = signal_of("audit_verify")
    assert broken.office is None and "does not verify" in broken.params["problem"]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="drops the audit triggers inside the test transaction")
def test_a_sealed_event_rewritten_in_the_database_is_an_audit_verify_signal(office: Office) -> None:
    mark = last_audit_id()  # events of other tests outlive them
    spot_check(office, build_staff(Role.INTERVIEWER, office=office))
    _signed_head()
    assert collect().audit is not None
    target = AuditEvent.objects.filter(action="duty.spot_check_recorded", id__gt=mark).get()
    assert target.seq is not None
    with connection.cursor() as cursor:  # the administrator's rewrite (rolled back with the test)
        cursor.execute("DROP TRIGGER audit_event_sealed_is_final")
        cursor.execute("DROP TRIGGER audit_event_only_sealing")
        cursor.execute("UPDATE audit_auditevent SET details = %s WHERE id = %s", ['{"finding": "clean"}', target.pk])
    refresh_signals()
    broken = signal_of("audit_verify")
    assert f"event {target.seq}: its content does not match its entry hash" in broken.params["problem"]
    with translation.override("en"):
        assert explain(broken).startswith("Verifying the audit log failed: event")
    auditor = signed_in_staff(build_staff(Role.DIRECTORATE_AUDITOR))
    page = auditor.get(f"{SIGNALS}{broken.pk}/").content.decode()
    assert "Either the log was altered or it cannot be verified" in page


def test_nobody_works_a_signal_about_themselves_and_evidence_stays_with_its_office(office: Office) -> None:
    now = timezone.now()
    head = office_head(office)
    about_head = Signal.objects.create(
        kind="spot_check",
        key="spot_check:about-the-head",
        office=office,
        officer=head,
        first_seen_at=now,
        last_seen_at=now,
        params={"finding": "cash_in_drawer"},
    )
    answer = signed_in_staff(head).post(f"{SIGNALS}{about_head.pk}/", {"step": "acknowledge"})
    assert answer.status_code == 422 and "This signal is about you" in answer.content.decode()
    about_head.refresh_from_db()
    assert about_head.status == SignalStatus.OPEN

    # A signal filed under this office whose evidence is another office's record (a broker at two offices):
    # the head opens the signal, not the other office's record; the directorate opens both.
    elsewhere = build_office("Kantor Lain", province_code="33")
    with transaction.atomic():
        event = record_view("applications.viewed_by_officer", actor=build_staff(), office=elsewhere)
    mixed = Signal.objects.create(
        kind="view_not_assigned",
        key="view_not_assigned:mixed",
        office=office,
        first_seen_at=now,
        last_seen_at=now,
        params={"views": 1, "cases": 1},
        evidence=[["audit", event.pk]],
    )
    evidence = f"{SIGNALS}{mixed.pk}/bukti/audit/{event.pk}/"
    assert signed_in_staff(head).get(f"{SIGNALS}{mixed.pk}/").status_code == 200
    assert signed_in_staff(head).get(evidence).status_code == 404
    assert signed_in_staff(build_staff(Role.DIRECTORATE_AUDITOR)).get(evidence).status_code == 200
