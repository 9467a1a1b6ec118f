"""Every state change of the visas app: one transaction each, with its audit event.

Foreigners, sponsors, applications (filing, documents, submission, payment, the casework steps), issued permits,
border movements and overstay fines, the deny list, expiry reminders.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from stdnum.exceptions import ValidationError as NumberError
from stdnum.id import npwp as stdnum_npwp

from gerbang.applications import references
from gerbang.applications.models import document_storage
from gerbang.applications.uploads import UploadRefused, check_upload
from gerbang.audit.actions import record
from gerbang.core import mrz
from gerbang.identity.models import CitizenIdentity
from gerbang.tariffs.selectors import tariff_in_force

from . import catalogue, rules, workflow
from .models import (
    BorderMovement,
    DenyListEntry,
    Foreigner,
    OverstayFine,
    Permit,
    Purpose,
    RefusalReason,
    Sponsor,
    Sponsorship,
    Status,
    VisaApplication,
    VisaDecision,
    VisaDocument,
    VisaKind,
)

REFERENCE_PREFIX = "VIS"


def _norm(value: str) -> str:
    return " ".join((value or "").split())


# ICAO codes that are not ISO 3166 alpha-3 (Doc 9303 part 3): stored as the ISO code, as border control sends it.
ICAO_TO_ISO = {"D": "DEU"}


def iso_nationality(code: str) -> str:
    return ICAO_TO_ISO.get(code, code)


def icao_nationality(code: str) -> str:
    return {iso: icao for icao, iso in ICAO_TO_ISO.items()}.get(code, code)


# --- Accounts without a NIK, foreigners and sponsors ---------------------------------------------------------


def register_account(*, email: str, password: str, full_name: str, language: str = "en") -> Any:
    """An applicant account without a NIK: a foreign national, or a company's officer who files as its sponsor.

    It signs in once its e-mail address is verified; it holds no NIK (a citizen sponsor verifies theirs later
    with the population registry). What it may file is decided by the passport or sponsor it then records.
    """
    from django.contrib.auth.password_validation import validate_password

    from gerbang.accounts.emails import send_verification_email
    from gerbang.accounts.models import User

    email = (email or "").strip().lower()
    full_name = _norm(full_name)
    errors: dict[str, Any] = {}
    if not full_name:
        errors["full_name"] = _("Give your full name as in your passport (or your own name, for a company).")
    candidate = User(email=email, full_name=full_name, kind=User.Kind.APPLICANT)
    try:
        validate_password(password, candidate)
    except ValidationError as exc:
        errors["password"] = exc.messages
    if User.objects.filter(email__iexact=email).exists():
        errors["email"] = _("An account with this e-mail address already exists.")
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                email=email, password=password, full_name=full_name[:120], preferred_language=language
            )
            record("accounts.applicant_registered", actor=user, obj=user, details={"without_nik": True})
            transaction.on_commit(lambda: send_verification_email(user))
    except IntegrityError:
        raise ValidationError({"email": _("An account with this e-mail address already exists.")}) from None
    return user


def read_passport(
    *, line1: str, line2: str, surname: str, given_names: str, birth_date: dt.date | None, passport_number: str
) -> mrz.PassportData:
    """The passport's TD3 MRZ with its check digits verified, agreeing with the name, birth date and number typed."""
    try:
        data = mrz.parse_td3(line1, line2)
    except ValueError as exc:
        raise ValidationError({"mrz": _("The machine-readable zone is not valid: %(why)s") % {"why": exc}}) from None
    errors: dict[str, str] = {}
    if data.nationality == "IDN":
        errors["mrz"] = _("This is an Indonesian passport: citizens apply for passports, not visas.")
    try:
        typed = mrz.transliterate(_norm(surname))
    except ValueError:
        typed = ""
    if typed != mrz.transliterate(data.surname):
        errors["surname"] = _("The surname does not match the passport's machine-readable zone.")
    try:
        typed_given = mrz.transliterate(_norm(given_names))
    except ValueError:
        typed_given = ""
    mrz_given = mrz.transliterate(data.given_names)
    # The MRZ may truncate long given names: what was typed must start with what the MRZ holds.
    if not typed_given.startswith(mrz_given) or (mrz_given == "" and typed_given != ""):
        errors["given_names"] = _("The given names do not match the passport's machine-readable zone.")
    if birth_date != data.birth_date:
        errors["birth_date"] = _("The date of birth does not match the passport's machine-readable zone.")
    if "".join(passport_number.upper().split()) != data.number:
        errors["passport_number"] = _("The passport number does not match the passport's machine-readable zone.")
    if data.expiry_date < timezone.localdate():
        errors["mrz"] = _("This passport has expired.")
    if errors:
        raise ValidationError(errors)
    return data


