"""Binding a NIK to an existing account, refreshing the family, and the officer's check of a contested claim."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from gerbang.access.permissions import Perm, may_anywhere, offices_for
from gerbang.accounts.decorators import applicant_required, staff_required
from gerbang.accounts.forms import IdentityForm
from gerbang.accounts.models import User
from gerbang.accounts.views import REGISTRY_DOWN, apply_form_errors
from gerbang.audit.actions import record_view
from gerbang.organisation.models import Office

from . import actions, registry
from .models import mask_nik


@applicant_required
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    """For an account without a NIK yet: the same registry check as at registration."""
    user: User = request.user  # type: ignore[assignment]
    if actions.current_identity(user, include_pending=True) is not None:
        return redirect("accounts:home")
    form = IdentityForm(request.POST or None, initial={"full_name": user.full_name})
    if request.method == "POST" and form.is_valid():
        try:
            identity = actions.bind_identity(user, **form.cleaned_data)
        except ValidationError as exc:
            apply_form_errors(form, exc)
        except registry.RegistryUnavailable:
            form.add_error(None, REGISTRY_DOWN)
        else:
            if identity.status == identity.Status.ACTIVE:
                messages.success(request, _("Your identity is verified. You can now apply."))
            return redirect("accounts:home")
    return render(request, "identity/verify.html", {"form": form})


@applicant_required
@require_POST
def refresh_family(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    identity = actions.current_identity(user)
    if identity is None:
        raise Http404
    try:
        actions.refresh_dependants(identity, actor=user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except registry.RegistryUnavailable:
        messages.error(request, str(REGISTRY_DOWN))
    else:
        messages.success(request, _("Your family card was checked again with the population registry."))
    return redirect("accounts:home")


class ClaimLookupForm(forms.Form):
    claim_code = forms.CharField(label=gettext_lazy("Claim code shown by the person"), max_length=12)


class SettleForm(forms.Form):
    office = forms.ModelChoiceField(label=gettext_lazy("Your office"), queryset=Office.objects.none())
    document_number = forms.CharField(label=gettext_lazy("NIK on the original ID card you checked"), max_length=20)
    face_matches = forms.BooleanField(
        label=gettext_lazy("The person's face matches the registry photo"), required=False
    )
    decision = forms.ChoiceField(
        label=gettext_lazy("Decision"),
        choices=[
            ("confirm", gettext_lazy("Confirm: this person owns the NIK (the earlier account is suspended)")),
            ("refuse", gettext_lazy("Refuse: the person could not prove it")),
        ],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=gettext_lazy("What you checked"), max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )


@staff_required
@require_http_methods(["GET", "POST"])
def settle_claim(request: HttpRequest) -> HttpResponse:
    """An officer at the counter settles a contested NIK claim after checking the person and their ID card."""
    actor: User = request.user  # type: ignore[assignment]
    if not may_anywhere(actor, Perm.VERIFY_IDENTITY):
        raise Http404
    lookup = ClaimLookupForm(request.GET or None)
    claim = None
    photo = None
    settle = None
    if lookup.is_valid():
        claim = actions.claim_for_office(lookup.cleaned_data["claim_code"])
        if claim is None:
            lookup.add_error("claim_code", _("No open claim has this code."))
        else:
            settle = SettleForm(request.POST or None)
            settle.fields["office"].queryset = offices_for(actor, Perm.VERIFY_IDENTITY)  # type: ignore[attr-defined]
            record_view("identity.claim_viewed", actor=actor, obj=claim)
            try:
                found = registry.photo(claim.nik)
                photo = f"data:{found[0]};base64,{found[1]}" if found else None
            except registry.RegistryUnavailable:
                messages.warning(request, _("The registry photo cannot be fetched right now."))
            if request.method == "POST" and settle.is_valid():
                data = settle.cleaned_data
                try:
                    actions.settle_claim_at_office(
                        claim,
                        actor=actor,
                        office=data["office"],
                        confirmed=data["decision"] == "confirm",
                        document_number=data["document_number"],
                        face_matches=data["face_matches"],
                        note=data["note"],
                    )
                except ValidationError as exc:
                    apply_form_errors(settle, exc)
                else:
                    messages.success(request, _("The claim was settled and recorded."))
                    return redirect("staff:identity_claims")
    return render(
        request,
        "identity/settle_claim.html",
        {
            "lookup": lookup,
            "claim": claim,
            "masked_nik": mask_nik(claim.nik) if claim else "",
            "photo": photo,
            "settle": settle,
        },
    )
