"""Actions around security keys (WebAuthn credentials, created by django-otp-webauthn). Each writes its audit event."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction

from gerbang.audit.actions import record

if TYPE_CHECKING:
    from django_otp_webauthn.models import WebAuthnCredential

    from .models import User


def record_security_key_registered(user: User, credential: WebAuthnCredential) -> None:
    """Audit a security key that ``user`` registered for their own account.

    Call it in the transaction that saved the credential (see
    ``security_keys.StaffWebAuthnHelper``), so the key and its event commit or roll back together.
    """
    with transaction.atomic():
        record(
            "accounts.security_key_registered",
            actor=user,
            obj=credential,
            office=user.home_office,
            details={"aaguid": credential.aaguid, "discoverable": credential.discoverable},
        )