def register_foreigner(
    *,
    actor: Any,
    line1: str,
    line2: str,
    surname: str,
    given_names: str,
    birth_date: dt.date | None,
    passport_number: str,
    own: bool,
) -> Foreigner:
    """Record a foreigner from their passport. ``own``: the actor is the foreigner (their own account)."""
    data = read_passport(
        line1=line1,
        line2=line2,
        surname=surname,
        given_names=given_names,
        birth_date=birth_date,
        passport_number=passport_number,
    )
    lines = "\n".join(mrz.td3(data))
    nationality = iso_nationality(data.nationality)
    with transaction.atomic():
        foreigner = (
            Foreigner.objects.select_for_update().filter(nationality=nationality, passport_number=data.number).first()
        )
        if foreigner is None:
            foreigner = Foreigner.objects.create(
                account=actor if own else None,
                nationality=nationality,
                passport_number=data.number,
                surname=_norm(surname),
                given_names=_norm(given_names),
                birth_date=data.birth_date,
                sex=data.sex if data.sex in ("M", "F") else "X",
                passport_expiry=data.expiry_date,
                mrz=lines,
                created_by=actor,
            )
            # Border control may have reported this passport before anyone recorded it in Gerbang.
            earlier = BorderMovement.objects.filter(
                foreigner__isnull=True, nationality=nationality, passport_number=data.number
            ).update(foreigner=foreigner)
            record(
                "visas.foreigner_registered",
                actor=actor,
                obj=foreigner,
                details={"own": own, "earlier_movements": earlier},
            )
        elif own:
            if foreigner.account_id not in (None, actor.pk):
                raise ValidationError({"mrz": _("This passport is already linked to another account.")})
            if foreigner.account_id is None:
                foreigner.account = actor
                foreigner.save(update_fields=["account"])
                record("visas.foreigner_linked", actor=actor, obj=foreigner, details={})
    return foreigner


def _npwp(value: str) -> str:
    try:
        return str(stdnum_npwp.validate(value))
    except NumberError:
        raise ValidationError({"npwp": _("This is not a valid NPWP (tax number): check the digits.")}) from None


def register_sponsor(*, actor: Any, kind: str, name: str, address: str, nib: str = "", npwp: str = "") -> Sponsor:
    """A company (NIB and NPWP) or a citizen (the NIK the registry confirmed on this account) becomes a sponsor."""
    errors: dict[str, str] = {}
    name, address = _norm(name), _norm(address)
    if not address:
        errors["address"] = _("Give the sponsor's address.")
    values: dict[str, Any] = {"kind": kind, "address": address[:300]}
    if kind == Sponsor.Kind.COMPANY:
        nib = "".join(nib.split())
        if not re.fullmatch(r"[0-9]{13}", nib):
            errors["nib"] = _("The business registration number (NIB) has 13 digits.")
        try:
            values["npwp"] = _npwp(npwp)
        except ValidationError as exc:
            errors.update({k: " ".join(v) for k, v in exc.message_dict.items()})
        if not name:
            errors["name"] = _("Give the company's registered name.")
        values.update(nib=nib, name=name[:200])
    elif kind == Sponsor.Kind.CITIZEN:
        identity = CitizenIdentity.objects.filter(account=actor, status=CitizenIdentity.Status.ACTIVE).first()
        if identity is None:
            errors["kind"] = _("Verify your NIK with the population registry first (your account page).")
        else:
            values.update(nik=identity.nik, name=identity.name)
    else:
        errors["kind"] = _("Choose a company or a citizen sponsor.")
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            sponsor = Sponsor.objects.create(account=actor, **values)
            record("visas.sponsor_registered", actor=actor, obj=sponsor, details={"kind": kind})
    except IntegrityError:
        raise ValidationError({"nib": _("This account or business is already registered as a sponsor.")}) from None
    return sponsor


def sponsor_foreigner(*, actor: Any, foreigner: Foreigner, relationship: str) -> Sponsorship:
    """The actor's sponsor answers for ``foreigner`` from now on."""
    sponsor = Sponsor.objects.filter(account=actor).first()
    if sponsor is None:
        raise ValidationError({"sponsor": _("Register as a sponsor first.")})
    relationship = _norm(relationship)
    if not relationship:
        raise ValidationError({"relationship": _("Say how you are related to this person (employer, spouse, ...).")})
    with transaction.atomic():
        sponsorship, created = Sponsorship.objects.get_or_create(
            sponsor=sponsor, foreigner=foreigner, defaults={"relationship": relationship[:100]}
        )
        if created:
            record(
                "visas.sponsorship_added",
                actor=actor,
                obj=sponsorship,
                details={"sponsor": sponsor.pk, "foreigner": foreigner.pk},
            )
    return sponsorship


