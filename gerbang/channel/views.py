"""The applicant's side of the official channel: the conversation about one application, and the check code page.

The applicant (for a visa or stay permit: the account that filed it, often the
sponsor) sees every message about their application, oldest first, from
"You" or "Immigration office": never the officer's name. "Is this message
really from the office?" answers from the notifications sent to the signed-in
account only, so a code shown in someone else's message, or made up, is
answered with a warning.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from gerbang.accounts.decorators import applicant_required
from gerbang.accounts.models import User
from gerbang.accounts.views import apply_form_errors
from gerbang.applications import references
from gerbang.applications.selectors import application_for_filer
from gerbang.visas import views as visa_views

from . import actions, notifications
from .models import Message, Notification

CODE_LENGTH = 8


class MessageForm(forms.Form):
    # Empty and too long are refused by the action (one rule, for the pages and the API alike); the form only
    # carries the text. `maxlength` helps the browser; the action counts after joining CR LF line ends.
    body = forms.CharField(
        label=gettext_lazy("Your message"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 5, "maxlength": actions.MAX_LENGTH}),
        help_text=gettext_lazy(
            "At most 2000 characters. The office answers here; officers never contact you by phone or chat."
        ),
    )


def normalise_code(value: str) -> str:
    """A check code as typed (lower case, spaces, dashes) in its stored form: 8 upper-case letters and digits."""
    return "".join(ch for ch in value if not ch.isspace() and ch != "-").upper()


class CheckCodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Check code"),
        max_length=40,
        help_text=gettext_lazy('8 letters and digits, at the end of the message, after "Check code".'),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"}),
    )

    def clean_code(self) -> str:
        code = normalise_code(self.cleaned_data["code"])
        if len(code) != CODE_LENGTH:
            raise ValidationError(_("A check code has 8 letters and digits."))
        return code


def conversation(application: Any) -> list[Message]:
    """Every message about the application (a passport or a visa one), oldest first."""
    return list(actions.conversation(application))


def _messages_page(request: HttpRequest, application: Any, *, visa: bool) -> HttpResponse:
    """The conversation and the form to write, for a passport or a visa application the caller filed."""
    user: User = request.user  # type: ignore[assignment]
    here = "visas:messages" if visa else "applications:messages"
    form = MessageForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.send_from_applicant(application, actor=user, body=form.cleaned_data["body"])
        except ValidationError as exc:
            apply_form_errors(form, exc)
        else:
            messages.success(request, _("Your message was sent to the office."))
            return redirect(here, public_id=application.public_id)
    back = "visas:application" if visa else "applications:detail"
    return render(
        request,
        "channel/messages.html",
        {
            "application": application,
            "visa": visa,
            "name": application.foreigner.full_name if visa else application.applicant_name,
            "back_url": reverse(back, kwargs={"public_id": application.public_id}),
            "reference": references.display(application.reference),
            "conversation": conversation(application),
            "form": form,
        },
    )


@applicant_required
@require_http_methods(["GET", "POST"])
def messages_page(request: HttpRequest, public_id: str) -> HttpResponse:
    application = application_for_filer(request.user, public_id)
    return _messages_page(request, application, visa=False)


@applicant_required
@require_http_methods(["GET", "POST"])
def visa_messages_page(request: HttpRequest, public_id: str) -> HttpResponse:
    """The same page for a visa or stay-permit application: only the account that filed it (often the sponsor)."""
    application = visa_views.application_for_filer(request.user, public_id)
    return _messages_page(request, application, visa=True)


def check_answer(notification: Notification | None) -> dict[str, Any]:
    """What a check of a code tells the applicant (the page and the API alike)."""
    if notification is None:
        return {"genuine": False}
    application = notification.application
    return {
        "genuine": True,
        "sent_at": notification.sent_at or notification.created_at,
        "channel": notification.channel,
        "reference": references.display(application.reference) if application is not None else "",
        "subject": notification.subject,
        "body": notification.body,
    }


@applicant_required
@require_http_methods(["GET", "POST"])
def check_message(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    form = CheckCodeForm(request.POST or None)
    answer = None
    if request.method == "POST" and form.is_valid():
        notification = notifications.check_code(user, form.cleaned_data["code"])
        answer = check_answer(notification)
        answer["code"] = form.cleaned_data["code"]
        if notification is not None:
            answer["channel_label"] = notification.get_channel_display()
            office = notification.application.office if notification.application is not None else None
            answer["timezone"] = office.timezone if office is not None else settings.TIME_ZONE
    return render(request, "channel/check_message.html", {"form": form, "answer": answer})
