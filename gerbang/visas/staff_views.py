"""Staff pages of visa casework, the deny list, the catalogue and stays.

Thin: each page asks ``gerbang.access.permissions`` first (404 for anyone else, as for a record that does not
exist), parses a form, calls an action and renders. Every look at a foreigner's personal data is audited.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from gerbang.access.permissions import Perm, holds_role_over, may, may_anywhere, offices_for
from gerbang.accounts.decorators import staff_required
from gerbang.accounts.models import Role, User
from gerbang.accounts.views import apply_form_errors
from gerbang.applications import references
from gerbang.applications.models import document_storage
from gerbang.audit.actions import record_view
from gerbang.audit.models import AuditEvent
from gerbang.casework.forms import MessageForm
from gerbang.casework.models import Assignment
from gerbang.channel import actions as channel
from gerbang.tariffs.selectors import tariff_in_force

from . import actions, rules, workflow
from . import staff_forms as f
from .actions import REFERENCE_PREFIX
from .catalogue import DOCUMENTS, correct_kind
from .models import (
    BorderMovement,
    DenyListEntry,
    OverstayFine,
    Permit,
    RefusalReason,
    Sponsor,
    VisaApplication,
    VisaDocument,
    VisaKind,
)

# --- Who opens a visa case ---------------------------------------------------------------------------------

# Who sees every visa case of an office they supervise; everyone else sees only the cases drawn for them.
SUPERVISING = frozenset({Role.OFFICE_HEAD, Role.REGIONAL_SUPERVISOR, Role.DIRECTORATE_AUDITOR})


def may_open_case(user: Any, application: VisaApplication) -> bool:
    """An officer opens only the visa cases Gerbang assigned to them (now or before, not reassigned away);
    supervisors open their offices' cases."""
    if holds_role_over(user, SUPERVISING, application.office):
        return True
    held = (
        Assignment.objects.filter(visa_application=application, officer=user)
        .exclude(ended_because=Assignment.Ended.REASSIGNED)
        .select_related("office")
    )
    return any(may(user, Perm.VIEW_APPLICANT_DATA, a.office) for a in held)


def application_for_officer(user: Any, reference: str) -> VisaApplication:
    """A submitted visa application the officer may open, or 404 (the same answer as for none)."""
    if not references.is_valid(reference, REFERENCE_PREFIX):
        raise Http404
    application = (
        VisaApplication.objects.filter(reference=references.compact(reference))
        .select_related("office", "office__division", "kind", "foreigner", "sponsor", "permit", "entry")
        .first()
    )
    if application is None or not may_open_case(user, application):
        raise Http404
    return application


def mask_nik(nik: str) -> str:
    """A citizen sponsor's NIK as staff see it: the last 4 digits only."""
    return "*" * max(len(nik) - 4, 0) + nik[-4:]


# --- The visa case page ------------------------------------------------------------------------------------

# Plain-language findings of the automatic checks (rules.automatic_checks).
CHECK_TEXT: dict[str, Any] = {
    "passport_validity": gettext_lazy(
        "The passport is not valid long enough after the arrival for this kind (the catalogue's minimum months)."
    ),
    "deny_list": gettext_lazy(
        "The passport, or the nationality, surname and date of birth, match an active deny-list entry."
    ),
    "nationality": gettext_lazy("The nationality is not among those this kind is open to."),
    "sponsor": gettext_lazy("This kind is filed by a sponsor, and the application has none."),
    "documents": gettext_lazy("A document the catalogue requires for this kind is missing."),
}

# The form shown for each action the officer may take now ("do" value -> form class), and the actions of each.
STEP_FORMS: dict[str, type[forms.Form]] = {
    "verify": f.VerifyForm,
    "decide": f.DecisionForm,
    "review": f.ReviewForm,
    "appeal": f.AppealForm,
}
FORM_FOR_ACTION = {
    "verify_documents": "verify",
    "request_documents": "verify",
    "approve": "decide",
    "propose_refusal": "decide",
    "ask_more": "decide",
    "confirm_refusal": "review",
    "overturn_refusal": "review",
    "dismiss_appeal": "appeal",
    "grant_appeal": "appeal",
}
STEP_TITLES: dict[str, Any] = {
    "verify": gettext_lazy("Verify the documents"),
    "decide": gettext_lazy("Decision"),
    "review": gettext_lazy("Second review of the proposed refusal"),
    "appeal": gettext_lazy("Decide the appeal"),
}