def may_file_for(actor: Any, foreigner: Foreigner) -> Sponsor | bool | None:
    """The sponsor the actor files as for this foreigner, None if they file as the foreigner, False if neither."""
    sponsor = Sponsor.objects.filter(account=actor).first()
    if sponsor is not None and Sponsorship.objects.filter(sponsor=sponsor, foreigner=foreigner).exists():
        return sponsor
    if foreigner.account_id == actor.pk:
        return None
    return False


# --- Applications --------------------------------------------------------------------------------------------


def _locked(application: VisaApplication) -> VisaApplication:
    return (
        VisaApplication.objects.select_for_update(of=("self",))
        .select_related("kind", "foreigner", "sponsor", "office")
        .get(pk=application.pk)
    )


WHY_NOT = {
    "no_entry": gettext_lazy("Border control has not reported this person's entry on a visa issued by Gerbang."),
    "not_a_limited_stay_visa": gettext_lazy(
        "The entry was not on a limited-stay (E) visa: there is no ITAS to register."
    ),
    "registration_period_over": gettext_lazy("The registration period after the entry is over."),
    "already_registered": gettext_lazy("An ITAS was already issued for this stay."),
    "not_in_country": gettext_lazy("Border control reports this person is not in Indonesia."),
    "stay_already_ended": gettext_lazy("The stay has already ended: an extension is filed before it ends."),
    "permit_not_current": gettext_lazy("This permit is no longer current."),
    "no_extensions_left": gettext_lazy("No extensions are left for this permit."),
    "already_extended": gettext_lazy("This permit was already extended: extend the latest permit."),
    "not_extendable": gettext_lazy("This permit cannot be extended."),
    "not_an_itas": gettext_lazy("A change to an ITAP starts from a valid ITAS."),
    "stay_too_short": gettext_lazy("The ITAS has not been held long enough for an ITAP."),
}


def start_application(
    *,
    actor: Any,
    foreigner: Foreigner,
    kind: VisaKind | None,
    office: Any,
    intended_arrival: dt.date | None = None,
    statement: str = "",
    permit: Permit | None = None,
    follow_up: str = "",
) -> VisaApplication:
    """A draft: a visa (``kind``), or a follow-up (``follow_up``: registration, extension or change) of a stay."""
    filing_as = may_file_for(actor, foreigner)
    if filing_as is False:
        raise ValidationError({"foreigner": _("You may file only for yourself or the foreigners you sponsor.")})
    sponsor = filing_as if isinstance(filing_as, Sponsor) else None
    errors: dict[str, str] = {}
    entry = None
    purpose: str = Purpose.VISA
    if follow_up:
        if follow_up == Purpose.REGISTRATION:
            basis = rules.registration_basis(foreigner)
        elif permit is None or permit.foreigner_id != foreigner.pk:
            basis = "permit_not_current"
        elif follow_up == Purpose.EXTENSION:
            basis = rules.extension_basis(permit)
        elif follow_up == Purpose.CHANGE:
            basis = rules.change_basis(permit)
        else:
            basis = "not_extendable"
        if isinstance(basis, str):
            raise ValidationError({"follow_up": str(WHY_NOT[basis])})
        kind, permit, entry, purpose = basis.kind, basis.permit, basis.entry, rules.purpose_of(basis)
        base = permit or (entry.permit if entry is not None else None)
        # A sponsored stay is answered for by its sponsor: they file its follow-ups.
        if base is not None and base.sponsor_id is not None and (sponsor is None or sponsor.pk != base.sponsor_id):
            errors["foreigner"] = _("The sponsor of this stay files its registration, extension or change.")
    else:
        if kind is None or not kind.is_active or kind.category != VisaKind.Category.VISA:
            errors["kind"] = _("Choose a visa from the catalogue.")
        elif kind.sponsor_required and sponsor is None:
            errors["kind"] = _(
                "This visa is filed by a sponsor in Indonesia (an employer, a company or a family member)."
            )
        if intended_arrival is None:
            errors["intended_arrival"] = _("Give the date you intend to arrive.")
        elif intended_arrival < timezone.localdate():
            errors["intended_arrival"] = _("The arrival date cannot be in the past.")
        elif kind is not None and foreigner.passport_expiry < rules.add_months(
            intended_arrival, rules.passport_months(kind)
        ):
            errors["intended_arrival"] = _(
                "The passport must be valid for at least %(n)d months after the arrival."
            ) % {"n": rules.passport_months(kind)}
    if office is None:
        errors["office"] = _("Choose the office handling the application.")
    if errors:
        raise ValidationError(errors)
    assert kind is not None
    try:
        with transaction.atomic():
            application = VisaApplication.objects.create(
                kind=kind,
                purpose=purpose,
                foreigner=foreigner,
                sponsor=sponsor,
                filer=actor,
                office=office,
                permit=permit,
                entry=entry,
                intended_arrival=intended_arrival,
                statement=_norm(statement)[:1000],
            )
            record(
                "visas.application_started",
                actor=actor,
                obj=application,
                office=office,
                details={
                    "kind": kind.code,
                    "purpose": purpose,
                    "foreigner": foreigner.pk,
                    "sponsor": sponsor.pk if sponsor else None,
                },
            )
    except IntegrityError:
        raise ValidationError(
            {"foreigner": _("This person already has an open application: finish or withdraw it first.")}
        ) from None
    return application


