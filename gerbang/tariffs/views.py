"""Publishing a new version of a fee (system administrators, nationally)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from gerbang.access.permissions import Perm, may
from gerbang.accounts.decorators import staff_required
from gerbang.accounts.views import apply_form_errors

from . import actions
from .forms import TariffForm
from .models import Tariff


@staff_required
@require_http_methods(["GET", "POST"])
def manage(request: HttpRequest) -> HttpResponse:
    if not may(request.user, Perm.MANAGE_TARIFFS):
        raise Http404
    form = TariffForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.publish_tariff(
                form.cleaned_data["service"],
                valid_from=form.cleaned_data["valid_from"],
                amount=form.cleaned_data["amount"],
                legal_basis=form.cleaned_data["legal_basis"],
                actor=request.user,  # type: ignore[arg-type]
            )
        except ValidationError as exc:
            apply_form_errors(form, exc)
        else:
            messages.success(request, _("The new fee version is published."))
            return redirect("staff:tariffs")
    versions = Tariff.objects.select_related("service", "created_by").order_by("service__sort_order", "-valid_from")
    return render(request, "tariffs/manage.html", {"form": form, "versions": versions})
