"""Staff pages about offices: who works there, and its counters."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from gerbang.access.permissions import Perm, office_or_404
from gerbang.accounts.decorators import staff_required
from gerbang.accounts.models import GrantStatus, RoleGrant, User
from gerbang.accounts.views import apply_form_errors

from . import actions
from .forms import CounterForm, OfficeForm
from .models import Counter, Office


@staff_required
def office_staff(request: HttpRequest, code: str) -> HttpResponse:
    office = office_or_404(request.user, Perm.VIEW_STAFF, code)
    people = User.objects.filter(kind=User.Kind.STAFF, home_office=office).order_by("full_name")
    grants = RoleGrant.objects.filter(office=office, status=GrantStatus.ACTIVE).select_related("user")
    return render(request, "organisation/office_staff.html", {"office": office, "people": people, "grants": grants})


@staff_required
@require_http_methods(["GET", "POST"])
def office_counters(request: HttpRequest, code: str) -> HttpResponse:
    office = office_or_404(request.user, Perm.MANAGE_COUNTERS, code)
    form = CounterForm(request.POST or None, office=office)
    if request.method == "POST" and form.is_valid():
        try:
            actions.add_counter(
                form.cleaned_data["unit"],
                number=form.cleaned_data["number"],
                label=form.cleaned_data["label"],
                actor=request.user,  # type: ignore[arg-type]
            )
        except ValidationError as exc:
            apply_form_errors(form, exc)
        else:
            messages.success(request, _("Counter added."))
            return redirect("staff:office_counters", code=office.code)
    counters = Counter.objects.filter(unit__office=office).select_related("unit")
    return render(request, "organisation/counters.html", {"office": office, "form": form, "counters": counters})


@staff_required
@require_http_methods(["GET", "POST"])
def office_edit(request: HttpRequest, code: str) -> HttpResponse:
    """A system administrator corrects an office's data (the office file is data, not code)."""
    office = office_or_404(request.user, Perm.EDIT_OFFICE, code)
    form = OfficeForm(request.POST or None, instance=Office.objects.get(pk=office.pk))
    if request.method == "POST" and form.is_valid():
        try:
            actions.update_office(
                office,
                actor=request.user,  # type: ignore[arg-type]
                changes={f: form.cleaned_data[f] for f in actions.EDITABLE_OFFICE_FIELDS},
            )
        except ValidationError as exc:
            apply_form_errors(form, exc)
        else:
            messages.success(request, _("Office data saved."))
            return redirect("staff:office_edit", code=office.code)
    return render(request, "organisation/office_edit.html", {"office": office, "form": form})