def upload_document(application: VisaApplication, *, actor: Any, kind: str, stream: IO[bytes] | bytes) -> VisaDocument:
    if kind not in catalogue.DOCUMENTS:
        raise ValidationError({"kind": _("Choose which document this is.")})
    try:
        checked = check_upload(stream)
    except UploadRefused as exc:
        raise ValidationError({"file": exc.message}, code=exc.code) from None
    with transaction.atomic():
        application = _locked(application)
        if not workflow.may_file(application, actor):
            raise ValidationError({"file": _("Only the filer uploads documents.")})
        if application.status not in (Status.DRAFT, Status.DOCUMENTS_REQUESTED):
            raise ValidationError({"file": _("Documents can no longer be changed for this application.")})
        if kind not in application.kind.required_documents and kind not in application.requested_documents:
            raise ValidationError({"kind": _("This application does not need that document.")})
        now = timezone.now()
        replaced = VisaDocument.objects.filter(application=application, kind=kind, superseded_at__isnull=True).update(
            superseded_at=now
        )
        storage = document_storage()
        stored = storage.save(
            f"visa/{now:%Y/%m}/{secrets.token_urlsafe(24)}.{checked.extension}", ContentFile(checked.content)
        )
        try:
            document = VisaDocument.objects.create(
                application=application,
                kind=kind,
                stored_name=stored,
                content_type=checked.content_type,
                size=checked.size,
                sha256=checked.sha256,
                uploaded_by=actor,
                uploaded_at=now,
            )
            record(
                "visas.document_uploaded",
                actor=actor,
                obj=application,
                office=application.office,
                details={"document": document.pk, "kind": kind, "sha256": checked.sha256, "replaced": replaced},
            )
        except Exception:
            storage.delete(stored)
            raise
    return document


def fee_items(application: VisaApplication, on: dt.date | None = None) -> list[dict[str, Any]]:
    tariff = tariff_in_force(application.kind.service.code, on or timezone.localdate())
    if tariff is None:
        raise ValidationError(_("No tariff is in force for this service today. Try again later."))
    return [
        {
            "service": tariff.service.code,
            "name": tariff.service.name,
            "amount": tariff.amount,
            "legal_basis": tariff.legal_basis,
        }
    ]


def _unused_reference() -> str:
    for _attempt in range(10):
        reference = references.new_reference(REFERENCE_PREFIX)
        if not VisaApplication.objects.filter(reference=reference).exists():
            return reference
    raise RuntimeError("could not draw an unused reference")  # pragma: no cover


def _missing_documents(application: VisaApplication, after: dt.datetime | None = None) -> list[str]:
    current = application.documents.filter(superseded_at__isnull=True)
    if after is not None:
        current = current.filter(uploaded_at__gt=after)
    have = set(current.values_list("kind", flat=True))
    wanted = application.requested_documents if after is not None else application.kind.required_documents
    return [k for k in wanted if k not in have]


