"""Messages between an applicant and the office about one application: the only way an officer reaches them.

An officer's message is screened first (:mod:`gerbang.channel.screening`):
phone numbers, messaging-app handles, outside links, e-mail addresses and bank
account numbers are refused with an explanation, and the attempt is kept
(:class:`BlockedMessage`) and audited as ``channel.message_blocked``, a
supervision signal. Officers never see the applicant's contact details; the
applicant is notified that a message is waiting, with a check code.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from gerbang.applications import references
from gerbang.audit.actions import record

from . import notifications, screening
from .models import BlockedMessage, Message

MAX_LENGTH = 2000


def _clean(body: str) -> str:
    body = body.replace("\r\n", "\n").strip()
    if not body:
        raise ValidationError({"body": _("Write a message.")})
    if any(ord(ch) < 32 and ch not in "\n\t" for ch in body):
        raise ValidationError({"body": _("The message contains characters that cannot be sent.")})
    if len(body) > MAX_LENGTH:
        raise ValidationError({"body": _("A message has at most %(n)d characters.") % {"n": MAX_LENGTH}})
    return body


def allowed_hosts() -> set[str]:
    hosts = {urlsplit(settings.GERBANG_PUBLIC_URL).hostname or ""}
    return {h for h in hosts | set(settings.GERBANG_CHANNEL_ALLOWED_HOSTS) if h}


def case_of(application: Any) -> dict[str, Any]:
    """The Message filter (and create keywords) naming a passport or a visa application (gerbang.visas)."""
    from gerbang.casework.rules import case_of as casework_case_of

    return casework_case_of(application)


def _case_ref(application: Any) -> dict[str, Any]:
    """The case in audit details: ``{"application": pk}`` or ``{"visa_application": pk}``."""
    return {name: case.pk for name, case in case_of(application).items()}


def conversation(application: Any) -> Any:
    """Every message about the case, oldest first."""
    return Message.objects.filter(**case_of(application)).order_by("sent_at", "pk")


def screen(body: str, application: Any = None) -> list[screening.Finding]:
    """Findings in ``body``; only this application's own reference and billing codes pass as numbers."""
    own: set[str] = set()
    if application is not None:
        own = {application.reference, *application.bills.values_list("billing_code", flat=True)}

    def allowed(candidate: str) -> bool:
        return references.compact(candidate) in own

    return screening.screen(body, allowed_hosts=allowed_hosts(), allowed_identifier=allowed)


def officer_may_write(application: Any, actor: Any) -> bool:
    """Officers holding a step of the case (or having held one) and the office's supervisors write to the applicant."""
    from gerbang.access.permissions import Perm, may
    from gerbang.casework.models import Assignment

    if not getattr(actor, "is_authenticated", False):
        return False
    held = Assignment.objects.filter(**case_of(application), officer=actor).exclude(ended_because="reassigned")
    if held.exists():
        return True
    return may(actor, Perm.REASSIGN_CASES, application.office)


def send_from_office(application: Any, *, actor: Any, body: str) -> Message:
    """An officer writes to the applicant. Screened first; a blocked attempt is kept and audited."""
    from django.http import Http404

    if not officer_may_write(application, actor):
        raise Http404
    body = _clean(body)
    findings = screen(body, application)
    if findings:
        categories = sorted({f.category for f in findings})
        with transaction.atomic():
            blocked = BlockedMessage.objects.create(
                **case_of(application),
                author=actor,
                body=body,
                categories=categories,
                attempted_at=timezone.now(),
            )
            record(
                "channel.message_blocked",
                actor=actor,
                obj=blocked,
                office=application.office,
                details={**_case_ref(application), "categories": categories},
            )
        raise ValidationError({"body": screening.explain(findings)})
    with transaction.atomic():
        message = Message.objects.create(
            **case_of(application), sender=Message.Sender.OFFICE, author=actor, body=body, sent_at=timezone.now()
        )
        record(
            "channel.message_sent",
            actor=actor,
            obj=message,
            office=application.office,
            details={**_case_ref(application), "sender": "office", "length": len(body)},
        )
        filer = application.filer
        with translation.override(filer.preferred_language or settings.LANGUAGE_CODE):
            subject = _("A message from the immigration office about %(reference)s") % {
                "reference": application.reference
            }
            text = _(
                "The office wrote to you about your application %(reference)s. Read it and reply in your Gerbang "
                "account; the office never contacts you by phone or chat."
            ) % {"reference": application.reference}
        passport = application if "application" in case_of(application) else None
        notifications.notify(filer, subject=subject, body=text, application=passport)
    return message


def send_from_applicant(application: Any, *, actor: Any, body: str) -> Message:
    """The applicant writes to the office about their own application."""
    from django.http import Http404

    if application.filer_id != getattr(actor, "pk", None):
        raise Http404
    if application.office_id is None or application.status in ("draft", "withdrawn"):
        raise ValidationError({"body": _("You can write to the office once your application is submitted.")})
    body = _clean(body)
    with transaction.atomic():
        message = Message.objects.create(
            **case_of(application), sender=Message.Sender.APPLICANT, author=actor, body=body, sent_at=timezone.now()
        )
        record(
            "channel.message_sent",
            actor=actor,
            obj=message,
            office=application.office,
            details={**_case_ref(application), "sender": "applicant", "length": len(body)},
        )
    return message
