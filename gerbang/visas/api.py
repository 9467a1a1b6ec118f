"""Visas and stay permits in the JSON API (mounted at /api/v1/visas): the catalogue and the permit check are
public; the applications are the caller's own (the applicant API token or the signed-in session)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from gerbang.accounts.api_auth import APPLICANT_AUTH
from gerbang.accounts.models import User
from gerbang.channel import actions as channel
from gerbang.channel.api import MESSAGE_TEXT
from gerbang.channel.models import Message
from gerbang.core.api_types import errors
from gerbang.core.snapshot import snapshot
from gerbang.supervision import traces

from . import actions, workflow
from .catalogue import DOCUMENTS
from .forms import compact
from .models import Permit, VisaApplication, VisaKind
from .views import application_for_filer, fee_in_force, find_permit, is_valid_now

router = Router(tags=["visas"], auth=APPLICANT_AUTH)


class VisaDocumentKindOut(Schema):
    code: str
    label: str


class VisaKindOut(Schema):
    code: str
    index_code: str
    category: str
    name: str
    purpose: str
    stay_days: int
    entry_within_days: int = Field(..., description="A visa: enter within this many days of issue; 0 otherwise")
    multiple_entry: bool
    extensions: int
    extension_days: int
    sponsor_required: bool = Field(..., description="Filed by a sponsor in Indonesia, not by the foreigner")
    required_documents: list[VisaDocumentKindOut]
    fee: int | None = Field(..., description="The fee in force today, in rupiah; null when none is in force")
    currency: str = "IDR"
    legal_basis: str


class VisaBillOut(Schema):
    billing_code: str = Field(..., description="15 digits; pay it at any bank: teller, ATM, mobile banking or card")
    amount: int
    currency: str = "IDR"
    status: str
    expires_at: dt.datetime
    paid_at: dt.datetime | None
    ntpn: str


class VisaDecisionOut(Schema):
    stage: str
    outcome: str
    reason: str = Field(..., description="A refusal's legal ground (code); empty otherwise")
    reason_label: str
    at: dt.datetime


class VisaPermitOut(Schema):
    number: str
    kind: str
    status: str
    enter_by: dt.date | None
    stay_days: int
    valid_from: dt.date
    valid_until: dt.date


class VisaForeignerOut(Schema):
    name: str
    nationality: str
    passport_number: str


class VisaApplicationOut(Schema):
    id: uuid.UUID
    reference: str = Field(..., description="Given at submission: VIS + 11 digits + a Damm check digit")
    kind: str
    kind_name: str
    purpose: str
    status: str
    status_label: str
    next_step: str
    foreigner: VisaForeignerOut
    sponsor: str | None
    office: str = Field(..., description="Office code")
    required_documents: list[str]
    requested_documents: list[str]
    request_note: str
    uploaded_documents: list[str]
    allowed_actions: list[str]
    bill: VisaBillOut | None
    decisions: list[VisaDecisionOut]
    refusal_reason: str
    permit: VisaPermitOut | None
    created_at: dt.datetime
    submitted_at: dt.datetime | None


class VisaSubmitIn(Schema):
    declaration: bool = Field(..., description="What was entered and uploaded is true and complete")


class VisaVerifyOut(Schema):
    valid: bool = Field(..., description="The number and passport number belong together and the permit is in force")
    kind: str | None = Field(None, description="Only when both numbers match")
    valid_until: dt.date | None = None
    status: str | None = None


class VisaMessageOut(Schema):
    id: int
    sender: Literal["applicant", "office"] = Field(
        ..., description="applicant: you; office: the immigration office (officers are never named)"
    )
    body: str
    sent_at: dt.datetime


class VisaMessageIn(Schema):
    body: str = Field(
        ...,
        max_length=4 * channel.MAX_LENGTH,
        pattern=MESSAGE_TEXT,
        description="1 to 2000 characters once trimmed (CR LF counts as one)",
    )


def _kind(kind: VisaKind) -> dict[str, Any]:
    tariff = fee_in_force(kind)
    return {
        "code": kind.code,
        "index_code": kind.index_code,
        "category": kind.category,
        "name": kind.name,
        "purpose": kind.purpose,
        "stay_days": kind.stay_days,
        "entry_within_days": kind.entry_within_days,
        "multiple_entry": kind.multiple_entry,
        "extensions": kind.extensions,
        "extension_days": kind.extension_days,
        "sponsor_required": kind.sponsor_required,
        "required_documents": [{"code": c, "label": str(DOCUMENTS.get(c, c))} for c in kind.required_documents],
        "fee": tariff.amount if tariff is not None else None,
        "legal_basis": tariff.legal_basis if tariff is not None else "",
    }


def _permit(permit: Permit | None) -> dict[str, Any] | None:
    if permit is None:
        return None
    return {
        "number": permit.number,
        "kind": permit.kind.code,
        "status": permit.status,
        "enter_by": permit.enter_by,
        "stay_days": permit.stay_days,
        "valid_from": permit.valid_from,
        "valid_until": permit.valid_until,
    }


def _out(application: VisaApplication, user: User) -> dict[str, Any]:
    bill = application.bills.order_by("-issued_at").first()
    uploaded = application.documents.filter(superseded_at__isnull=True).values_list("kind", flat=True)
    return {
        "id": application.public_id,
        "reference": application.reference,
        "kind": application.kind.code,
        "kind_name": application.kind.name,
        "purpose": application.purpose,
        "status": application.status,
        "status_label": application.get_status_display(),
        "next_step": str(workflow.NEXT_STEP.get(application.status, "")),
        "foreigner": {
            "name": application.foreigner.full_name,
            "nationality": application.foreigner.nationality,
            "passport_number": application.foreigner.passport_number,
        },
        "sponsor": application.sponsor.name if application.sponsor is not None else None,
        "office": application.office.code,
        "required_documents": list(application.kind.required_documents),
        "requested_documents": list(application.requested_documents or []),
        "request_note": application.request_note,
        "uploaded_documents": sorted(uploaded),
        "allowed_actions": workflow.allowed_actions(application, user),
        "bill": None
        if bill is None
        else {
            "billing_code": bill.billing_code,
            "amount": bill.amount,
            "status": bill.status,
            "expires_at": bill.expires_at,
            "paid_at": bill.paid_at,
            "ntpn": bill.ntpn,
        },
        # The legal reason of each decision; never who took it, nor their working notes.
        "decisions": [
            {
                "stage": d.stage,
                "outcome": d.outcome,
                "reason": d.reason,
                "reason_label": d.get_reason_display() if d.reason else "",
                "at": d.at,
            }
            for d in application.decisions.all()
        ],
        "refusal_reason": application.refusal_reason,
        "permit": _permit(Permit.objects.filter(application=application).select_related("kind").first()),
        "created_at": application.created_at,
        "submitted_at": application.submitted_at,
    }


@router.get(
    "/catalogue",
    auth=None,
    response={200: list[VisaKindOut]},
    summary="The visas and stay permits offered, with the fee in force today",
)
def list_catalogue(request: HttpRequest) -> list[dict[str, Any]]:
    return [_kind(k) for k in VisaKind.objects.filter(is_active=True).select_related("service")]


@router.get(
    "/applications",
    response={200: list[VisaApplicationOut], **errors(401)},
    summary="The visa and stay-permit applications you filed",
)
def list_applications(request: HttpRequest) -> list[dict[str, Any]]:
    user: User = request.user  # type: ignore[assignment]
    found = (
        VisaApplication.objects.filter(filer=user)
        .select_related("kind", "foreigner", "sponsor", "office")
        .order_by("-created_at")
    )
    return [_out(a, user) for a in found]


@router.get(
    "/applications/{public_id}",
    response={200: VisaApplicationOut, **errors(401, 404, 422)},
    summary="One of your applications: status, next step, bill, decisions, permit",
)
def get_application(request: HttpRequest, public_id: uuid.UUID) -> dict[str, Any]:
    user: User = request.user  # type: ignore[assignment]
    with snapshot():  # the status and the bill from one committed state
        return _out(application_for_filer(user, public_id), user)


@router.post(
    "/applications/{public_id}/submit",
    response={200: VisaApplicationOut, **errors(400, 401, 404, 422)},
    summary="Submit (a reference number and a billing code), or submit again after documents were asked for",
)
def submit_application(request: HttpRequest, public_id: uuid.UUID, payload: VisaSubmitIn) -> dict[str, Any]:
    user: User = request.user  # type: ignore[assignment]
    application = application_for_filer(user, public_id)
    actions.submit(application, actor=user, declaration=payload.declaration)
    traces.note(request, "submit", visa_application=application)
    return _out(application_for_filer(user, public_id), user)


def _message(message: Message) -> dict[str, Any]:
    return {"id": message.pk, "sender": message.sender, "body": message.body, "sent_at": message.sent_at}


@router.get(
    "/applications/{public_id}/messages",
    response={200: list[VisaMessageOut], **errors(401, 404, 422)},
    summary="The messages with the office about one of your applications, oldest first",
)
def list_messages(request: HttpRequest, public_id: uuid.UUID) -> list[dict[str, Any]]:
    application = application_for_filer(request.user, public_id)
    return [_message(m) for m in channel.conversation(application)]


@router.post(
    "/applications/{public_id}/messages",
    response={201: VisaMessageOut, **errors(400, 401, 404, 422)},
    summary="Write to the office about one of your applications (once submitted)",
)
def send_message(request: HttpRequest, public_id: uuid.UUID, payload: VisaMessageIn) -> tuple[int, dict[str, Any]]:
    user: User = request.user  # type: ignore[assignment]
    application = application_for_filer(user, public_id)
    message = channel.send_from_applicant(application, actor=user, body=payload.body)
    return 201, _message(message)


class VisaVerifyQuery(Schema):
    number: str = Field(..., max_length=40, description="The visa or permit number")
    passport: str = Field(..., max_length=40, description="The holder's passport number")


@router.get(
    "/permits/verify",
    auth=None,
    response={200: VisaVerifyOut, **errors(422, 429)},
    exclude_none=True,
    summary="Public: does this permit number belong to this passport, and is it in force?",
)
def verify_permit(request: HttpRequest, query: Query[VisaVerifyQuery]) -> dict[str, Any]:
    permit = find_permit(compact(query.number), compact(query.passport))
    if permit is None:
        return {"valid": False}
    return {
        "valid": is_valid_now(permit),
        "kind": permit.kind.code,
        "valid_until": permit.valid_until,
        "status": permit.status,
    }