def submit(application: VisaApplication, *, actor: Any, declaration: bool) -> VisaApplication:
    """Submit (a reference number and a billing code), or resubmit after documents were asked for."""
    with transaction.atomic():
        application = _locked(application)
        if not workflow.may_file(application, actor):
            raise ValidationError({"declaration": _("Only the filer submits this application.")})
        if not declaration:
            raise ValidationError({"declaration": _("Confirm that what you entered is true and complete.")})
        if application.status == Status.DOCUMENTS_REQUESTED:
            asked = application.steps.filter(to_status=Status.DOCUMENTS_REQUESTED).order_by("-at").first()
            missing = _missing_documents(application, after=asked.at if asked else None)
            if missing:
                raise ValidationError(
                    {
                        "documents": _("Upload a new copy of: %(names)s.")
                        % {"names": ", ".join(str(catalogue.DOCUMENTS[k]) for k in missing)}
                    }
                )
            application.requested_documents = []
            application.save(update_fields=["requested_documents"])
            workflow.transition(application, "resubmit", actor=actor)
            return application
        missing = _missing_documents(application)
        if missing:
            raise ValidationError(
                {
                    "documents": _("Upload: %(names)s.")
                    % {"names": ", ".join(str(catalogue.DOCUMENTS[k]) for k in missing)}
                }
            )
        items = fee_items(application)
        application.reference = _unused_reference()
        application.submitted_at = timezone.now()
        application.save(update_fields=["reference", "submitted_at"])
        workflow.transition(application, "submit", actor=actor, details={"fee": sum(i["amount"] for i in items)})
        from gerbang.payments.actions import issue_bill

        issue_bill(
            application=application,
            payer_name=application.foreigner.full_name,
            items=items,
            service="visa",
            actor=actor,
        )
    return application


def withdraw(application: VisaApplication, *, actor: Any) -> VisaApplication:
    with transaction.atomic():
        application = _locked(application)
        workflow.transition(application, "withdraw", actor=actor)
        from gerbang.payments.actions import cancel_open_bills

        cancel_open_bills(application, actor=actor, reason="application withdrawn")
    return application


def bill_paid(bill: Any) -> None:
    """Called only by ``payments.actions.credit`` inside its transaction (the bank proved the payment)."""
    if bill.visa_application_id is not None:
        application = _locked(bill.visa_application)
        application.paid_at = bill.paid_at
        application.save(update_fields=["paid_at"])
        workflow.transition(
            application, "pay", actor=None, details={"billing_code": bill.billing_code, "ntpn": bill.ntpn}
        )
        return
    fine = OverstayFine.objects.filter(bill=bill).select_related("foreigner").first()
    if fine is not None:
        record(
            "visas.fine_paid",
            actor=None,
            obj=fine,
            details={"billing_code": bill.billing_code, "ntpn": bill.ntpn, "amount": bill.amount},
        )


# --- Casework steps -------------------------------------------------------------------------------------------


def verify(
    application: VisaApplication, *, actor: Any, accept: bool, note: str = "", documents: list[str] | None = None
) -> VisaApplication:
    """The drawn verifier accepts the file, or asks for documents (with a note saying what is wrong)."""
    kinds = sorted(set(documents or []))
    if not accept and (not kinds or set(kinds) - set(catalogue.DOCUMENTS)):
        raise ValidationError({"documents": _("Choose the documents you need.")})
    if not accept and not note.strip():
        raise ValidationError({"note": _("Say what is wrong with the documents.")})
    with transaction.atomic():
        application = _locked(application)
        if accept:
            workflow.transition(application, "verify_documents", actor=actor, note=note)
        else:
            application.requested_documents = kinds
            application.request_note = note.strip()[:500]
            application.save(update_fields=["requested_documents", "request_note"])
            workflow.transition(application, "request_documents", actor=actor, note=note, details={"documents": kinds})
    return application


def _decide(
    application: VisaApplication, *, actor: Any, stage: str, outcome: str, action: str, note: str, reason: str
) -> VisaDecision:
    from gerbang.casework.models import Duty
    from gerbang.casework.rules import open_assignment

    duty = {"decision": Duty.DECISION, "review": Duty.REFUSAL_REVIEW, "appeal": Duty.APPEAL}[stage]
    held = open_assignment(application, duty)
    step = workflow.transition(application, action, actor=actor, note=note, details={"reason": reason})
    decision = VisaDecision.objects.create(
        application=application,
        stage=stage,
        outcome=outcome,
        reason=reason,
        note=note.strip()[:4000],
        officer=actor,
        office_id=held.office_id if held is not None else application.office_id,
        at=step.at,
    )
    return decision


def decide(
    application: VisaApplication,
    *,
    actor: Any,
    outcome: str,
    note: str,
    reason: str = "",
    documents: list[str] | None = None,
) -> VisaDecision:
    """The adjudicator (drawn from another office of the division) approves, proposes a refusal or asks for more.

    The input is checked by the passport casework's own rule (``casework.actions.check_decision``)."""
    from gerbang.casework.actions import DECISION_ACTIONS, check_decision

    kinds = check_decision(
        outcome, note, reason, documents, reasons=RefusalReason.values, document_kinds=catalogue.DOCUMENTS
    )
    with transaction.atomic():
        application = _locked(application)
        if outcome == VisaDecision.Outcome.MORE_DOCUMENTS:
            application.requested_documents = kinds
            application.request_note = note.strip()[:500]
            application.save(update_fields=["requested_documents", "request_note"])
        return _decide(
            application,
            actor=actor,
            stage="decision",
            outcome=outcome,
            action=DECISION_ACTIONS[outcome],
            note=note,
            reason=reason,
        )


