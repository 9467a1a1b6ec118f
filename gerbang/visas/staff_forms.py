"""Forms of the visa staff pages. Actions validate again; these give field-level messages in the user's language."""

from __future__ import annotations

import json
import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from . import catalogue
from .models import RefusalReason, VisaDecision, VisaKind


def _document_choices() -> list[tuple[str, Any]]:
    return list(catalogue.DOCUMENTS.items())


def _reasons(rows: int = 4) -> forms.CharField:
    return forms.CharField(label=_("Reasons"), max_length=4000, widget=forms.Textarea(attrs={"rows": rows}))


# --- Casework steps ------------------------------------------------------------------------------------------


class VerifyForm(forms.Form):
    """The drawn verifier accepts the file, or asks the filer for documents."""

    decision = forms.TypedChoiceField(
        label=_("Your verification"),
        choices=[("accept", _("Accept: the documents are in order")), ("request", _("Ask for documents"))],
        coerce=lambda v: v == "accept",
        widget=forms.RadioSelect,
    )
    documents = forms.MultipleChoiceField(
        label=_("Documents needed (asking only)"),
        choices=_document_choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    note = forms.CharField(
        label=_("Note (when asking: what is wrong, shown to the filer)"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class DecisionForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Decision"), choices=VisaDecision.Outcome.choices, widget=forms.RadioSelect)
    reason = forms.ChoiceField(
        label=_("Legal reason (refusal only)"), choices=[("", "—"), *RefusalReason.choices], required=False
    )
    documents = forms.MultipleChoiceField(
        label=_("Documents needed (asking for more only)"),
        choices=_document_choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    note = _reasons()


class ReviewForm(forms.Form):
    confirm = forms.TypedChoiceField(
        label=_("Your review"),
        choices=[("1", _("Confirm the refusal")), ("0", _("Overturn it: issue the permit"))],
        coerce=lambda v: v == "1",
        widget=forms.RadioSelect,
    )
    note = _reasons()


class AppealForm(forms.Form):
    grant = forms.TypedChoiceField(
        label=_("Decision on the appeal"),
        choices=[("1", _("Grant: issue the permit")), ("0", _("Dismiss: the refusal stands"))],
        coerce=lambda v: v == "1",
        widget=forms.RadioSelect,
    )
    note = _reasons()


# --- Deny list -----------------------------------------------------------------------------------------------


class DenyListAddForm(forms.Form):
    nationality = forms.RegexField(
        label=_("Nationality (3-letter code, ISO 3166)"),
        regex=r"^\s*[A-Za-z]{3}\s*$",
        max_length=5,
        error_messages={"invalid": _("Give the nationality as a 3-letter code (ISO 3166).")},
    )
    passport_number = forms.CharField(label=_("Passport number"), max_length=12, required=False)
    surname = forms.CharField(
        label=_("Surname (with the date of birth, if no passport number)"), max_length=100, required=False
    )
    birth_date = forms.DateField(
        label=_("Date of birth"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    reason = forms.CharField(
        label=_("Reason (the decision the entry rests on)"), max_length=300, widget=forms.Textarea(attrs={"rows": 2})
    )


class DenyListRemoveForm(forms.Form):
    reason = forms.CharField(label=_("Reason for the removal"), max_length=300)


# --- Catalogue -----------------------------------------------------------------------------------------------

ELIGIBILITY_KEYS = {"passport_months", "nationalities", "from_kinds", "min_stay_days"}


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class CatalogueForm(forms.Form):
    """The fields of ``catalogue.EDITABLE``, and the reason the correction is made (audited with it)."""

    index_code = forms.CharField(label=_("Index"), max_length=10)
    name_id = forms.CharField(label=_("Name (Indonesian)"), max_length=200)
    name_en = forms.CharField(label=_("Name (English)"), max_length=200)
    purpose_id = forms.CharField(label=_("Purpose (Indonesian)"), max_length=300)
    purpose_en = forms.CharField(label=_("Purpose (English)"), max_length=300)
    required_documents = forms.MultipleChoiceField(
        label=_("Required documents"),
        choices=_document_choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    sponsor_required = forms.BooleanField(label=_("A sponsor files it"), required=False)
    stay_days = forms.IntegerField(label=_("Stay (days)"), min_value=1, max_value=3650)
    entry_within_days = forms.IntegerField(
        label=_("Enter within (days; 0 for a stay permit)"), min_value=0, max_value=3650
    )
    multiple_entry = forms.BooleanField(label=_("Multiple entry"), required=False)
    extensions = forms.IntegerField(label=_("Extensions allowed"), min_value=0, max_value=100)
    extension_days = forms.IntegerField(label=_("Days per extension"), min_value=0, max_value=3650)
    leads_to = forms.CharField(label=_("Leads to (the stay permit's code)"), max_length=20, required=False)
    automatic = forms.BooleanField(label=_("Issued automatically when every check passes"), required=False)
    eligibility = forms.CharField(
        label=_("Eligibility (JSON)"),
        help_text=_(
            'An object with any of: "passport_months" (a number), "nationalities" (3-letter codes; empty: all), '
            '"from_kinds" (catalogue codes), "min_stay_days" (a number).'
        ),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 5, "spellcheck": "false"}),
    )
    is_active = forms.BooleanField(label=_("Offered"), required=False)
    reason = forms.CharField(
        label=_("Reason for the correction (the legal basis)"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, kind: VisaKind, **kwargs: Any) -> None:
        kwargs["initial"] = {name: getattr(kind, name) for name in catalogue.EDITABLE} | {
            "eligibility": json.dumps(kind.eligibility or {}, indent=2, ensure_ascii=False, sort_keys=True)
        }
        super().__init__(*args, **kwargs)
        self.kind = kind

    def clean_leads_to(self) -> str:
        code = self.cleaned_data["leads_to"].strip()
        if code and not VisaKind.objects.filter(code=code).exists():
            raise forms.ValidationError(_("Give the code of a kind in the catalogue, or leave it empty."))
        return code

    def clean_eligibility(self) -> dict[str, Any]:
        try:
            value = json.loads(self.cleaned_data["eligibility"])
        except ValueError:
            raise forms.ValidationError(_("This is not valid JSON.")) from None
        if not isinstance(value, dict):
            raise forms.ValidationError(_("Eligibility is a JSON object: {...}."))
        unknown = sorted(set(value) - ELIGIBILITY_KEYS)
        if unknown:
            raise forms.ValidationError(_("Unknown keys: %(keys)s.") % {"keys": ", ".join(unknown)})
        for key in ("passport_months", "min_stay_days"):
            if key in value and (not _whole(value[key]) or not 0 <= value[key] <= 3650):
                raise forms.ValidationError(_("“%(key)s” is a whole number of 0 or more.") % {"key": key})
        nationalities = value.get("nationalities", [])
        if not isinstance(nationalities, list) or not all(
            isinstance(n, str) and re.fullmatch(r"[A-Z]{3}", n) for n in nationalities
        ):
            raise forms.ValidationError(_('“nationalities” is a list of 3-letter codes in capitals, e.g. ["AUS"].'))
        from_kinds = value.get("from_kinds", [])
        if not isinstance(from_kinds, list) or not all(
            isinstance(k, str) and re.fullmatch(r"[-a-z0-9_]{1,20}", k) for k in from_kinds
        ):
            raise forms.ValidationError(_('“from_kinds” is a list of catalogue codes, e.g. ["itas"].'))
        missing = sorted(
            set(from_kinds) - set(VisaKind.objects.filter(code__in=from_kinds).values_list("code", flat=True))
        )
        if missing:
            raise forms.ValidationError(_("Not in the catalogue: %(codes)s.") % {"codes": ", ".join(missing)})
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        extensions, days = data.get("extensions"), data.get("extension_days")
        if extensions and days == 0:
            self.add_error("extension_days", _("A kind that may be extended needs the days per extension."))
        return data

    def changes(self) -> dict[str, Any]:
        """The editable fields whose submitted value differs from the kind's."""
        changed: dict[str, Any] = {}
        for name in catalogue.EDITABLE:
            value, current = self.cleaned_data[name], getattr(self.kind, name)
            if name == "required_documents":
                # The catalogue's order of documents; a different order alone is no correction.
                if set(value) == set(current or []):
                    continue
                value = [code for code in catalogue.DOCUMENTS if code in set(value)]
            if value != current:
                changed[name] = value
        return changed
