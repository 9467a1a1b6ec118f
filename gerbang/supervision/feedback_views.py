"""The one-tap answer page after a counter visit: no sign-in, the link's token is the secret."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from .feedback import AlreadyAnswered, TooLate, answer_by, answer_feedback
from .models import VisitFeedback

# One button carries both answers: "<asked for money: 0|1>:<stars 1-5>".
CHOICE = re.compile(r"^([01]):([1-5])$")
STARS = [1, 2, 3, 4, 5]


@contextmanager
def _language(request: HttpRequest, feedback: VisitFeedback) -> Iterator[None]:
    """The applicant's language, unless this browser chose one with the language switch."""
    if settings.LANGUAGE_COOKIE_NAME in request.COOKIES:
        yield
        return
    with translation.override(feedback.applicant.preferred_language or settings.LANGUAGE_CODE):
        yield


def _page(
    request: HttpRequest, feedback: VisitFeedback, template: str, status: int = 200, **extra: Any
) -> HttpResponse:
    context = {"feedback": feedback, "stars": STARS, "answer_by": answer_by(feedback), **extra}
    response = render(request, template, context, status=status)
    response["Cache-Control"] = "private, no-store"
    # same-origin, not no-referrer: the token stays out of other sites' logs, and Chromium still sends an Origin
    # the CSRF check accepts when the star is tapped (with no-referrer it sends "Origin: null")
    response["Referrer-Policy"] = "same-origin"
    return response


@require_http_methods(["GET", "POST"])
def answer(request: HttpRequest, token: str) -> HttpResponse:
    feedback = get_object_or_404(
        VisitFeedback.objects.select_related("office", "counter", "applicant", "visit"), token=token
    )
    with _language(request, feedback):
        if request.method == "POST":
            if feedback.answered_at is not None:
                return _page(request, feedback, "supervision/feedback_done.html", status=409, already=True)
            match = CHOICE.match(request.POST.get("answer", ""))
            if match is None:
                error = _("Tap one of the buttons: it answers both questions at once.")
                return _page(request, feedback, "supervision/feedback.html", status=400, error=error)
            try:
                answer_feedback(
                    feedback,
                    actor=feedback.applicant,
                    asked_for_money=match.group(1) == "1",
                    satisfaction=int(match.group(2)),
                )
            except AlreadyAnswered:
                return _page(request, feedback, "supervision/feedback_done.html", status=409, already=True)
            except TooLate:
                return _page(request, feedback, "supervision/feedback_late.html", status=410)
            feedback.refresh_from_db()
            # The thanks, and after a "yes" the way to report, are shown in this answer only (no redirect): later
            # visits to the link, by whoever holds it, learn that it was answered, not what.
            return _page(request, feedback, "supervision/feedback_done.html", just_answered=True)
        if feedback.answered_at is not None:
            return _page(request, feedback, "supervision/feedback_done.html", already=True)
        if timezone.now() > answer_by(feedback):
            return _page(request, feedback, "supervision/feedback_late.html", status=410)
        return _page(request, feedback, "supervision/feedback.html")
