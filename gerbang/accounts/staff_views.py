"""The staff console: one's own grants, staff accounts, tokens and the grant approval queue."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from gerbang.access.permissions import Perm, active_grants, may, may_anywhere, offices_for
from gerbang.audit.actions import record_view

from . import actions
from .decorators import staff_required
from .forms import DecisionForm, GrantRequestForm, StaffCreateForm, SuspendForm, TokenRegisterForm
from .models import GrantStatus, RoleGrant, Scope, User
from .views import apply_form_errors


def _staff_in_scope(user: User):
    """Staff accounts a system administrator may manage: those whose home office is in scope."""
    offices = offices_for(user, Perm.MANAGE_ACCOUNTS)
    cond = Q(home_office__in=offices)
    if may(user, Perm.MANAGE_ACCOUNTS, None):
        cond |= Q(home_office__isnull=True)
    return User.objects.filter(cond, kind=User.Kind.STAFF).select_related("home_office")


def _staff_or_404(actor: User, pk: int) -> User:
    user = _staff_in_scope(actor).filter(pk=pk).first()
    if user is None:
        raise Http404
    return user


@staff_required
def dashboard(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    context = {
        "grants": active_grants(user),
        "pending_for_me": RoleGrant.objects.filter(user=user, status=GrantStatus.PENDING).count(),
        "can_manage_accounts": may_anywhere(user, Perm.MANAGE_ACCOUNTS),
        "can_approve": may_anywhere(user, Perm.APPROVE_GRANT),
        "staff_offices": offices_for(user, Perm.VIEW_STAFF)[:50],
        "counter_offices": offices_for(user, Perm.MANAGE_COUNTERS)[:50],
        "slot_offices": offices_for(user, Perm.MANAGE_SLOTS)[:50],
        "queue_offices": (offices_for(user, Perm.CHECK_IN) | offices_for(user, Perm.SERVE_QUEUE)).distinct()[:50],
        "edit_offices": offices_for(user, Perm.EDIT_OFFICE)[:100],
        "can_manage_tariffs": may(user, Perm.MANAGE_TARIFFS),
        "can_view_applications": may_anywhere(user, Perm.VIEW_APPLICANT_DATA),
        "can_verify_identity": may_anywhere(user, Perm.VERIFY_IDENTITY),
        "can_resolve_payments": may_anywhere(user, Perm.RESOLVE_PAYMENT_EXCEPTIONS),
        "can_view_reconciliation": may_anywhere(user, Perm.VIEW_RECONCILIATION),
        # Casework: the officer's own cases (drawn for them), the roster and lockers, the office's cases.
        "does_casework": any(
            may_anywhere(user, p)
            for p in (Perm.VERIFY_DOCUMENTS, Perm.INTERVIEW, Perm.ADJUDICATE, Perm.DECIDE_APPEAL, Perm.ISSUE_PASSPORT)
        ),
        "serves_at_counter": may_anywhere(user, Perm.SERVE_QUEUE),
        "duty_offices": (offices_for(user, Perm.MANAGE_ROSTER) | offices_for(user, Perm.VIEW_DUTY)).distinct()[:50],
        "locker_offices": offices_for(user, Perm.ATTEND_LOCKERS)[:50],
        "spot_check_offices": offices_for(user, Perm.RECORD_SPOT_CHECK)[:50],
        "case_offices": offices_for(user, Perm.REASSIGN_CASES)[:50],
        # Foreigners (gerbang.visas): the deny list, the catalogue, stays and overstays.
        "can_manage_deny_list": may_anywhere(user, Perm.MANAGE_DENY_LIST),
        "can_manage_catalogue": may_anywhere(user, Perm.MANAGE_CATALOGUE),
        "can_view_stays": may_anywhere(user, Perm.VIEW_STAYS),
        # Supervision (gerbang.supervision): the dashboards and integrity signals; anonymous reports.
        "supervise": may_anywhere(user, Perm.SUPERVISE),
        "handles_reports": may_anywhere(user, Perm.HANDLE_REPORTS),
    }
    return render(request, "staff/dashboard.html", context)


@staff_required
@require_http_methods(["GET", "POST"])
def account_list(request: HttpRequest) -> HttpResponse:
    actor: User = request.user  # type: ignore[assignment]
    if not may_anywhere(actor, Perm.MANAGE_ACCOUNTS):
        raise Http404
    offices = offices_for(actor, Perm.MANAGE_ACCOUNTS)
    form = StaffCreateForm(request.POST or None, offices=offices)
    if request.method == "POST" and form.is_valid():
        try:
            created = actions.create_staff(
                actor=actor,
                email=form.cleaned_data["email"],
                full_name=form.cleaned_data["full_name"],
                home_office=form.cleaned_data["home_office"],
                employee_number=form.cleaned_data["employee_number"] or "",
                password=form.cleaned_data["password"],
            )
        except ValidationError as exc:
            if not hasattr(exc, "error_dict"):
                exc = ValidationError({"password": exc.messages})
            apply_form_errors(form, exc)
        except Http404:
            form.add_error("home_office", _("You do not manage accounts for this office."))
        else:
            messages.success(request, _("Staff account created. It has no role until a grant is approved."))
            return redirect("staff:account_detail", pk=created.pk)
    accounts = list(_staff_in_scope(actor).order_by("full_name")[:200])
    record_view("accounts.account_list_viewed", actor=actor, details={"shown": [a.pk for a in accounts]})
    return render(request, "staff/account_list.html", {"form": form, "accounts": accounts})


@staff_required
@require_http_methods(["GET", "POST"])
def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor: User = request.user  # type: ignore[assignment]
    if not may_anywhere(actor, Perm.MANAGE_ACCOUNTS):
        raise Http404
    person = _staff_or_404(actor, pk)
    token_form = TokenRegisterForm(prefix="token")
    grant_form = GrantRequestForm(prefix="grant")
    suspend_form = SuspendForm(prefix="suspend")
    if request.method == "POST":
        form_name = request.POST.get("form")
        try:
            if form_name == "token":
                token_form = TokenRegisterForm(request.POST, prefix="token")
                if token_form.is_valid():
                    actions.register_hardware_token(person, actor=actor, **token_form.cleaned_data)
                    messages.success(request, _("Hardware token registered."))
                    return redirect("staff:account_detail", pk=person.pk)
            elif form_name == "grant":
                grant_form = GrantRequestForm(request.POST, prefix="grant")
                if grant_form.is_valid():
                    actions.request_grant(person, actor=actor, **grant_form.cleaned_data)
                    messages.success(request, _("Grant requested. A second administrator must approve it."))
                    return redirect("staff:account_detail", pk=person.pk)
            elif form_name == "suspend":
                suspend_form = SuspendForm(request.POST, prefix="suspend")
                if suspend_form.is_valid():
                    actions.set_account_active(
                        person, active=not person.is_active, actor=actor, reason=suspend_form.cleaned_data["reason"]
                    )
                    messages.success(request, _("Account status changed."))
                    return redirect("staff:account_detail", pk=person.pk)
        except ValidationError as exc:
            target = {"token": token_form, "grant": grant_form, "suspend": suspend_form}.get(form_name or "")
            if target is not None:
                apply_form_errors(target, exc)
        except Http404:
            target = grant_form if form_name == "grant" else token_form
            target.add_error(None, _("You may not do this for this office."))
    context = {
        "person": person,
        "grants": RoleGrant.objects.filter(user=person).select_related("office", "division").order_by("-requested_at"),
        "tokens": person.totpdevice_set.select_related("hardware_token").all(),  # type: ignore[attr-defined]
        "token_form": token_form,
        "grant_form": grant_form,
        "suspend_form": suspend_form,
    }
    record_view("accounts.account_viewed", actor=actor, obj=person, office=person.home_office)
    return render(request, "staff/account_detail.html", context)


def _decidable_grants(actor: User):
    offices = offices_for(actor, Perm.APPROVE_GRANT)
    grants = RoleGrant.objects.filter(status=GrantStatus.PENDING).exclude(requested_by=actor).exclude(user=actor)
    cond = Q(scope=Scope.OFFICE, office__in=offices)
    for grant in active_grants(actor):
        if grant.role != "system_admin":
            continue
        if grant.scope == Scope.DIRECTORATE:
            return grants.select_related("user", "office", "division", "requested_by")
        if grant.scope == Scope.DIVISION:
            cond |= Q(scope=Scope.DIVISION, division_id=grant.division_id)
    return grants.filter(cond).select_related("user", "office", "division", "requested_by")


@staff_required
def grant_queue(request: HttpRequest) -> HttpResponse:
    actor: User = request.user  # type: ignore[assignment]
    if not may_anywhere(actor, Perm.APPROVE_GRANT):
        raise Http404
    return render(request, "staff/grant_queue.html", {"grants": _decidable_grants(actor), "form": DecisionForm()})


@staff_required
@require_POST
def grant_decide(request: HttpRequest, pk: int) -> HttpResponse:
    actor: User = request.user  # type: ignore[assignment]
    grant = _decidable_grants(actor).filter(pk=pk).first() if may_anywhere(actor, Perm.APPROVE_GRANT) else None
    if grant is None:
        raise Http404
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose approve or reject."))
        return redirect("staff:grant_queue")
    try:
        actions.decide_grant(
            grant, approve=form.cleaned_data["decision"] == "approve", actor=actor, reason=form.cleaned_data["reason"]
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Decision recorded."))
    return redirect("staff:grant_queue")
