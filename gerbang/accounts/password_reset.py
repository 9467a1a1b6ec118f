"""Applicants who forgot their password get a one-time link by e-mail (Django's reset tokens).

Staff passwords are reset by a system administrator, never by e-mail: staff
also need their hardware token, and an e-mailed link must not be a way round
the office's control of staff accounts.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordResetForm, SetPasswordForm
from django.http import HttpResponse
from django.urls import reverse_lazy

from . import actions
from .models import User


class ApplicantPasswordResetForm(PasswordResetForm):
    def get_users(self, email: str) -> Iterator[Any]:
        for user in super().get_users(email):
            if user.kind == User.Kind.APPLICANT:
                yield user


class AuditedSetPasswordForm(SetPasswordForm):
    def save(self, commit: bool = True) -> Any:
        return actions.reset_password(self.user, new_password=self.cleaned_data["new_password1"])


class RequestReset(auth_views.PasswordResetView):
    form_class = ApplicantPasswordResetForm
    template_name = "accounts/password_reset_form.html"
    email_template_name = "accounts/email/password_reset.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")

    def form_valid(self, form: Any) -> HttpResponse:
        # Links point at the configured public address, like the verification e-mail, not at the Host header.
        self.extra_email_context = {"base_url": settings.GERBANG_PUBLIC_URL.rstrip("/")}
        return super().form_valid(form)


class ResetSent(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class SetNewPassword(auth_views.PasswordResetConfirmView):
    form_class = AuditedSetPasswordForm
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")


class ResetComplete(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"