def _perform(do: str, data: dict[str, Any], application: VisaApplication, actor: User) -> None:
    if do == "verify":
        actions.verify(
            application, actor=actor, accept=data["decision"], note=data["note"], documents=data["documents"]
        )
    elif do == "decide":
        actions.decide(
            application,
            actor=actor,
            outcome=data["outcome"],
            note=data["note"],
            reason=data["reason"],
            documents=data["documents"],
        )
    elif do == "review":
        actions.review_refusal(application, actor=actor, confirm=data["confirm"], note=data["note"])
    elif do == "appeal":
        actions.decide_appeal(application, actor=actor, grant=data["grant"], note=data["note"])
    else:  # pragma: no cover - STEP_FORMS names every form
        raise Http404


def _stay(application: VisaApplication) -> dict[str, Any]:
    """The foreigner's stay now, from border control's reports."""
    entry = rules.open_entry(application.foreigner)
    if entry is None:
        return {"in_country": False}
    allowed = rules.stay_allowed_until(entry)
    return {
        "in_country": True,
        "entry": entry,
        "allowed_until": allowed,
        "days_over": rules.overstay_days(entry, timezone.localdate()),
    }


def _sponsor(application: VisaApplication) -> dict[str, str] | None:
    sponsor = application.sponsor
    if sponsor is None:
        return None
    if sponsor.kind == Sponsor.Kind.COMPANY:
        return {"kind": sponsor.get_kind_display(), "name": sponsor.name, "nib": sponsor.nib}
    return {"kind": sponsor.get_kind_display(), "name": sponsor.name, "nik": mask_nik(sponsor.nik)}


def _checks(application: VisaApplication) -> dict[str, Any] | None:
    checks = application.checks or {}
    if not checks:
        return None
    at = checks.get("at")
    try:
        when = dt.datetime.fromisoformat(at) if isinstance(at, str) else None
    except ValueError:
        when = None
    failed = [str(CHECK_TEXT.get(code, code)) for code in checks.get("failed") or []]
    return {"clear": bool(checks.get("clear")), "failed": failed, "at": when}


@staff_required
@require_http_methods(["GET", "POST"])
def case(request: HttpRequest, reference: str) -> HttpResponse:
    actor: User = request.user  # type: ignore[assignment]
    application = application_for_officer(actor, reference)
    allowed = workflow.allowed_actions(application, actor)
    available = list(dict.fromkeys(FORM_FOR_ACTION[a] for a in allowed if a in FORM_FOR_ACTION))
    bound: dict[str, forms.Form] = {}
    # The official channel: officers who hold (or held) a step of the case, and the office head, write to the filer.
    may_write = channel.officer_may_write(application, actor)
    message_form = MessageForm(prefix="message")
    status = 200
    if request.method == "POST":
        do = request.POST.get("do", "")
        if do == "message":
            if not may_write:
                raise Http404
            message_form = MessageForm(request.POST, prefix="message")
            if message_form.is_valid():
                try:
                    channel.send_from_office(application, actor=actor, body=message_form.cleaned_data["body"])
                except ValidationError as exc:
                    # Refused by screening (kept and audited): the explanation goes under the field.
                    apply_form_errors(message_form, exc)
                else:
                    messages.success(request, _("Your message was sent through Gerbang."))
                    return redirect("staff:visa_case", reference=application.reference)
        elif do in available:
            form = STEP_FORMS[do](request.POST, prefix=do)
            bound[do] = form
            if form.is_valid():
                try:
                    _perform(do, form.cleaned_data, application, actor)
                except ValidationError as exc:
                    apply_form_errors(form, exc)
                else:
                    messages.success(request, _("Done: the case moved on and the filer was told."))
                    if may_open_case(actor, application):
                        return redirect("staff:visa_case", reference=application.reference)
                    return redirect("staff:worklist")
        else:
            raise Http404
        status = 400
    step_forms = [(do, STEP_TITLES[do], bound.get(do) or STEP_FORMS[do](prefix=do)) for do in available]
    record_view("visas.case_viewed", actor=actor, obj=application, office=application.office)
    foreigner = application.foreigner
    return render(
        request,
        "visas/staff/case.html",
        {
            "application": application,
            "reference": references.display(application.reference),
            "foreigner": foreigner,
            "sponsor": _sponsor(application),
            "checks": _checks(application),
            "requested": [str(DOCUMENTS.get(k, k)) for k in application.requested_documents or []],
            "documents": [
                (str(DOCUMENTS.get(d.kind, d.kind)), d)
                for d in application.documents.filter(superseded_at__isnull=True).order_by("kind")
            ],
            "movements": BorderMovement.objects.filter(foreigner=foreigner)
            .select_related("permit")
            .order_by("-at", "-pk")[:50],
            "stay": _stay(application),
            "permits": Permit.objects.filter(foreigner=foreigner).select_related("kind").order_by("-issued_at")[:20],
            "timeline": application.steps.select_related("actor").all(),
            "decisions": application.decisions.select_related("office", "officer").all(),
            "assignments": application.assignments.select_related("officer", "office").order_by("assigned_at"),
            "refusal_reason": dict(RefusalReason.choices).get(application.refusal_reason, application.refusal_reason),
            "step_forms": step_forms,
            "conversation": channel.conversation(application),
            "message_form": message_form if may_write else None,
        },
        status=status,
    )


