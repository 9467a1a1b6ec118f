"""The applicant's passport applications in the JSON API (the mobile client): the same actions as the pages."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from ninja import Field, File, Form, Path, Router, Schema
from ninja.files import UploadedFile

from gerbang.accounts.api_auth import APPLICANT_AUTH
from gerbang.accounts.models import User
from gerbang.core.api_types import IsoDate, errors
from gerbang.core.errors import ServiceUnavailable
from gerbang.core.snapshot import snapshot
from gerbang.organisation.models import Office
from gerbang.supervision import traces

from . import actions, references, rules, selectors
from .models import DocumentKind, Kind, PassportApplication, Product, RenewalReason
from .views import serve_document
from .workflow import NEXT_STEP, allowed_actions, service_standard

router = Router(tags=["applications"], auth=APPLICANT_AUTH)

PLAIN_TEXT = r"^[^\x00-\x1f\x7f]*$"
DB_INT = 2**31 - 1


class ApplicantOut(Schema):
    nik: str = Field(..., description="In full: only the account holder sees this")
    name: str
    birth_date: dt.date
    minor: bool
    for_dependant: bool


class DocumentOut(Schema):
    id: int
    kind: str
    content_type: str
    size: int
    sha256: str
    pages: int
    uploaded_at: dt.datetime


class FeeItemOut(Schema):
    service: str
    name: str
    amount: int
    legal_basis: str


class FeeOut(Schema):
    on: dt.date
    total: int
    currency: str = "IDR"
    items: list[FeeItemOut]


class BillOut(Schema):
    billing_code: str = Field(..., description="15 digits with a Damm check digit; pay it at a collecting bank")
    amount: int
    currency: str = "IDR"
    status: str
    expires_at: dt.datetime
    paid_at: dt.datetime | None
    ntpn: str


class ApplicationOut(Schema):
    id: uuid.UUID
    reference: str = Field(..., description="Given at submission: PAS + 11 digits + a Damm check digit")
    status: str
    applicant: ApplicantOut
    kind: str
    renewal_reason: str
    old_passport_number: str
    police_report_number: str
    police_report_date: dt.date | None
    product: str
    validity_years: int | None
    express: bool
    declared_disability: bool = Field(
        ..., description="Declares a disability needing priority service (checked in person at the counter)"
    )
    office: str | None = Field(None, description="Office code")
    current_version: int
    required_documents: list[str]
    documents: list[DocumentOut]
    missing: dict[str, str] = Field(..., description="What must still be answered or uploaded before submitting")
    allowed_actions: list[str]
    bill: BillOut | None = Field(None, description="The latest bill, once the application is submitted")
    created_at: dt.datetime
    submitted_at: dt.datetime | None


class ApplicationIn(Schema):
    applicant_nik: str = Field(..., pattern=r"^[0-9]{16}$", description="Your NIK or a minor's on your family card")
    kind: Kind


class ApplicationPatch(Schema):
    kind: Kind | None = None
    renewal_reason: RenewalReason | Literal[""] | None = None
    old_passport_number: str | None = Field(None, max_length=12, pattern=PLAIN_TEXT)
    police_report_number: str | None = Field(None, max_length=60, pattern=PLAIN_TEXT)
    police_report_date: IsoDate | None = None
    product: Product | None = None
    validity_years: Literal[5, 10] | None = None
    express: bool | None = None
    declared_disability: bool | None = Field(
        None, description="A disability needing priority service; checked in person at the counter"
    )
    office: str | None = Field(None, max_length=60, pattern=PLAIN_TEXT, description="Office code")


class SubmitIn(Schema):
    declaration: bool = Field(..., description="What was entered and uploaded is true and complete")
    parental_consent: bool = Field(False, description="Required when the applicant is a minor")


class WithdrawIn(Schema):
    reason: str = Field("", max_length=500, pattern=PLAIN_TEXT)


class NtpnCheckIn(Schema):
    ntpn: str = Field(..., max_length=40, description="The NTPN on the bank's receipt (16 letters and digits)")


class NtpnCheckOut(Schema):
    outcome: Literal["credited", "duplicate", "exception", "other_bill", "not_found"] = Field(
        ...,
        description=(
            "credited: the bank confirmed it and the fee is paid; duplicate: Gerbang already had it; exception: "
            "the bank has it but it cannot be credited as it is (a finance officer resolves it); other_bill: the "
            "payment is for another billing code; not_found: no bank has a payment with this NTPN"
        ),
    )
    bill: BillOut | None


class StepOut(Schema):
    action: str
    status: str
    status_label: str
    at: dt.datetime
    note: str


class StatusOut(Schema):
    reference: str
    status: str
    status_label: str
    next_step: str
    service_standard: str
    timeline: list[StepOut]


class VersionOut(Schema):
    number: int
    reason: str
    created_at: dt.datetime
    content: dict[str, Any]
    documents: list[dict[str, Any]]
    fee: FeeOut


def _document(d: Any) -> dict[str, Any]:
    return {
        "id": d.pk,
        "kind": d.kind,
        "content_type": d.content_type,
        "size": d.size,
        "sha256": d.sha256,
        "pages": d.pages,
        "uploaded_at": d.uploaded_at,
    }


def _bill(application: PassportApplication) -> dict[str, Any] | None:
    bill = application.bills.order_by("-issued_at").first()
    if bill is None:
        return None
    return {
        "billing_code": bill.billing_code,
        "amount": bill.amount,
        "status": bill.status,
        "expires_at": bill.expires_at,
        "paid_at": bill.paid_at,
        "ntpn": bill.ntpn,
    }


def _out(application: PassportApplication, user: User) -> dict[str, Any]:
    missing = dict(rules.missing_answers(application))
    for kind in rules.missing_documents(application):
        missing[f"documents.{kind}"] = str(DocumentKind(kind).label)
    return {
        "id": application.public_id,
        "reference": application.reference,
        "status": application.status,
        "applicant": {
            "nik": application.applicant_nik,
            "name": application.applicant_name,
            "birth_date": application.applicant_birth_date,
            "minor": application.applicant_minor,
            "for_dependant": application.for_dependant,
        },
        "kind": application.kind,
        "renewal_reason": application.renewal_reason,
        "old_passport_number": application.old_passport_number,
        "police_report_number": application.police_report_number,
        "police_report_date": application.police_report_date,
        "product": application.product,
        "validity_years": application.validity_years,
        "express": application.express,
        "declared_disability": application.declared_disability,
        "office": application.office.code if application.office else None,
        "current_version": application.current_version,
        "required_documents": rules.required_documents(application),
        "documents": [_document(d) for d in selectors.current_documents(application).values()],
        "missing": missing,
        "allowed_actions": allowed_actions(application, user),
        "bill": _bill(application),
        "created_at": application.created_at,
        "submitted_at": application.submitted_at,
    }


def _mine(request: HttpRequest, application_id: uuid.UUID) -> tuple[User, PassportApplication]:
    user: User = request.user  # type: ignore[assignment]
    return user, selectors.application_for_filer(user, application_id)


@router.get("/applications", response={200: list[ApplicationOut], **errors(401)}, summary="Your passport applications")
def list_applications(request: HttpRequest) -> list[dict[str, Any]]:
    user: User = request.user  # type: ignore[assignment]
    return [_out(a, user) for a in selectors.applications_of(user)]


@router.post(
    "/applications", response={201: ApplicationOut, **errors(400, 401, 403, 422)}, summary="Start a draft application"
)
def create_application(request: HttpRequest, payload: ApplicationIn) -> tuple[int, dict[str, Any]]:
    user: User = request.user  # type: ignore[assignment]
    application = actions.create_draft(actor=user, applicant_nik=payload.applicant_nik, kind=payload.kind)
    return 201, _out(application, user)


@router.get(
    "/applications/{application_id}",
    response={200: ApplicationOut, **errors(401, 404, 422)},
    summary="One of your applications",
)
def get_application(request: HttpRequest, application_id: uuid.UUID) -> dict[str, Any]:
    with snapshot():  # the status and the bill from one committed state
        user, application = _mine(request, application_id)
        return _out(application, user)


@router.patch(
    "/applications/{application_id}",
    response={200: ApplicationOut, **errors(400, 401, 403, 404, 422)},
    summary="Save answers of a draft",
)
def update_application(request: HttpRequest, application_id: uuid.UUID, payload: ApplicationPatch) -> dict[str, Any]:
    user, application = _mine(request, application_id)
    changes = payload.dict(exclude_unset=True)
    for name in ("kind", "product", "validity_years", "express", "declared_disability"):
        if name in changes and changes[name] is None:
            raise ValidationError({name: "This field cannot be empty."})
    for name in ("renewal_reason", "old_passport_number", "police_report_number"):
        if name in changes and changes[name] is None:
            changes[name] = ""
    for name in ("kind", "renewal_reason", "product"):
        if changes.get(name) is not None:
            changes[name] = str(getattr(changes[name], "value", changes[name]))
    if "office" in changes and changes["office"] is not None:
        office = Office.objects.filter(code=changes["office"]).first()
        if office is None:
            raise ValidationError({"office": "No office has this code (see /api/v1/offices)."})
        changes["office"] = office
    application = actions.update_draft(application, actor=user, **changes)
    return _out(application, user)


@router.post(
    "/applications/{application_id}/documents",
    response={201: DocumentOut, **errors(400, 401, 403, 404, 422)},
    summary="Upload a document (JPEG, PNG or PDF, at most 5 MB; checked by content)",
)
def upload_document(
    request: HttpRequest,
    application_id: uuid.UUID,
    kind: DocumentKind = Form(...),  # noqa: B008 (django-ninja's way to declare form fields)
    file: UploadedFile = File(...),  # noqa: B008
) -> tuple[int, dict[str, Any]]:
    user, application = _mine(request, application_id)
    document = actions.upload_document(application, actor=user, kind=str(kind.value), stream=file)
    return 201, _document(document)


@router.get(
    "/applications/{application_id}/documents/{document_id}",
    summary="Download one of your documents",
    response={200: None, **errors(401, 404, 422)},
    openapi_extra={
        "responses": {
            200: {
                "description": "The file",
                "content": {t: {} for t in ("image/jpeg", "image/png", "application/pdf")},
            }
        }
    },
)
def download_document(
    request: HttpRequest,
    application_id: uuid.UUID,
    document_id: int = Path(..., ge=1, le=DB_INT),
) -> HttpResponseBase:
    _user, application = _mine(request, application_id)
    return serve_document(request, selectors.document_of(application, document_id))


@router.get(
    "/applications/{application_id}/fee",
    response={200: FeeOut, **errors(401, 404, 409, 422)},
    summary="The fee, itemised",
)
def get_fee(request: HttpRequest, application_id: uuid.UUID) -> Any:
    _user, application = _mine(request, application_id)
    latest = application.versions.order_by("-number").first()
    if latest is not None:
        return latest.fee
    fee = rules.fee(application)
    if fee is None:
        return 409, {"detail": "Choose the passport first; the fee follows from it."}
    return fee.as_json()


@router.post(
    "/applications/{application_id}/submit",
    response={200: VersionOut, **errors(400, 401, 403, 404, 422)},
    summary="Submit (freezes a version)",
)
def submit_application(request: HttpRequest, application_id: uuid.UUID, payload: SubmitIn) -> Any:
    user, application = _mine(request, application_id)
    version = actions.submit(
        application, actor=user, declaration=payload.declaration, parental_consent=payload.parental_consent
    )
    traces.note(request, "submit", application=application)
    return version


@router.post(
    "/applications/{application_id}/withdraw",
    response={200: ApplicationOut, **errors(400, 401, 403, 404, 422)},
    summary="Withdraw before paying",
)
def withdraw_application(request: HttpRequest, application_id: uuid.UUID, payload: WithdrawIn) -> dict[str, Any]:
    user, application = _mine(request, application_id)
    return _out(actions.withdraw(application, actor=user, reason=payload.reason), user)


@router.post(
    "/applications/{application_id}/ntpn-check",
    response={200: NtpnCheckOut, **errors(400, 401, 404, 422, 503)},
    summary="Paid but still unpaid here? Have the NTPN checked with the bank now",
)
def ntpn_check(request: HttpRequest, application_id: uuid.UUID, payload: NtpnCheckIn) -> dict[str, Any]:
    from gerbang.payments.actions import check_ntpn
    from gerbang.payments.bank_client import BankUnavailable

    user, application = _mine(request, application_id)
    try:
        outcome = check_ntpn(application, payload.ntpn, actor=user)
    except BankUnavailable as exc:
        raise ServiceUnavailable("The bank cannot be reached right now; try again in a few minutes.") from exc
    return {"outcome": outcome, "bill": _bill(application)}


@router.get(
    "/applications/{application_id}/status",
    response={200: StatusOut, **errors(401, 404, 422)},
    summary="Status, timeline, service standard",
)
def application_status(request: HttpRequest, application_id: uuid.UUID) -> dict[str, Any]:
    _user, application = _mine(request, application_id)
    return {
        "reference": references.display(application.reference),
        "status": application.status,
        "status_label": application.get_status_display(),
        "next_step": str(NEXT_STEP.get(application.status, "")),
        "service_standard": service_standard(settings.PASSPORT_SERVICE_DAYS),
        "timeline": [
            {
                "action": s.action,
                "status": s.to_status,
                "status_label": s.get_to_status_display(),
                "at": s.at,
                "note": s.note,
            }
            for s in application.steps.all()
        ],
    }


@router.get(
    "/applications/{application_id}/versions/{number}",
    response={200: VersionOut, **errors(401, 404, 422)},
    summary="A submitted version (frozen)",
)
def get_version(
    request: HttpRequest,
    application_id: uuid.UUID,
    number: int = Path(..., ge=1, le=DB_INT),
) -> Any:
    _user, application = _mine(request, application_id)
    version = application.versions.filter(number=number).first()
    if version is None:
        raise Http404
    return version
