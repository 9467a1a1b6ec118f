"""Casework pages: the officer's worklist, the case page (the file, the step's form, messages), the office's
cases and booklet stock, and the officer's declared relatives. Actions check everything again."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from gerbang.access.permissions import Perm, may, office_or_404
from gerbang.accounts.decorators import applicant_required, staff_required
from gerbang.accounts.models import User
from gerbang.accounts.views import apply_form_errors
from gerbang.applications import references, selectors
from gerbang.applications.models import PassportApplication
from gerbang.applications.uploads import UploadRefused, check_upload
from gerbang.applications.workflow import allowed_actions
from gerbang.audit.actions import record_view
from gerbang.channel import actions as channel
from gerbang.identity.models import mask_nik
from gerbang.visits.actions import Photo

from . import actions, flow, rules
from . import forms as f
from .models import Assignment, Booklet, ConflictDeclaration, Passport

# The form shown for each action the officer may take now ("do" value -> form class).
STEP_FORMS: dict[str, type[forms.Form]] = {
    "review_documents": f.ReviewDocumentsForm,
    "take_biometrics": f.BiometricsForm,
    "interview": f.InterviewForm,
    "decide": f.DecisionForm,
    "review_refusal": f.ReviewForm,
    "decide_appeal": f.AppealDecisionForm,
    "print": forms.Form,
    "spoil": f.SpoilForm,
    "hand_over": f.HandOverForm,
    "post": f.PostForm,
}
# Workflow actions -> the form that performs them.
FORM_FOR_ACTION = {
    "verify_documents": "review_documents",
    "verify_again": "review_documents",
    "request_documents": "review_documents",
    "take_biometrics": "take_biometrics",
    "interview": "interview",
    "approve": "decide",
    "propose_refusal": "decide",
    "ask_more": "decide",
    "confirm_refusal": "review_refusal",
    "overturn_refusal": "review_refusal",
    "dismiss_appeal": "decide_appeal",
    "grant_appeal": "decide_appeal",
    "print": "print",
    "spoil": "spoil",
    "hand_over": "hand_over",
    "post": "post",
}


@staff_required
def worklist(request: HttpRequest) -> HttpResponse:
    actor: User = request.user  # type: ignore[assignment]
    held = (
        Assignment.objects.filter(officer=actor, ended_at__isnull=True, application__isnull=False)
        .select_related("application", "application__office", "office")
        .order_by("assigned_at")
    )
    visa_held = (
        Assignment.objects.filter(
            officer=actor, ended_at__isnull=True, application__isnull=True, visa_application__isnull=False
        )
        .select_related("visa_application", "visa_application__office", "visa_application__kind", "office")
        .order_by("assigned_at")
    )
    return render(request, "casework/worklist.html", {"assignments": held, "visa_assignments": visa_held})


def _photo(upload: Any) -> Photo:
    checked = check_upload(upload)
    if checked.width is None:
        raise ValidationError({"photo": _("Upload the photo (JPEG or PNG), not a PDF.")})
    return Photo(checked.content, checked.extension)


def _perform(do: str, form: Any, application: PassportApplication, actor: User, request: HttpRequest) -> None:
    data = form.cleaned_data
    if do == "review_documents":
        actions.review_documents(application, actor=actor, verdicts=form.verdicts(), note=data["note"])
    elif do == "take_biometrics":
        try:
            photo = _photo(data["photo"])
        except UploadRefused as exc:
            raise ValidationError({"photo": str(exc)}) from exc
        template = data["fingerprint_template"].read(1_000_001)
        if len(template) > 1_000_000:
            raise ValidationError({"fingerprint_template": _("The fingerprint file is larger than 1 MB.")})
        actions.take_biometrics(
            application,
            actor=actor,
            photo=photo,
            capture_station=data["capture_station"],
            fingerprint_device=data["fingerprint_device"],
            fingers=data["fingers"],
            fingerprint_template=template,
        )
    elif do == "interview":
        actions.record_interview(application, actor=actor, **data)
    elif do == "decide":
        actions.decide(
            application,
            actor=actor,
            outcome=data["outcome"],
            note=data["note"],
            reason=data["reason"],
            documents=data["documents"],
        )
    elif do == "review_refusal":
        actions.review_refusal(application, actor=actor, confirm=data["confirm"], note=data["note"])
    elif do == "decide_appeal":
        actions.decide_appeal(application, actor=actor, grant=data["grant"], note=data["note"])
    elif do == "print":
        actions.print_passport(application, actor=actor)
    elif do == "spoil":
        actions.spoil_booklet(application, actor=actor, reason=data["reason"])
    elif do == "hand_over":
        actions.hand_over(application, actor=actor, id_card_nik=data["id_card_nik"], face_matches=data["face_matches"])
    elif do == "post":
        actions.post_passport(application, actor=actor, tracking=data["tracking"])


def _form(do: str, data: Any, files: Any, application: PassportApplication) -> forms.Form:
    cls = STEP_FORMS[do]
    prefix = do
    if cls is f.ReviewDocumentsForm:
        documents = list(application.documents.filter(superseded_at__isnull=True).order_by("kind"))
        return f.ReviewDocumentsForm(data, files, documents=documents, prefix=prefix)
    return cls(data, files, prefix=prefix)


@staff_required
@require_http_methods(["GET", "POST"])
def case(request: HttpRequest, reference: str) -> HttpResponse:
    actor: User = request.user  # type: ignore[assignment]
    application = selectors.application_for_officer(actor, reference)
    allowed = allowed_actions(application, actor)
    available = list(dict.fromkeys(FORM_FOR_ACTION[a] for a in allowed if a in FORM_FOR_ACTION))
    bound: dict[str, forms.Form] = {}
    message_form = f.MessageForm(prefix="message")
    may_write = channel.officer_may_write(application, actor)
    if request.method == "POST":
        do = request.POST.get("do", "")
        if do == "message":
            if not may_write:
                raise Http404
            message_form = f.MessageForm(request.POST, prefix="message")
            if message_form.is_valid():
                try:
                    channel.send_from_office(application, actor=actor, body=message_form.cleaned_data["body"])
                except ValidationError as exc:
                    apply_form_errors(message_form, exc)
                else:
                    messages.success(request, _("Your message was sent through Gerbang."))
                    return redirect("staff:case", reference=application.reference)
        elif do in available:
            form = _form(do, request.POST, request.FILES, application)
            bound[do] = form
            if form.is_valid():
                try:
                    _perform(do, form, application, actor, request)
                except ValidationError as exc:
                    apply_form_errors(form, exc)
                else:
                    messages.success(request, _("Done: the case moved on and the applicant was told."))
                    if application.pk and selectors.may_open_case(actor, application):
                        return redirect("staff:case", reference=application.reference)
                    return redirect("staff:worklist")
        else:
            raise Http404
    step_forms = [(do, bound.get(do) or _form(do, None, None, application)) for do in available]
    record_view("casework.case_viewed", actor=actor, obj=application, office=application.office)
    reassign_forms = []
    if may(actor, Perm.REASSIGN_CASES, application.office):
        for assignment in application.assignments.filter(ended_at__isnull=True).select_related("officer"):
            pool = rules.candidates(application, assignment.duty)
            names = dict(User.objects.filter(pk__in=[c.officer_id for c in pool]).values_list("pk", "full_name"))
            choices = [
                (c.officer_id, names.get(c.officer_id, "?")) for c in pool if c.officer_id != assignment.officer_id
            ]
            reassign_forms.append(
                (
                    assignment,
                    f.ReassignForm(initial={"assignment": assignment.pk}, officers=choices, prefix=f"r{assignment.pk}"),
                )
            )
    return render(
        request,
        "casework/case.html",
        {
            "application": application,
            "reference": references.display(application.reference),
            "masked_nik": mask_nik(application.applicant_nik),
            "documents": selectors.current_documents(application),
            "timeline": application.steps.select_related("actor").all(),
            "assignments": application.assignments.select_related("officer", "office").order_by("assigned_at"),
            "decisions": application.decisions.select_related("office").all(),
            "passport": Passport.objects.filter(application=application, void=False).first(),
            "step_forms": step_forms,
            "conversation": application.messages.order_by("sent_at"),
            "message_form": message_form if may_write else None,
            "reassign_forms": reassign_forms,
        },
    )


@staff_required
@require_http_methods(["POST"])
def reassign(request: HttpRequest, reference: str) -> HttpResponse:
    actor: User = request.user  # type: ignore[assignment]
    application = selectors.application_for_officer(actor, reference)
    if not may(actor, Perm.REASSIGN_CASES, application.office):
        raise Http404
    try:
        assignment_id = int(request.POST.get("assignment", ""))
    except ValueError:
        raise Http404 from None
    if not 0 < assignment_id < 2**62:
        raise Http404
    assignment = Assignment.objects.filter(pk=assignment_id, application=application).first()
    if assignment is None:
        raise Http404
    prefix = f"r{assignment.pk}"
    reason = request.POST.get(f"{prefix}-reason", "")
    raw = request.POST.get(f"{prefix}-officer", "")
    to = None
    if raw:
        to = User.objects.filter(
            pk=int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 12 else 0, kind="staff"
        ).first()
        if to is None:
            messages.error(request, _("Choose an officer from the list."))
            return redirect("staff:case", reference=application.reference)
    try:
        actions.reassign(assignment, actor=actor, reason=reason, to=to)
    except ValidationError as exc:
        for text in exc.messages:
            messages.error(request, text)
    else:
        messages.success(request, _("The step was given to another officer; the reason is on record."))
    return redirect("staff:case", reference=application.reference)


@staff_required
@require_http_methods(["GET", "POST"])
def office_cases(request: HttpRequest, code: str) -> HttpResponse:
    actor: User = request.user  # type: ignore[assignment]
    office = office_or_404(actor, Perm.REASSIGN_CASES, code)
    booklet_form = f.BookletsForm(request.POST or None) if may(actor, Perm.MANAGE_BOOKLETS, office) else None
    if request.method == "POST":
        if booklet_form is None:
            raise Http404
        if booklet_form.is_valid():
            try:
                received = actions.receive_booklets(
                    office=office, booklets=booklet_form.cleaned_data["booklets"], actor=actor
                )
            except ValidationError as exc:
                apply_form_errors(booklet_form, exc)
            else:
                messages.success(request, _("%(n)d booklets added to the stock.") % {"n": len(received)})
                return redirect("staff:office_cases", code=office.code)
    open_cases = PassportApplication.objects.filter(
        office=office, status__in=[*rules.NEXT_DUTY, "biometrics_taken", "printed"]
    )
    waiting = flow.waiting_cases().filter(office=office).order_by("updated_at")[:200]
    loads = (
        Assignment.objects.filter(application__office=office, ended_at__isnull=True)
        .values("officer__full_name", "duty")
        .annotate(n=Count("pk"))
        .order_by("officer__full_name", "duty")
    )
    stock = dict(Booklet.objects.filter(office=office).values_list("status").annotate(n=Count("pk")))
    return render(
        request,
        "casework/office_cases.html",
        {
            "office": office,
            "by_status": open_cases.values("status").annotate(n=Count("pk")).order_by("status"),
            "waiting": waiting,
            "loads": loads,
            "stock": stock,
            "spoiled": Booklet.objects.filter(office=office, status=Booklet.Status.SPOILED).order_by("-used_at")[:50],
            "booklet_form": booklet_form,
        },
    )


@staff_required
@require_http_methods(["GET", "POST"])
def conflicts(request: HttpRequest) -> HttpResponse:
    actor: User = request.user  # type: ignore[assignment]
    form = f.ConflictForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.declare_conflict(
                actor=actor, nik=form.cleaned_data["nik"], relationship=form.cleaned_data["relationship"]
            )
        except ValidationError as exc:
            apply_form_errors(form, exc)
        else:
            messages.success(request, _("Declared. You will never be drawn for this person's applications."))
            return redirect("staff:conflicts")
    declared = ConflictDeclaration.objects.filter(officer=actor, withdrawn_at__isnull=True).order_by("declared_at")
    return render(
        request,
        "casework/conflicts.html",
        {"form": form, "declared": [(mask_nik(d.nik), d) for d in declared]},
    )


@applicant_required
@require_http_methods(["POST"])
def appeal(request: HttpRequest, public_id: str) -> HttpResponse:
    """The applicant appeals a final refusal, once, from the status page."""
    user: User = request.user  # type: ignore[assignment]
    application = selectors.application_for_filer(user, public_id)
    try:
        actions.appeal(application, actor=user, grounds=request.POST.get("grounds", "")[:4000])
    except ValidationError as exc:
        for text in exc.messages:
            messages.error(request, text)
    else:
        messages.success(request, _("Your appeal was sent to the regional division."))
    return redirect("applications:detail", public_id=application.public_id)
