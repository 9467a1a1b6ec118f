"""Officers' view of an application: masked NIK, never the applicant's e-mail or phone, every look audited."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from gerbang.access.permissions import Perm, may_anywhere
from gerbang.accounts.decorators import staff_required
from gerbang.accounts.models import User
from gerbang.accounts.views import apply_form_errors
from gerbang.audit.actions import record_view
from gerbang.identity.models import mask_nik

from . import actions, references, selectors
from .forms import RequestDocumentsForm
from .views import serve_document
from .workflow import allowed_actions


@staff_required
def lookup(request: HttpRequest) -> HttpResponse:
    actor: User = request.user  # type: ignore[assignment]
    if not may_anywhere(actor, Perm.VIEW_APPLICANT_DATA):
        raise Http404
    reference = request.GET.get("reference", "").strip()
    error = ""
    if reference:
        if not references.is_valid(reference):
            error = _("This is not a valid reference number: check it for a typing error.")
        else:
            return redirect("staff:application", reference=references.compact(reference))
    return render(request, "applications/staff_lookup.html", {"reference": reference, "error": error})


@staff_required
@require_http_methods(["GET", "POST"])
def detail(request: HttpRequest, reference: str) -> HttpResponse:
    actor: User = request.user  # type: ignore[assignment]
    application = selectors.application_for_officer(actor, reference)
    can_request = "request_documents" in allowed_actions(application, actor)
    form = RequestDocumentsForm(request.POST or None) if can_request else None
    if request.method == "POST":
        if form is None:
            raise Http404
        if form.is_valid():
            try:
                actions.request_documents(application, actor=actor, **form.cleaned_data)
            except ValidationError as exc:
                apply_form_errors(form, exc)
            else:
                messages.success(request, _("The applicant was asked for the documents."))
                return redirect("staff:application", reference=application.reference)
    record_view("applications.viewed_by_officer", actor=actor, obj=application, office=application.office)
    return render(
        request,
        "applications/staff_detail.html",
        {
            "application": application,
            "reference": references.display(application.reference),
            "masked_nik": mask_nik(application.applicant_nik),
            "documents": selectors.current_documents(application),
            "versions": application.versions.all(),
            "timeline": application.steps.all(),
            "form": form,
        },
    )


@staff_required
def document(request: HttpRequest, reference: str, document_id: int) -> HttpResponseBase:
    actor: User = request.user  # type: ignore[assignment]
    application = selectors.application_for_officer(actor, reference)
    return serve_document(request, selectors.document_of(application, document_id))
