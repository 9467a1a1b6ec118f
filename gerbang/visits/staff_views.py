"""Front desk (check-in, walk-in priority applicants) and counter pages. The actions check permissions again."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from gerbang.access.permissions import Perm, may, office_or_404
from gerbang.accounts.decorators import staff_required
from gerbang.accounts.views import apply_form_errors
from gerbang.applications.models import document_storage
from gerbang.applications.uploads import UploadRefused, check_upload
from gerbang.audit.actions import record_view
from gerbang.identity import registry
from gerbang.organisation.models import Counter, Office

from . import actions
from .codes import booking_from_code, qr_data_uri
from .models import Visit
from .selectors import queue_state

REGISTRY_DOWN = gettext_lazy("The registry photo cannot be fetched right now; nobody is checked in without it.")


def _mask(nik: str) -> str:
    return f"{nik[:6]}••••••{nik[-4:]}"


class ScanForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Booking code (scan the QR code)"),
        max_length=200,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off"}),
    )


class IdentityForm(forms.Form):
    id_card_nik = forms.RegexField(
        label=gettext_lazy("NIK on the original ID card"),
        regex=r"^\s*\d{16}\s*$",
        error_messages={"invalid": gettext_lazy("Type the 16 digits of the NIK on the ID card.")},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    photo = forms.FileField(
        label=gettext_lazy("Photo taken now at the desk"),
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png", "capture": "user"}),
    )
    face_matches = forms.BooleanField(
        label=gettext_lazy("The person's face matches the registry photo"), required=False
    )

    def checked_photo(self) -> actions.Photo | None:
        try:
            return actions.Photo.from_checked(check_upload(self.cleaned_data["photo"]))
        except UploadRefused as exc:
            self.add_error("photo", exc.message)
        except ValidationError as exc:
            apply_form_errors(self, exc)
        return None


class WalkInLookupForm(forms.Form):
    nik = forms.RegexField(
        label=gettext_lazy("NIK of the walk-in applicant"),
        regex=r"^\s*\d{16}\s*$",
        error_messages={"invalid": gettext_lazy("Type the 16 digits of the NIK.")},
        widget=forms.TextInput(attrs={"autofocus": True, "inputmode": "numeric", "autocomplete": "off"}),
    )


class WalkInForm(IdentityForm):
    disability = forms.BooleanField(
        label=gettext_lazy("The person has a disability and needs priority service"),
        required=False,
        help_text=gettext_lazy("Aged 60 or over and under 5 are taken from the registry-checked birth date."),
    )


def _registry_photo(nik: str) -> tuple[str | None, actions.Photo | None]:
    """The registry's face photo as a data URI for the page and as the copy to store; (None, None) if unavailable."""
    try:
        found = registry.photo(nik)
    except registry.RegistryUnavailable:
        return None, None
    if found is None:
        return None, None
    try:
        content = base64.b64decode(found[1], validate=True)
    except (binascii.Error, ValueError):
        return None, None
    return f"data:{found[0]};base64,{found[1]}", actions.Photo(content, "png")


def _identity_step(request: HttpRequest, form: IdentityForm, nik: str, perform: Any) -> tuple[str | None, Visit | None]:
    """The registry photo (fetched once per request: shown, and on a valid POST stored) and, on a valid POST, the
    action's visit: ``(data URI or None, visit or None)``; the form carries the errors."""
    photo_uri, registry_photo = _registry_photo(nik)
    if photo_uri is None:
        messages.warning(request, str(REGISTRY_DOWN))
    if request.method != "POST" or not form.is_valid():
        return photo_uri, None
    photo = form.checked_photo()
    if photo is None:
        return photo_uri, None
    if registry_photo is None:
        form.add_error(None, str(REGISTRY_DOWN))
        return photo_uri, None
    try:
        visit: Visit = perform(form.cleaned_data, photo, registry_photo)
    except ValidationError as exc:
        apply_form_errors(form, exc)
        return photo_uri, None
    return photo_uri, visit


@staff_required
@require_http_methods(["GET", "POST"])
def check_in(request: HttpRequest, code: str) -> HttpResponse:
    office = office_or_404(request.user, Perm.CHECK_IN, code)
    scan = ScanForm(request.GET or None)
    booking = None
    form = None
    photo_uri = None
    if scan.is_valid():
        booking = booking_from_code(scan.cleaned_data["code"])
        if booking is None or booking.slot.office_id != office.pk:
            scan.add_error("code", _("This is not a booking code of this office."))
            booking = None
    if booking is not None:
        record_view("visits.booking_viewed", actor=request.user, obj=booking, office=office)  # type: ignore[arg-type]
        form = IdentityForm(request.POST or None, request.FILES or None)
        photo_uri, visit = _identity_step(
            request,
            form,
            booking.applicant_nik,
            lambda data, photo, registry_photo: actions.check_in(
                booking=booking,
                office=office,
                actor=request.user,
                id_card_nik=data["id_card_nik"],
                face_matches=data["face_matches"],
                registry_photo=registry_photo,
                checkin_photo=photo,
            ),
        )
        if visit is not None:
            messages.success(request, _("Checked in: number %(number)s.") % {"number": visit.code})
            return redirect("staff:visit_ticket", pk=visit.pk)
    return render(
        request,
        "visits/check_in.html",
        {
            "office": office,
            "scan": scan,
            "booking": booking,
            "masked_nik": _mask(booking.applicant_nik) if booking else "",
            "photo": photo_uri,
            "form": form,
        },
    )


