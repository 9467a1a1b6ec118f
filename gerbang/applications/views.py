"""The applicant's pages: a multi-step form that works without JavaScript, status, documents, withdrawal.

Every step saves the draft through an action; a step with errors re-renders
with an error summary and field messages and loses nothing already saved.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from gerbang.accounts.decorators import applicant_required
from gerbang.accounts.models import User
from gerbang.accounts.views import apply_form_errors
from gerbang.appointments.views import appointment_context
from gerbang.audit.actions import record_view
from gerbang.casework.selectors import applicant_context
from gerbang.core.snapshot import snapshot
from gerbang.identity.actions import current_identity
from gerbang.supervision import traces
from gerbang.visits.views import visit_context

from . import actions, references, rules, selectors
from .forms import DocumentsForm, KindForm, NewApplicationForm, PassportForm, ReviewForm, WithdrawForm
from .models import Document, DocumentKind, Kind, PassportApplication, Product, RenewalReason, document_storage
from .workflow import EDITABLE, NEXT_STEP, allowed_actions, service_standard

STEPS = [
    ("applicant", gettext_lazy("Applicant")),
    ("kind", gettext_lazy("Kind")),
    ("passport", gettext_lazy("Passport and office")),
    ("documents", gettext_lazy("Documents")),
    ("review", gettext_lazy("Check and submit")),
]
STEP_NAMES = [name for name, _label in STEPS]


def _progress(current: str, application: PassportApplication | None = None) -> list[dict[str, Any]]:
    index = STEP_NAMES.index(current)
    return [
        {
            "name": name,
            "label": label,
            "number": number,
            "state": "done" if number - 1 < index else ("current" if number - 1 == index else "todo"),
            "link": application is not None and name != "applicant" and number - 1 < index,
        }
        for number, (name, label) in enumerate(STEPS, 1)
    ]


def _context(application: PassportApplication, step: str, **extra: Any) -> dict[str, Any]:
    return {"application": application, "steps": _progress(step, application), "step": step, **extra}


@applicant_required
@require_http_methods(["GET", "POST"])
def new(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    identity = current_identity(user)
    if identity is None:
        messages.info(request, _("Verify your identity (NIK) with the population registry before applying."))
        return redirect("identity:verify")
    people = [(identity.nik, _("Myself: %(name)s") % {"name": identity.name})]
    if identity.relationship in ("head", "wife"):
        people += [
            (d.nik, _("My child: %(name)s (born %(date)s)") % {"name": d.name, "date": d.birth_date.isoformat()})
            for d in identity.dependants.all()
            if rules.is_minor(d.birth_date)
        ]
    form = NewApplicationForm(request.POST or None, people=people)
    if request.method == "POST" and form.is_valid():
        try:
            application = actions.create_draft(actor=user, **form.cleaned_data)
        except ValidationError as exc:
            apply_form_errors(form, exc)
        else:
            return redirect("applications:step", public_id=application.public_id, step="kind")
    return render(request, "applications/new.html", {"form": form, "steps": _progress("applicant")})


@applicant_required
@require_http_methods(["GET", "POST"])
def step(request: HttpRequest, public_id: str, step: str) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    application = selectors.application_for_filer(user, public_id)
    editable = EDITABLE.get(application.status)
    if step not in STEP_NAMES[1:] or editable is None:
        if editable is None:
            return redirect("applications:detail", public_id=application.public_id)
        raise Http404
    if editable == "documents" and step not in ("documents", "review"):
        return redirect("applications:step", public_id=application.public_id, step="documents")
    handler = {"kind": _kind_step, "passport": _passport_step, "documents": _documents_step, "review": _review_step}
    return handler[step](request, user, application)


def _next(application: PassportApplication, step: str) -> HttpResponse:
    following = STEP_NAMES[STEP_NAMES.index(step) + 1]
    return redirect("applications:step", public_id=application.public_id, step=following)


def _save(request: HttpRequest, form: Any, user: User, application: PassportApplication, **fields: Any) -> bool:
    try:
        actions.update_draft(application, actor=user, **fields)
    except ValidationError as exc:
        apply_form_errors(form, exc)
        return False
    return True


def _kind_step(request: HttpRequest, user: User, application: PassportApplication) -> HttpResponse:
    initial = {
        "kind": application.kind,
        "renewal_reason": application.renewal_reason,
        "old_passport_number": application.old_passport_number,
        "police_report_number": application.police_report_number,
        "police_report_date": application.police_report_date,
    }
    form = KindForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        kind = data["kind"]
        fields = {
            "kind": kind,
            "renewal_reason": data["renewal_reason"] if kind == "renewal" else "",
            "old_passport_number": data["old_passport_number"] if kind in ("renewal", "damaged") else "",
            "police_report_number": data["police_report_number"] if kind == "lost" else "",
            "police_report_date": data["police_report_date"] if kind == "lost" else None,
        }
        if _save(request, form, user, application, **fields):
            return _next(application, "kind")
    return render(request, "applications/step_kind.html", _context(application, "kind", form=form))


def _passport_step(request: HttpRequest, user: User, application: PassportApplication) -> HttpResponse:
    initial = {
        "product": application.product,
        "validity_years": application.validity_years,
        "express": application.express,
        "declared_disability": application.declared_disability,
        "office": application.office_id,
    }
    form = PassportForm(request.POST or None, initial=initial, minor=application.applicant_minor)
    if request.method == "POST" and form.is_valid() and _save(request, form, user, application, **form.cleaned_data):
        return _next(application, "passport")
    return render(request, "applications/step_passport.html", _context(application, "passport", form=form))


def _documents_step(request: HttpRequest, user: User, application: PassportApplication) -> HttpResponse:
    kinds = rules.required_documents(application)
    form = DocumentsForm(request.POST or None, request.FILES or None, kinds=kinds)
    if request.method == "POST" and form.is_valid():
        uploaded = 0
        for kind in kinds:
            upload = request.FILES.get(kind)
            if upload is None:
                continue
            try:
                actions.upload_document(application, actor=user, kind=kind, stream=upload)
                uploaded += 1
            except ValidationError as exc:
                form.add_error(
                    kind, exc.message_dict.get("file", exc.messages) if hasattr(exc, "error_dict") else exc.messages
                )
        if uploaded:
            messages.success(request, _("Saved %(count)s document(s).") % {"count": uploaded})
        if not form.errors:
            missing = rules.missing_documents(application)
            if not missing and "continue" in request.POST:
                return _next(application, "documents")
            for kind in missing:
                if "continue" in request.POST:
                    form.add_error(kind, _("Upload this document."))
            if not form.errors:
                return redirect("applications:step", public_id=application.public_id, step="documents")
    current = selectors.current_documents(application)
    rows = [(form[kind], current.get(kind)) for kind in kinds]
    return render(request, "applications/step_documents.html", _context(application, "documents", form=form, rows=rows))


def _review_step(request: HttpRequest, user: User, application: PassportApplication) -> HttpResponse:
    form = ReviewForm(request.POST or None, application=application)
    missing = rules.missing_answers(application)
    missing_docs = rules.missing_documents(application)
    if request.method == "POST" and form.is_valid():
        try:
            version = actions.submit(
                application,
                actor=user,
                declaration=form.cleaned_data["declaration"],
                parental_consent=form.cleaned_data.get("parental_consent", False),
            )
        except ValidationError as exc:
            apply_form_errors(form, exc)
        else:
            application.refresh_from_db()
            traces.note(request, "submit", application=application)
            messages.success(
                request,
                _("Submitted. Your reference number is %(reference)s (version %(version)s).")
                % {"reference": references.display(application.reference), "version": version.number},
            )
            return redirect("applications:detail", public_id=application.public_id)
    return render(
        request,
        "applications/step_review.html",
        _context(
            application,
            "review",
            form=form,
            fee=rules.fee(application),
            missing=missing,
            missing_docs=[DocumentKind(k).label for k in missing_docs],
            documents=selectors.current_documents(application),
        ),
    )


@applicant_required
def detail(request: HttpRequest, public_id: str) -> HttpResponse:
    """The status page: current status, what happens next, the timeline, the versions and the fee."""
    user: User = request.user  # type: ignore[assignment]
    with snapshot():  # the status and the bill from one committed state, even while the bank's payment lands
        application = selectors.application_for_filer(user, public_id)
        latest = application.versions.order_by("-number").first()
        return render(
            request,
            "applications/detail.html",
            {
                "application": application,
                "reference": references.display(application.reference),
                "next_step": NEXT_STEP.get(application.status, ""),
                "timeline": application.steps.select_related("actor").all(),
                "versions": application.versions.all(),
                "fee": latest.fee if latest else None,
                "estimate": rules.fee(application) if latest is None else None,
                "documents": selectors.current_documents(application),
                "actions": allowed_actions(application, user),
                "bill": application.bills.order_by("-issued_at").first(),
                "editable": EDITABLE.get(application.status),
                "service_standard": service_standard(settings.PASSPORT_SERVICE_DAYS),
                "appointment": appointment_context(application),
                "visit": visit_context(application),
                "casework": applicant_context(application),
            },
        )


@applicant_required
def version(request: HttpRequest, public_id: str, number: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    application = selectors.application_for_filer(user, public_id)
    frozen = application.versions.filter(number=number).first()
    if frozen is None:
        raise Http404
    return render(
        request,
        "applications/version.html",
        {
            "application": application,
            "version": frozen,
            "rows": _frozen_rows(frozen.content),
            "documents": [(DocumentKind(d["kind"]).label, d) for d in frozen.documents],
            "reference": references.display(application.reference),
        },
    )


def _frozen_rows(content: dict[str, Any]) -> list[tuple[Any, Any]]:
    """A frozen version's answers with the labels and choice names of today's language."""
    choices: dict[str, Any] = {"kind": Kind, "renewal_reason": RenewalReason, "product": Product}
    rows: list[tuple[Any, Any]] = []
    applicant = content.get("applicant", {})
    rows.append((_("Applicant"), f"{applicant.get('name', '')} ({applicant.get('birth_date', '')})"))
    for key, value in content.items():
        if key in ("applicant", "parental_consent_by") or value in ("", None):
            continue
        label = getattr(PassportApplication._meta.get_field(key), "verbose_name", key)
        shown = value
        if key in choices and value in choices[key].values:
            shown = choices[key](value).label
        elif isinstance(value, bool):
            shown = _("yes") if value else _("no")
        rows.append((label, shown))
    return rows


@applicant_required
@require_http_methods(["GET", "POST"])
def withdraw(request: HttpRequest, public_id: str) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    application = selectors.application_for_filer(user, public_id)
    if "withdraw" not in allowed_actions(application, user):
        messages.error(request, _("This application can no longer be withdrawn."))
        return redirect("applications:detail", public_id=application.public_id)
    form = WithdrawForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.withdraw(application, actor=user, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            apply_form_errors(form, exc)
        else:
            messages.success(request, _("The application was withdrawn."))
            return redirect("applications:detail", public_id=application.public_id)
    return render(request, "applications/withdraw.html", {"application": application, "form": form})


def serve_document(request: HttpRequest, document: Document) -> HttpResponseBase:
    """Send a stored document to someone already allowed to see it, and record that they did."""
    record_view(
        "applications.document_viewed",
        actor=request.user,  # type: ignore[arg-type]
        obj=document.application,
        office=document.application.office,
        details={"document": document.pk, "kind": document.kind},
    )
    handle = document_storage().open(document.stored_name, "rb")
    response = FileResponse(handle, content_type=document.content_type)
    extension = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}[document.content_type]
    response["Content-Disposition"] = f'inline; filename="{document.kind}.{extension}"'
    response["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
    response["Cache-Control"] = "private, no-store"
    return response


@applicant_required
def document(request: HttpRequest, public_id: str, document_id: int) -> HttpResponseBase:
    user: User = request.user  # type: ignore[assignment]
    application = selectors.application_for_filer(user, public_id)
    return serve_document(request, selectors.document_of(application, document_id))
