"""The only code that changes accounts, role grants and tokens. Each action writes its audit event."""

from __future__ import annotations

import binascii
import hashlib
import secrets
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from gerbang.access.permissions import Perm, require
from gerbang.audit.actions import record

from .models import ApiToken, GrantStatus, HardwareToken, Role, RoleGrant, Scope, User

if TYPE_CHECKING:
    from gerbang.organisation.models import Division, Office


def verify_email(user: User) -> User:
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if locked.email_verified_at is None:
            locked.email_verified_at = timezone.now()
            locked.save(update_fields=["email_verified_at"])
            record("accounts.email_verified", actor=locked, obj=locked)
    return locked


def issue_api_token(user: User) -> tuple[str, ApiToken]:
    """A new bearer token for the mobile client; the token itself is returned once and never stored."""
    raw = secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            digest=hashlib.sha256(raw.encode()).hexdigest(),
            prefix=raw[:8],
            created_at=now,
            expires_at=now + settings.API_TOKEN_LIFETIME,
        )
        record("accounts.api_token_issued", actor=user, obj=user, details={"api_token_id": token.pk})
    return raw, token


def token_user(raw: str) -> User | None:
    """The active user of an unexpired, unrevoked bearer token."""
    if not raw or len(raw) > 100:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=hashlib.sha256(raw.encode()).hexdigest(), revoked_at__isnull=True, expires_at__gt=timezone.now())
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    token.user._api_token = token  # type: ignore[attr-defined]
    return token.user


