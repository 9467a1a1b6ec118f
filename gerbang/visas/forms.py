"""Forms of the foreigners' and sponsors' pages. They only parse; the actions check and decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from gerbang.organisation.models import Office

from .catalogue import DOCUMENTS
from .models import Sponsor, VisaKind


class AccountForm(forms.Form):
    """A foreign national's or a company officer's account: no NIK."""

    full_name = forms.CharField(label=_("Full name"), max_length=120)
    email = forms.EmailField(label=_("Your own e-mail address"))
    password = forms.CharField(label=_("Password"), strip=False, widget=forms.PasswordInput)
    password_again = forms.CharField(label=_("Password again"), strip=False, widget=forms.PasswordInput)
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES, initial="en")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password") and data.get("password") != data.get("password_again"):
            self.add_error("password_again", _("The two passwords differ."))
        return data


DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATE_ERRORS = {"invalid": _("Enter a date as YYYY-MM-DD.")}


def _mrz_line(label: Any) -> forms.CharField:
    # A one-row textarea: browsers set textareas in a monospace font by default, so the 44 characters line up
    # with the passport (the site's style sheet allows no inline styles). Spaces and line breaks are removed
    # by the MRZ reader; a little slack here lets a pasted line with spaces through to it.
    return forms.CharField(
        label=label,
        max_length=60,
        help_text=_("44 characters of letters, digits and <, exactly as printed at the bottom of the data page."),
        widget=forms.Textarea(
            attrs={
                "rows": 1,
                "cols": 44,
                "maxlength": 44,
                "wrap": "off",
                "class": "mrz",
                "spellcheck": "false",
                "autocapitalize": "characters",
                "autocomplete": "off",
            }
        ),
    )


class SponsorForm(forms.Form):
    kind = forms.ChoiceField(label=_("Who sponsors?"), choices=Sponsor.Kind.choices, widget=forms.RadioSelect)
    name = forms.CharField(
        label=_("Company's registered name (company only)"),
        max_length=200,
        required=False,
    )
    nib = forms.CharField(
        label=_("Business registration number, NIB (company only)"),
        max_length=20,
        required=False,
        help_text=_("13 digits, from the OSS business licence."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    npwp = forms.CharField(
        label=_("Tax number, NPWP (company only)"),
        max_length=25,
        required=False,
        help_text=_("15 or 16 digits; dots and dashes may be typed."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    address = forms.CharField(label=_("Address in Indonesia"), max_length=300)


class ForeignerForm(forms.Form):
    line1 = _mrz_line(_("Machine-readable zone, line 1"))
    line2 = _mrz_line(_("Machine-readable zone, line 2"))
    surname = forms.CharField(label=_("Surname, as on the passport"), max_length=100)
    given_names = forms.CharField(label=_("Given names, as on the passport"), max_length=100, required=False)
    birth_date = forms.DateField(label=_("Date of birth"), widget=DATE_WIDGET, error_messages=DATE_ERRORS)
    passport_number = forms.CharField(
        label=_("Passport number"), max_length=20, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    who = forms.ChoiceField(
        label=_("Whose passport is this?"),
        choices=[
            ("own", _("This is my own passport")),
            ("sponsor", _("I sponsor this person")),
        ],
        widget=forms.RadioSelect,
        initial="sponsor",
    )
    relationship = forms.CharField(
        label=_("How are you related to this person? (sponsors only)"),
        max_length=100,
        required=False,
        help_text=_("For example: employer, spouse, parent."),
    )

    def __init__(self, *args: Any, sponsor: Sponsor | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if sponsor is None:
            # Only a registered sponsor records someone else's passport.
            del self.fields["who"]
            del self.fields["relationship"]

    def own(self) -> bool:
        return self.cleaned_data.get("who", "own") == "own"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("who") == "sponsor" and not (data.get("relationship") or "").strip():
            self.add_error("relationship", _("Say how you are related to this person (employer, spouse, ...)."))
        return data


class VisaApplicationForm(forms.Form):
    kind = forms.ModelChoiceField(
        label=_("Visa"), queryset=VisaKind.objects.none(), widget=forms.RadioSelect, empty_label=None
    )
    office = forms.ModelChoiceField(
        label=_("Immigration office handling the application"),
        queryset=Office.objects.none(),
        empty_label=_("Choose an office"),
    )
    intended_arrival = forms.DateField(
        label=_("Intended date of arrival in Indonesia"), widget=DATE_WIDGET, error_messages=DATE_ERRORS
    )
    statement = forms.CharField(
        label=_("Purpose of the stay, in your words"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, kinds: list[VisaKind], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        kind_field: Any = self.fields["kind"]
        kind_field.queryset = VisaKind.objects.filter(pk__in=[k.pk for k in kinds])
        kind_field.label_from_instance = lambda kind: f"{kind.index_code} {kind.name}"
        office_field: Any = self.fields["office"]
        office_field.queryset = active_offices()


class FollowUpForm(forms.Form):
    office = forms.ModelChoiceField(
        label=_("Immigration office of the place of stay"),
        queryset=Office.objects.none(),
        empty_label=_("Choose an office"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        office_field: Any = self.fields["office"]
        office_field.queryset = active_offices()


def active_offices() -> Any:
    return Office.objects.filter(is_active=True).order_by("name")


class DocumentForm(forms.Form):
    """One document's upload: its own small form, so an error stays beside the document it is about."""

    kind = forms.ChoiceField(choices=[(code, label) for code, label in DOCUMENTS.items()], widget=forms.HiddenInput)
    file = forms.FileField(
        label=_("File"),
        allow_empty_file=True,
        help_text=_("JPEG, PNG or PDF, at most 5 MB."),
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,application/pdf"}),
        error_messages={"required": _("Choose a file to upload.")},
    )


class SubmitForm(forms.Form):
    declaration = forms.BooleanField(
        label=_("I declare that what I entered and uploaded is true and complete."),
        error_messages={"required": _("Confirm that what you entered is true and complete.")},
    )


class AppealForm(forms.Form):
    grounds = forms.CharField(
        label=_("Grounds of the appeal"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Explain why the refusal is wrong. The regional division decides once."),
    )


class PermitCheckForm(forms.Form):
    nomor = forms.CharField(
        label=_("Permit or visa number"),
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"}),
    )
    paspor = forms.CharField(
        label=_("Holder's passport number"),
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"}),
    )

    def clean_nomor(self) -> str:
        return compact(self.cleaned_data["nomor"])

    def clean_paspor(self) -> str:
        return compact(self.cleaned_data["paspor"])


def compact(value: str) -> str:
    """Upper case without spaces, dashes or dots: how numbers are typed from a printed document."""
    return "".join(ch for ch in (value or "").upper() if ch.isalnum())
