"""The only code that changes passport applications. Each action writes its audit event in its transaction.

Audit details name what changed (fields, document kind and hash, fee total),
never the personal data itself: the application holds that, behind access checks.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from gerbang.accounts.models import User
from gerbang.audit.actions import record
from gerbang.identity.actions import current_identity
from gerbang.identity.models import CitizenIdentity
from gerbang.organisation.models import Office

from . import references, rules
from .models import (
    ApplicationVersion,
    Document,
    DocumentKind,
    Kind,
    PassportApplication,
    Product,
    RenewalReason,
    Status,
    Step,
    document_storage,
)
from .uploads import UploadRefused, check_upload
from .workflow import EDITABLE, not_now, transition

EDITABLE_FIELDS = (
    "kind",
    "renewal_reason",
    "old_passport_number",
    "police_report_number",
    "police_report_date",
    "product",
    "validity_years",
    "express",
    "declared_disability",
    "office",
)


def _verified_identity(actor: User) -> CitizenIdentity:
    identity = current_identity(actor) if actor.kind == User.Kind.APPLICANT else None
    if identity is None:
        raise ValidationError(_("Verify your identity (NIK) with the population registry before applying."))
    return identity


def _locked(application: PassportApplication, actor: User) -> PassportApplication:
    """The application's row, locked; 404 unless ``actor`` filed it."""
    locked = PassportApplication.objects.select_for_update().filter(pk=application.pk, filer=actor).first()
    if locked is None:
        raise Http404
    return locked


def create_draft(*, actor: User, applicant_nik: str, kind: str) -> PassportApplication:
    """Start an application for the account holder or a minor on their family card."""
    identity = _verified_identity(actor)
    if kind not in Kind.values:
        raise ValidationError({"kind": _("Choose what kind of application this is.")})
    if applicant_nik == identity.nik:
        person: Any = identity
        for_dependant = False
    else:
        person = identity.dependants.filter(nik=applicant_nik).first()
        for_dependant = True
        if person is None:
            raise ValidationError(
                {"applicant_nik": _("You can apply for yourself or for a minor on your own family card only.")}
            )
        if identity.relationship not in ("head", "wife"):
            raise ValidationError({"applicant_nik": _("Only a parent on the family card can apply for a minor.")})
    minor = rules.is_minor(person.birth_date)
    if for_dependant and not minor:
        raise ValidationError({"applicant_nik": _("An adult applies with their own account.")})
    try:
        with transaction.atomic():
            application = PassportApplication.objects.create(
                filer=actor,
                applicant_nik=person.nik,
                applicant_name=person.name,
                applicant_birth_date=person.birth_date,
                applicant_sex=person.sex,
                for_dependant=for_dependant,
                applicant_minor=minor,
                kind=kind,
                product=Product.ELECTRONIC,
                validity_years=5 if minor else 10,
            )
            Step.objects.create(
                application=application, action="create", to_status=Status.DRAFT, actor=actor, at=timezone.now()
            )
            record(
                "applications.draft_created",
                actor=actor,
                obj=application,
                details={"kind": kind, "for_dependant": for_dependant},
            )
    except IntegrityError:
        raise ValidationError(
            {"applicant_nik": _("There is already an open passport application for this person.")}
        ) from None
    return application


