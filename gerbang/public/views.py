"""Public pages: the services and their fees, the tariff on any date, and how to recognise official channels."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from gerbang.organisation.models import Office
from gerbang.tariffs.selectors import tariffs_in_force


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "public/home.html", {"tariffs": tariffs_in_force()})


def tariffs(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    on = today
    error = ""
    raw = request.GET.get("on", "").strip()
    if raw:
        try:
            on = dt.date.fromisoformat(raw)
        except ValueError:
            error = _("Enter the date as YYYY-MM-DD, for example %(example)s.") % {"example": today.isoformat()}
    status = 400 if error else 200
    return render(
        request,
        "public/tariffs.html",
        {"tariffs": tariffs_in_force(on), "on": on, "today": today, "error": error, "raw": raw},
        status=status,
    )


def official_channels(request: HttpRequest) -> HttpResponse:
    offices = Office.objects.filter(is_active=True).select_related("division")
    return render(request, "public/official_channels.html", {"offices": offices})
