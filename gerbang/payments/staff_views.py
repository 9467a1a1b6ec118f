"""Finance screens: the exception queue (refund, or acceptance by two officers) and the reconciled statements."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from gerbang.access.permissions import Perm, may, may_anywhere, offices_for
from gerbang.accounts.decorators import staff_required
from gerbang.accounts.models import User
from gerbang.accounts.views import apply_form_errors
from gerbang.audit.actions import record_view
from gerbang.audit.models import AuditEvent

from . import actions
from .models import PaymentException, Statement, StatementEntry


def _visible_exceptions(user: User) -> QuerySet[PaymentException]:
    """Exceptions of the offices the officer covers; those without an office only for the directorate's."""
    offices = offices_for(user, Perm.RESOLVE_PAYMENT_EXCEPTIONS)
    scope = Q(payment__bill__application__office__in=offices)
    if may(user, Perm.RESOLVE_PAYMENT_EXCEPTIONS, None):
        scope |= Q(payment__bill__application__isnull=True)
    return PaymentException.objects.filter(scope).select_related(
        "payment__bank", "payment__bill__application__office", "proposed_by", "resolved_by"
    )


@staff_required
def exceptions(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    if not may_anywhere(user, Perm.RESOLVE_PAYMENT_EXCEPTIONS):
        raise Http404
    status = request.GET.get("status", "waiting")
    found = _visible_exceptions(user)
    if status == "waiting":
        found = found.filter(status__in=[PaymentException.Status.OPEN, PaymentException.Status.ACCEPTANCE_PROPOSED])
    elif status in PaymentException.Status.values:
        found = found.filter(status=status)
    page = Paginator(found.order_by("opened_at"), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "payments/staff/exceptions.html",
        {"page": page, "status": status, "statuses": PaymentException.Status.choices},
    )


class ResolveForm(forms.Form):
    decision = forms.ChoiceField(
        label=gettext_lazy("Decision"),
        choices=[
            ("refund", gettext_lazy("Instruct a refund to the payer through the bank")),
            ("propose", gettext_lazy("Propose to accept the money for its bill (a second officer decides)")),
            ("approve", gettext_lazy("Approve the proposed acceptance: credit the bill")),
            ("reject", gettext_lazy("Reject the proposed acceptance: back to open")),
        ],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=gettext_lazy("What you checked and why"), max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )


def _decisions(item: PaymentException, user: User) -> list[str]:
    """The decisions this officer may take on the item now."""
    if item.status == PaymentException.Status.OPEN:
        return ["refund"] + ([] if actions.acceptance_refusal(item) else ["propose"])
    if item.status == PaymentException.Status.ACCEPTANCE_PROPOSED:
        return ["refund"] + ([] if item.proposed_by_id == user.pk else ["approve", "reject"])
    return []


@staff_required
@require_http_methods(["GET", "POST"])
def exception_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    if not may_anywhere(user, Perm.RESOLVE_PAYMENT_EXCEPTIONS):
        raise Http404
    item = _visible_exceptions(user).filter(pk=pk).first()
    if item is None:
        raise Http404
    allowed = _decisions(item, user)
    form = ResolveForm(request.POST or None)
    form.fields["decision"].choices = [  # type: ignore[attr-defined]
        choice
        for choice in form.fields["decision"].choices  # type: ignore[attr-defined]
        if choice[0] in allowed
    ]
    if request.method == "POST" and form.is_valid():
        decision, note = form.cleaned_data["decision"], form.cleaned_data["note"]
        try:
            if decision == "refund":
                actions.instruct_refund(item, actor=user, note=note)
            elif decision == "propose":
                actions.propose_acceptance(item, actor=user, note=note)
            else:
                actions.decide_acceptance(item, actor=user, approve=decision == "approve", note=note)
        except ValidationError as exc:
            apply_form_errors(form, exc)
        else:
            messages.success(request, _("Your decision was recorded."))
            return redirect("staff:payment_exception", pk=item.pk)
    if request.method == "GET":
        record_view("payments.exception_viewed", actor=user, obj=item)
    history = AuditEvent.objects.filter(object_type=item._meta.label_lower, object_id=str(item.pk)).select_related(
        "actor"
    )
    entry = StatementEntry.objects.filter(payment=item.payment).select_related("statement").first()
    return render(
        request,
        "payments/staff/exception_detail.html",
        {
            "item": item,
            "payment": item.payment,
            "bill": item.payment.bill,
            "entry": entry,
            "form": form if allowed else None,
            "acceptance_refusal": actions.acceptance_refusal(item),
            "history": history.order_by("id"),
        },
    )


def _may_view_statements(user: User) -> None:
    if not may_anywhere(user, Perm.VIEW_RECONCILIATION):
        raise Http404


@staff_required
def statements(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    _may_view_statements(user)
    page = Paginator(Statement.objects.select_related("bank").order_by("-day", "bank__code"), 50).get_page(
        request.GET.get("page")
    )
    return render(request, "payments/staff/statements.html", {"page": page})


@staff_required
def statement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    _may_view_statements(user)
    statement = Statement.objects.select_related("bank").filter(pk=pk).first()
    if statement is None:
        raise Http404
    problems = (
        statement.entries.exclude(result=StatementEntry.Result.MATCHED).select_related("payment").order_by("position")
    )
    return render(
        request,
        "payments/staff/statement_detail.html",
        {
            "statement": statement,
            "counts": statement.report.get("counts", {}),
            "absent": statement.report.get("absent", []),
            "problems": Paginator(problems, 100).get_page(request.GET.get("page")),
        },
    )
