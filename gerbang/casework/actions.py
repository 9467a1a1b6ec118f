"""The casework steps, each done by the officer Gerbang drew for it, through the one workflow ``transition()``.

Every function locks the application, records what the step produced (reviews,
biometrics, interview, decision, booklet, passport) and calls ``transition()``,
which checks the row, the duty, separation of duties and the counter session,
writes the timeline step and the audit event, stamps the service clock, draws
the holder of the next step and schedules the applicant's notification.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Collection
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from gerbang.access.permissions import Perm, require
from gerbang.accounts.models import User
from gerbang.applications.models import Document, DocumentKind, PassportApplication, document_storage
from gerbang.applications.workflow import not_now, transition
from gerbang.audit.actions import record
from gerbang.core import mrz
from gerbang.organisation.models import Office
from gerbang.organisation.selectors import office_today

from . import flow, rules
from .models import (
    Assignment,
    Biometrics,
    Booklet,
    ConflictDeclaration,
    Decision,
    DocumentReview,
    Interview,
    Passport,
    RefusalReason,
    Relationship,
)


def _locked(application: PassportApplication) -> PassportApplication:
    return (
        PassportApplication.objects.select_for_update(of=("self",))
        .select_related("office__division", "filer")
        .get(pk=application.pk)
    )


# --- Declarations -------------------------------------------------------------------------------------------


def declare_conflict(*, actor: User, nik: str, relationship: str) -> ConflictDeclaration:
    """An officer declares a NIK they must never act on (their own or a relative's)."""
    nik = "".join(nik.split())
    errors: dict[str, str] = {}
    if not re.fullmatch(r"[0-9]{16}", nik):
        errors["nik"] = _("A NIK has 16 digits.")
    if relationship not in Relationship.values:
        errors["relationship"] = _("Choose the relationship.")
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            declaration = ConflictDeclaration.objects.create(
                officer=actor, nik=nik, relationship=relationship, declared_at=timezone.now()
            )
            # The NIK itself stays out of the audit details: the declaration row holds it.
            record("casework.conflict_declared", actor=actor, obj=declaration, details={"relationship": relationship})
            # A case this officer holds for that NIK goes to someone else at once.
            held = Assignment.objects.filter(officer=actor, ended_at__isnull=True).select_related(
                "application__office__division", "visa_application__sponsor", "visa_application__foreigner"
            )
            for assignment in held:
                # The applicant's NIK, or the filer's (a parent filing for a child).
                if actor.pk not in rules.conflicted(assignment.case):
                    continue
                if assignment.application_id is None:  # a visa or stay-permit case
                    from gerbang.visas.flow import hand_on

                    hand_on(assignment, reason=_("The officer declared a conflict of interest."))
                else:
                    _hand_on(assignment, reason=_("The officer declared a conflict of interest."), actor=None)
    except IntegrityError as exc:
        raise ValidationError({"nik": _("You already declared this NIK.")}) from exc
    return declaration


# --- Assignment ---------------------------------------------------------------------------------------------


def _hand_on(assignment: Assignment, *, reason: str, actor: Any, to: User | None = None) -> Assignment | None:
    """End ``assignment`` as reassigned and give its duty to ``to`` (checked) or to a new draw."""
    if assignment.application is None:
        raise ValidationError({"assignment": _("This step belongs to a visa case.")})
    application = _locked(assignment.application)
    now = timezone.now()
    ended = Assignment.objects.filter(pk=assignment.pk, ended_at__isnull=True).update(
        ended_at=now, ended_because=Assignment.Ended.REASSIGNED
    )
    if not ended or assignment.duty not in rules.duties_of_status(application.status):
        raise ValidationError({"assignment": _("This step is no longer held by that officer.")})
    if to is None:
        new = flow.assign(application, assignment.duty, at=now, excluding={assignment.officer_id})
    else:
        if rules.WHERE[assignment.duty] != rules.OFFICE and rules.WHERE[assignment.duty] != rules.OFFICE_THEN_REGION:
            raise ValidationError({"officer": _("A decision is never given to a chosen person: draw again.")})
        pool = {c.officer_id: c for c in rules.candidates(application, assignment.duty, now)}
        chosen = pool.get(to.pk)
        if chosen is None:
            raise ValidationError(
                {"officer": _("This officer cannot take this step: not on duty in the role, or barred from this case.")}
            )
        new = Assignment.objects.create(
            application=application,
            duty=assignment.duty,
            officer=to,
            office_id=chosen.office_id,
            assigned_at=now,
            assigned_by=actor,
            reason=reason[:500],
            pool_size=len(pool),
        )
    record(
        "casework.reassigned",
        actor=actor,
        obj=application,
        office=application.office,
        details={
            "duty": assignment.duty,
            "from": assignment.officer_id,
            "to": new.officer_id if new else None,
            "reason": reason[:500],
        },
    )
    return new


def reassign(assignment: Assignment, *, actor: User, reason: str, to: User | None = None) -> Assignment | None:
    """An office head gives a step to another officer (named, or drawn again), with a written reason."""
    if assignment.application is None:  # a visa case: drawn again only
        from gerbang.visas.flow import hand_on

        require(actor, Perm.REASSIGN_CASES, assignment.case.office)
        if not reason.strip() or to is not None:
            raise ValidationError({"reason": _("Write the reason; a visa step is drawn again, never handed.")})
        with transaction.atomic():
            return hand_on(assignment, reason=reason.strip(), actor=actor)
    application = assignment.application
    require(actor, Perm.REASSIGN_CASES, application.office)
    if not reason.strip():
        raise ValidationError({"reason": _("Write the reason for the reassignment.")})
    if to is not None and to.pk == actor.pk:
        raise ValidationError({"officer": _("You cannot take a case yourself.")})
    with transaction.atomic():
        _locked(application)  # the application first, as every transition does: no lock-order deadlock
        current = Assignment.objects.select_for_update().get(pk=assignment.pk)
        if current.ended_at is not None:
            raise ValidationError({"assignment": _("This step is no longer held by that officer.")})
        return _hand_on(current, reason=reason.strip(), actor=actor, to=to)


# --- Document verification ----------------------------------------------------------------------------------


def review_documents(
    application: PassportApplication, *, actor: User, verdicts: dict[int, str], note: str = ""
) -> PassportApplication:
    """The document verifier accepts each current document, or rejects it with a reason code.

    All accepted: the documents are verified. Any rejected: the applicant is asked for new copies of those
    (a new version of the application follows when they resubmit).
    """
    with transaction.atomic():
        application = _locked(application)
        documents = list(application.documents.filter(superseded_at__isnull=True).order_by("kind"))
        missing = [d for d in documents if d.pk not in verdicts]
        unknown = set(verdicts) - {d.pk for d in documents}
        if missing or unknown:
            raise ValidationError({"documents": _("Give a verdict on every current document.")})
        rejected: list[Document] = []
        now = timezone.now()
        for document in documents:
            verdict = verdicts[document.pk]
            if verdict != DocumentReview.Outcome.ACCEPTED and verdict not in DocumentReview.Reason.values:
                raise ValidationError({f"document_{document.pk}": _("Accept the document or choose a reason.")})
            if verdict != DocumentReview.Outcome.ACCEPTED:
                rejected.append(document)
        action = (
            "request_documents" if rejected else ("verify_again" if _interviewed(application) else "verify_documents")
        )
        if rejected and not note.strip():
            raise ValidationError({"note": _("Tell the applicant what is wrong with the rejected documents.")})
        # The transition checks the duty first: nothing is stored for someone who does not hold it.
        if action not in _allowed(application, actor):
            raise Http404
        for document in documents:
            verdict = verdicts[document.pk]
            accepted = verdict == DocumentReview.Outcome.ACCEPTED
            DocumentReview.objects.create(
                application=application,
                version=application.current_version,
                document=document,
                outcome=DocumentReview.Outcome.ACCEPTED if accepted else DocumentReview.Outcome.REJECTED,
                reason="" if accepted else verdict,
                officer=actor,
                at=now,
            )
        details = {
            "version": application.current_version,
            "accepted": [d.kind for d in documents if d not in rejected],
            "rejected": {d.kind: verdicts[d.pk] for d in rejected},
        }
        if rejected:
            application.requested_documents = sorted({d.kind for d in rejected})
            application.request_note = note.strip()[:500]
            application.save(update_fields=["requested_documents", "request_note"])
        transition(application, action, actor=actor, note=note.strip(), details=details)
    return application


def _interviewed(application: PassportApplication) -> bool:
    return Interview.objects.filter(application=application).exists()


def _allowed(application: PassportApplication, actor: Any) -> list[str]:
    from gerbang.applications.workflow import allowed_actions

    return allowed_actions(application, actor)


# --- At the counter: biometrics and interview ---------------------------------------------------------------


def take_biometrics(
    application: PassportApplication,
    *,
    actor: User,
    photo: Any,
    capture_station: str,
    fingerprint_device: str,
    fingers: int,
    fingerprint_template: bytes,
) -> Biometrics:
    """The interviewer uploads the capture station's photo and records the fingerprint capture (device id)."""
    from gerbang.duty.selectors import serving_at

    errors: dict[str, str] = {}
    if not capture_station.strip():
        errors["capture_station"] = _("Enter the capture station's id.")
    if not fingerprint_device.strip():
        errors["fingerprint_device"] = _("Enter the fingerprint scanner's device id.")
    if not 0 <= fingers <= 10:
        errors["fingers"] = _("Between 0 and 10 fingers.")
    if not fingerprint_template:
        errors["fingerprint_template"] = _("The fingerprint capture is missing.")
    if errors:
        raise ValidationError(errors)
    stored = ""
    try:
        with transaction.atomic():
            application = _locked(application)
            if "take_biometrics" not in _allowed(application, actor):
                raise Http404
            session = serving_at(actor, application.office) if application.office else None
            assert session is not None  # the transition's guard checked it
            today = timezone.now()
            stored = document_storage().save(
                f"biometrics/{today:%Y/%m}/{secrets.token_urlsafe(24)}.{photo.extension}", ContentFile(photo.content)
            )
            biometrics = Biometrics.objects.create(
                application=application,
                photo_name=stored,
                photo_sha256=photo.sha256,
                capture_station=capture_station.strip()[:60],
                fingerprint_device=fingerprint_device.strip()[:60],
                fingerprints_captured=fingers,
                fingerprint_template_sha256=hashlib.sha256(fingerprint_template).hexdigest(),
                counter=session.counter,
                officer=actor,
                at=today,
            )
            transition(
                application,
                "take_biometrics",
                actor=actor,
                details={
                    "photo_sha256": photo.sha256,
                    "fingerprint_device": biometrics.fingerprint_device,
                    "fingers": fingers,
                    "fingerprint_template_sha256": biometrics.fingerprint_template_sha256,
                    "counter": session.counter.number,
                },
            )
    except Exception:
        if stored:
            document_storage().delete(stored)
        raise
    return biometrics


def record_interview(
    application: PassportApplication,
    *,
    actor: User,
    purpose_of_travel: str,
    identity_consistent: bool,
    originals_seen: bool,
    outcome: str,
    notes: str = "",
) -> Interview:
    from gerbang.duty.selectors import serving_at

    errors: dict[str, str] = {}
    if not purpose_of_travel.strip():
        errors["purpose_of_travel"] = _("Record the purpose of travel.")
    if outcome not in Interview.Outcome.values:
        errors["outcome"] = _("Choose the outcome.")
    elif outcome == Interview.Outcome.CONCERNS and not notes.strip():
        errors["notes"] = _("Write down the concerns.")
    if not originals_seen:
        errors["originals_seen"] = _("See the original documents before ending the interview.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        application = _locked(application)
        if "interview" not in _allowed(application, actor):
            raise Http404
        session = serving_at(actor, application.office) if application.office else None
        assert session is not None
        interview = Interview.objects.create(
            application=application,
            purpose_of_travel=purpose_of_travel.strip()[:200],
            identity_consistent=identity_consistent,
            originals_seen=originals_seen,
            notes=notes.strip()[:4000],
            outcome=outcome,
            counter=session.counter,
            officer=actor,
            at=timezone.now(),
        )
        transition(
            application,
            "interview",
            actor=actor,
            details={"outcome": outcome, "identity_consistent": identity_consistent, "counter": session.counter.number},
        )
    return interview


# --- Decisions ----------------------------------------------------------------------------------------------

DECISION_ACTIONS: dict[str, str] = {
    Decision.Outcome.APPROVE: "approve",
    Decision.Outcome.REFUSE: "propose_refusal",
    Decision.Outcome.MORE_DOCUMENTS: "ask_more",
}


def _decision(
    application: PassportApplication,
    *,
    actor: User,
    stage: str,
    outcome: str,
    action: str,
    note: str,
    reason: str = "",
) -> Decision:
    duty = rules.DUTY.get((application.status, action))
    if duty is None:  # the case moved on since the page was shown
        raise not_now(application)
    assignment = rules.holder(application, actor, duty)
    if action not in _allowed(application, actor) or assignment is None:
        raise Http404
    decision = Decision.objects.create(
        application=application,
        stage=stage,
        outcome=outcome,
        reason=reason,
        note=note.strip()[:4000],
        officer=actor,
        office=assignment.office,
        at=timezone.now(),
    )
    transition(
        application,
        action,
        actor=actor,
        note=note.strip(),
        details={"stage": stage, "outcome": outcome, "reason": reason, "decided_at_office": assignment.office_id},
    )
    return decision


def check_decision(
    outcome: str,
    note: str,
    reason: str,
    documents: list[str] | None,
    *,
    reasons: Collection[str],
    document_kinds: Collection[str],
) -> list[str]:
    """An adjudicator's decision as entered, checked (passports and visas alike): the documents asked for, sorted,
    or a ValidationError naming each wrong field. ``reasons`` and ``document_kinds`` are the case kind's lists."""
    errors: dict[str, str] = {}
    if outcome not in DECISION_ACTIONS:
        errors["outcome"] = _("Choose the decision.")
    if not note.strip():
        errors["note"] = _("Write the reasons for the decision.")
    if outcome == Decision.Outcome.REFUSE and reason not in reasons:
        errors["reason"] = _("A refusal needs its legal reason.")
    if outcome != Decision.Outcome.REFUSE and reason:
        errors["reason"] = _("Only a refusal has a legal reason.")
    kinds = sorted(set(documents or []))
    if outcome == Decision.Outcome.MORE_DOCUMENTS and (not kinds or any(k not in document_kinds for k in kinds)):
        errors["documents"] = _("Choose the documents you need.")
    if errors:
        raise ValidationError(errors)
    return kinds


def decide(
    application: PassportApplication,
    *,
    actor: User,
    outcome: str,
    note: str,
    reason: str = "",
    documents: list[str] | None = None,
) -> Decision:
    """The adjudicator (drawn from another office of the division) approves, proposes a refusal or asks for more."""
    kinds = check_decision(
        outcome, note, reason, documents, reasons=RefusalReason.values, document_kinds=DocumentKind.values
    )
    with transaction.atomic():
        application = _locked(application)
        if outcome == Decision.Outcome.MORE_DOCUMENTS:
            application.requested_documents = kinds
            application.request_note = note.strip()[:500]
            application.save(update_fields=["requested_documents", "request_note"])
        return _decision(
            application,
            actor=actor,
            stage=Decision.Stage.DECISION,
            outcome=outcome,
            action=DECISION_ACTIONS[outcome],
            note=note,
            reason=reason,
        )


def review_refusal(application: PassportApplication, *, actor: User, confirm: bool, note: str) -> Decision:
    """A second adjudicator, who took no other part, confirms the proposed refusal or overturns it."""
    if not note.strip():
        raise ValidationError({"note": _("Write the reasons for your review.")})
    with transaction.atomic():
        application = _locked(application)
        proposed = (
            Decision.objects.filter(application=application, stage=Decision.Stage.DECISION, outcome="refuse")
            .order_by("-at")
            .first()
        )
        return _decision(
            application,
            actor=actor,
            stage=Decision.Stage.REVIEW,
            outcome=Decision.Outcome.REFUSE if confirm else Decision.Outcome.APPROVE,
            action="confirm_refusal" if confirm else "overturn_refusal",
            note=note,
            reason=proposed.reason if (confirm and proposed) else "",
        )


def appeal(application: PassportApplication, *, actor: User, grounds: str) -> PassportApplication:
    """The applicant appeals a final refusal once, to the regional division."""
    if not grounds.strip():
        raise ValidationError({"grounds": _("Explain why the refusal should be reconsidered.")})
    try:
        with transaction.atomic():
            locked = PassportApplication.objects.select_for_update().filter(pk=application.pk, filer=actor).first()
            if locked is None:
                raise Http404
            transition(locked, "appeal", actor=actor, note=grounds.strip())
    except IntegrityError as exc:
        raise ValidationError(
            {"grounds": _("You have another application open for this person; an appeal reopens this one.")}
        ) from exc
    return application


def decide_appeal(application: PassportApplication, *, actor: User, grant: bool, note: str) -> Decision:
    """A regional supervisor who took no part decides the appeal."""
    if not note.strip():
        raise ValidationError({"note": _("Write the reasons for the decision on the appeal.")})
    with transaction.atomic():
        application = _locked(application)
        return _decision(
            application,
            actor=actor,
            stage=Decision.Stage.APPEAL,
            outcome=Decision.Outcome.APPROVE if grant else Decision.Outcome.REFUSE,
            action="grant_appeal" if grant else "dismiss_appeal",
            note=note,
            reason=_refusal_reason(application) if not grant else "",
        )


def _refusal_reason(application: PassportApplication) -> str:
    found = (
        Decision.objects.filter(application=application, outcome="refuse")
        .exclude(reason="")
        .order_by("-at")
        .values_list("reason", flat=True)
        .first()
    )
    return found or RefusalReason.FALSE_INFORMATION


# --- Booklets, printing, handover ---------------------------------------------------------------------------


def receive_booklets(*, office: Office, booklets: list[tuple[str, str]], actor: User) -> list[Booklet]:
    """The office head records blank booklets received: (serial, pre-printed passport number) each."""
    require(actor, Perm.MANAGE_BOOKLETS, office)
    errors: list[str] = []
    cleaned: list[tuple[str, str]] = []
    for raw_serial, raw_number in booklets:
        serial, number = raw_serial.strip().upper(), raw_number.strip().upper()
        if not re.fullmatch(r"[A-Z0-9]{6,20}", serial):
            errors.append(_("Booklet serial %(serial)s: 6 to 20 letters and digits.") % {"serial": serial or "-"})
        if not mrz.is_passport_number(number):
            errors.append(_("Passport number %(number)s: one letter and 7 digits.") % {"number": number or "-"})
        cleaned.append((serial, number))
    if not cleaned:
        errors.append(_("Enter at least one booklet."))
    if errors:
        raise ValidationError({"booklets": errors})
    now = timezone.now()
    try:
        with transaction.atomic():
            created = Booklet.objects.bulk_create(
                [
                    Booklet(office=office, serial=s, passport_number=n, received_at=now, received_by=actor)
                    for s, n in cleaned
                ]
            )
            record(
                "casework.booklets_received",
                actor=actor,
                office=office,
                details={"serials": [s for s, _n in cleaned], "numbers": [n for _s, n in cleaned]},
            )
    except IntegrityError as exc:
        raise ValidationError({"booklets": [_("A serial or passport number is already in the stock.")]}) from exc
    return created


def _mrz_name(name: str) -> tuple[str, str]:
    """Indonesian names often have no family name: the whole name is the primary identifier. Academic titles
    after a comma and remarks in brackets are not part of the name; other punctuation becomes a space."""
    name = re.sub(r"\(.*?\)", " ", name.split(",", maxsplit=1)[0])
    name = "".join(ch if ch.isalpha() or ch in " -'" else " " for ch in name)
    return " ".join(name.split()), ""


def print_passport(application: PassportApplication, *, actor: User) -> Passport:
    """The issuing officer prints on the next blank booklet of the office's stock; its MRZ is generated and checked."""
    with transaction.atomic():
        application = _locked(application)
        if "print" not in _allowed(application, actor):
            raise Http404
        booklet = (
            Booklet.objects.select_for_update(skip_locked=True)
            .filter(office=application.office, status=Booklet.Status.IN_STOCK)
            .order_by("serial")
            .first()
        )
        if booklet is None:
            raise ValidationError({"booklet": _("No blank booklets left in this office's stock.")})
        now = timezone.now()
        issued_on = office_today(application.office, now)  # type: ignore[arg-type]
        years = application.validity_years or 5
        expires_on = _add_years(issued_on, years) - dt.timedelta(days=1)
        surname, given = _mrz_name(application.applicant_name)
        data = mrz.PassportData(
            number=booklet.passport_number,
            surname=surname,
            given_names=given,
            birth_date=application.applicant_birth_date,
            sex=application.applicant_sex,
            expiry_date=expires_on,
        )
        try:
            line1, line2 = mrz.td3(data)
        except ValueError as exc:  # a name with no Latin spelling: the office corrects the record first
            raise ValidationError(
                {"booklet": _("The machine-readable zone cannot be made: %(why)s") % {"why": exc}}
            ) from exc
        if not mrz.check_td3(line1, line2):  # pragma: no cover - the generator and checker disagree
            raise RuntimeError("generated MRZ failed its own check")
        booklet.status = Booklet.Status.ISSUED
        booklet.application = application
        booklet.used_at = now
        booklet.save(update_fields=["status", "application", "used_at"])
        passport = Passport.objects.create(
            application=application,
            booklet=booklet,
            number=booklet.passport_number,
            mrz_line1=line1,
            mrz_line2=line2,
            issued_on=issued_on,
            expires_on=expires_on,
            printed_by=actor,
            printed_at=now,
        )
        transition(
            application,
            "print",
            actor=actor,
            details={"booklet": booklet.serial, "passport_number": passport.number, "mrz_line2": line2},
        )
    return passport


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def spoil_booklet(application: PassportApplication, *, actor: User, reason: str) -> Booklet:
    """A misprint: the booklet is recorded as spoiled (its serial stays accounted for), the print is void."""
    if not reason.strip():
        raise ValidationError({"reason": _("Describe what went wrong with the booklet.")})
    with transaction.atomic():
        application = _locked(application)
        if "spoil" not in _allowed(application, actor):
            raise Http404
        passport = Passport.objects.select_for_update().get(application=application, void=False)
        booklet = Booklet.objects.select_for_update().get(pk=passport.booklet_id)
        booklet.status = Booklet.Status.SPOILED
        booklet.spoiled_reason = reason.strip()[:300]
        booklet.save(update_fields=["status", "spoiled_reason"])
        passport.void = True
        passport.save(update_fields=["void"])
        transition(
            application,
            "spoil",
            actor=actor,
            note=reason.strip(),
            details={"booklet": booklet.serial, "passport_number": booklet.passport_number},
        )
    return booklet


def hand_over(application: PassportApplication, *, actor: User, id_card_nik: str, face_matches: bool) -> Passport:
    """At a counter, the issuing officer checks the ID card against the NIK and the face, and hands over."""
    errors: dict[str, str] = {}
    if not face_matches:
        errors["face_matches"] = _("Confirm that the person is the one in the passport photo.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        application = _locked(application)
        if "hand_over" not in _allowed(application, actor):
            raise Http404
        if "".join(id_card_nik.split()) != application.applicant_nik:
            raise ValidationError(
                {"id_card_nik": _("The NIK on the ID card is not the applicant's: do not hand over.")}
            )
        passport = Passport.objects.select_for_update().get(application=application, void=False)
        passport.delivery = Passport.Delivery.COUNTER
        passport.delivered_by = actor
        passport.delivered_at = timezone.now()
        passport.save(update_fields=["delivery", "delivered_by", "delivered_at"])
        transition(application, "hand_over", actor=actor, details={"passport_number": passport.number})
    return passport


def post_passport(application: PassportApplication, *, actor: User, tracking: str) -> Passport:
    tracking = "".join(tracking.split()).upper()
    if not re.fullmatch(r"[A-Z0-9]{8,40}", tracking):
        raise ValidationError({"tracking": _("Enter the postal tracking number (8 to 40 letters and digits).")})
    with transaction.atomic():
        application = _locked(application)
        if "post" not in _allowed(application, actor):
            raise Http404
        passport = Passport.objects.select_for_update().get(application=application, void=False)
        passport.delivery = Passport.Delivery.POST
        passport.delivered_by = actor
        passport.delivered_at = timezone.now()
        passport.postal_tracking = tracking
        passport.save(update_fields=["delivery", "delivered_by", "delivered_at", "postal_tracking"])
        transition(application, "post", actor=actor, details={"passport_number": passport.number, "tracking": tracking})
    return passport