def _proposed_reason(application: VisaApplication) -> str:
    proposed = application.decisions.filter(outcome="refuse").order_by("-at", "-pk").first()
    return proposed.reason if proposed is not None else RefusalReason.NOT_ELIGIBLE


def review_refusal(application: VisaApplication, *, actor: Any, confirm: bool, note: str) -> VisaDecision:
    """A second adjudicator, who took no other part, confirms the proposed refusal or overturns it."""
    if not note.strip():
        raise ValidationError({"note": _("Write the reasons for your review.")})
    with transaction.atomic():
        application = _locked(application)
        reason = _proposed_reason(application) if confirm else ""
        if confirm:
            application.refusal_reason = reason
            application.save(update_fields=["refusal_reason"])
        return _decide(
            application,
            actor=actor,
            stage="review",
            outcome="refuse" if confirm else "approve",
            action="confirm_refusal" if confirm else "overturn_refusal",
            note=note,
            reason=reason,
        )


def appeal(application: VisaApplication, *, actor: Any, grounds: str) -> VisaApplication:
    if not grounds.strip():
        raise ValidationError({"grounds": _("Write the grounds of your appeal.")})
    with transaction.atomic():
        application = _locked(application)
        workflow.transition(application, "appeal", actor=actor, note=grounds.strip()[:500])
    return application


def decide_appeal(application: VisaApplication, *, actor: Any, grant: bool, note: str) -> VisaDecision:
    """A regional supervisor who took no part grants the appeal (the permit is issued) or dismisses it."""
    if not note.strip():
        raise ValidationError({"note": _("Write the reasons for the appeal's decision.")})
    with transaction.atomic():
        application = _locked(application)
        reason = "" if grant else (application.refusal_reason or _proposed_reason(application))
        if grant:
            application.refusal_reason = ""
            application.save(update_fields=["refusal_reason"])
        return _decide(
            application,
            actor=actor,
            stage="appeal",
            outcome="approve" if grant else "refuse",
            action="grant_appeal" if grant else "dismiss_appeal",
            note=note,
            reason=reason,
        )


# --- Issuing ------------------------------------------------------------------------------------------------


def _permit_number(kind: VisaKind) -> str:
    """A visa: ``V`` + 7 random digits + a Damm check digit (9 characters, the MRZ's document number field).
    A stay permit: its index code + 9 random digits + a Damm check digit."""
    from stdnum import damm

    for _attempt in range(10):
        if kind.category == VisaKind.Category.VISA:
            body = f"{secrets.randbelow(10**7):07d}"
            number = "V" + body + damm.calc_check_digit(body)
        else:
            body = f"{secrets.randbelow(10**9):09d}"
            number = kind.index_code.upper() + body + damm.calc_check_digit(body)
        if not Permit.objects.filter(number=number).exists():
            return number
    raise RuntimeError("could not draw an unused permit number")  # pragma: no cover