@staff_required
@require_http_methods(["GET", "POST"])
def walk_in(request: HttpRequest, code: str) -> HttpResponse:
    office = office_or_404(request.user, Perm.CHECK_IN, code)
    lookup = WalkInLookupForm(request.GET or None)
    application = None
    form = None
    photo_uri = None
    if lookup.is_valid():
        application = actions.walk_in_application(office, lookup.cleaned_data["nik"])
        if application is None:
            lookup.add_error("nik", _("This person has no submitted application at this office."))
    if application is not None:
        record_view("visits.application_viewed", actor=request.user, obj=application, office=office)  # type: ignore[arg-type]
        form = WalkInForm(request.POST or None, request.FILES or None)
        found = application
        photo_uri, visit = _identity_step(
            request,
            form,
            application.applicant_nik,
            lambda data, photo, registry_photo: actions.register_walk_in(
                application=found,
                office=office,
                actor=request.user,
                disability=data["disability"],
                id_card_nik=data["id_card_nik"],
                face_matches=data["face_matches"],
                registry_photo=registry_photo,
                checkin_photo=photo,
            ),
        )
        if visit is not None:
            messages.success(request, _("Registered: number %(number)s.") % {"number": visit.code})
            return redirect("staff:visit_ticket", pk=visit.pk)
    return render(
        request,
        "visits/walk_in.html",
        {
            "office": office,
            "lookup": lookup,
            "application": application,
            "masked_nik": _mask(application.applicant_nik) if application else "",
            "photo": photo_uri,
            "form": form,
        },
    )


def _visit_for(request: HttpRequest, pk: int, *perms: Perm) -> Visit:
    visit = get_object_or_404(Visit.objects.select_related("office", "application", "counter"), pk=pk)
    if not any(may(request.user, perm, visit.office) for perm in perms):
        raise Http404
    return visit


@staff_required
def ticket(request: HttpRequest, pk: int) -> HttpResponse:
    """The printed ticket: the number, and a QR code of the public page that follows the applicant's place."""
    visit = _visit_for(request, pk, Perm.CHECK_IN)
    url = request.build_absolute_uri(reverse("public:queue_ticket", args=[visit.ticket]))
    return render(request, "visits/staff_ticket.html", {"visit": visit, "url": url, "qr": qr_data_uri(url)})


@staff_required
def photo(request: HttpRequest, pk: int, which: str) -> HttpResponse:
    """A visit's registry or check-in photo, for the front desk and the counters of its office (view audited)."""
    visit = _visit_for(request, pk, Perm.CHECK_IN, Perm.SERVE_QUEUE)
    names = {"registry": visit.registry_photo, "checkin": visit.checkin_photo}
    if which not in names:
        raise Http404
    record_view("visits.photo_viewed", actor=request.user, obj=visit, office=visit.office, details={"photo": which})  # type: ignore[arg-type]
    name = names[which]
    with document_storage().open(name, "rb") as stored:
        content = stored.read()
    answer = HttpResponse(content, content_type="image/png" if name.endswith(".png") else "image/jpeg")
    answer["Cache-Control"] = "no-store"
    return answer


def _office_counters(office: Office) -> Any:
    return Counter.objects.filter(unit__office=office, is_active=True).select_related("unit").order_by("unit", "number")


@staff_required
def queue(request: HttpRequest, code: str) -> HttpResponse:
    """The office's queue for its staff: the desk's links, the counters to serve from, today's numbers."""
    office = Office.objects.filter(code=code).first()
    if office is None or not (may(request.user, Perm.CHECK_IN, office) or may(request.user, Perm.SERVE_QUEUE, office)):
        raise Http404
    state = queue_state(office)
    visits = Visit.objects.filter(office=office, day=state.day).select_related("counter").order_by("number")
    return render(
        request,
        "visits/queue.html",
        {
            "office": office,
            "state": state,
            "visits": visits,
            "counters": _office_counters(office) if may(request.user, Perm.SERVE_QUEUE, office) else [],
            "can_check_in": may(request.user, Perm.CHECK_IN, office),
        },
    )


def _counter_for(request: HttpRequest, pk: int) -> Counter:
    counter = get_object_or_404(Counter.objects.select_related("unit__office"), pk=pk)
    if not may(request.user, Perm.SERVE_QUEUE, counter.office):
        raise Http404
    return counter


@staff_required
def counter(request: HttpRequest, pk: int) -> HttpResponse:
    """The counter screen: the person called here, with the registry photo and the check-in photo side by side."""
    here = _counter_for(request, pk)
    visit = actions.current_call(here)
    if visit is not None:
        record_view("visits.called_viewed", actor=request.user, obj=visit, office=here.office)  # type: ignore[arg-type]
    return render(
        request,
        "visits/counter.html",
        {"counter": here, "office": here.office, "visit": visit, "state": queue_state(here.office)},
    )


@staff_required
@require_POST
def counter_act(request: HttpRequest, pk: int) -> HttpResponse:
    here = _counter_for(request, pk)
    what = request.POST.get("do", "")
    try:
        if what == "next":
            called = actions.call_next(counter=here, actor=request.user)
            if called is None:
                messages.info(request, _("Nobody is waiting."))
        else:
            number = request.POST.get("visit", "")
            if not number.isdigit():
                raise Http404
            visit = get_object_or_404(Visit, pk=int(number), counter=here)
            if what == "again":
                actions.call_again(visit=visit, counter=here, actor=request.user)
            elif what in ("served", "absent"):
                actions.finish(visit=visit, counter=here, actor=request.user, came=what == "served")
            else:
                raise Http404
    except ValidationError as exc:
        for text in exc.messages:
            messages.error(request, text)
    return redirect("staff:counter", pk=here.pk)
