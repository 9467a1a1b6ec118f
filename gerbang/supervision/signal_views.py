"""Staff pages of the integrity signals: the list of a supervisor's subtree, one signal with its explanation,
evidence and history, the workflow (acknowledge, investigate, dismiss with a reason), and each piece of evidence.

A signal about an office is seen by whoever holds Perm.SUPERVISE over that office (its head, its division's
supervisor, the directorate's auditors); a signal about no office (the audit log's health) by the directorate
only. Everything else answers 404.
"""

from __future__ import annotations

import csv
from typing import Any

from django.contrib import messages
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from gerbang.access.permissions import PERMISSIONS, Perm, active_grants, may, may_anywhere, offices_for
from gerbang.accounts.decorators import staff_required
from gerbang.accounts.models import Scope
from gerbang.audit.actions import record_view
from gerbang.audit.models import AuditEvent
from gerbang.channel.models import BlockedMessage
from gerbang.core.errors import FieldError
from gerbang.duty.models import SpotCheck
from gerbang.payments.models import Payment
from gerbang.visits.models import Visit

from .dashboard_views import csv_cell
from .explain import evidence, explain, history_label
from .models import Signal, SignalKind, SignalStatus
from .signals import work_signal

LISTED = 200


def visible_signals(user: Any) -> QuerySet[Signal]:
    """The signals of the user's subtree; what applicants said after a visit only from the level above the office."""
    if not may_anywhere(user, Perm.SUPERVISE):
        raise Http404
    offices = offices_for(user, Perm.SUPERVISE)
    if may(user, Perm.SUPERVISE, None):
        return Signal.objects.all()
    roles = PERMISSIONS[Perm.SUPERVISE]
    divisions = [g.division_id for g in active_grants(user) if g.role in roles and g.scope == Scope.DIVISION]
    return Signal.objects.filter(
        (Q(office__in=offices) & ~Q(kind=SignalKind.MONEY_ASKED))
        | Q(kind=SignalKind.MONEY_ASKED, office__division__in=divisions)
    )


@staff_required
def signal_list(request: HttpRequest) -> HttpResponse:
    signals = visible_signals(request.user).select_related("office", "officer", "counter")
    status = request.GET.get("status", "active")
    if status == "active":
        signals = signals.exclude(status=SignalStatus.DISMISSED)
    elif status in SignalStatus.values:
        signals = signals.filter(status=status)
    kind = request.GET.get("kind", "")
    if kind in SignalKind.values:
        signals = signals.filter(kind=kind)
    office = request.GET.get("office", "")
    if office:
        signals = signals.filter(office__code=office)
    rows = [(s, explain(s)) for s in signals[:LISTED]]
    if request.GET.get("format") == "csv":
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="signals.csv"'
        writer = csv.writer(response)
        writer.writerow(
            ["id", "kind", "office", "officer", "status", "strength", "first_found", "last_found", "explanation"]
        )
        for s, text in rows:
            writer.writerow(
                csv_cell(v)
                for v in [
                    s.pk,
                    s.kind,
                    s.office.code if s.office else "",
                    s.officer.full_name if s.officer else "",
                    s.status,
                    f"{s.score:.1f}",
                    s.first_seen_at.isoformat(),
                    s.last_seen_at.isoformat(),
                    text,
                ]
            )
        return response
    return render(
        request,
        "supervision/signal_list.html",
        {
            "rows": rows,
            "kinds": SignalKind.choices,
            "statuses": SignalStatus.choices,
            "status": status,
            "kind": kind,
            "office": office,
            "listed": LISTED,
        },
    )


@staff_required
@require_http_methods(["GET", "POST"])
def signal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    signal = get_object_or_404(visible_signals(request.user).select_related("office", "officer", "counter"), pk=pk)
    error: FieldError | None = None
    if request.method == "POST":
        try:
            work_signal(
                signal, actor=request.user, step=request.POST.get("step", ""), note=request.POST.get("note", "")
            )
        except FieldError as exc:
            error = exc
        else:
            messages.success(request, _("The signal's status was changed and recorded in the audit log."))
            return redirect("staff:signal", pk=signal.pk)
    history = AuditEvent.objects.filter(object_type="supervision.signal", object_id=str(signal.pk)).select_related(
        "actor"
    )
    return render(
        request,
        "supervision/signal_detail.html",
        {
            "signal": signal,
            "explanation": explain(signal),
            "evidence": evidence(signal),
            "history": [(event, history_label(event.action)) for event in history.order_by("id")],
            "error": error,
            "note": request.POST.get("note", "") if error else "",
        },
        status=422 if error else 200,
    )


EVIDENCE_KINDS = ("audit", "payment", "blocked_message", "spot_check", "visit")


def _office_of(context: dict[str, Any]) -> Any:
    """The office a piece of evidence belongs to (None: the whole system, for the directorate only)."""
    if "event" in context:
        return context["event"].office
    if "payment" in context:
        bill = context["payment"].bill
        case = (bill.application or bill.visa_application) if bill is not None else None
        return case.office if case is not None else None
    if "blocked" in context:
        blocked = context["blocked"]
        return (blocked.application or blocked.visa_application).office
    if "check" in context:
        return context["check"].office
    return context["visit"].office


@staff_required
def evidence_detail(request: HttpRequest, pk: int, kind: str, ref: int) -> HttpResponse:
    """One record behind a signal, shown only if the signal lists it (so the signal's scope is the record's)."""
    signal = get_object_or_404(visible_signals(request.user), pk=pk)
    if kind not in EVIDENCE_KINDS or [kind, ref] not in [[k, r] for k, r in signal.evidence]:
        raise Http404
    context: dict[str, Any] = {"signal": signal, "kind": kind}
    if kind == "audit":
        context["event"] = get_object_or_404(AuditEvent.objects.select_related("actor", "office"), pk=ref)
    elif kind == "payment":
        context["payment"] = get_object_or_404(
            Payment.objects.select_related("bank", "bill", "bill__application", "bill__visa_application"), pk=ref
        )
    elif kind == "blocked_message":
        context["blocked"] = get_object_or_404(
            BlockedMessage.objects.select_related("author", "application", "visa_application"), pk=ref
        )
    elif kind == "spot_check":
        context["check"] = get_object_or_404(
            SpotCheck.objects.select_related("officer", "supervisor", "counter"), pk=ref
        )
    else:
        context["visit"] = get_object_or_404(Visit.objects.select_related("office", "counter", "called_by"), pk=ref)
    # A signal is filed under one office, but its evidence may be another office's (a broker acting at several
    # offices): each record is shown only to someone supervising the record's own office.
    if not may(request.user, Perm.SUPERVISE, _office_of(context)):
        raise Http404
    record_view(
        "supervision.evidence_viewed",
        actor=request.user,  # type: ignore[arg-type]
        obj=signal,
        office=signal.office,
        details={"kind": kind, "ref": ref},
    )
    return render(request, "supervision/signal_evidence.html", context)
