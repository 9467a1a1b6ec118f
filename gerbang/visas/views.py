"""Pages of foreigners and sponsors, and the public catalogue and permit check.

Thin: each page finds what the caller may see (404 for anything else, exactly as for what does not exist),
calls an action and renders. A sponsor sees only the foreigners they sponsor and what they filed; a foreigner
sees their own passport's profile; an application is seen only by the account that filed it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_safe
from mrz.base.countries_ops import get_country

from gerbang.accounts.decorators import applicant_required
from gerbang.accounts.models import User
from gerbang.accounts.views import apply_form_errors
from gerbang.applications import references
from gerbang.applications.models import document_storage
from gerbang.audit.actions import record_view
from gerbang.core.snapshot import snapshot
from gerbang.identity.actions import current_identity
from gerbang.payments import billing_codes
from gerbang.payments.receipts import mask_name
from gerbang.supervision import traces
from gerbang.tariffs.models import Tariff
from gerbang.tariffs.selectors import tariff_in_force

from . import actions, rules, workflow
from .catalogue import DOCUMENTS
from .documents import evisa_pdf, permit_card_pdf
from .forms import (
    AccountForm,
    AppealForm,
    DocumentForm,
    FollowUpForm,
    ForeignerForm,
    PermitCheckForm,
    SponsorForm,
    SubmitForm,
    VisaApplicationForm,
)
from .models import (
    OPEN_STATUSES,
    BorderMovement,
    Foreigner,
    Permit,
    Purpose,
    Sponsor,
    Sponsorship,
    Status,
    VisaApplication,
    VisaKind,
)

# --- Who sees what -------------------------------------------------------------------------------------------


def sponsor_of(user: Any) -> Sponsor | None:
    return Sponsor.objects.filter(account=user).first()


def _uuid(value: Any) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise Http404 from None


def foreigner_for(user: Any, public_id: Any) -> Foreigner:
    """A foreigner the caller may see: their own passport, or one their sponsor answers for. 404 otherwise."""
    person = Foreigner.objects.filter(public_id=_uuid(public_id)).first()
    if person is None:
        raise Http404
    if (
        person.account_id != user.pk
        and not Sponsorship.objects.filter(foreigner=person, sponsor__account=user).exists()
    ):
        raise Http404
    return person


def application_for_filer(user: Any, public_id: Any) -> VisaApplication:
    """An application the caller filed, or 404 (also for one that exists but was filed by someone else)."""
    application = (
        VisaApplication.objects.select_related("kind", "kind__service", "foreigner", "sponsor", "office")
        .filter(public_id=_uuid(public_id), filer=user)
        .first()
    )
    if application is None:
        raise Http404
    return application


def may_see_permit(user: Any, permit: Permit) -> bool:
    """Its filer, its sponsor's account, or the holder's own account."""
    sponsor_account = permit.sponsor.account_id if permit.sponsor is not None else None
    return user.pk in {permit.application.filer_id, sponsor_account, permit.foreigner.account_id} - {None}


def permit_for(user: Any, number: str) -> Permit:
    permit = (
        Permit.objects.select_related("kind", "foreigner", "sponsor", "application", "application__office")
        .filter(number=number)
        .first()
    )
    if permit is None or not may_see_permit(user, permit):
        raise Http404
    return permit


# --- The public check of a permit ----------------------------------------------------------------------------


def find_permit(number: str, passport_number: str) -> Permit | None:
    """The permit with this number held on this passport: both must match, or nothing is found."""
    if not (6 <= len(number) <= 16 and 1 <= len(passport_number) <= 9):
        return None
    return (
        Permit.objects.select_related("kind", "foreigner")
        .filter(number=number, foreigner__passport_number=passport_number)
        .first()
    )


def is_valid_now(permit: Permit, today: dt.date | None = None) -> bool:
    """Valid today: not used, replaced or revoked, and within its dates (a visa: before its enter-by day)."""
    today = today or timezone.localdate()
    return permit.status == Permit.Status.VALID and permit.valid_from <= today <= permit.valid_until


def nationality_name(code: str) -> str:
    country = get_country(actions.icao_nationality(code)) if code else None
    return f"{code} ({country})" if country else code


# --- Shared pieces -------------------------------------------------------------------------------------------


def fee_in_force(kind: VisaKind) -> Tariff | None:
    return tariff_in_force(kind.service.code)


def document_labels(codes: list[str]) -> list[Any]:
    return [DOCUMENTS.get(code, code) for code in codes]


def _kind_row(kind: VisaKind) -> dict[str, Any]:
    return {"kind": kind, "tariff": fee_in_force(kind), "documents": document_labels(kind.required_documents)}


def _bill_context(bill: Any) -> dict[str, Any] | None:
    if bill is None:
        return None
    return {"bill": bill, "code": billing_codes.display(bill.billing_code)}


def listed(applications: Any) -> list[dict[str, Any]]:
    """Applications for a list, with their reference as it is read out (VIS-1234-5678-9012)."""
    return [{"application": a, "reference": references.display(a.reference)} for a in applications]


def _errors_to_messages(request: HttpRequest, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


# --- Home ----------------------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def register_account(request: HttpRequest) -> HttpResponse:
    """Sign-up without a NIK: foreign nationals, and companies' officers who sponsor them."""
    form = AccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            actions.register_account(
                email=data["email"], password=data["password"], full_name=data["full_name"], language=data["language"]
            )
        except ValidationError as exc:
            apply_form_errors(form, exc)
        else:
            return render(request, "accounts/register_done.html", {"email": data["email"]})
    return render(request, "visas/register_account.html", {"form": form})


