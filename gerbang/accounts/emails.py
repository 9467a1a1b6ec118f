"""E-mail messages to account holders: address verification."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

if TYPE_CHECKING:
    from .models import User

VERIFY_SALT = "gerbang.accounts.verify-email"
VERIFY_MAX_AGE = 60 * 60 * 48


def make_verification_token(user: User) -> str:
    return signing.dumps({"u": user.pk, "e": user.email}, salt=VERIFY_SALT)


def read_verification_token(token: str) -> tuple[int, str] | None:
    try:
        data = signing.loads(token, salt=VERIFY_SALT, max_age=VERIFY_MAX_AGE)
    except signing.BadSignature:
        return None
    return int(data["u"]), str(data["e"])


def send_verification_email(user: User) -> None:
    base = settings.GERBANG_PUBLIC_URL
    link = base.rstrip("/") + reverse("accounts:verify_email", args=[make_verification_token(user)])
    with translation.override(user.preferred_language):
        subject = translation.gettext("Confirm your e-mail address for Gerbang")
        body = render_to_string("accounts/email/verify.txt", {"user": user, "link": link})
    send_mail(subject, body, None, [user.email])
