"""Pages of anonymous reports: the public form and follow-up page (/lapor/), and the handlers' pages (/staf/).

The public pages are under settings.ANONYMOUS_PATHS: ``anonymous.AnonymousPathMiddleware`` has already removed
the address, browser and cookies of the request, and removes every cookie from the answer. The tracking code
is shown once on the answer page and never travels in a URL: the reporter types it into a POSTed form, and the
follow-up page carries it on in a hidden field of its own forms. The language is the browser's, or the one
chosen with ``?lang=`` (a cookie cannot keep it here).

Handlers' pages name a report by its number (``Report.pk``), never by its tracking code: the code is the
reporter's only key to the case, and must appear neither in a URL (access logs, browser history) nor on a
supervisor's screen.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from gerbang.access.permissions import Perm, may_anywhere
from gerbang.accounts.decorators import staff_required
from gerbang.accounts.views import apply_form_errors
from gerbang.audit.actions import record_view
from gerbang.core import ratelimit
from gerbang.organisation.models import Office

from . import reports
from .models import Report, ReportCategory, ReportEntry, ReportStatus

LISTED_CLOSED = 50

# --- Forms ----------------------------------------------------------------------------------------------


class OfficeChoice(forms.ModelChoiceField[Office]):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} ({obj.city})"


class ReportForm(forms.Form):
    office = OfficeChoice(
        label=gettext_lazy("Office concerned"),
        queryset=Office.objects.filter(is_active=True).order_by("name"),
        required=False,
        empty_label=gettext_lazy("No particular office"),
        help_text=gettext_lazy(
            "A report about an office goes to the regional division above it, never to the office itself."
        ),
        error_messages={"invalid_choice": gettext_lazy("Choose an office from the list.")},
    )
    category = forms.ChoiceField(
        label=gettext_lazy("What happened"),
        choices=ReportCategory.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": gettext_lazy("Choose what happened."),
            "invalid_choice": gettext_lazy("Choose what happened."),
        },
    )
    text = forms.CharField(
        label=gettext_lazy("Your report"),
        widget=forms.Textarea(attrs={"rows": 10, "maxlength": reports.TEXT_MAX}),
        min_length=reports.TEXT_MIN,
        max_length=reports.TEXT_MAX,
        help_text=gettext_lazy(
            "What happened, where and when, who was involved. Do not write your name or anything that identifies "
            "you unless you want to."
        ),
        error_messages={
            "required": gettext_lazy("Write what happened."),
            "min_length": gettext_lazy("Please write at least %(limit_value)d characters (you wrote %(show_value)d)."),
            "max_length": gettext_lazy("Please keep it within %(limit_value)d characters (you wrote %(show_value)d)."),
        },
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Tracking code"),
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}),
        error_messages={"required": gettext_lazy("Type the tracking code you were given.")},
    )


class MessageForm(forms.Form):
    message = forms.CharField(
        label=gettext_lazy("Message"),
        widget=forms.Textarea(attrs={"rows": 5, "maxlength": reports.TEXT_MAX}),
        max_length=reports.TEXT_MAX,
        error_messages={
            "required": gettext_lazy("Write a message."),
            "max_length": gettext_lazy("Please keep it within %(limit_value)d characters (you wrote %(show_value)d)."),
        },
    )


# --- The public pages -----------------------------------------------------------------------------------


def _language(request: HttpRequest) -> str:
    """``?lang=`` (or the form's ``lang``) when it names a language Gerbang speaks; else the browser's."""
    chosen = request.POST.get("lang") or request.GET.get("lang") or ""
    if chosen in dict(settings.LANGUAGES):
        translation.activate(chosen)
        request.LANGUAGE_CODE = chosen
    return translation.get_language() or settings.LANGUAGE_CODE


def _cross_site(request: HttpRequest) -> bool:
    """Did a POST come from another site's page?

    These forms cannot use Django's CSRF protection: it compares the form's token with a cookie, and the
    anonymous pages neither receive nor set cookies. Without a cookie there is no session to ride on, but
    another site could still make its visitors' browsers file or dispute reports. So the browser's own
    statement of where the request comes from is checked instead: Sec-Fetch-Site must be ``same-origin`` (or
    ``none``: typed or bookmarked), and when it is absent, Origin must be this site's. A request with
    neither (an old browser, or a program, which no other site can drive) is accepted.
    """
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site:
        return fetch_site.lower() not in ("same-origin", "none")
    origin = request.headers.get("Origin")
    if not origin:
        return False
    if origin == "null":
        return True
    own = f"{request.scheme}://{request.get_host()}"
    return origin != own and origin not in settings.CSRF_TRUSTED_ORIGINS


def _refused(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "supervision/report_message.html",
        {
            "title": _("Request refused"),
            "text": _(
                "This form was sent from another website. Open the reporting page on Gerbang itself and send it "
                "from there."
            ),
        },
        status=403,
    )


def _busy(form: forms.Form, response_for: Callable[[], HttpResponse], retry_after: int) -> HttpResponse:
    """The same page again with what was typed and the reason at the top: 429, nothing saved, nothing lost."""
    form.add_error(
        None,
        _(
            "Too many reports right now: Gerbang is receiving more than it accepts in a minute, from everybody "
            "together. Nothing was saved yet; what you wrote is kept on this page. Please wait %(seconds)d "
            "seconds and send it again."
        )
        % {"seconds": retry_after},
    )
    response = response_for()
    response.status_code = 429
    response["Retry-After"] = str(retry_after)
    return response


@csrf_exempt  # see _cross_site: no cookie, so no CSRF cookie; the Origin / Sec-Fetch-Site check replaces it
@ratelimit.exempt("address")  # nothing of the address is counted; reports.over_limit guards against floods
@require_http_methods(["GET", "POST"])
def new_report(request: HttpRequest) -> HttpResponse:
    lang = _language(request)
    form = ReportForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if _cross_site(request):
            return _refused(request)
        if form.is_valid():
            retry_after = reports.over_limit(reports.FILING_BUCKET, settings.REPORTS_PER_MINUTE)
            if retry_after is not None:
                return _busy(form, lambda: _new_report_page(request, form, lang), retry_after)
            try:
                report = reports.file_report(
                    office=form.cleaned_data["office"],
                    category=form.cleaned_data["category"],
                    text=form.cleaned_data["text"],
                )
            except ValidationError as exc:
                apply_form_errors(form, exc)
            else:
                return render(
                    request,
                    "supervision/report_filed.html",
                    {"code": reports.display_code(report.code), "report": report, "lang": lang},
                )
    return _new_report_page(request, form, lang)


def _new_report_page(request: HttpRequest, form: ReportForm, lang: str) -> HttpResponse:
    return render(
        request,
        "supervision/report_new.html",
        {"form": form, "lang": lang, "deadline_days": settings.REPORT_DEADLINE_DAYS},
    )


def _follow_page(
    request: HttpRequest, report: Report, lang: str, *, message_form: MessageForm | None = None, note: str = ""
) -> HttpResponse:
    entries = list(report.entries.order_by("at", "pk"))
    open_for_messages = report.status in reports.OPEN_STATUSES
    may_dispute = report.status == ReportStatus.CLOSED and report.disputed_at is None
    return render(
        request,
        "supervision/report_follow.html",
        {
            "report": report,
            "code": reports.display_code(report.code),
            "entries": entries,
            "from_reporter": ReportEntry.From.REPORTER,
            "message_form": message_form or MessageForm(),
            "open_for_messages": open_for_messages,
            "may_dispute": may_dispute,
            "note": note,
            "lang": lang,
            "deadline_days": settings.REPORT_DEADLINE_DAYS,
        },
    )


@csrf_exempt  # see _cross_site
@ratelimit.exempt("address")
@require_http_methods(["GET", "POST"])
def follow_report(request: HttpRequest) -> HttpResponse:
    lang = _language(request)
    if request.method != "POST":
        return render(request, "supervision/report_follow_code.html", {"form": CodeForm(), "lang": lang})
    if _cross_site(request):
        return _refused(request)
    form = CodeForm(request.POST)
    retry_after = reports.over_limit(reports.LOOKUP_BUCKET, settings.REPORTS_PER_MINUTE * reports.LOOKUPS_PER_REPORT)
    if retry_after is not None:
        # A message or dispute typed on the report's page rides along, hidden, so sending again sends it.
        carried = [(name, request.POST[name]) for name in ("action", "message") if request.POST.get(name)]
        context = {"form": form, "lang": lang, "carried": carried}
        return _busy(form, lambda: render(request, "supervision/report_follow_code.html", context), retry_after)
    report = reports.find_by_code(form.cleaned_data["code"]) if form.is_valid() else None
    if report is None:
        if form.is_valid():
            form.add_error("code", _("No report has this tracking code. Check the code you wrote down and try again."))
        return render(request, "supervision/report_follow_code.html", {"form": form, "lang": lang})

    action = request.POST.get("action", "")
    if action not in ("message", "dispute"):
        return _follow_page(request, report, lang)
    message_form = MessageForm(request.POST)
    if message_form.is_valid():
        retry_after = reports.over_limit(reports.FILING_BUCKET, settings.REPORTS_PER_MINUTE)
        if retry_after is not None:
            page = partial(_follow_page, request, report, lang, message_form=message_form)
            return _busy(message_form, page, retry_after)
        try:
            if action == "dispute":
                report = reports.dispute(report, message_form.cleaned_data["message"])
                note = _("Your dispute was received. It must be settled within %(days)d days.") % {
                    "days": settings.REPORT_DEADLINE_DAYS["dispute"]
                }
            else:
                reports.reporter_writes(report, message_form.cleaned_data["message"])
                note = _("Your message was added.")
        except ValidationError as exc:
            apply_form_errors(message_form, exc)
        else:
            report.refresh_from_db()
            return _follow_page(request, report, lang, note=note)
    return _follow_page(request, report, lang, message_form=message_form)


# --- The handlers' pages --------------------------------------------------------------------------------


def staff_url(report: Report) -> str:
    """The handlers' page of a report (by number: the tracking code never goes into a URL)."""
    return reverse("staff:report", args=[str(report.pk)])


@staff_required
@require_http_methods(["GET"])
def report_list(request: HttpRequest) -> HttpResponse:
    if not may_anywhere(request.user, Perm.HANDLE_REPORTS):
        raise Http404
    now = timezone.now()
    visible = reports.reports_for(request.user).select_related("office", "division")
    open_reports = list(visible.filter(status__in=reports.OPEN_STATUSES).order_by("-escalations", "received_at"))
    # Escalated first, then overdue, then the oldest (the sort is stable).
    open_reports.sort(key=lambda r: (-r.escalations, not reports.overdue(r, now)))
    rows = [{"report": r, "overdue": reports.overdue(r, now), "url": staff_url(r)} for r in open_reports]
    closed = [
        {"report": r, "url": staff_url(r)}
        for r in visible.filter(status__in=reports.FINAL_STATUSES).order_by("-received_at")[:LISTED_CLOSED]
    ]
    return render(
        request,
        "supervision/report_list.html",
        {"rows": rows, "closed": closed, "now": now, "deadline_days": settings.REPORT_DEADLINE_DAYS},
    )


STAFF_ACTIONS = {
    "answer": (reports.answer, gettext_lazy("Your answer was sent to the reporter.")),
    "close": (reports.close, gettext_lazy("The report was closed.")),
    "close_dispute": (reports.close_dispute, gettext_lazy("The dispute was closed.")),
}


@staff_required
@require_http_methods(["GET", "POST"])
def report_detail(request: HttpRequest, code: str) -> HttpResponse:
    user = request.user
    report = reports.report_for_handler(user, code)
    form = MessageForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action not in STAFF_ACTIONS:
            form.add_error(None, _("Choose what to do."))
        elif form.is_valid():
            act, done = STAFF_ACTIONS[action]
            try:
                act(report, form.cleaned_data["message"], actor=user)
            except ValidationError as exc:
                apply_form_errors(form, exc)
            else:
                messages.success(request, str(done))
                return redirect(staff_url(report))
    record_view("supervision.report_viewed", actor=user, obj=report)  # type: ignore[arg-type]
    now = timezone.now()
    status = report.status
    return render(
        request,
        "supervision/report_detail.html",
        {
            "report": report,
            "entries": list(report.entries.select_related("author").order_by("at", "pk")),
            "from_reporter": ReportEntry.From.REPORTER,
            "form": form,
            "overdue": reports.overdue(report, now),
            "missed": reports.missed_deadlines(report, now),
            "may_answer": status in reports.OPEN_STATUSES,
            "may_close": status in (ReportStatus.RECEIVED, ReportStatus.ANSWERED),
            "may_close_dispute": status == ReportStatus.DISPUTED,
        },
    )