def issue_permit(application: VisaApplication, *, actor: Any) -> Permit:
    """Inside the transition to "issued": the visa (with its MRV-A MRZ) or the stay permit, and what it replaces."""
    kind = application.kind
    foreigner = application.foreigner
    now = timezone.now()
    today = timezone.localdate()
    number = _permit_number(kind)
    previous = application.permit
    extensions_used = 0
    enter_by = None
    lines = ""
    if kind.category == VisaKind.Category.VISA:
        enter_by = today + dt.timedelta(days=kind.entry_within_days - 1)
        valid_from, valid_until, stay_days = today, enter_by, kind.stay_days
        lines = "\n".join(
            mrz.mrva(
                mrz.VisaData(
                    number=number,
                    surname=foreigner.surname,
                    given_names=foreigner.given_names,
                    nationality=icao_nationality(foreigner.nationality),
                    birth_date=foreigner.birth_date,
                    sex=foreigner.sex,
                    valid_until=enter_by,
                    optional_data=foreigner.passport_number,
                )
            )
        )
    elif application.purpose == Purpose.REGISTRATION:
        entry = application.entry
        assert entry is not None and entry.permit is not None
        valid_from = rules.local_day(entry.at)
        stay_days = entry.permit.stay_days
        valid_until = valid_from + dt.timedelta(days=stay_days - 1)
    else:
        assert previous is not None
        entry = rules.open_entry(foreigner)
        current_end = rules.stay_allowed_until(entry) if entry is not None else None
        start = (current_end or today) + dt.timedelta(days=1)
        if application.purpose == Purpose.EXTENSION:
            root = rules.root_permit(previous)
            stay_days = previous.kind.extension_days if previous.kind.code == "itas" else root.kind.extension_days
            extensions_used = previous.extensions_used + 1
        else:
            stay_days = kind.stay_days
            start = today
        valid_from, valid_until = start, start + dt.timedelta(days=stay_days - 1)
    permit = Permit.objects.create(
        number=number,
        kind=kind,
        foreigner=foreigner,
        sponsor=application.sponsor,
        application=application,
        previous=previous,
        issued_at=now,
        issued_by=actor if getattr(actor, "is_authenticated", False) else None,
        enter_by=enter_by,
        stay_days=stay_days,
        valid_from=valid_from,
        valid_until=valid_until,
        extensions_used=extensions_used,
        mrz=lines,
    )
    # A change of status replaces the permit at once. An extension starts the day after the current stay ends,
    # so the permit it extends stays in force until then (the public check must keep saying so).
    replaces_now = application.purpose == Purpose.CHANGE or (
        application.purpose == Purpose.EXTENSION and previous is not None and previous.kind.category == "visa"
    )
    if previous is not None and replaces_now and previous.status in (Permit.Status.VALID, Permit.Status.USED):
        previous.status = Permit.Status.SUPERSEDED
        previous.save(update_fields=["status"])
    record(
        "visas.permit_issued",
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        obj=permit,
        office=application.office,
        details={
            "number": number,
            "kind": kind.code,
            "application": application.reference,
            "valid_from": valid_from.isoformat(),
            "valid_until": valid_until.isoformat(),
            "previous": previous.number if previous else None,
            "automatic": actor is None,
        },
    )
    return permit


# --- Border movements and overstay ---------------------------------------------------------------------------


def record_movement(
    *, event_id: str, direction: str, nationality: str, passport_number: str, at: dt.datetime, port: str
) -> tuple[BorderMovement, bool]:
    """Store a border-control event once (by its id) and apply it: the visa used, the stay, an overstay fine."""
    with transaction.atomic():
        existing = BorderMovement.objects.filter(event_id=event_id).first()
        if existing is not None:
            return existing, False
        foreigner = (
            Foreigner.objects.select_for_update()
            .filter(nationality=nationality, passport_number=passport_number)
            .first()
        )
        permit = None
        if foreigner is not None and direction == BorderMovement.Direction.ENTRY:
            permit = rules.entry_permit(foreigner, at)
        try:
            with transaction.atomic():
                movement = BorderMovement.objects.create(
                    event_id=event_id,
                    direction=direction,
                    nationality=nationality,
                    passport_number=passport_number,
                    at=at,
                    port=port,
                    foreigner=foreigner,
                    permit=permit,
                )
        except IntegrityError:  # the same event, delivered twice at once
            return BorderMovement.objects.get(event_id=event_id), False
        if permit is not None and permit.kind.category == VisaKind.Category.VISA and not permit.kind.multiple_entry:
            permit.status = Permit.Status.USED
            permit.save(update_fields=["status"])
        record(
            f"visas.border_{direction}",
            actor=None,
            obj=movement,
            details={
                "event_id": event_id,
                "port": port,
                "foreigner": foreigner.pk if foreigner else None,
                "permit": permit.number if permit else None,
            },
        )
        if direction == BorderMovement.Direction.EXIT and foreigner is not None:
            _fine_on_exit(foreigner, movement)
    return movement, True


def _fine_on_exit(foreigner: Foreigner, exit_movement: BorderMovement) -> OverstayFine | None:
    entry = (
        BorderMovement.objects.filter(foreigner=foreigner, direction="entry", at__lt=exit_movement.at)
        .order_by("-at", "-pk")
        .first()
    )
    if entry is None or entry.permit is None or hasattr(entry, "fine"):
        return None
    allowed = rules.stay_allowed_until(entry)
    day = rules.local_day(exit_movement.at)
    if allowed is None or day <= allowed:
        return None
    return _bill_fine(foreigner, entry, exit_movement, allowed=allowed, days=(day - allowed).days, day=day)


