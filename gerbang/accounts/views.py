"""Sign-in, registration and e-mail verification for applicants; the two-step staff sign-in."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from gerbang.identity.actions import register_citizen
from gerbang.identity.registry import RegistryUnavailable

from . import actions
from .decorators import applicant_required, otp_verified
from .emails import read_verification_token
from .forms import MobileNumberForm, RegisterForm, SignInForm, TokenCodeForm
from .models import User

REGISTRY_DOWN = gettext_lazy(
    "The population registry cannot be reached right now, so we cannot check your identity. "
    "Nothing was saved; please try again in a few minutes."
)


def _next_url(request: HttpRequest, default: str) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(candidate, {request.get_host()}, request.is_secure()):
        return candidate
    return default


def apply_form_errors(form: Any, exc: ValidationError) -> None:
    """Put an action's ValidationError onto the form, field by field where it names fields."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def locked_out(request: HttpRequest, response: Any = None, credentials: Any = None) -> HttpResponse:
    """Shown by django-axes when an account is locked after repeated failures (JSON for the API)."""
    if request.path.startswith("/api/"):
        answer = JsonResponse(
            {"detail": _("Too many failed sign-in attempts for this account. Try again later.")}, status=429
        )
        answer["Retry-After"] = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
        return answer
    return render(request, "accounts/locked_out.html", status=429)


@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    form = RegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            register_citizen(
                email=data["email"],
                full_name=data["full_name"],
                password=data["password"],
                language=data["language"],
                nik=data["nik"],
                kk=data["kk"],
                birth_date=data["birth_date"],
            )
        except ValidationError as exc:
            apply_form_errors(form, exc)
        except RegistryUnavailable:
            form.add_error(None, REGISTRY_DOWN)
        else:
            return render(request, "accounts/register_done.html", {"email": form.cleaned_data["email"]})
    return render(request, "accounts/register.html", {"form": form})


def verify_email(request: HttpRequest, token: str) -> HttpResponse:
    parsed = read_verification_token(token)
    user = None
    if parsed is not None:
        user = User.objects.filter(pk=parsed[0], email=parsed[1], kind=User.Kind.APPLICANT).first()
    if user is None:
        return render(request, "accounts/verify_result.html", {"ok": False}, status=400)
    actions.verify_email(user)
    return render(request, "accounts/verify_result.html", {"ok": True})


@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    """Applicants sign in with e-mail and password."""
    form = SignInForm(request, data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.get_user()
        if user.kind != User.Kind.APPLICANT:
            form.add_error(None, _("Staff members sign in on the staff sign-in page."))
        elif user.email_verified_at is None:
            form.add_error(None, _("Confirm your e-mail address first: open the link we sent you."))
        else:
            login(request, user)
            actions.record_sign_in(user, step="password")
            return redirect(_next_url(request, reverse("accounts:home")))
    return render(request, "accounts/sign_in.html", {"form": form, "next": request.GET.get("next", "")})


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.info(request, _("You have signed out."))
    return redirect("public:home")


@applicant_required
@require_http_methods(["GET", "POST"])
def home(request: HttpRequest) -> HttpResponse:
    from gerbang.applications.selectors import applications_of
    from gerbang.identity.actions import current_identity

    user: User = request.user  # type: ignore[assignment]
    identity = current_identity(user, include_pending=True)
    mobile = MobileNumberForm(request.POST or None, initial={"mobile_number": user.mobile_number})
    if request.method == "POST" and mobile.is_valid():
        try:
            actions.set_mobile_number(user, number=mobile.cleaned_data["mobile_number"], actor=user)
        except ValidationError as exc:
            apply_form_errors(mobile, exc)
        else:
            messages.success(
                request,
                _("SMS notifications go to %(number)s.") % {"number": user.mobile_number}
                if user.mobile_number
                else _("You receive notifications by e-mail only."),
            )
            return redirect("accounts:home")
    return render(
        request,
        "accounts/home.html",
        {
            "identity": identity,
            "dependants": list(identity.dependants.all()) if identity else [],
            "applications": applications_of(user),
            "mobile_form": mobile,
        },
    )


@require_http_methods(["GET", "POST"])
def staff_sign_in(request: HttpRequest) -> HttpResponse:
    """Step one for staff: e-mail and password. Step two is a hardware token or a security key."""
    form = SignInForm(request, data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.get_user()
        if user.kind != User.Kind.STAFF:
            form.add_error(None, _("This page is for staff. Applicants sign in on the main sign-in page."))
        else:
            login(request, user)  # rotates the session id
            actions.record_sign_in(user, step="password")
            target = reverse("accounts:staff_verify")
            nxt = _next_url(request, "")
            return redirect(target + (f"?next={nxt}" if nxt else ""))
    return render(request, "accounts/staff_sign_in.html", {"form": form, "next": request.GET.get("next", "")})


@require_http_methods(["GET", "POST"])
def staff_verify(request: HttpRequest) -> HttpResponse:
    """Step two: a code from a hardware token (accepted once only) or a security key."""
    user = request.user
    if not user.is_authenticated or getattr(user, "kind", "") != User.Kind.STAFF:
        return redirect("accounts:staff_login")
    if otp_verified(user):
        return redirect(_next_url(request, reverse("staff:dashboard")))
    form = TokenCodeForm(request.POST or None)
    devices = list(TOTPDevice.objects.filter(user=user, confirmed=True))
    has_keys = WebAuthnCredential.objects.filter(user=user, confirmed=True).exists()
    if request.method == "POST" and form.is_valid():
        verified = None
        for device in devices:
            allowed, _info = device.verify_is_allowed()
            if allowed and device.verify_token(form.cleaned_data["code"]):
                verified = device
                break
        if verified is None:
            form.add_error("code", _("This code is wrong, already used or expired. Wait for the next code."))
        else:
            otp_login(request, verified)
            actions.record_sign_in(user, step="totp")
            return redirect(_next_url(request, reverse("staff:dashboard")))
    return render(
        request,
        "accounts/staff_verify.html",
        {"form": form, "has_tokens": bool(devices), "has_keys": has_keys, "next": request.GET.get("next", "")},
    )
