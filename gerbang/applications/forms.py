from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from gerbang.organisation.models import Office

from .models import DocumentKind, Kind, PassportApplication, Product, RenewalReason


class NewApplicationForm(forms.Form):
    applicant_nik = forms.ChoiceField(label=_("Who is the passport for?"), widget=forms.RadioSelect)
    kind = forms.ChoiceField(label=_("What do you need?"), choices=Kind.choices, widget=forms.RadioSelect)

    def __init__(self, *args: Any, people: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["applicant_nik"].choices = people  # type: ignore[attr-defined]
        if people:
            self.fields["applicant_nik"].initial = people[0][0]


class KindForm(forms.Form):
    kind = forms.ChoiceField(label=_("What do you need?"), choices=Kind.choices, widget=forms.RadioSelect)
    renewal_reason = forms.ChoiceField(
        label=_("Why renew? (renewal only)"),
        choices=RenewalReason.choices,
        widget=forms.RadioSelect,
        required=False,
    )
    old_passport_number = forms.CharField(
        label=_("Number of the old passport (renewal or damaged passport)"),
        max_length=12,
        required=False,
        help_text=_("As printed on the data page, e.g. A1234567."),
    )
    police_report_number = forms.CharField(
        label=_("Police report number (lost passport)"), max_length=60, required=False
    )
    police_report_date = forms.DateField(
        label=_("Date of the police report (lost passport)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": _("Enter a date as YYYY-MM-DD.")},
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("kind")
        if kind == Kind.RENEWAL and not data.get("renewal_reason"):
            self.add_error("renewal_reason", _("Say why the passport is renewed."))
        if kind in (Kind.RENEWAL, Kind.DAMAGED) and not data.get("old_passport_number"):
            self.add_error("old_passport_number", _("Enter the number of the old passport."))
        if kind == Kind.LOST:
            if not data.get("police_report_number"):
                self.add_error("police_report_number", _("Enter the number of the police report."))
            if not data.get("police_report_date") and "police_report_date" not in self.errors:
                self.add_error("police_report_date", _("Enter the date of the police report."))
        return data


class PassportForm(forms.Form):
    product = forms.ChoiceField(label=_("Passport"), choices=Product.choices, widget=forms.RadioSelect)
    validity_years = forms.TypedChoiceField(
        label=_("Valid for"),
        coerce=int,
        choices=[(5, _("5 years")), (10, _("10 years (adults only)"))],
        widget=forms.RadioSelect,
    )
    express = forms.BooleanField(
        label=_("Same-day express service (extra fee)"), required=False, help_text=_("Ready on the day of your visit.")
    )
    declared_disability = forms.BooleanField(
        label=_("The applicant has a disability and needs priority service"),
        required=False,
        help_text=_(
            "Priority applicants have places of their own (so do those aged 60 or over and children under 5, "
            "without asking). The declaration is checked in person at the counter."
        ),
    )
    office = forms.ModelChoiceField(
        label=_("Office where you will come for photo, fingerprints and interview"),
        queryset=Office.objects.order_by("name"),
        empty_label=_("Choose an office"),
    )

    def __init__(self, *args: Any, minor: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if minor:
            self.fields["validity_years"].choices = [(5, _("5 years"))]  # type: ignore[attr-defined]
            self.fields["validity_years"].help_text = _("A minor's passport is valid for 5 years.")


class DocumentsForm(forms.Form):
    """One optional file field per document the application needs; each upload is checked on its own."""

    def __init__(self, *args: Any, kinds: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for kind in kinds:
            self.fields[kind] = forms.FileField(
                label=DocumentKind(kind).label,
                required=False,
                allow_empty_file=True,
                widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,application/pdf"}),
                help_text=_("JPEG, PNG or PDF, at most 5 MB."),
            )


class ReviewForm(forms.Form):
    declaration = forms.BooleanField(
        label=_("I declare that what I entered and uploaded is true and complete."),
        error_messages={"required": _("Confirm that what you entered is true and complete.")},
    )

    def __init__(self, *args: Any, application: PassportApplication, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if application.applicant_minor:
            self.fields["parental_consent"] = forms.BooleanField(
                label=_("As a parent on the family card, I consent to a passport for %(name)s.")
                % {"name": application.applicant_name},
                error_messages={"required": _("As the parent, give your consent for this minor's passport.")},
            )


class WithdrawForm(forms.Form):
    reason = forms.CharField(label=_("Reason (optional)"), max_length=500, required=False)


class RequestDocumentsForm(forms.Form):
    kinds = forms.MultipleChoiceField(
        label=_("Documents needed"), choices=DocumentKind.choices, widget=forms.CheckboxSelectMultiple
    )
    note = forms.CharField(
        label=_("Message to the applicant"), max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )
