"""The one-tap question after a counter visit: was anyone asking for money or a gift, and how satisfied were you?

``ask_due`` (the ``visit-feedback`` schedule, every 5 minutes) creates one :class:`VisitFeedback` per visit served
at a counter within the last ``VISIT_FEEDBACK_WITHIN_MINUTES`` and sends the applicant the link
``/umpan-balik/<token>/``; older visits are never asked about. The token is the secret: whoever holds the link
answers once, within ``ANSWER_DAYS`` days. The answers are read, aggregated, by the level above the office (the
supervision dashboards, the per-counter view and the ``money_asked`` signal).
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from gerbang.audit.actions import record
from gerbang.channel.notifications import notify
from gerbang.visits.models import Visit

from .models import VisitFeedback

# An answer is accepted this many days after the question, no later.
ANSWER_DAYS = 7


class AlreadyAnswered(Exception):
    """The question was answered before: one answer per visit."""


class TooLate(Exception):
    """The question was asked more than ANSWER_DAYS days ago."""


def answer_url(feedback: VisitFeedback) -> str:
    """The absolute link sent to the applicant."""
    return settings.GERBANG_PUBLIC_URL.rstrip("/") + reverse("public:visit_feedback", args=[feedback.token])


def answer_by(feedback: VisitFeedback) -> dt.datetime:
    return feedback.prompted_at + dt.timedelta(days=ANSWER_DAYS)


def due_visits(now: dt.datetime | None = None) -> Any:
    """Visits served at a counter within the last VISIT_FEEDBACK_WITHIN_MINUTES minutes, not asked about yet."""
    now = now or timezone.now()
    since = now - dt.timedelta(minutes=settings.VISIT_FEEDBACK_WITHIN_MINUTES)
    return (
        Visit.objects.filter(
            status=Visit.Status.SERVED,
            counter__isnull=False,
            finished_at__gt=since,
            finished_at__lte=now,
            feedback__isnull=True,
        )
        .select_related("office", "counter", "called_by", "application__filer")
        .order_by("finished_at", "pk")
    )


def ask(visit: Visit, *, actor: Any = None, now: dt.datetime | None = None) -> VisitFeedback | None:
    """Ask the visit's applicant, once: None when someone else (another worker) asked already."""
    now = now or timezone.now()
    applicant = visit.application.filer
    try:
        # The visit's OneToOne makes a second question fail: that worker's savepoint is rolled back whole.
        with transaction.atomic():
            feedback = VisitFeedback.objects.create(
                visit=visit,
                token=secrets.token_urlsafe(32),
                office=visit.office,
                counter=visit.counter,
                officer=visit.called_by,
                applicant=applicant,
                prompted_at=now,
            )
            record(
                "supervision.feedback_asked",
                actor=actor,
                obj=feedback,
                office=visit.office,
                details={"visit": visit.pk, "counter": visit.counter.number if visit.counter else None},
            )
            _notify(feedback, visit)
    except IntegrityError:
        return None
    return feedback


def _notify(feedback: VisitFeedback, visit: Visit) -> None:
    applicant = feedback.applicant
    with translation.override(applicant.preferred_language or settings.LANGUAGE_CODE):
        subject = _("How was your visit to %(office)s?") % {"office": visit.office.name}
        body = _(
            "You were served at counter %(counter)s of %(office)s. One tap tells us whether anyone asked you for "
            "money or a gift, and how satisfied you were: %(url)s\n"
            "Your answer goes to the supervisors above the office, not to the officers who served you. "
            "Fees are paid only at a bank; no officer may accept money or gifts."
        ) % {
            "counter": visit.counter.number if visit.counter else "-",
            "office": visit.office.name,
            "url": answer_url(feedback),
        }
    notify(applicant, subject=subject, body=body, application=visit.application)


def ask_due(now: dt.datetime | None = None) -> int:
    """Ask about every visit due (the schedule); returns how many questions were sent."""
    now = now or timezone.now()
    asked = 0
    for visit in due_visits(now):
        if ask(visit, now=now) is not None:
            asked += 1
    return asked


def check_answer(asked_for_money: Any, satisfaction: Any) -> tuple[bool, int]:
    """Both answers, or a ValidationError naming the field that is wrong."""
    problems: dict[str, str] = {}
    if not isinstance(asked_for_money, bool):
        problems["asked_for_money"] = _("Say whether anyone asked you for money or a gift.")
    if isinstance(satisfaction, bool) or not isinstance(satisfaction, int) or not 1 <= satisfaction <= 5:
        problems["satisfaction"] = _("Choose from 1 to 5 stars.")
    if problems:
        raise ValidationError(problems)
    return asked_for_money, satisfaction


def answer_feedback(
    feedback: VisitFeedback,
    *,
    actor: Any,
    asked_for_money: Any,
    satisfaction: Any,
    now: dt.datetime | None = None,
) -> VisitFeedback:
    """Record both answers at once; AlreadyAnswered on a second answer, TooLate after ANSWER_DAYS days."""
    asked, stars = check_answer(asked_for_money, satisfaction)
    now = now or timezone.now()
    with transaction.atomic():
        locked = VisitFeedback.objects.select_for_update().get(pk=feedback.pk)
        if locked.answered_at is not None:
            raise AlreadyAnswered
        if now > answer_by(locked):
            raise TooLate
        locked.asked_for_money = asked
        locked.satisfaction = stars
        locked.answered_at = now
        locked.save(update_fields=["asked_for_money", "satisfaction", "answered_at"])
        record(
            "supervision.feedback_answered",
            actor=actor,
            obj=locked,
            office=locked.office,
            details={"asked_for_money": asked, "satisfaction": stars},
        )
    return locked


def open_prompts(user: Any, now: dt.datetime | None = None) -> Any:
    """The user's questions still waiting for an answer (newest first)."""
    now = now or timezone.now()
    return (
        VisitFeedback.objects.filter(
            applicant=user,
            answered_at__isnull=True,
            prompted_at__gte=now - dt.timedelta(days=ANSWER_DAYS),
        )
        .select_related("office", "counter", "visit")
        .order_by("-prompted_at", "-pk")
    )
