from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Office, ServiceUnit


class CounterForm(forms.Form):
    unit = forms.ModelChoiceField(label=_("Service unit"), queryset=ServiceUnit.objects.none())
    number = forms.IntegerField(label=_("Counter number"), min_value=1, max_value=999)
    label = forms.CharField(label=_("Label"), max_length=100, required=False)

    def __init__(self, *args: Any, office: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if office is not None:
            self.fields["unit"].queryset = ServiceUnit.objects.filter(office=office)  # type: ignore[attr-defined]


class OfficeForm(forms.ModelForm):
    class Meta:
        model = Office
        fields = ["office_class", "city", "address", "timezone", "is_active"]