def _bill_fine(
    foreigner: Foreigner,
    entry: BorderMovement,
    exit_movement: BorderMovement | None,
    *,
    allowed: dt.date,
    days: int,
    day: dt.date,
) -> OverstayFine:
    from gerbang.payments.actions import issue_bill

    amount, tariff = rules.overstay_amount(days, day)
    bill = issue_bill(
        application=None,
        payer_name=foreigner.full_name,
        items=[
            {
                "service": tariff.service.code,
                "name": tariff.service.name,
                "amount": amount,
                "legal_basis": tariff.legal_basis,
                "days": days,
                "per_day": tariff.amount,
            }
        ],
        service="overstay",
        actor=None,
    )
    assert entry.permit is not None
    fine = OverstayFine.objects.create(
        foreigner=foreigner,
        entry=entry,
        exit=exit_movement,
        permit=entry.permit,
        allowed_until=allowed,
        days=days,
        amount=amount,
        bill=bill,
        computed_at=timezone.now(),
    )
    record(
        "visas.overstay_fined",
        actor=None,
        obj=fine,
        details={
            "foreigner": foreigner.pk,
            "days": days,
            "amount": amount,
            "allowed_until": allowed.isoformat(),
            "billing_code": bill.billing_code,
            "entry": entry.event_id,
            "exit": exit_movement.event_id if exit_movement else None,
        },
    )
    return fine


# --- Deny list and reminders ----------------------------------------------------------------------------------


def add_to_deny_list(
    *,
    actor: Any,
    nationality: str,
    passport_number: str = "",
    surname: str = "",
    birth_date: dt.date | None = None,
    reason: str,
) -> DenyListEntry:
    from gerbang.access.permissions import Perm, require

    require(actor, Perm.MANAGE_DENY_LIST)
    errors: dict[str, str] = {}
    nationality = nationality.strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", nationality):
        errors["nationality"] = _("Give the nationality as a 3-letter code (ISO 3166).")
    passport_number = "".join(passport_number.upper().split())
    if passport_number and not re.fullmatch(r"[A-Z0-9]{1,9}", passport_number):
        errors["passport_number"] = _("A passport number has at most 9 letters and digits.")
    if not passport_number and not (surname.strip() and birth_date):
        errors["passport_number"] = _("Give the passport number, or the surname and the date of birth.")
    if not reason.strip():
        errors["reason"] = _("Give the reason (the decision it rests on).")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        entry = DenyListEntry.objects.create(
            nationality=nationality,
            passport_number=passport_number,
            surname=_norm(surname)[:100],
            birth_date=birth_date,
            reason=reason.strip()[:300],
            added_by=actor,
            added_at=timezone.now(),
        )
        record("visas.deny_list_added", actor=actor, obj=entry, details={"reason": entry.reason})
    return entry


def remove_from_deny_list(entry: DenyListEntry, *, actor: Any, reason: str) -> DenyListEntry:
    from gerbang.access.permissions import Perm, require

    require(actor, Perm.MANAGE_DENY_LIST)
    if not reason.strip():
        raise ValidationError({"reason": _("Give the reason for the removal.")})
    with transaction.atomic():
        entry = DenyListEntry.objects.select_for_update().get(pk=entry.pk)
        if entry.removed_at is not None:
            raise ValidationError({"reason": _("This entry was already removed.")})
        entry.removed_at, entry.removed_by, entry.removal_reason = timezone.now(), actor, reason.strip()[:300]
        entry.save(update_fields=["removed_at", "removed_by", "removal_reason"])
        record("visas.deny_list_removed", actor=actor, obj=entry, details={"reason": entry.removal_reason})
    return entry


def send_expiry_reminders(today: dt.date | None = None, limit: int = 500) -> int:
    """Stay permits ending within GERBANG_PERMIT_REMINDER_DAYS: remind the sponsor (or the foreigner) once."""
    from django.conf import settings

    from gerbang.channel.notifications import notify

    today = today or timezone.localdate()
    horizon = today + dt.timedelta(days=settings.GERBANG_PERMIT_REMINDER_DAYS)
    due = Permit.objects.filter(
        status=Permit.Status.VALID,
        kind__category=VisaKind.Category.STAY_PERMIT,
        valid_until__gte=today,
        valid_until__lte=horizon,
        reminded_at__isnull=True,
    ).select_related("foreigner", "sponsor__account")[:limit]
    sent = 0
    for permit in due:
        with transaction.atomic():
            locked = Permit.objects.select_for_update().get(pk=permit.pk)
            if locked.reminded_at is not None:
                continue
            recipient = permit.sponsor.account if permit.sponsor else permit.foreigner.account
            if recipient is not None:
                notify(
                    recipient,
                    subject=_("Stay permit %(number)s ends on %(day)s")
                    % {"number": permit.number, "day": permit.valid_until.isoformat()},
                    body=_(
                        "File the extension or change of status in Gerbang before the permit ends; a stay "
                        "beyond it is fined per day at the border."
                    ),
                )
            locked.reminded_at = timezone.now()
            locked.save(update_fields=["reminded_at"])
            record(
                "visas.expiry_reminded", actor=None, obj=locked, details={"valid_until": permit.valid_until.isoformat()}
            )
            sent += 1
    return sent
