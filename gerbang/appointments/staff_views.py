"""The office head's appointment calendar: slots per day, the office's holidays, and releases (lottery or first come).

Everything on the page is in the office's own time zone: the days and times typed into the
forms, and the times listed. The actions (``actions.create_slots``, ``actions.open_release``,
``organisation.actions.declare_holiday`` and ``remove_holiday``) check the permission again and
write the audit events.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_http_methods

from gerbang.access.permissions import Perm, office_or_404
from gerbang.accounts.decorators import staff_required
from gerbang.accounts.views import apply_form_errors
from gerbang.audit.witness_client import WitnessUnavailable
from gerbang.organisation import actions as organisation_actions
from gerbang.organisation.models import Holiday, Office
from gerbang.organisation.selectors import holidays, office_today, office_zone

from . import actions
from .models import Draw, Release, Slot

log = logging.getLogger(__name__)

UPCOMING_DAYS = 60
MAX_PLACES = 500
MAX_TIMES = 96  # every quarter of an hour, round the clock
LISTED_RELEASES = 50
TIME = re.compile(r"^(\d{1,2})[:.](\d{2})$")  # 09:00, 9:00 or 09.00 (the Indonesian way of writing it)
WITNESS_UNAVAILABLE = gettext_lazy(
    "The witness cannot be reached; the lottery cannot be opened without its commitment. Try again shortly."
)


def parse_times(text: str) -> list[dt.time]:
    """``"09:00, 10:00, 13:30"`` as times, in the order given; a ValidationError names the first bad one."""
    found = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        match = TIME.match(part)
        try:
            if match is None:
                raise ValueError(part)
            found.append(dt.time(int(match[1]), int(match[2])))
        except ValueError:
            raise ValidationError(
                _("“%(value)s” is not a time. Write hours and minutes, like 09:00, and separate times with commas."),
                params={"value": part[:20]},
            ) from None
    if not found:
        raise ValidationError(_("Give at least one time, like 09:00."))
    if len(found) > MAX_TIMES:
        raise ValidationError(_("Give at most %(count)d times at once."), params={"count": MAX_TIMES})
    return found


class TimesField(forms.CharField):
    def to_python(self, value: Any) -> Any:
        text = super().to_python(value)
        return parse_times(text) if text else []


class SlotsForm(forms.Form):
    """Slots on one day of the office (office time)."""

    day = forms.DateField(label=gettext_lazy("Day"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    times = TimesField(
        label=gettext_lazy("Times"),
        max_length=1000,
        help_text=gettext_lazy("Start times in the office's time zone, separated by commas: 09:00, 10:00, 13:30"),
    )
    capacity = forms.IntegerField(label=gettext_lazy("Places per slot"), min_value=1, max_value=MAX_PLACES)
    priority_capacity = forms.IntegerField(
        label=gettext_lazy("Priority places per slot"),
        min_value=0,
        max_value=MAX_PLACES,
        initial=0,
        help_text=gettext_lazy(
            "Kept for applicants aged 60 or over, under 5, or with a disability; part of the places, not in addition."
        ),
    )
    express_capacity = forms.IntegerField(
        label=gettext_lazy("Express places per slot"),
        min_value=0,
        max_value=MAX_PLACES,
        initial=0,
        required=False,
        help_text=gettext_lazy(
            "Kept for same-day express applications, booked first come, never drawn; part of the places, not in "
            "addition."
        ),
    )

    def __init__(self, *args: Any, office: Office, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.office = office

    def clean_day(self) -> dt.date:
        day: dt.date = self.cleaned_data["day"]
        if day < office_today(self.office):
            raise ValidationError(_("The day cannot be in the past."))
        return day

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("express_capacity") is None and "express_capacity" not in self.errors:
            data["express_capacity"] = 0  # left empty: no express places
        places, priority, express = data.get("capacity"), data.get("priority_capacity"), data.get("express_capacity")
        if places is not None and priority is not None and priority > places:
            self.add_error("priority_capacity", _("Priority places cannot exceed the places per slot."))
        elif places is not None and priority is not None and express is not None and priority + express > places:
            self.add_error(
                "express_capacity", _("Priority and express places together cannot exceed the places per slot.")
            )
        return data


class HolidayForm(forms.Form):
    """A holiday of this office (national holidays are declared by system administrators)."""

    day = forms.DateField(label=gettext_lazy("Day"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=organisation_actions.HOLIDAY_NAME_MAX,
        help_text=gettext_lazy(
            "No appointments on this day. Refused while appointments are booked on it; its slots that were never "
            "booked are removed."
        ),
    )

    def __init__(self, *args: Any, office: Office, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.office = office

    def clean_day(self) -> dt.date:
        day: dt.date = self.cleaned_data["day"]
        if day < office_today(self.office):
            raise ValidationError(_("The day cannot be in the past."))
        return day


class ReleaseForm(forms.Form):
    """Days whose slots are released, how, and the request period (office time)."""

    first_day = forms.DateField(
        label=gettext_lazy("First day"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    last_day = forms.DateField(
        label=gettext_lazy("Last day"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    mode = forms.ChoiceField(
        label=gettext_lazy("Mode"), choices=Release.Mode.choices, initial=Release.Mode.LOTTERY, widget=forms.RadioSelect
    )
    window_opens_at = forms.DateTimeField(
        label=gettext_lazy("Requests from"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    window_closes_at = forms.DateTimeField(
        label=gettext_lazy("Requests until"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=gettext_lazy("For a lottery, the draw runs after this moment."),
    )

    def __init__(self, *args: Any, office: Office, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.office = office

    def full_clean(self) -> None:
        # The date-time fields read (and show) the office's local time, not the server's.
        with timezone.override(office_zone(self.office)):
            super().full_clean()

    def clean_first_day(self) -> dt.date:
        day: dt.date = self.cleaned_data["first_day"]
        if day < office_today(self.office):
            raise ValidationError(_("The first day cannot be in the past."))
        return day


def _open_slots(request: HttpRequest, office: Office, form: SlotsForm) -> bool:
    data = form.cleaned_data
    try:
        created = actions.create_slots(
            office=office,
            day=data["day"],
            times=data["times"],
            capacity=data["capacity"],
            priority_capacity=data["priority_capacity"],
            express_capacity=data["express_capacity"],
            actor=request.user,
        )
    except ValidationError as exc:
        apply_form_errors(form, exc)
        return False
    if created:
        messages.success(
            request,
            ngettext(
                "%(count)d slot was created for %(day)s.", "%(count)d slots were created for %(day)s.", len(created)
            )
            % {"count": len(created), "day": data["day"].isoformat()},
        )
    else:
        messages.info(request, _("No new slots: those times already exist on that day."))
    return True


def _open_release(request: HttpRequest, office: Office, form: ReleaseForm) -> bool:
    data = form.cleaned_data
    try:
        release = actions.open_release(
            office=office,
            first_day=data["first_day"],
            last_day=data["last_day"],
            window_opens_at=data["window_opens_at"],
            window_closes_at=data["window_closes_at"],
            mode=data["mode"],
            actor=request.user,
        )
    except ValidationError as exc:
        apply_form_errors(form, exc)
        return False
    except WitnessUnavailable as exc:
        log.warning("lottery for %s not opened: %s", office.code, exc)
        form.add_error(None, WITNESS_UNAVAILABLE)
        return False
    messages.success(
        request,
        _("The days %(first)s to %(last)s are released (%(mode)s).")
        % {
            "first": release.first_day.isoformat(),
            "last": release.last_day.isoformat(),
            "mode": release.get_mode_display(),
        },
    )
    if not Slot.objects.filter(office=office, day__gte=release.first_day, day__lte=release.last_day).exists():
        messages.warning(
            request, _("There are no slots on these days yet: create them before the request period ends.")
        )
    return True


def _declare_holiday(request: HttpRequest, office: Office, form: HolidayForm) -> bool:
    data = form.cleaned_data
    try:
        holiday = organisation_actions.declare_holiday(
            day=data["day"],
            name=data["name"],
            office=office,
            actor=request.user,  # type: ignore[arg-type]
        )
    except ValidationError as exc:
        apply_form_errors(form, exc)
        return False
    messages.success(
        request,
        _("%(day)s is a holiday of this office: %(name)s.") % {"day": holiday.day.isoformat(), "name": holiday.name},
    )
    return True


def _remove_holiday(request: HttpRequest, office: Office) -> None:
    """Only this office's own holidays, listed on the page; anything else is not found."""
    raw = str(request.POST.get("holiday", "")).strip()
    holiday = Holiday.objects.filter(pk=int(raw), office=office).first() if raw.isdigit() and len(raw) < 19 else None
    if holiday is None:
        raise Http404
    try:
        organisation_actions.remove_holiday(holiday, actor=request.user)  # type: ignore[arg-type]
    except ValidationError as exc:
        for text in exc.messages:
            messages.error(request, text)
        return
    messages.success(request, _("%(day)s is no longer a holiday of this office.") % {"day": holiday.day.isoformat()})


def _release_rows(office: Office, now: dt.datetime) -> list[dict[str, Any]]:
    releases = list(Release.objects.filter(office=office).order_by("-created_at", "-pk")[:LISTED_RELEASES])
    draws = {d.release_id: d for d in Draw.objects.filter(release__in=releases)}
    return [
        {
            "release": release,
            "draw": draws.get(release.pk),
            "period_over": release.status == Release.Status.OPEN and release.window_closes_at <= now,
            "not_yet": release.window_opens_at > now,
        }
        for release in releases
    ]


@staff_required
@require_http_methods(["GET", "POST"])
def calendar(request: HttpRequest, code: str) -> HttpResponse:
    office = office_or_404(request.user, Perm.MANAGE_SLOTS, code)
    posted = request.POST.get("form") if request.method == "POST" else None
    slots_form = SlotsForm(request.POST if posted == "slots" else None, office=office, prefix="slots")
    release_form = ReleaseForm(
        request.POST if posted == "release" else None,
        office=office,
        prefix="release",
        initial={"mode": Release.Mode.LOTTERY},
    )
    holiday_form = HolidayForm(request.POST if posted == "holiday" else None, office=office, prefix="holiday")
    if posted == "slots" and slots_form.is_valid() and _open_slots(request, office, slots_form):
        return redirect("staff:office_calendar", code=office.code)
    if posted == "holiday" and holiday_form.is_valid() and _declare_holiday(request, office, holiday_form):
        return redirect("staff:office_calendar", code=office.code)
    if posted == "remove_holiday":
        _remove_holiday(request, office)
        return redirect("staff:office_calendar", code=office.code)
    if posted == "release" and release_form.is_valid() and _open_release(request, office, release_form):
        return redirect("staff:office_calendar", code=office.code)
    today = office_today(office)
    last = today + dt.timedelta(days=UPCOMING_DAYS)
    slots = Slot.objects.filter(office=office, day__gte=today, day__lte=last).order_by("day", "starts_at")
    days_off = list(holidays(office, today, last))
    return render(
        request,
        "appointments/staff/calendar.html",
        {
            "office": office,
            "slots_form": slots_form,
            "release_form": release_form,
            "holiday_form": holiday_form,
            "holidays": days_off,
            "holiday_names": {h.day: h.name for h in days_off},
            "slots": slots,
            "upcoming_days": UPCOMING_DAYS,
            "releases": _release_rows(office, timezone.now()),
        },
    )