@staff_required
def document(request: HttpRequest, reference: str, document_id: int) -> HttpResponseBase:
    actor: User = request.user  # type: ignore[assignment]
    application = application_for_officer(actor, reference)
    if not 0 < document_id < 2**62:
        raise Http404
    found = VisaDocument.objects.filter(application=application, pk=document_id).first()
    if found is None:
        raise Http404
    record_view(
        "visas.document_viewed",
        actor=actor,
        obj=application,
        office=application.office,
        details={"document": found.pk, "kind": found.kind},
    )
    handle = document_storage().open(found.stored_name, "rb")
    response = FileResponse(handle, content_type=found.content_type)
    extension = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}.get(found.content_type, "bin")
    response["Content-Disposition"] = f'inline; filename="{found.kind}.{extension}"'
    response["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- Deny list -----------------------------------------------------------------------------------------------

DENY_LIST_ROWS = 500


@staff_required
@require_http_methods(["GET", "POST"])
def deny_list(request: HttpRequest) -> HttpResponse:
    actor: User = request.user  # type: ignore[assignment]
    if not may_anywhere(actor, Perm.MANAGE_DENY_LIST):
        raise Http404
    add_form = f.DenyListAddForm(prefix="add")
    failed_removal: tuple[int, forms.Form] | None = None
    status = 200
    if request.method == "POST":
        do = request.POST.get("do", "")
        if do == "add":
            add_form = f.DenyListAddForm(request.POST, prefix="add")
            if add_form.is_valid():
                data = add_form.cleaned_data
                try:
                    actions.add_to_deny_list(
                        actor=actor,
                        nationality=data["nationality"],
                        passport_number=data["passport_number"],
                        surname=data["surname"],
                        birth_date=data["birth_date"],
                        reason=data["reason"],
                    )
                except ValidationError as exc:
                    apply_form_errors(add_form, exc)
                else:
                    messages.success(request, _("Added to the deny list: checked before anything is issued."))
                    return redirect("staff:deny_list")
        elif do == "remove":
            raw = request.POST.get("entry", "")
            if not (raw.isascii() and raw.isdigit() and len(raw) < 12):
                raise Http404
            entry = DenyListEntry.objects.filter(pk=int(raw), removed_at__isnull=True).first()
            if entry is None:
                raise Http404
            remove_form = f.DenyListRemoveForm(request.POST, prefix=f"r{entry.pk}")
            if remove_form.is_valid():
                try:
                    actions.remove_from_deny_list(entry, actor=actor, reason=remove_form.cleaned_data["reason"])
                except ValidationError as exc:
                    apply_form_errors(remove_form, exc)
                else:
                    messages.success(request, _("Removed from the deny list; the reason is on record."))
                    return redirect("staff:deny_list")
            failed_removal = (entry.pk, remove_form)
        else:
            raise Http404
        status = 400
    query = "".join(ch for ch in request.GET.get("q", "") if ch.isprintable()).strip()[:100]
    active = DenyListEntry.objects.filter(removed_at__isnull=True).select_related("added_by")
    if query:
        active = active.filter(
            Q(passport_number__iexact="".join(query.upper().split()))
            | Q(surname__icontains=query)
            | Q(nationality__iexact=query)
        )
    total = active.count()
    rows = []
    for entry in active.order_by("-added_at", "-pk")[:DENY_LIST_ROWS]:
        if failed_removal is not None and failed_removal[0] == entry.pk:
            rows.append((entry, failed_removal[1]))
        else:
            rows.append((entry, f.DenyListRemoveForm(prefix=f"r{entry.pk}")))
    record_view("visas.deny_list_viewed", actor=actor, details={"query": query, "rows": len(rows)})
    return render(
        request,
        "visas/staff/deny_list.html",
        {"add_form": add_form, "rows": rows, "total": total, "query": query, "limit": DENY_LIST_ROWS},
        status=status,
    )


# --- Catalogue -----------------------------------------------------------------------------------------------


def _require_catalogue(actor: User) -> None:
    if not may_anywhere(actor, Perm.MANAGE_CATALOGUE):
        raise Http404


@staff_required
def catalogue(request: HttpRequest) -> HttpResponse:
    actor: User = request.user  # type: ignore[assignment]
    _require_catalogue(actor)
    today = timezone.localdate()
    kinds = [
        (kind, tariff_in_force(kind.service.code, today))
        for kind in VisaKind.objects.select_related("service").order_by("sort_order", "code")
    ]
    return render(request, "visas/staff/catalogue.html", {"kinds": kinds, "today": today})


@staff_required
@require_http_methods(["GET", "POST"])
def catalogue_edit(request: HttpRequest, code: str) -> HttpResponse:
    actor: User = request.user  # type: ignore[assignment]
    _require_catalogue(actor)
    kind = VisaKind.objects.select_related("service").filter(code=code).first()
    if kind is None:
        raise Http404
    form = f.CatalogueForm(request.POST or None, kind=kind)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            changes = form.changes()
            if not changes:
                form.add_error(None, _("Nothing was changed."))
            else:
                try:
                    correct_kind(kind, actor=actor, changes=changes, reason=form.cleaned_data["reason"])
                except ValidationError as exc:
                    apply_form_errors(form, exc)
                else:
                    messages.success(request, _("The catalogue was corrected; before and after are on record."))
                    return redirect("staff:visa_catalogue_edit", code=kind.code)
        status = 400
    history = (
        AuditEvent.objects.filter(action="visas.kind_corrected", object_type="visas.visakind", object_id=str(kind.pk))
        .select_related("actor")
        .order_by("-occurred_at", "-pk")[:100]
    )
    return render(
        request,
        "visas/staff/catalogue_edit.html",
        {
            "kind": kind,
            "form": form,
            "tariff": tariff_in_force(kind.service.code),
            "history": [(event, _history_rows(event)) for event in history],
        },
        status=status,
    )


def _history_rows(event: AuditEvent) -> list[tuple[str, Any, Any]]:
    changes = (event.details or {}).get("changes") or {}
    return [(name, change.get("before"), change.get("after")) for name, change in sorted(changes.items())]


# --- Stays ---------------------------------------------------------------------------------------------------

STAY_ROWS = 200


@dataclass(frozen=True)
class StayRow:
    entry: BorderMovement
    foreigner: Any
    allowed_until: dt.date | None
    days_over: int


def _scoped(offices: QuerySet[Any], *, foreigner_field: str, permit_field: str) -> Q:
    """Rows about foreigners with an application at ``offices``, or on a permit issued by one of them."""
    with_application = VisaApplication.objects.filter(office__in=offices).values("foreigner_id")
    return Q(**{f"{foreigner_field}__in": with_application}) | Q(
        **{f"{permit_field}__application__office__in": offices}
    )


@staff_required
def stays(request: HttpRequest) -> HttpResponse:
    actor: User = request.user  # type: ignore[assignment]
    offices = offices_for(actor, Perm.VIEW_STAYS)
    if not offices.exists():
        raise Http404
    latest = BorderMovement.objects.filter(foreigner=OuterRef("foreigner")).order_by("-at", "-pk").values("pk")[:1]
    open_entries = (
        BorderMovement.objects.filter(
            direction=BorderMovement.Direction.ENTRY, foreigner__isnull=False, pk=Subquery(latest)
        )
        .filter(_scoped(offices, foreigner_field="foreigner_id", permit_field="permit"))
        .select_related("foreigner", "permit", "permit__kind")
    )
    total = open_entries.count()
    today = timezone.localdate()
    rows: list[StayRow] = []
    # The longest stays first: those are the ones that may have run over.
    for entry in open_entries.order_by("at", "pk")[:STAY_ROWS]:
        allowed = rules.stay_allowed_until(entry)
        over = max(0, (today - allowed).days) if allowed is not None else 0
        rows.append(StayRow(entry=entry, foreigner=entry.foreigner, allowed_until=allowed, days_over=over))
    # Overstayers first (most days over first), then the stays ending soonest.
    rows.sort(key=lambda r: (-r.days_over, r.allowed_until or dt.date.max))
    fines = (
        OverstayFine.objects.filter(_scoped(offices, foreigner_field="foreigner_id", permit_field="permit"))
        .select_related("foreigner", "bill", "permit")
        .order_by("-computed_at", "-pk")[:50]
    )
    record_view("visas.stays_viewed", actor=actor, details={"rows": len(rows)})
    return render(
        request,
        "visas/staff/stays.html",
        {"rows": rows, "total": total, "limit": STAY_ROWS, "fines": fines, "today": today},
    )
