"""Security keys (WebAuthn, through django-otp-webauthn) for staff.

The page "My security keys" lists a staff member's keys and registers new ones.
The library's API views are subclassed here so that only staff past the second
factor register keys, and so that registration and sign-in with a key leave
audit events. ``webauthn_urlpatterns`` mounts the subclasses at the library's
own paths, ahead of its ``include`` in ``config/urls.py``: the library's url
names (``otp_webauthn:credential-registration-begin`` and so on, which its
template tags reverse) keep working and resolve to these subclasses.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET
from django_otp_webauthn import exceptions
from django_otp_webauthn.helpers import WebAuthnHelper
from django_otp_webauthn.models import WebAuthnCredential
from django_otp_webauthn.views import (
    BeginCredentialRegistrationView,
    CompleteCredentialAuthenticationView,
    CompleteCredentialRegistrationView,
    RegistrationCeremonyMixin,
)

from . import actions, webauthn_actions
from .decorators import staff_required
from .models import User


@staff_required
@require_GET
def security_keys(request: HttpRequest) -> HttpResponse:
    """My security keys: the keys registered for the signed-in staff member, and a button to add one."""
    credentials = WebAuthnCredential.objects.filter(user=request.user).order_by("created_at", "pk")
    return render(request, "accounts/security_keys.html", {"credentials": credentials})


class StaffOnly(exceptions.OTPWebAuthnApiError):
    status_code = 403
    default_detail = _("Only staff accounts can register security keys.")
    default_code = "staff_only"


class StaffWebAuthnHelper(WebAuthnHelper):
    """The library's helper, with the new credential and its audit event saved in one transaction."""

    def register_complete(self, user: User, state: dict[str, Any], data: dict[str, Any]) -> WebAuthnCredential:
        with transaction.atomic():
            credential = super().register_complete(user, state, data)
            webauthn_actions.record_security_key_registered(user, credential)
        return credential


class StaffRegistrationMixin(RegistrationCeremonyMixin):
    """Registration is for staff who have passed the second factor in this session.

    The library lets a user without any device register a key straight after
    the password (the key then counts as the second factor). Staff must always
    have passed their hardware token (or an existing key) first.
    """

    def check_can_register(self) -> None:
        user = self.get_user()
        if getattr(user, "kind", "") != User.Kind.STAFF:
            raise StaffOnly()
        if not user.is_verified():
            raise exceptions.NotVerified(detail=self.messages["user_not_verified"])

    def get_helper(self) -> StaffWebAuthnHelper:
        return StaffWebAuthnHelper(request=self.request)


class StaffBeginRegistrationView(StaffRegistrationMixin, BeginCredentialRegistrationView):
    pass


class StaffCompleteRegistrationView(StaffRegistrationMixin, CompleteCredentialRegistrationView):
    def post(self, *args: Any, **kwargs: Any) -> HttpResponse:
        response: HttpResponse = super().post(*args, **kwargs)  # raises on failure
        # The page reloads after a registration (static/js/security_keys.js) and shows this.
        messages.success(self.request, gettext("Security key registered."))
        return response


class AuditedCompleteAuthenticationView(CompleteCredentialAuthenticationView):
    """Second factor with a key: the library marks the session verified; this audits it and sends staff on."""

    def complete_auth(self, device: WebAuthnCredential) -> None:
        super().complete_auth(device)  # otp_login
        actions.record_sign_in(device.user, step="webauthn")

    def get_success_url(self) -> str:
        if getattr(self.request.user, "kind", "") == User.Kind.STAFF:
            return self.get_redirect_url() or reverse("staff:dashboard")
        return str(super().get_success_url())


# Mounted at "webauthn/" before the library's own include; unnamed, so reversing
# the library's names finds its include, whose paths resolve here first.
webauthn_urlpatterns = [
    path("registration/begin/", StaffBeginRegistrationView.as_view()),
    path("registration/complete/", StaffCompleteRegistrationView.as_view()),
    path("authentication/complete/", AuditedCompleteAuthenticationView.as_view()),
]
