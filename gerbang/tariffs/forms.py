from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Service


class TariffForm(forms.Form):
    service = forms.ModelChoiceField(label=_("Service"), queryset=Service.objects.all())
    valid_from = forms.DateField(label=_("In force from (YYYY-MM-DD)"), widget=forms.DateInput(attrs={"type": "date"}))
    amount = forms.IntegerField(label=_("Amount (rupiah)"), min_value=1, max_value=1_000_000_000)
    legal_basis = forms.CharField(label=_("Legal basis"), max_length=200)