@applicant_required
def home(request: HttpRequest) -> HttpResponse:
    """A sponsor's foreigners and filings, a foreigner's own profile and permits, or the two ways in."""
    user: User = request.user  # type: ignore[assignment]
    sponsor = sponsor_of(user)
    sponsorships = (
        list(sponsor.sponsorships.select_related("foreigner").order_by("foreigner__surname", "foreigner__given_names"))
        if sponsor is not None
        else []
    )
    own = list(Foreigner.objects.filter(account=user).order_by("created_at"))
    permits = list(
        Permit.objects.filter(foreigner__account=user).select_related("kind", "foreigner").order_by("-issued_at")
    )
    applications = listed(
        VisaApplication.objects.filter(filer=user).select_related("kind", "foreigner").order_by("-created_at")
    )
    return render(
        request,
        "visas/home.html",
        {
            "sponsor": sponsor,
            "sponsorships": sponsorships,
            "own_profiles": own,
            "permits": permits,
            "applications": applications,
        },
    )


@applicant_required
@require_http_methods(["GET", "POST"])
def register_sponsor(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    if sponsor_of(user) is not None:
        messages.info(request, _("This account is already registered as a sponsor."))
        return redirect("visas:home")
    identity = current_identity(user)
    form = SponsorForm(request.POST or None, initial={"kind": Sponsor.Kind.COMPANY})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        company = data["kind"] == Sponsor.Kind.COMPANY
        try:
            actions.register_sponsor(
                actor=user,
                kind=data["kind"],
                name=data["name"] if company else "",
                address=data["address"],
                nib=data["nib"] if company else "",
                npwp=data["npwp"] if company else "",
            )
        except ValidationError as exc:
            apply_form_errors(form, exc)
        else:
            messages.success(request, _("You are registered as a sponsor. Add the foreign nationals you sponsor."))
            return redirect("visas:home")
    return render(request, "visas/register_sponsor.html", {"form": form, "identity": identity})


@applicant_required
@require_http_methods(["GET", "POST"])
def add_foreigner(request: HttpRequest) -> HttpResponse:
    """A passport read from its machine-readable zone: the caller's own, or (a sponsor) someone they sponsor."""
    user: User = request.user  # type: ignore[assignment]
    sponsor = sponsor_of(user)
    form = ForeignerForm(request.POST or None, sponsor=sponsor)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        own = form.own()
        try:
            # Both actions or neither: a passport recorded for sponsoring is never left without its sponsor.
            with transaction.atomic():
                person = actions.register_foreigner(
                    actor=user,
                    line1=data["line1"],
                    line2=data["line2"],
                    surname=data["surname"],
                    given_names=data["given_names"],
                    birth_date=data["birth_date"],
                    passport_number=data["passport_number"],
                    own=own,
                )
                if not own:
                    actions.sponsor_foreigner(actor=user, foreigner=person, relationship=data["relationship"])
        except ValidationError as exc:
            apply_form_errors(form, exc)
        else:
            messages.success(request, _("The passport of %(name)s is recorded.") % {"name": person.full_name})
            return redirect("visas:foreigner", public_id=person.public_id)
    return render(request, "visas/add_foreigner.html", {"form": form, "sponsor": sponsor})


# --- A foreigner's page --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FollowUp:
    purpose: str
    label: Any
    possible: bool
    reason: str = ""
    url: str = ""
    permit: Permit | None = None


FOLLOW_UP_LABELS: dict[str, Any] = {
    Purpose.REGISTRATION: gettext_lazy("Register the limited stay permit (ITAS) after arrival"),
    Purpose.EXTENSION: gettext_lazy("Extend the stay"),
    Purpose.CHANGE: gettext_lazy("Change the ITAS to a permanent stay permit (ITAP)"),
}


def current_permit(person: Foreigner, entry: BorderMovement | None) -> Permit | None:
    """The permit a follow-up builds on: the latest valid stay permit, else the one the person entered on."""
    stay = (
        person.permits.filter(status=Permit.Status.VALID, kind__category=VisaKind.Category.STAY_PERMIT)
        .select_related("kind")
        .order_by("-valid_until", "-issued_at")
        .first()
    )
    if stay is not None:
        return stay
    if (
        entry is not None
        and entry.permit is not None
        and entry.permit.status in (Permit.Status.VALID, Permit.Status.USED)
    ):
        return entry.permit
    return (
        person.permits.filter(status__in=[Permit.Status.VALID, Permit.Status.USED])
        .select_related("kind")
        .order_by("-issued_at")
        .first()
    )


def follow_up_basis(purpose: str, person: Foreigner, permit: Permit | None) -> rules.Basis | str:
    """What a follow-up would rest on now, or the code of the reason it cannot be filed (actions.WHY_NOT)."""
    try:
        if purpose == Purpose.REGISTRATION:
            return rules.registration_basis(person)
        if permit is None or permit.foreigner_id != person.pk:
            return "permit_not_current"
        if purpose == Purpose.EXTENSION:
            return rules.extension_basis(permit)
        if purpose == Purpose.CHANGE:
            return rules.change_basis(permit)
    except VisaKind.DoesNotExist:
        return "not_extendable"
    return "not_extendable"


def _why(code: str) -> str:
    return str(actions.WHY_NOT.get(code, _("This cannot be filed now.")))


def _follow_up_refusal(basis: rules.Basis, sponsor: Sponsor | None, open_application: bool) -> str:
    """Why the caller cannot file a follow-up that the rules would allow, or ""."""
    base = basis.permit or (basis.entry.permit if basis.entry is not None else None)
    if base is not None and base.sponsor_id is not None and (sponsor is None or sponsor.pk != base.sponsor_id):
        return _("The sponsor of this stay files its registration, extension or change.")
    if open_application:
        return _("This person already has an open application: finish or withdraw it first.")
    return ""


def follow_ups(person: Foreigner, sponsor: Sponsor | None, entry: BorderMovement | None) -> list[FollowUp]:
    """The registration, extension and change of status: possible now, or why not."""
    url = reverse("visas:new_application", kwargs={"public_id": person.public_id})
    permit = current_permit(person, entry)
    open_application = person.applications.filter(status__in=OPEN_STATUSES).exists()
    rows: list[FollowUp] = []
    for purpose in (Purpose.REGISTRATION, Purpose.EXTENSION, Purpose.CHANGE):
        label = FOLLOW_UP_LABELS[purpose]
        if purpose != Purpose.REGISTRATION and permit is None:
            rows.append(FollowUp(purpose, label, False, _("There is no current visa or stay permit to build on.")))
            continue
        basis = follow_up_basis(purpose, person, permit)
        if isinstance(basis, str):
            rows.append(FollowUp(purpose, label, False, _why(basis)))
            continue
        refusal = _follow_up_refusal(basis, sponsor, open_application)
        if refusal:
            rows.append(FollowUp(purpose, label, False, refusal))
            continue
        query = {"lanjutan": str(purpose)}
        if purpose != Purpose.REGISTRATION and basis.permit is not None:
            query["izin"] = basis.permit.number
        rows.append(FollowUp(purpose, label, True, url=f"{url}?{urlencode(query)}", permit=basis.permit))
    return rows


def stay_now(person: Foreigner, today: dt.date | None = None) -> dict[str, Any] | None:
    """The stay as border control reported it: the last movement, and for a stay in progress its end."""
    today = today or timezone.localdate()
    last = rules.last_movement(person)
    if last is None:
        return None
    if last.direction != BorderMovement.Direction.ENTRY:
        return {"in_country": False, "last": last}
    allowed = rules.stay_allowed_until(last)
    left = (allowed - today).days if allowed is not None else None
    return {
        "in_country": True,
        "last": last,
        "allowed_until": allowed,
        "days_left": left if left is not None and left >= 0 else None,
        "days_over": -left if left is not None and left < 0 else None,
    }


def visible_permits(user: Any, person: Foreigner) -> list[Permit]:
    permits = person.permits.select_related("kind", "sponsor", "application", "foreigner").order_by("-issued_at")
    return [p for p in permits if may_see_permit(user, p)]


@applicant_required
def foreigner(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    person = foreigner_for(user, public_id)
    filing_as = actions.may_file_for(user, person)
    sponsor = filing_as if isinstance(filing_as, Sponsor) else None
    relationship = (
        Sponsorship.objects.filter(sponsor=sponsor, foreigner=person).values_list("relationship", flat=True).first()
        if sponsor is not None
        else None
    )
    fines = [
        {"fine": fine, **(_bill_context(fine.bill) or {})}
        for fine in person.fines.select_related("bill", "permit").order_by("-computed_at")
    ]
    return render(
        request,
        "visas/foreigner.html",
        {
            "person": person,
            "own": person.account_id == user.pk,
            "sponsor": sponsor,
            "relationship": relationship,
            "may_file": filing_as is not False,
            "permits": visible_permits(user, person),
            "stay": stay_now(person),
            "fines": fines,
            "follow_ups": follow_ups(person, sponsor, rules.open_entry(person)),
            "applications": listed(
                person.applications.filter(filer=user).select_related("kind", "foreigner").order_by("-created_at")
            ),
        },
    )


# --- Filing --------------------------------------------------------------------------------------------------


def fileable_kinds(filing_as: Sponsor | None) -> list[VisaKind]:
    """The catalogue's visas this filer may file: sponsor-required ones only for a sponsor."""
    kinds = VisaKind.objects.filter(category=VisaKind.Category.VISA, is_active=True).select_related("service")
    return [k for k in kinds if filing_as is not None or not k.sponsor_required]


@applicant_required
@require_http_methods(["GET", "POST"])
def new_application(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    person = foreigner_for(user, public_id)
    filing_as = actions.may_file_for(user, person)
    if filing_as is False:
        raise Http404
    purpose = request.GET.get("lanjutan", "")
    if purpose:
        return _follow_up(request, user, person, purpose, request.GET.get("izin", ""))
    kinds = fileable_kinds(filing_as if isinstance(filing_as, Sponsor) else None)
    form = VisaApplicationForm(request.POST or None, kinds=kinds)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            application = actions.start_application(
                actor=user,
                foreigner=person,
                kind=data["kind"],
                office=data["office"],
                intended_arrival=data["intended_arrival"],
                statement=data["statement"],
            )
        except ValidationError as exc:
            apply_form_errors(form, exc)
        else:
            messages.success(request, _("The application is started. Upload the documents, then submit it."))
            return redirect("visas:application", public_id=application.public_id)
    chosen = str(form["kind"].value() or "")
    rows = [{**_kind_row(k), "checked": str(k.pk) == chosen} for k in kinds]
    return render(
        request,
        "visas/new_application.html",
        {
            "person": person,
            "form": form,
            "rows": rows,
            "sponsor": filing_as if isinstance(filing_as, Sponsor) else None,
        },
    )


def _follow_up(request: HttpRequest, user: User, person: Foreigner, purpose: str, number: str) -> HttpResponse:
    if purpose not in (Purpose.REGISTRATION, Purpose.EXTENSION, Purpose.CHANGE):
        raise Http404
    permit = person.permits.filter(number=number).first() if purpose != Purpose.REGISTRATION and number else None
    form = FollowUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            application = actions.start_application(
                actor=user,
                foreigner=person,
                kind=None,
                office=form.cleaned_data["office"],
                permit=permit,
                follow_up=purpose,
            )
        except ValidationError as exc:
            apply_form_errors(form, exc)
        else:
            messages.success(request, _("The application is started. Upload the documents, then submit it."))
            return redirect("visas:application", public_id=application.public_id)
    basis = follow_up_basis(purpose, person, permit)
    return render(
        request,
        "visas/follow_up.html",
        {
            "person": person,
            "form": form,
            "label": FOLLOW_UP_LABELS[purpose],
            "permit": permit,
            "reason": _why(basis) if isinstance(basis, str) else "",
            "row": _kind_row(basis.kind) if not isinstance(basis, str) else None,
        },
    )


# --- An application ------------------------------------------------------------------------------------------


def document_form(code: str, data: Any = None, files: Any = None) -> DocumentForm:
    """One document's upload form; its file field is labelled with the document, for the error summary too."""
    known = code in DOCUMENTS
    form = DocumentForm(data, files, initial={"kind": code}, auto_id=f"id_{code if known else 'document'}_%s")
    if known:
        form.fields["file"].label = DOCUMENTS[code]
    return form


def _document_rows(application: VisaApplication, forms: dict[str, DocumentForm]) -> list[dict[str, Any]]:
    requested = list(application.requested_documents or [])
    needed = list(dict.fromkeys([*requested, *application.kind.required_documents]))
    current = {d.kind: d for d in application.documents.filter(superseded_at__isnull=True)}
    return [
        {
            "code": code,
            "label": DOCUMENTS.get(code, code),
            "requested": code in requested,
            "current": current.get(code),
            "form": forms.get(code) or document_form(code),
        }
        for code in needed
    ]


def _timeline(application: VisaApplication) -> list[dict[str, Any]]:
    """Every step; a note only when the filer or Gerbang itself wrote it (an officer's working notes stay inside)."""
    return [
        {
            "at": step.at,
            "status": step.get_to_status_display(),
            "note": step.note if step.actor_id in (None, application.filer_id) else "",
        }
        for step in application.steps.all()
    ]


def _appeal_until(application: VisaApplication) -> dt.datetime | None:
    refused = application.steps.filter(to_status=Status.REFUSED).order_by("-at").values_list("at", flat=True).first()
    return refused + dt.timedelta(days=settings.GERBANG_APPEAL_DAYS) if refused is not None else None


def _act(request: HttpRequest, user: User, application: VisaApplication, found: dict[str, Any]) -> HttpResponse | None:
    """Handle one POSTed action; a redirect when done, None to show the page again with the form's errors."""
    action = request.POST.get("action", "")
    done = redirect("visas:application", public_id=application.public_id)
    if action == "upload":
        kind = request.POST.get("kind", "")
        form = document_form(kind, request.POST, request.FILES)
        if form.is_valid():
            try:
                actions.upload_document(
                    application, actor=user, kind=form.cleaned_data["kind"], stream=form.cleaned_data["file"]
                )
            except ValidationError as exc:
                if application.status not in (Status.DRAFT, Status.DOCUMENTS_REQUESTED):
                    _errors_to_messages(request, exc)  # no upload form is shown any more to carry the error
                    return done
                apply_form_errors(form, exc)
            else:
                messages.success(request, _("Saved: %(name)s.") % {"name": DOCUMENTS[form.cleaned_data["kind"]]})
                return done
        found["documents"][kind] = form
        return None
    if action == "submit":
        submit_form = SubmitForm(request.POST)
        if submit_form.is_valid():
            resubmit = application.status == Status.DOCUMENTS_REQUESTED
            try:
                actions.submit(application, actor=user, declaration=submit_form.cleaned_data["declaration"])
                traces.note(request, "submit", visa_application=application)
            except ValidationError as exc:
                apply_form_errors(submit_form, exc)
            else:
                application.refresh_from_db()
                messages.success(
                    request,
                    _("Submitted again: the documents go back to the officer.")
                    if resubmit
                    else _("Submitted. Your reference number is %(reference)s. Pay the billing code below.")
                    % {"reference": references.display(application.reference)},
                )
                return done
        found["submit"] = submit_form
        return None
    if action == "appeal":
        appeal_form = AppealForm(request.POST)
        if appeal_form.is_valid():
            try:
                actions.appeal(application, actor=user, grounds=appeal_form.cleaned_data["grounds"])
            except ValidationError as exc:
                apply_form_errors(appeal_form, exc)
            else:
                messages.success(request, _("Your appeal is with the regional division."))
                return done
        found["appeal"] = appeal_form
        return None
    if action == "withdraw":
        try:
            actions.withdraw(application, actor=user)
        except ValidationError as exc:
            _errors_to_messages(request, exc)
        else:
            messages.success(request, _("The application was withdrawn."))
        return done
    return done


@applicant_required
@require_http_methods(["GET", "POST"])
def application(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    application = application_for_filer(user, public_id)
    found: dict[str, Any] = {"documents": {}}
    if request.method == "POST":
        answer = _act(request, user, application, found)
        if answer is not None:
            return answer
    with snapshot():  # the status and the bill from one committed state, even while the bank's payment lands
        return _application_page(request, user, application, found)


def _application_page(
    request: HttpRequest, user: User, application: VisaApplication, found: dict[str, Any]
) -> HttpResponse:
    application.refresh_from_db()
    allowed = workflow.allowed_actions(application, user)
    bill = application.bills.order_by("-issued_at").first()
    estimate: list[dict[str, Any]] | None = None
    if bill is None and application.status == Status.DRAFT:
        try:
            estimate = actions.fee_items(application)
        except ValidationError:
            estimate = None
    return render(
        request,
        "visas/application.html",
        {
            "application": application,
            "reference": references.display(application.reference),
            "next_step": workflow.NEXT_STEP.get(application.status, ""),
            "allowed": allowed,
            "may_upload": application.status in (Status.DRAFT, Status.DOCUMENTS_REQUESTED),
            "documents": _document_rows(application, found["documents"]),
            "submit_form": found.get("submit") or SubmitForm(),
            "may_submit": "submit" in allowed or "resubmit" in allowed,
            "appeal_form": found.get("appeal") or AppealForm(),
            "appeal_until": _appeal_until(application) if "appeal" in allowed else None,
            "estimate": estimate,
            "estimate_total": sum(item["amount"] for item in estimate) if estimate else 0,
            "billing": _bill_context(bill),
            "timeline": _timeline(application),
            "decisions": list(application.decisions.all()),
            "permit": Permit.objects.filter(application=application).select_related("kind").first(),
        },
    )


@applicant_required
def document(request: HttpRequest, public_id: uuid.UUID, document_id: int) -> HttpResponseBase:
    """The filer's own uploaded document, as stored (checked and cleaned on upload)."""
    user: User = request.user  # type: ignore[assignment]
    application = application_for_filer(user, public_id)
    found = application.documents.filter(pk=document_id).first()
    if found is None:
        raise Http404
    record_view(
        "visas.document_viewed",
        actor=user,
        obj=application,
        office=application.office,
        details={"document": found.pk, "kind": found.kind},
    )
    handle = document_storage().open(found.stored_name, "rb")
    response = FileResponse(handle, content_type=found.content_type)
    extension = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}[found.content_type]
    response["Content-Disposition"] = f'inline; filename="{found.kind}.{extension}"'
    response["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
    response["Cache-Control"] = "private, no-store"
    return response


@applicant_required
def permit_pdf(request: HttpRequest, number: str) -> HttpResponse:
    """The e-visa (A4, with its MRZ) or the stay-permit card: for its filer, its sponsor and its holder."""
    user: User = request.user  # type: ignore[assignment]
    permit = permit_for(user, number)
    pdf = evisa_pdf(permit) if permit.kind.category == VisaKind.Category.VISA else permit_card_pdf(permit)
    record_view(
        "visas.permit_downloaded",
        actor=user,
        obj=permit,
        office=permit.application.office,
        details={"number": permit.number},
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{permit.number}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


# --- Public pages --------------------------------------------------------------------------------------------


@require_safe
def catalogue(request: HttpRequest) -> HttpResponse:
    """Every visa and stay permit offered, with the fee in force today."""
    kinds = list(VisaKind.objects.filter(is_active=True).select_related("service"))
    sections = [
        (label, [_kind_row(k) for k in kinds if k.category == value]) for value, label in VisaKind.Category.choices
    ]
    return render(request, "visas/catalogue.html", {"sections": [(label, rows) for label, rows in sections if rows]})


@require_safe
def verify_permit(request: HttpRequest) -> HttpResponse:
    """Public: does a permit with this number belong to this passport? Only a masked name is shown.

    Both numbers must match; anything else gets the same neutral answer, so the page tells nobody whether a
    number exists. Counted by the rate limits like every page read (per account and address, docs/adr/0007),
    as the receipt check is.
    """
    form = PermitCheckForm(request.GET if ("nomor" in request.GET or "paspor" in request.GET) else None)
    context: dict[str, Any] = {"form": form, "checked": False}
    status = 200
    if form.is_bound and form.is_valid():
        permit = find_permit(form.cleaned_data["nomor"], form.cleaned_data["paspor"])
        context["checked"] = True
        if permit is None:
            status = 404
        else:
            context |= {
                "permit": permit,
                "valid": is_valid_now(permit),
                "masked_name": mask_name(permit.foreigner.full_name),
                "nationality": nationality_name(permit.foreigner.nationality),
            }
    return render(request, "visas/verify.html", context, status=status)