def _clean_fields(application: PassportApplication, changes: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    for name, given in changes.items():
        value = given
        if name not in EDITABLE_FIELDS:
            errors[name] = _("This field cannot be changed.")
            continue
        if name == "kind" and value not in Kind.values:
            errors[name] = _("Choose what kind of application this is.")
        elif name == "renewal_reason" and value not in ["", *RenewalReason.values]:
            errors[name] = _("Choose a reason from the list.")
        elif name == "product" and value not in Product.values:
            errors[name] = _("Choose an ordinary or an electronic passport.")
        elif name == "validity_years" and value not in (5, 10):
            errors[name] = _("Choose 5 or 10 years.")
        elif name == "validity_years" and value == 10 and application.applicant_minor:
            errors[name] = _("A 10-year passport is only for adults; choose 5 years.")
        elif name == "old_passport_number":
            value = "".join(str(value or "").upper().split())
            if value and not rules.PASSPORT_NUMBER.match(value):
                errors[name] = _("A passport number is one or two letters followed by 6 or 7 digits, e.g. A1234567.")
        elif name == "police_report_number":
            value = str(value or "").strip()
            if len(value) > 60:
                errors[name] = _("At most 60 characters.")
        elif name == "police_report_date" and value is not None:
            if not isinstance(value, dt.date) or value > timezone.localdate():
                errors[name] = _("Enter a date that is not in the future.")
        elif name in ("express", "declared_disability") and not isinstance(value, bool):
            errors[name] = _("Choose yes or no.")
        elif name == "office" and value is not None and not isinstance(value, Office):
            errors[name] = _("Choose an office from the list.")
        clean[name] = value
    if errors:
        raise ValidationError(errors)
    return clean


def update_draft(application: PassportApplication, *, actor: User, **changes: Any) -> PassportApplication:
    """Save answers of a draft (any subset of the editable fields); the draft is saved at every step."""
    with transaction.atomic():
        application = _locked(application, actor)
        if EDITABLE.get(application.status) != "all":
            raise ValidationError(_("A submitted application cannot be changed; withdraw it or wait for a request."))
        clean = _clean_fields(application, changes)
        changed = [name for name, value in clean.items() if getattr(application, name) != value]
        for name in changed:
            setattr(application, name, clean[name])
        if changed:
            application.save()
            record(
                "applications.draft_updated",
                actor=actor,
                obj=application,
                office=application.office,
                details={"fields": sorted(changed)},
            )
    return application


def _random_name(extension: str) -> str:
    today = timezone.now()
    return f"{today:%Y/%m}/{secrets.token_urlsafe(24)}.{extension}"


def upload_document(application: PassportApplication, *, actor: User, kind: str, stream: IO[bytes] | bytes) -> Document:
    """Check a document by its content, store it under a random name and make it the current one of its kind."""
    if kind not in DocumentKind.values:
        raise ValidationError({"kind": _("Choose which document this is.")})
    try:
        checked = check_upload(stream)
    except UploadRefused as exc:
        raise ValidationError({"file": exc.message}, code=exc.code) from None
    with transaction.atomic():
        application = _locked(application, actor)
        if application.status not in EDITABLE:
            raise ValidationError(_("Documents can no longer be changed for this application."))
        if kind not in rules.required_documents(application):
            raise ValidationError({"kind": _("This application does not need that document.")})
        now = timezone.now()
        replaced = Document.objects.filter(application=application, kind=kind, superseded_at__isnull=True).update(
            superseded_at=now
        )
        document = Document(
            application=application,
            kind=kind,
            content_type=checked.content_type,
            size=checked.size,
            sha256=checked.sha256,
            pages=checked.pages,
            uploaded_by=actor,
            uploaded_at=now,
        )
        storage = document_storage()
        stored = storage.save(_random_name(checked.extension), ContentFile(checked.content))
        document.stored_name = stored
        try:
            document.save()
            record(
                "applications.document_uploaded",
                actor=actor,
                obj=application,
                office=application.office,
                details={
                    "document": document.pk,
                    "kind": kind,
                    "sha256": checked.sha256,
                    "size": checked.size,
                    "content_type": checked.content_type,
                    "replaced": replaced,
                },
            )
        except Exception:
            storage.delete(stored)
            raise
    return document


def _freeze(application: PassportApplication, *, actor: User, reason: str) -> ApplicationVersion:
    fee = rules.fee(application)
    if fee is None:
        raise ValidationError(_("No tariff is in force for this passport today. Try again later."))
    documents = [
        {"id": d.pk, "kind": d.kind, "sha256": d.sha256, "content_type": d.content_type, "size": d.size}
        for d in application.documents.filter(
            superseded_at__isnull=True, kind__in=rules.required_documents(application)
        ).order_by("kind")
    ]
    content = {
        "applicant": {
            "nik": application.applicant_nik,
            "name": application.applicant_name,
            "birth_date": application.applicant_birth_date.isoformat(),
            "sex": application.applicant_sex,
            "minor": application.applicant_minor,
            "for_dependant": application.for_dependant,
        },
        "kind": application.kind,
        "renewal_reason": application.renewal_reason,
        "old_passport_number": application.old_passport_number,
        "police_report_number": application.police_report_number,
        "police_report_date": application.police_report_date.isoformat() if application.police_report_date else None,
        "product": application.product,
        "validity_years": application.validity_years,
        "express": application.express,
        "declared_disability": application.declared_disability,
        "office": application.office.code if application.office else None,
        "parental_consent_by": application.parental_consent_by_id,
    }
    application.current_version += 1
    return ApplicationVersion.objects.create(
        application=application,
        number=application.current_version,
        content=content,
        documents=documents,
        fee=fee.as_json(),
        reason=reason,
        created_by=actor,
        created_at=timezone.now(),
    )


def _check_complete(application: PassportApplication) -> None:
    errors: dict[str, Any] = dict(rules.missing_answers(application))
    missing = rules.missing_documents(application)
    if missing:
        names = ", ".join(str(DocumentKind(kind).label) for kind in missing)
        errors["documents"] = _("Upload these documents first: %(names)s.") % {"names": names}
    if errors:
        raise ValidationError(errors)


def submit(
    application: PassportApplication, *, actor: User, declaration: bool, parental_consent: bool = False
) -> ApplicationVersion:
    """Freeze what was answered and uploaded as version 1 and give the application its reference number."""
    with transaction.atomic():
        application = _locked(application, actor)
        if application.status not in (Status.DRAFT, Status.DOCUMENTS_REQUESTED):
            raise not_now(application)
        if application.status == Status.DRAFT:
            # Age is judged on the day of submission.
            application.applicant_minor = rules.is_minor(application.applicant_birth_date)
        _check_complete(application)
        errors = {}
        if not declaration:
            errors["declaration"] = _("Confirm that what you entered is true and complete.")
        if application.applicant_minor and not parental_consent:
            errors["parental_consent"] = _("As the parent, give your consent for this minor's passport.")
        if errors:
            raise ValidationError(errors)
        now = timezone.now()
        if application.applicant_minor:
            application.parental_consent_by = actor
            application.parental_consent_at = now
        if application.status == Status.DRAFT:
            action = "submit"
        else:
            action = "resubmit_paid" if application.paid_at else "resubmit"
            _check_requested_uploaded(application)
        if action == "submit":
            application.reference = _unused_reference()
            application.submitted_at = now
        else:
            application.requested_documents = []
        version = _freeze(application, actor=actor, reason="submitted" if action == "submit" else "documents requested")
        application.save()
        transition(
            application,
            action,
            actor=actor,
            details={"reference": application.reference, "version": version.number, "fee_total": version.fee["total"]},
        )
    return version


def mark_paid(application: PassportApplication, *, bill: Any) -> None:
    """Called only by ``payments.actions.credit`` inside its transaction: the bank proved the fee was paid."""
    application = PassportApplication.objects.select_for_update().get(pk=application.pk)
    application.paid_at = bill.paid_at
    application.save(update_fields=["paid_at", "updated_at"])
    transition(application, "pay", actor=None, details={"billing_code": bill.billing_code, "ntpn": bill.ntpn})


def _check_requested_uploaded(application: PassportApplication) -> None:
    """Every document the officer asked for was uploaded after the request."""
    asked = application.steps.filter(action="request_documents").order_by("-at").values_list("at", flat=True).first()
    fresh = set(
        application.documents.filter(superseded_at__isnull=True, uploaded_at__gt=asked).values_list("kind", flat=True)
    )
    missing = [kind for kind in application.requested_documents if kind not in fresh]
    if missing:
        names = ", ".join(str(DocumentKind(kind).label) for kind in missing)
        raise ValidationError({"documents": _("Upload a new copy of: %(names)s.") % {"names": names}})


def _unused_reference() -> str:
    for _attempt in range(10):
        reference = references.new_reference()
        if not PassportApplication.objects.filter(reference=reference).exists():
            return reference
    raise RuntimeError("could not draw an unused reference")  # 10^11 numbers: practically impossible


def withdraw(application: PassportApplication, *, actor: User, reason: str = "") -> PassportApplication:
    """The applicant withdraws (a draft is discarded the same way). Allowed until the fee is paid."""
    with transaction.atomic():
        application = _locked(application, actor)
        application.withdrawn_at = timezone.now()
        application.save(update_fields=["withdrawn_at"])
        transition(application, "withdraw", actor=actor, note=reason.strip())
        from gerbang.appointments.actions import release_withdrawn
        from gerbang.payments.actions import cancel_open_bills

        release_withdrawn(application, actor=actor)
        cancel_open_bills(application, actor=actor, reason="application withdrawn")
    return application


def request_documents(
    application: PassportApplication, *, actor: User, kinds: list[str], note: str
) -> PassportApplication:
    """An officer asks for another document; the applicant's answer becomes a new version."""
    if not kinds or any(kind not in DocumentKind.values for kind in kinds):
        raise ValidationError({"kinds": _("Choose the documents you need.")})
    if not note.strip():
        raise ValidationError({"note": _("Tell the applicant what is needed and why.")})
    with transaction.atomic():
        application = PassportApplication.objects.select_for_update().get(pk=application.pk)
        application.requested_documents = sorted(set(kinds))
        application.request_note = note.strip()[:500]
        application.save(update_fields=["requested_documents", "request_note"])
        transition(application, "request_documents", actor=actor, note=note.strip(), details={"kinds": sorted(kinds)})
    return application
