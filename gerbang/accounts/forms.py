from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from gerbang.organisation.models import Division, Office

from .models import Role, Scope


class SignInForm(AuthenticationForm):
    """E-mail and password. The field is named ``username`` so the log-in throttle (django-axes) sees it."""

    username = forms.EmailField(label=_("E-mail address"), widget=forms.EmailInput(attrs={"autofocus": True}))
    password = forms.CharField(label=_("Password"), strip=False, widget=forms.PasswordInput)

    error_messages = {
        "invalid_login": _("The e-mail address or password is wrong."),
        "inactive": _("This account is suspended."),
    }


class IdentityForm(forms.Form):
    """NIK, family card, name and birth date: the population registry must confirm all four together."""

    nik = forms.CharField(
        label=_("NIK (16 digits, on your ID card)"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    kk = forms.CharField(
        label=_("Family card number (KK, 16 digits)"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    full_name = forms.CharField(label=_("Full name, exactly as on your ID card"), max_length=120)
    birth_date = forms.DateField(
        label=_("Date of birth"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": _("Enter a date as YYYY-MM-DD.")},
    )


class RegisterForm(IdentityForm):
    email = forms.EmailField(label=_("Your own e-mail address"))
    password = forms.CharField(label=_("Password"), strip=False, widget=forms.PasswordInput)
    password_again = forms.CharField(label=_("Password again"), strip=False, widget=forms.PasswordInput)
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES, initial="id")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password") and data.get("password") != data.get("password_again"):
            self.add_error("password_again", _("The two passwords differ."))
        return data


class TokenCodeForm(forms.Form):
    code = forms.RegexField(
        label=_("Code from your hardware token"),
        regex=r"^[0-9]{6}$",
        error_messages={"invalid": _("Enter the 6 digits shown on your token.")},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )


class StaffCreateForm(forms.Form):
    full_name = forms.CharField(label=_("Full name"), max_length=200)
    email = forms.EmailField(label=_("Official e-mail address"))
    employee_number = forms.RegexField(
        label=_("Employee number (NIP)"),
        regex=r"^[0-9]{18}$",
        required=False,
        error_messages={"invalid": _("The NIP has 18 digits.")},
    )
    home_office = forms.ModelChoiceField(
        label=_("Home office"), queryset=Office.objects.none(), required=False, empty_label=_("Directorate General")
    )
    password = forms.CharField(label=_("Initial password"), strip=False, widget=forms.PasswordInput)

    def __init__(self, *args: Any, offices: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if offices is not None:
            self.fields["home_office"].queryset = offices  # type: ignore[attr-defined]


class TokenRegisterForm(forms.Form):
    serial = forms.RegexField(
        label=_("Serial number"),
        regex=r"^[A-Za-z0-9-]{4,40}$",
        error_messages={"invalid": _("Letters, digits and dashes only, 4 to 40 characters.")},
    )
    seed_hex = forms.CharField(label=_("Seed (hexadecimal, from the vendor's file)"), max_length=128)


class GrantRequestForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    scope = forms.ChoiceField(label=_("Scope"), choices=Scope.choices, initial=Scope.OFFICE)
    office = forms.ModelChoiceField(label=_("Office"), queryset=Office.objects.all(), required=False)
    division = forms.ModelChoiceField(label=_("Regional division"), queryset=Division.objects.all(), required=False)
    reason = forms.CharField(label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}))


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", _("Approve")), ("reject", _("Reject"))])
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)


class SuspendForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500)


class MobileNumberForm(forms.Form):
    mobile_number = forms.CharField(
        label=_("Mobile number for SMS notifications"),
        max_length=24,
        required=False,
        help_text=_("Optional. Officers never see it; leave it empty to be told by e-mail only."),
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )
