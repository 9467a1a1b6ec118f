"""Staff pages of the duty roster: the office head's roster, the locker attendant's lockers, the counter
officer's session, and spot checks.

Days and times typed into the forms and listed on the pages are in the office's own time zone. The views
only parse and render; the actions (``gerbang.duty.actions``) check the permissions again, refuse what
the rules forbid and write the audit events.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from gerbang.access.permissions import Perm, may, may_anywhere, office_or_404, offices_for
from gerbang.accounts.decorators import staff_required
from gerbang.accounts.models import GrantStatus, Role, RoleGrant, Scope, User
from gerbang.accounts.views import apply_form_errors
from gerbang.organisation.models import Counter, Office
from gerbang.organisation.selectors import office_today, office_zone

from . import actions, selectors
from .models import CounterSession, DeviceDeposit, Locker, Shift, SpotCheck

LISTED_SPOT_CHECKS = 50
UPCOMING_SHIFTS = dt.timedelta(hours=24)


# --- Shared helpers -----------------------------------------------------------------------------------


def _office_with(request: HttpRequest, code: str, *perms: Perm) -> Office:
    """The office if the user holds any of ``perms`` over it; otherwise 404, as if it did not exist."""
    for perm in perms:
        try:
            return office_or_404(request.user, perm, code)
        except Http404:
            continue
    raise Http404


def _grants_covering(office: Office) -> QuerySet[RoleGrant]:
    return RoleGrant.objects.filter(
        Q(scope=Scope.OFFICE, office=office)
        | Q(scope=Scope.DIVISION, division=office.division_id)
        | Q(scope=Scope.DIRECTORATE),
        status=GrantStatus.ACTIVE,
    )


def roster_staff(office: Office) -> QuerySet[User]:
    """Staff holding a roster role over the office (what ``selectors.holds_role`` asks, for any roster role)."""
    holders = _grants_covering(office).filter(role__in=actions.ROSTER_ROLES).values("user_id")
    return User.objects.filter(pk__in=holders, kind=User.Kind.STAFF, is_active=True).order_by("full_name", "pk")


def office_staff(office: Office) -> QuerySet[User]:
    """The office's own people: its home staff, anyone with a role at the office, and anyone on its roster."""
    at_office = RoleGrant.objects.filter(scope=Scope.OFFICE, office=office, status=GrantStatus.ACTIVE).values("user_id")
    on_roster = _grants_covering(office).filter(role__in=actions.ROSTER_ROLES).values("user_id")
    return User.objects.filter(
        Q(home_office=office) | Q(pk__in=at_office) | Q(pk__in=on_roster), kind=User.Kind.STAFF, is_active=True
    ).order_by("full_name", "pk")


def office_counters(office: Office, *, active_only: bool = True) -> QuerySet[Counter]:
    counters = Counter.objects.filter(unit__office=office).select_related("unit").order_by("unit__name", "number")
    return counters.filter(is_active=True) if active_only else counters


def _counter_label(counter: Counter) -> str:
    return _("Counter %(number)s (%(unit)s)") % {"number": counter.number, "unit": counter.unit.name}


class CounterChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return _counter_label(obj)


class OfficerChoiceField(forms.ModelChoiceField):
    """Staff by name, with their e-mail address (names repeat) and, where known, their roster roles."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.roles: dict[int, list[str]] = {}

    def label_from_instance(self, obj: Any) -> str:
        roles = self.roles.get(obj.pk)
        label = f"{obj.full_name} <{obj.email}>"
        return f"{label}: {', '.join(roles)}" if roles else label


class LocalDateTimeForm(forms.Form):
    """A form whose date-time fields read (and show) the office's local time, not the server's."""

    def __init__(self, *args: Any, office: Office, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.office = office

    def full_clean(self) -> None:
        with timezone.override(office_zone(self.office)):
            super().full_clean()


def _posted(request: HttpRequest) -> str | None:
    return str(request.POST.get("form", "")) if request.method == "POST" else None


def _errors_of(form: forms.Form) -> list[str]:
    """A small hidden-field form's errors as plain sentences (there is no visible field to put them beside)."""
    return [str(e) for errors in form.errors.values() for e in errors]


def _posted_pk(form: forms.Form, field: str) -> int | None:
    """The id a bound form was posted with (to show its errors beside that row), if it is one."""
    value = str(form[field].value() or "") if form.is_bound else ""
    return int(value) if value.isascii() and value.isdigit() and len(value) < 19 else None


# --- The roster ---------------------------------------------------------------------------------------


def within_years(day: dt.date, years: int = 5) -> dt.date:
    """A day of the roster: within ``years`` of today (far dates overflow the time arithmetic)."""
    today = timezone.now().date()
    if abs((day - today).days) > 366 * years:
        raise ValidationError(_("Choose a day within %(n)d years of today.") % {"n": years})
    return day


class DayForm(forms.Form):
    day = forms.DateField(label=gettext_lazy("Day"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    def clean_day(self) -> dt.date:
        return within_years(self.cleaned_data["day"])


class ShiftForm(forms.Form):
    """A shift on one day in the office's local time; the field names match the action's error keys."""

    officer = OfficerChoiceField(label=gettext_lazy("Officer"), queryset=User.objects.none())
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=())
    counter = CounterChoiceField(
        label=gettext_lazy("Counter"),
        queryset=Counter.objects.none(),
        required=False,
        help_text=gettext_lazy("For the counter roles only: front desk, document verifier, interviewer, issuing."),
    )
    day = forms.DateField(label=gettext_lazy("Day"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    starts_at = forms.TimeField(
        label=gettext_lazy("Starts at"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    ends_at = forms.TimeField(
        label=gettext_lazy("Ends at"),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text=gettext_lazy("On the same day; a shift lasts at most 16 hours."),
    )

    def __init__(self, *args: Any, office: Office, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.office = office
        officer = self.fields["officer"]
        assert isinstance(officer, OfficerChoiceField)
        officer.queryset = roster_staff(office)
        labels = dict(Role.choices)
        for user_id, role in (
            _grants_covering(office).filter(role__in=actions.ROSTER_ROLES).values_list("user_id", "role").distinct()
        ):
            officer.roles.setdefault(user_id, []).append(str(labels[role]))
        role_field = self.fields["role"]
        assert isinstance(role_field, forms.ChoiceField)
        role_field.choices = [("", "---------")] + [
            (value, label) for value, label in Role.choices if value in actions.ROSTER_ROLES
        ]
        counter = self.fields["counter"]
        assert isinstance(counter, forms.ModelChoiceField)
        counter.queryset = office_counters(office)

    def clean_day(self) -> dt.date:
        return within_years(self.cleaned_data["day"])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        starts, ends = data.get("starts_at"), data.get("ends_at")
        if starts is not None and ends is not None and ends <= starts:
            self.add_error("ends_at", _("The shift must end after it starts."))
        return data

    def local(self, time: dt.time) -> dt.datetime:
        return dt.datetime.combine(self.cleaned_data["day"], time, tzinfo=office_zone(self.office))


class CancelShiftForm(forms.Form):
    shift = forms.ModelChoiceField(queryset=Shift.objects.none(), widget=forms.HiddenInput)
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=500)

    def __init__(self, *args: Any, office: Office, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        shift = self.fields["shift"]
        assert isinstance(shift, forms.ModelChoiceField)
        shift.queryset = Shift.objects.filter(office=office, cancelled_at__isnull=True).select_related("office")
        self.fields["shift"].error_messages["invalid_choice"] = _("This shift is not on the roster (any more).")
        self.fields["reason"].error_messages["required"] = _("Give the reason for cancelling this shift.")


def _day_bounds(office: Office, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    zone = office_zone(office)
    return dt.datetime.combine(day, dt.time(), tzinfo=zone), dt.datetime.combine(
        day + dt.timedelta(days=1), dt.time(), tzinfo=zone
    )


def _roster_url(office: Office, day: dt.date) -> str:
    return reverse("staff:duty_roster", kwargs={"code": office.code}) + "?" + urlencode({"day": day.isoformat()})


def _plan(request: HttpRequest, office: Office, form: ShiftForm) -> Shift | None:
    data = form.cleaned_data
    try:
        return actions.plan_shift(
            office=office,
            officer=data["officer"],
            role=data["role"],
            counter=data["counter"],
            starts_at=form.local(data["starts_at"]),
            ends_at=form.local(data["ends_at"]),
            actor=request.user,
        )
    except ValidationError as exc:
        apply_form_errors(form, exc)
        return None


def _cancel(request: HttpRequest, form: CancelShiftForm) -> Shift | None:
    try:
        return actions.cancel_shift(form.cleaned_data["shift"], actor=request.user, reason=form.cleaned_data["reason"])
    except ValidationError as exc:
        apply_form_errors(form, exc)
        return None


@staff_required
@require_http_methods(["GET", "POST"])
def roster(request: HttpRequest, code: str) -> HttpResponse:
    """The office's roster for a day; the office head plans and cancels shifts, others with VIEW_DUTY read."""
    office = _office_with(request, code, Perm.MANAGE_ROSTER, Perm.VIEW_DUTY)
    can_manage = may(request.user, Perm.MANAGE_ROSTER, office)
    posted = _posted(request)
    if posted is not None and (not can_manage or posted not in ("plan", "cancel")):
        raise Http404
    today = office_today(office)
    day_form = DayForm(request.GET if "day" in request.GET else None, initial={"day": today})
    day = day_form.cleaned_data["day"] if day_form.is_bound and day_form.is_valid() else today
    plan_form = ShiftForm(
        request.POST if posted == "plan" else None, office=office, prefix="plan", initial={"day": day}
    )
    cancel_form = CancelShiftForm(request.POST if posted == "cancel" else None, office=office, prefix="cancel")
    if posted == "plan" and plan_form.is_valid():
        shift = _plan(request, office, plan_form)
        if shift is not None:
            messages.success(
                request,
                _("%(name)s is on the roster as %(role)s.")
                % {"name": shift.officer.full_name, "role": shift.get_role_display()},
            )
            return redirect(_roster_url(office, plan_form.cleaned_data["day"]))
    if posted == "cancel" and cancel_form.is_valid():
        shift = _cancel(request, cancel_form)
        if shift is not None:
            messages.success(
                request,
                _("The shift of %(name)s is cancelled.") % {"name": shift.officer.full_name},
            )
            return redirect(_roster_url(office, shift.starts_at.astimezone(office_zone(office)).date()))
    start, end = _day_bounds(office, day)
    shifts = list(selectors.roster(office, start, end))
    officers = {s.officer_id for s in shifts}
    in_locker = set(
        DeviceDeposit.objects.filter(officer__in=officers, returned_at__isnull=True, locker__office=office).values_list(
            "officer_id", flat=True
        )
    )
    serving = set(
        CounterSession.objects.filter(
            officer__in=officers, closed_at__isnull=True, counter__unit__office=office
        ).values_list("officer_id", flat=True)
    )
    now = timezone.now()
    rows = [
        {
            "shift": s,
            "now": s.starts_at <= now < s.ends_at,
            "over": s.ends_at <= now,
            "in_locker": s.officer_id in in_locker,
            "serving": s.officer_id in serving,
        }
        for s in shifts
    ]
    return render(
        request,
        "duty/roster.html",
        {
            "office": office,
            "day": day,
            "today": today,
            "previous_day": day - dt.timedelta(days=1),
            "next_day": day + dt.timedelta(days=1),
            "day_form": day_form,
            "rows": rows,
            "can_manage": can_manage,
            "plan_form": plan_form,
            "cancel_form": cancel_form,
            "cancel_errors": _errors_of(cancel_form) if cancel_form.is_bound else [],
            "cancel_row": _posted_pk(cancel_form, "shift"),
            "can_view_lockers": may(request.user, Perm.VIEW_DUTY, office)
            or may(request.user, Perm.ATTEND_LOCKERS, office),
            "can_spot_check": may(request.user, Perm.RECORD_SPOT_CHECK, office),
        },
    )


# --- Lockers ------------------------------------------------------------------------------------------


class LockerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return _("Locker %(number)s") % {"number": obj.number}


class DepositForm(forms.Form):
    locker = LockerChoiceField(label=gettext_lazy("Locker"), queryset=Locker.objects.none())
    officer = OfficerChoiceField(label=gettext_lazy("Officer"), queryset=User.objects.none())
    devices = forms.CharField(
        label=gettext_lazy("Devices"),
        max_length=200,
        help_text=gettext_lazy("Everything deposited, for example: phone, smartwatch."),
    )

    def __init__(self, *args: Any, office: Office, busy: set[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        locker = self.fields["locker"]
        assert isinstance(locker, LockerChoiceField)
        # Any active locker of the office is accepted (the action says when one is in use); the free ones are offered.
        locker.queryset = Locker.objects.filter(office=office, is_active=True).order_by("number")
        locker.widget.choices = [("", "---------")] + [
            (x.pk, locker.label_from_instance(x)) for x in locker.queryset if x.pk not in busy
        ]
        officer = self.fields["officer"]
        assert isinstance(officer, forms.ModelChoiceField)
        officer.queryset = office_staff(office)


class ReturnForm(forms.Form):
    deposit = forms.ModelChoiceField(queryset=DeviceDeposit.objects.none(), widget=forms.HiddenInput)

    def __init__(self, *args: Any, office: Office, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        deposit = self.fields["deposit"]
        assert isinstance(deposit, forms.ModelChoiceField)
        deposit.queryset = DeviceDeposit.objects.filter(locker__office=office, returned_at__isnull=True).select_related(
            "locker__office", "officer"
        )
        deposit.error_messages["invalid_choice"] = _("These devices are not in a locker of this office (any more).")


class LockerCountForm(forms.Form):
    count = forms.IntegerField(
        label=gettext_lazy("Number of lockers"),
        min_value=1,
        max_value=500,
        help_text=gettext_lazy("Lockers are numbered from 1; existing lockers are kept."),
    )


@staff_required
@require_http_methods(["GET", "POST"])
def lockers(request: HttpRequest, code: str) -> HttpResponse:
    """The office's device lockers: who has devices in which, since when; the attendant records deposits and
    returns, the office head sets the number of lockers."""
    office = _office_with(request, code, Perm.ATTEND_LOCKERS, Perm.VIEW_DUTY, Perm.MANAGE_ROSTER)
    can_attend = may(request.user, Perm.ATTEND_LOCKERS, office)
    can_manage = may(request.user, Perm.MANAGE_ROSTER, office)
    posted = _posted(request)
    if (posted in ("deposit", "return") and not can_attend) or (posted == "count" and not can_manage):
        raise Http404
    if posted is not None and posted not in ("deposit", "return", "count"):
        raise Http404
    active = {
        d.locker_id: d
        for d in DeviceDeposit.objects.filter(locker__office=office, returned_at__isnull=True).select_related(
            "officer", "attendant"
        )
    }
    deposit_form = DepositForm(
        request.POST if posted == "deposit" else None, office=office, busy=set(active), prefix="deposit"
    )
    return_form = ReturnForm(request.POST if posted == "return" else None, office=office, prefix="return")
    count = Locker.objects.filter(office=office).count()
    count_form = LockerCountForm(
        request.POST if posted == "count" else None, prefix="count", initial={"count": count or None}
    )
    here = reverse("staff:duty_lockers", kwargs={"code": office.code})
    if posted == "deposit" and deposit_form.is_valid():
        data = deposit_form.cleaned_data
        try:
            deposit = actions.deposit_devices(
                locker=data["locker"], officer=data["officer"], devices=data["devices"], actor=request.user
            )
        except ValidationError as exc:
            apply_form_errors(deposit_form, exc)
        else:
            messages.success(
                request,
                _("The devices of %(name)s are in locker %(number)s.")
                % {"name": deposit.officer.full_name, "number": deposit.locker.number},
            )
            return redirect(here)
    if posted == "return" and return_form.is_valid():
        try:
            returned = actions.return_devices(return_form.cleaned_data["deposit"], actor=request.user)
        except ValidationError as exc:
            apply_form_errors(return_form, exc)
        else:
            messages.success(
                request,
                _("The devices of %(name)s were returned; locker %(number)s is free.")
                % {"name": returned.officer.full_name, "number": returned.locker.number},
            )
            return redirect(here)
    if posted == "count" and count_form.is_valid():
        try:
            numbered = actions.ensure_lockers(office, count_form.cleaned_data["count"], actor=request.user)
        except ValidationError as exc:
            apply_form_errors(count_form, exc)
        else:
            messages.success(request, _("The office has %(count)d lockers.") % {"count": len(numbered)})
            return redirect(here)
    rows = [{"locker": x, "deposit": active.get(x.pk)} for x in Locker.objects.filter(office=office).order_by("number")]
    return render(
        request,
        "duty/lockers.html",
        {
            "office": office,
            "rows": rows,
            "can_attend": can_attend,
            "can_manage": can_manage,
            "deposit_form": deposit_form,
            "return_errors": _errors_of(return_form) if return_form.is_bound else [],
            "count_form": count_form,
            "can_view_roster": may(request.user, Perm.VIEW_DUTY, office) or can_manage,
        },
    )


# --- The counter officer's session --------------------------------------------------------------------


class OpenSessionForm(forms.Form):
    counter = forms.ModelChoiceField(label=gettext_lazy("Counter"), queryset=Counter.objects.none())

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        counter = self.fields["counter"]
        assert isinstance(counter, forms.ModelChoiceField)
        # Any active counter of an office where the user serves: the action decides (and audits a refusal).
        counter.queryset = Counter.objects.filter(
            unit__office__in=offices_for(user, Perm.SERVE_QUEUE), is_active=True
        ).select_related("unit__office")
        counter.error_messages["invalid_choice"] = _("This is not a counter you can serve at.")


class CloseSessionForm(forms.Form):
    session = forms.ModelChoiceField(queryset=CounterSession.objects.none())

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        session = self.fields["session"]
        assert isinstance(session, forms.ModelChoiceField)
        session.queryset = CounterSession.objects.filter(officer=user, closed_at__isnull=True).select_related(
            "counter__unit__office"
        )
        session.error_messages["invalid_choice"] = _("This counter session is not open (any more).")


@staff_required
@require_http_methods(["GET", "POST"])
def counter_session(request: HttpRequest) -> HttpResponse:
    """The counter officer's own page: current shifts, devices, and the session at the counter of the shift."""
    user: Any = request.user
    if not may_anywhere(user, Perm.SERVE_QUEUE):
        raise Http404
    posted = _posted(request)
    if posted is not None and posted not in ("open", "close"):
        raise Http404
    open_form = OpenSessionForm(request.POST if posted == "open" else None, user=user)
    close_form = CloseSessionForm(request.POST if posted == "close" else None, user=user)
    here = reverse("staff:counter_session")
    if posted == "open" and open_form.is_valid():
        try:
            session = actions.open_counter_session(counter=open_form.cleaned_data["counter"], actor=user)
        except ValidationError as exc:
            apply_form_errors(open_form, exc)
        else:
            messages.success(
                request,
                _("Your session at %(counter)s is open.") % {"counter": _counter_label(session.counter)},
            )
            return redirect(here)
    if posted == "close" and close_form.is_valid():
        try:
            closed = actions.close_counter_session(close_form.cleaned_data["session"], actor=user)
        except ValidationError as exc:
            apply_form_errors(close_form, exc)
        else:
            messages.success(
                request, _("Your session at %(counter)s is closed.") % {"counter": _counter_label(closed.counter)}
            )
            return redirect(here)
    now = timezone.now()
    counter_shifts = Shift.objects.filter(officer=user, role__in=actions.COUNTER_ROLES, cancelled_at__isnull=True)
    current = list(
        counter_shifts.filter(starts_at__lte=now, ends_at__gt=now)
        .select_related("office", "counter__unit")
        .order_by("starts_at")
    )
    upcoming = list(
        counter_shifts.filter(starts_at__gt=now, starts_at__lte=now + UPCOMING_SHIFTS)
        .select_related("office", "counter__unit")
        .order_by("starts_at")
    )
    return render(
        request,
        "duty/counter_session.html",
        {
            "current_shifts": current,
            "upcoming_shifts": upcoming,
            "session": selectors.open_session(user),
            "deposit": selectors.active_deposit(user),
            "open_form": open_form,
            "close_errors": _errors_of(close_form) if close_form.is_bound else [],
        },
    )


# --- Spot checks --------------------------------------------------------------------------------------


class SpotCheckForm(LocalDateTimeForm):
    officer = OfficerChoiceField(label=gettext_lazy("Officer checked"), queryset=User.objects.none())
    counter = CounterChoiceField(label=gettext_lazy("Counter"), queryset=Counter.objects.none(), required=False)
    finding = forms.ChoiceField(label=gettext_lazy("Finding"), choices=SpotCheck.Finding.choices)
    note = forms.CharField(
        label=gettext_lazy("Note"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Required for “Other finding”."),
    )
    checked_at = forms.DateTimeField(
        label=gettext_lazy("Time of the check"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    def __init__(self, *args: Any, office: Office, **kwargs: Any) -> None:
        super().__init__(*args, office=office, **kwargs)
        officer = self.fields["officer"]
        assert isinstance(officer, forms.ModelChoiceField)
        officer.queryset = office_staff(office)
        counter = self.fields["counter"]
        assert isinstance(counter, forms.ModelChoiceField)
        counter.queryset = office_counters(office, active_only=False)


@staff_required
@require_http_methods(["GET", "POST"])
def spot_checks(request: HttpRequest, code: str) -> HttpResponse:
    """A supervisor records a surprise check at the office; the office's recent checks, adverse ones marked."""
    office = office_or_404(request.user, Perm.RECORD_SPOT_CHECK, code)
    now_local = timezone.now().astimezone(office_zone(office)).replace(tzinfo=None, second=0, microsecond=0)
    form = SpotCheckForm(
        request.POST if request.method == "POST" else None, office=office, initial={"checked_at": now_local}
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            check = actions.record_spot_check(
                office=office,
                officer=data["officer"],
                counter=data["counter"],
                finding=data["finding"],
                note=data["note"],
                checked_at=data["checked_at"],
                actor=request.user,
            )
        except ValidationError as exc:
            apply_form_errors(form, exc)
        else:
            messages.success(
                request,
                _("The spot check of %(name)s is recorded: %(finding)s.")
                % {"name": check.officer.full_name, "finding": check.get_finding_display()},
            )
            return redirect("staff:spot_checks", code=office.code)
    checks = SpotCheck.objects.filter(office=office).select_related("officer", "counter", "supervisor")
    return render(
        request,
        "duty/spot_checks.html",
        {"office": office, "form": form, "checks": checks.order_by("-checked_at", "-pk")[:LISTED_SPOT_CHECKS]},
    )