def revoke_api_token(token: ApiToken, *, actor: User) -> None:
    with transaction.atomic():
        updated = ApiToken.objects.filter(pk=token.pk, user=actor, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        if updated:
            record("accounts.api_token_revoked", actor=actor, obj=actor, details={"api_token_id": token.pk})


def record_sign_in(user: User, *, step: str) -> None:
    """Audit a successful sign-in step ('password', 'totp' or 'webauthn')."""
    with transaction.atomic():
        record("accounts.signed_in", actor=user, obj=user, office=user.home_office, details={"step": step})


def create_staff(
    *,
    actor: User | None,
    email: str,
    full_name: str,
    home_office: Office | None,
    password: str,
    employee_number: str = "",
) -> User:
    """Create a staff account. It holds no role until a grant is approved by a second person."""
    if actor is not None:
        require(actor, Perm.MANAGE_ACCOUNTS, home_office)
    email = email.strip().lower()
    candidate = User(email=email, full_name=full_name, kind=User.Kind.STAFF)
    validate_password(password, candidate)
    with transaction.atomic():
        if User.objects.filter(email__iexact=email).exists():
            raise ValidationError({"email": _("An account with this e-mail address already exists.")})
        if employee_number and User.objects.filter(employee_number=employee_number).exists():
            raise ValidationError({"employee_number": _("This employee number is already registered.")})
        user = User.objects.create_user(
            email=email,
            password=password,
            full_name=full_name,
            kind=User.Kind.STAFF,
            home_office=home_office,
            employee_number=employee_number,
            email_verified_at=timezone.now(),
        )
        record("accounts.staff_created", actor=actor, obj=user, office=home_office)
    return user


def set_account_active(user: User, *, active: bool, actor: User, reason: str) -> User:
    """Suspend or reactivate a staff account."""
    require(actor, Perm.MANAGE_ACCOUNTS, user.home_office)
    if user.pk == actor.pk:
        raise ValidationError(_("You cannot suspend or reactivate your own account."))
    if not reason.strip():
        raise ValidationError({"reason": _("Give a reason.")})
    with transaction.atomic():
        user.is_active = active
        user.save(update_fields=["is_active"])
        record(
            "accounts.reactivated" if active else "accounts.suspended",
            actor=actor,
            obj=user,
            office=user.home_office,
            details={"reason": reason.strip()},
        )
    return user


def register_hardware_token(user: User, *, serial: str, seed_hex: str, actor: User | None) -> HardwareToken:
    """Register a hardware TOTP token (RFC 6238, 6 digits, 30 s) by its serial and the vendor's seed."""
    if actor is not None:
        require(actor, Perm.MANAGE_ACCOUNTS, user.home_office)
    serial = serial.strip().upper()
    if not user.is_staff_member:
        raise ValidationError(_("Hardware tokens are issued to staff only."))
    try:
        seed = binascii.unhexlify(seed_hex.strip())
    except (binascii.Error, ValueError) as exc:
        raise ValidationError({"seed_hex": _("The seed must be hexadecimal.")}) from exc
    if len(seed) < 16:
        raise ValidationError({"seed_hex": _("The seed must be at least 16 bytes (32 hexadecimal digits).")})
    with transaction.atomic():
        if HardwareToken.objects.filter(serial=serial).exists():
            raise ValidationError({"serial": _("A token with this serial number is already registered.")})
        device = TOTPDevice.objects.create(
            user=user, name=serial, key=seed.hex(), step=30, digits=6, tolerance=1, confirmed=True
        )
        token = HardwareToken.objects.create(serial=serial, device=device, registered_by=actor or user)
        record("accounts.token_registered", actor=actor, obj=token, office=user.home_office, details={"serial": serial})
    return token


def _unit_for(scope: str, office: Office | None, division: Division | None) -> Office | Division | None:
    if scope == Scope.OFFICE:
        if office is None:
            raise ValidationError({"office": _("Choose the office.")})
        return office
    if scope == Scope.DIVISION:
        if division is None:
            raise ValidationError({"division": _("Choose the regional division.")})
        return division
    return None


def request_grant(
    user: User,
    *,
    role: str,
    scope: str,
    office: Office | None = None,
    division: Division | None = None,
    reason: str,
    actor: User,
) -> RoleGrant:
    """Ask for a role to be granted (or widened). It takes effect only when a second person approves."""
    unit = _unit_for(scope, office, division)
    require(actor, Perm.REQUEST_GRANT, unit)
    if role not in Role.values:
        raise ValidationError({"role": _("Unknown role.")})
    if not user.is_staff_member:
        raise ValidationError(_("Roles are granted to staff accounts only."))
    if user.pk == actor.pk:
        raise ValidationError(_("You cannot request a role for yourself."))
    if not reason.strip():
        raise ValidationError({"reason": _("Give a reason.")})
    with transaction.atomic():
        try:
            with transaction.atomic():
                grant = RoleGrant.objects.create(
                    user=user,
                    role=role,
                    scope=scope,
                    office=office if scope == Scope.OFFICE else None,
                    division=division if scope == Scope.DIVISION else None,
                    reason=reason.strip(),
                    requested_by=actor,
                )
        except IntegrityError as exc:
            raise ValidationError(_("This person already holds or awaits this role here.")) from exc
        widening = (
            RoleGrant.objects.filter(user=user, role=role, status=GrantStatus.ACTIVE).exclude(pk=grant.pk).exists()
        )
        record(
            "accounts.grant_requested",
            actor=actor,
            obj=grant,
            office=grant.office,
            details={"user": user.pk, "role": role, "scope": scope, "widening": widening},
        )
    return grant


def _grant_unit(grant: RoleGrant) -> Office | Division | None:
    return grant.office if grant.scope == Scope.OFFICE else grant.division if grant.scope == Scope.DIVISION else None


def decide_grant(grant: RoleGrant, *, approve: bool, actor: User, reason: str = "") -> RoleGrant:
    """The second person approves or rejects a pending grant."""
    require(actor, Perm.APPROVE_GRANT, _grant_unit(grant))
    if actor.pk in (grant.requested_by_id, grant.user_id):
        raise ValidationError(_("A grant must be decided by someone other than the requester and the grantee."))
    if not approve and not reason.strip():
        raise ValidationError({"reason": _("Give a reason for the rejection.")})
    with transaction.atomic():
        locked = RoleGrant.objects.select_for_update().get(pk=grant.pk)
        if locked.status != GrantStatus.PENDING:
            raise ValidationError(_("This grant has already been decided."))
        locked.status = GrantStatus.ACTIVE if approve else GrantStatus.REJECTED
        locked.decided_by = actor
        locked.decided_at = timezone.now()
        locked.decision_reason = reason.strip()
        locked.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
        record(
            "accounts.grant_approved" if approve else "accounts.grant_rejected",
            actor=actor,
            obj=locked,
            office=locked.office,
            details={"user": locked.user_id, "role": locked.role, "scope": locked.scope},
        )
    return locked


def revoke_grant(grant: RoleGrant, *, actor: User, reason: str) -> RoleGrant:
    """Narrowing needs no second approver: one administrator may revoke a grant."""
    require(actor, Perm.REQUEST_GRANT, _grant_unit(grant))
    if not reason.strip():
        raise ValidationError({"reason": _("Give a reason.")})
    with transaction.atomic():
        locked = RoleGrant.objects.select_for_update().get(pk=grant.pk)
        if locked.status not in (GrantStatus.ACTIVE, GrantStatus.PENDING):
            raise ValidationError(_("This grant is no longer in force."))
        locked.status = GrantStatus.REVOKED
        locked.revoked_by = actor
        locked.revoked_at = timezone.now()
        locked.decision_reason = reason.strip()
        locked.save(update_fields=["status", "revoked_by", "revoked_at", "decision_reason"])
        record("accounts.grant_revoked", actor=actor, obj=locked, office=locked.office, details={"reason": reason})
    return locked


INSTALLER_EMAIL = "installer@gerbang.invalid"


def installer_account() -> User:
    """The inactive account that stands as requester of the first two administrators' grants."""
    installer = User.objects.filter(email=INSTALLER_EMAIL).first()
    if installer is None:
        installer = User.objects.create_user(
            email=INSTALLER_EMAIL, password=None, full_name="Gerbang installer", kind=User.Kind.STAFF
        )
        installer.is_active = False
        installer.save(update_fields=["is_active"])
    return installer


def bootstrap_system_admins(first: User, second: User, *, installer: User) -> list[RoleGrant]:
    """Install the first two system administrators, each approved by the other.

    Refused once any system administrator exists: from then on every grant goes
    through ``request_grant`` and ``decide_grant``.
    """
    if first.pk == second.pk:
        raise ValidationError(_("Two different people are needed."))
    with transaction.atomic():
        if RoleGrant.objects.filter(role=Role.SYSTEM_ADMIN, status=GrantStatus.ACTIVE).exists():
            raise ValidationError(_("System administrators already exist; use the grant workflow."))
        grants = []
        for grantee, approver in ((first, second), (second, first)):
            grant = RoleGrant.objects.create(
                user=grantee,
                role=Role.SYSTEM_ADMIN,
                scope=Scope.DIRECTORATE,
                reason="bootstrap",
                requested_by=installer,
                status=GrantStatus.ACTIVE,
                decided_by=approver,
                decided_at=timezone.now(),
            )
            record("accounts.bootstrap_admin", actor=installer, obj=grant, details={"user": grantee.pk})
            grants.append(grant)
    return grants


def reset_password(user: User, *, new_password: str) -> User:
    """An applicant sets a new password through the e-mailed reset link (the link proves the address)."""
    validate_password(new_password, user)
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        record("accounts.password_reset", actor=user, obj=user)
    return user


def normalise_mobile_number(value: str) -> str:
    """An Indonesian mobile number as typed (08…, 628…, +62 8…, with spaces, dots or dashes) in E.164 (+628…);
    an empty value clears it. ValidationError for anything else."""
    raw = "".join(ch for ch in value if ch not in " .-()")
    if not raw:
        return ""
    digits = raw[1:] if raw.startswith("+") else raw
    if not digits.isdigit():
        raise ValidationError({"mobile_number": _("Type the number with digits only, e.g. 0812 3456 7890.")})
    if digits.startswith("0"):
        digits = "62" + digits[1:]
    if not (digits.startswith("628") and 11 <= len(digits) <= 15):
        raise ValidationError(
            {"mobile_number": _("Type an Indonesian mobile number (it starts with 08 or +62 8), e.g. 0812 3456 7890.")}
        )
    return "+" + digits


def set_mobile_number(user: User, *, number: str, actor: User) -> User:
    """The applicant gives (or removes) the number that receives SMS notifications. Never shown to officers."""
    if actor.pk != user.pk:
        raise ValidationError({"mobile_number": _("Only the account's owner changes its number.")})
    normalised = normalise_mobile_number(number)
    with transaction.atomic():
        user.mobile_number = normalised
        user.save(update_fields=["mobile_number"])
        # The number itself stays out of the log: whether there is one is what matters.
        record("accounts.mobile_number_set", actor=actor, obj=user, details={"has_number": bool(normalised)})
    return user
