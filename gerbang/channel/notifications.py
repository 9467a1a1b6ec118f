"""Notifications to applicants: written with their cause, sent by a task after commit, each with a check code.

The code lets the applicant ask their account "is this message really from the
office?" (``/akun/cek-pesan/``): fake WhatsApp numbers and fake websites posing as
the office cannot produce one.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from gerbang.applications.models import PassportApplication, Status, Step

from . import sms
from .models import Notification

# No confusable characters (0/O, 1/I).
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

# Status changes the applicant is told about (the rest show on the status page only).
TOLD: frozenset[str] = frozenset(
    {
        Status.DOCUMENTS_REQUESTED,
        Status.VERIFIED,
        Status.INTERVIEWED,
        Status.REFUSED,
        Status.APPROVED,
        Status.PRINTED,
        Status.POSTED,
        Status.HANDED_OVER,
        Status.APPEALED,
    }
)


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))


def notify(recipient: Any, *, subject: str, body: str, application: PassportApplication | None = None) -> list[int]:
    """Inside the caller's transaction: an e-mail (and an SMS if the applicant gave a number), sent after commit."""
    created: list[Notification] = []
    now = timezone.now()
    channels = [Notification.Channel.EMAIL] if recipient.email else []
    if getattr(recipient, "mobile_number", ""):
        channels.append(Notification.Channel.SMS)
    for channel in channels:
        for _attempt in range(5):
            code = new_code()
            if not Notification.objects.filter(code=code).exists():
                break
        created.append(
            Notification.objects.create(
                recipient=recipient,
                application=application,
                channel=channel,
                code=code,
                subject=subject[:200],
                body=body[:2000],
                created_at=now,
            )
        )
    ids = [n.pk for n in created]
    if ids:
        transaction.on_commit(lambda: _enqueue(ids))
    return ids


def _enqueue(ids: list[int]) -> None:
    from django_q.tasks import async_task

    for pk in ids:
        async_task("gerbang.channel.tasks.send_notification", pk, task_name=f"notification-{pk}")


def notify_step(application: PassportApplication, step: Step) -> None:
    """Called by the workflow's one reaction to a status change (gerbang.casework.flow)."""
    if step.to_status not in TOLD or step.from_status == step.to_status:
        return
    filer = application.filer
    with translation.override(filer.preferred_language or settings.LANGUAGE_CODE):
        subject = _("Your passport application %(reference)s: %(status)s") % {
            "reference": application.reference,
            "status": application.get_status_display(),
        }
        body = _(
            "The status of your application %(reference)s is now: %(status)s.\n"
            "See the details and any message from the office in your Gerbang account: %(url)s\n"
            "Gerbang never asks for money outside a bank, and officers never contact you by phone or chat."
        ) % {
            "reference": application.reference,
            "status": application.get_status_display(),
            "url": settings.GERBANG_PUBLIC_URL.rstrip("/")
            + reverse("applications:detail", kwargs={"public_id": application.public_id}),
        }
    notify(filer, subject=subject, body=body, application=application)


def _text(notification: Notification) -> str:
    return _("%(body)s\nCheck code: %(code)s (check it in your Gerbang account).") % {
        "body": notification.body,
        "code": notification.code,
    }


def send(notification_id: int) -> bool:
    """Send one notification if not sent yet (idempotent: the row is locked and marked sent in one transaction)."""
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("recipient")
            .filter(pk=notification_id, sent_at__isnull=True)
            .first()
        )
        if notification is None:
            return False
        recipient = notification.recipient
        with translation.override(recipient.preferred_language or settings.LANGUAGE_CODE):
            text = _text(notification)
        try:
            if notification.channel == Notification.Channel.EMAIL:
                send_mail(notification.subject, text, None, [recipient.email])
            else:
                sms.backend().send(recipient.mobile_number, f"{notification.subject}\n{text}")
        except Exception as exc:
            notification.attempts += 1
            notification.last_error = f"{type(exc).__name__}: {exc}"[:300]
            notification.save(update_fields=["attempts", "last_error"])
            return False
        notification.attempts += 1
        notification.sent_at = timezone.now()
        notification.save(update_fields=["attempts", "sent_at"])
    return True


def send_pending(limit: int = 200) -> int:
    """Send what is still unsent (the ``send-notifications`` schedule: retries after a gateway failure)."""
    ids = list(
        Notification.objects.filter(sent_at__isnull=True, attempts__lt=settings.GERBANG_NOTIFICATION_MAX_ATTEMPTS)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(1 for pk in ids if send(pk))


def check_code(user: Any, code: str) -> Notification | None:
    """The notification with ``code`` sent to ``user``, or None: the answer to "is this really from the office?"."""
    code = "".join(code.split()).upper()
    if len(code) != 8:
        return None
    return Notification.objects.filter(recipient=user, code=code).select_related("application").first()
