"""Forms of the casework pages. Actions validate again; these give field-level messages in the user's language."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from gerbang.applications.models import Document, DocumentKind

from .models import Decision, DocumentReview, Interview, RefusalReason, Relationship


class ReviewDocumentsForm(forms.Form):
    note = forms.CharField(
        label=_("Message to the applicant about rejected documents"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, documents: list[Document], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(DocumentReview.Outcome.ACCEPTED.value, _("Accept")), *DocumentReview.Reason.choices]
        self.documents = documents
        for document in documents:
            self.fields[f"document_{document.pk}"] = forms.ChoiceField(
                label=document.get_kind_display(), choices=choices, initial=DocumentReview.Outcome.ACCEPTED
            )
        self.order_fields([*(f"document_{d.pk}" for d in documents), "note"])

    def verdicts(self) -> dict[int, str]:
        return {d.pk: self.cleaned_data[f"document_{d.pk}"] for d in self.documents}


class BiometricsForm(forms.Form):
    photo = forms.FileField(
        label=_("Photo from the capture station"),
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png"}),
    )
    capture_station = forms.CharField(label=_("Capture station id"), max_length=60)
    fingerprint_device = forms.CharField(label=_("Fingerprint scanner device id"), max_length=60)
    fingers = forms.IntegerField(label=_("Fingers captured"), min_value=0, max_value=10, initial=10)
    fingerprint_template = forms.FileField(label=_("Fingerprint capture file from the scanner"))


class InterviewForm(forms.Form):
    purpose_of_travel = forms.CharField(label=_("Purpose of travel"), max_length=200)
    identity_consistent = forms.BooleanField(
        label=_("The person, the ID card and the documents are consistent"), required=False
    )
    originals_seen = forms.BooleanField(label=_("I saw the original documents"), required=False)
    outcome = forms.ChoiceField(label=_("Outcome"), choices=Interview.Outcome.choices, widget=forms.RadioSelect)
    notes = forms.CharField(label=_("Notes"), required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 4}))


class DecisionForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Decision"), choices=Decision.Outcome.choices, widget=forms.RadioSelect)
    reason = forms.ChoiceField(
        label=_("Legal reason (refusal only)"), choices=[("", "—"), *RefusalReason.choices], required=False
    )
    documents = forms.MultipleChoiceField(
        label=_("Documents needed (asking for more only)"),
        choices=DocumentKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    note = forms.CharField(label=_("Reasons"), max_length=4000, widget=forms.Textarea(attrs={"rows": 4}))


class ReviewForm(forms.Form):
    confirm = forms.TypedChoiceField(
        label=_("Your review"),
        choices=[("1", _("Confirm the refusal")), ("0", _("Overturn it: approve"))],
        coerce=lambda v: v == "1",
        widget=forms.RadioSelect,
    )
    note = forms.CharField(label=_("Reasons"), max_length=4000, widget=forms.Textarea(attrs={"rows": 4}))


class AppealDecisionForm(forms.Form):
    grant = forms.TypedChoiceField(
        label=_("Decision on the appeal"),
        choices=[("1", _("Grant: approve the application")), ("0", _("Dismiss: the refusal stands"))],
        coerce=lambda v: v == "1",
        widget=forms.RadioSelect,
    )
    note = forms.CharField(label=_("Reasons"), max_length=4000, widget=forms.Textarea(attrs={"rows": 4}))


class SpoilForm(forms.Form):
    reason = forms.CharField(label=_("What went wrong with the booklet"), max_length=300)


class HandOverForm(forms.Form):
    id_card_nik = forms.RegexField(
        label=_("NIK on the original ID card"),
        regex=r"^\s*\d{16}\s*$",
        error_messages={"invalid": _("Type the 16 digits of the NIK on the ID card.")},
    )
    face_matches = forms.BooleanField(label=_("The person is the one in the passport photo"), required=False)


class PostForm(forms.Form):
    tracking = forms.CharField(label=_("Postal tracking number"), max_length=40)


class MessageForm(forms.Form):
    body = forms.CharField(
        label=_("Message to the applicant"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )


class ReassignForm(forms.Form):
    assignment = forms.IntegerField(widget=forms.HiddenInput)
    officer = forms.TypedChoiceField(label=_("Give to"), coerce=int, required=False, empty_value=None)
    reason = forms.CharField(label=_("Reason"), max_length=500)

    def __init__(self, *args: Any, officers: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["officer"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [("", _("Draw again among those on duty")), *officers]


class BookletsForm(forms.Form):
    booklets = forms.CharField(
        label=_("Booklets received: one per line, serial and passport number (e.g. BK000101 C1234567)"),
        widget=forms.Textarea(attrs={"rows": 5}),
    )

    def clean_booklets(self) -> list[tuple[str, str]]:
        rows: list[tuple[str, str]] = []
        for n, line in enumerate(self.cleaned_data["booklets"].splitlines(), start=1):
            parts = line.replace(",", " ").replace(";", " ").split()
            if not parts:
                continue
            if len(parts) != 2:
                raise forms.ValidationError(_("Line %(n)d: a serial and a passport number.") % {"n": n})
            rows.append((parts[0], parts[1]))
        if len(rows) > 500:
            raise forms.ValidationError(_("At most 500 booklets at a time."))
        return rows


class ConflictForm(forms.Form):
    nik = forms.RegexField(
        label=_("NIK"), regex=r"^\s*\d{16}\s*$", error_messages={"invalid": _("A NIK has 16 digits.")}
    )
    relationship = forms.ChoiceField(label=_("Relationship"), choices=Relationship.choices)
