"""People: applicants and staff, the roles granted to staff, and their hardware tokens."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("e-mail is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        raise NotImplementedError(
            "Gerbang has no all-powerful superuser: create staff with "
            "'manage.py create_staff' and grant roles (with a second approver)."
        )


class User(AbstractUser):
    class Kind(models.TextChoices):
        APPLICANT = "applicant", _("Applicant")
        STAFF = "staff", _("Staff")

    username = None  # type: ignore[assignment]
    first_name = None  # type: ignore[assignment]
    last_name = None  # type: ignore[assignment]
    email = models.EmailField(_("e-mail address"), unique=True)
    full_name = models.CharField(_("full name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.APPLICANT)
    email_verified_at = models.DateTimeField(_("e-mail verified at"), null=True, blank=True)
    # For SMS notifications only; never shown to officers (the official channel is Gerbang's own).
    mobile_number = models.CharField(_("mobile number for SMS"), max_length=16, blank=True)
    employee_number = models.CharField(_("employee number (NIP)"), max_length=18, blank=True)
    home_office = models.ForeignKey(
        "organisation.Office",
        verbose_name=_("home office"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="staff",
    )
    preferred_language = models.CharField(
        _("preferred language"), max_length=5, choices=settings.LANGUAGES, default="id"
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = ["full_name"]
    objects: ClassVar[UserManager] = UserManager()  # type: ignore[assignment]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="staff") | Q(home_office__isnull=True),
                name="user_applicant_no_home_office",
            ),
            models.UniqueConstraint(
                fields=["employee_number"], condition=~Q(employee_number=""), name="user_unique_employee_number"
            ),
            models.CheckConstraint(condition=~Q(is_superuser=True), name="user_no_superuser"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email

    @property
    def is_staff_member(self) -> bool:
        return self.kind == self.Kind.STAFF


class Role(models.TextChoices):
    FRONT_DESK = "front_desk", _("Front-desk officer")
    DOCUMENT_VERIFIER = "document_verifier", _("Document verifier")
    INTERVIEWER = "interviewer", _("Interviewer / biometrics officer")
    ADJUDICATOR = "adjudicator", _("Adjudicator")
    ISSUING_OFFICER = "issuing_officer", _("Issuing officer")
    LOCKER_ATTENDANT = "locker_attendant", _("Locker attendant")
    FINANCE_OFFICER = "finance_officer", _("Finance officer")
    DENY_LIST_MAINTAINER = "deny_list_maintainer", _("Deny-list maintainer")
    OFFICE_HEAD = "office_head", _("Office head")
    REGIONAL_SUPERVISOR = "regional_supervisor", _("Regional supervisor")
    DIRECTORATE_AUDITOR = "directorate_auditor", _("Directorate auditor")
    SYSTEM_ADMIN = "system_admin", _("System administrator")


class Scope(models.TextChoices):
    OFFICE = "office", _("Office")
    DIVISION = "division", _("Regional division")
    DIRECTORATE = "directorate", _("Directorate General")


# How wide a scope is; a change to a wider scope is a widening.
SCOPE_WIDTH = {Scope.OFFICE: 1, Scope.DIVISION: 2, Scope.DIRECTORATE: 3}


class GrantStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for a second approver")
    ACTIVE = "active", _("Active")
    REJECTED = "rejected", _("Rejected")
    REVOKED = "revoked", _("Revoked")


class RoleGrant(models.Model):
    """A role held by a staff member over an office, a division's subtree or the whole directorate.

    A grant starts ``pending`` and becomes ``active`` only when a second person
    approves it: never the requester, never the grantee (also a database check).
    """

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="grants")
    role = models.CharField(_("role"), max_length=30, choices=Role.choices)
    scope = models.CharField(_("scope"), max_length=12, choices=Scope.choices)
    office = models.ForeignKey(
        "organisation.Office", verbose_name=_("office"), null=True, blank=True, on_delete=models.PROTECT
    )
    division = models.ForeignKey(
        "organisation.Division", verbose_name=_("division"), null=True, blank=True, on_delete=models.PROTECT
    )
    status = models.CharField(_("status"), max_length=10, choices=GrantStatus.choices, default=GrantStatus.PENDING)
    reason = models.CharField(_("reason"), max_length=500)
    requested_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    decided_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_reason = models.CharField(_("decision reason"), max_length=500, blank=True)
    revoked_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("role grant")
        verbose_name_plural = _("role grants")
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(scope="office", office__isnull=False, division__isnull=True)
                    | Q(scope="division", office__isnull=True, division__isnull=False)
                    | Q(scope="directorate", office__isnull=True, division__isnull=True)
                ),
                name="grant_scope_matches_unit",
            ),
            models.CheckConstraint(condition=~Q(requested_by=F("user")), name="grant_not_self_requested"),
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | (~Q(decided_by=F("requested_by")) & ~Q(decided_by=F("user"))),
                name="grant_second_approver",
            ),
            models.CheckConstraint(
                condition=~Q(status="active") | Q(decided_by__isnull=False), name="grant_active_needs_approver"
            ),
            models.UniqueConstraint(
                fields=["user", "role", "scope", "office"],
                condition=Q(status__in=["pending", "active"], scope="office"),
                name="grant_unique_open_office",
            ),
            models.UniqueConstraint(
                fields=["user", "role", "scope", "division"],
                condition=Q(status__in=["pending", "active"], scope="division"),
                name="grant_unique_open_division",
            ),
            models.UniqueConstraint(
                fields=["user", "role", "scope"],
                condition=Q(status__in=["pending", "active"], scope="directorate"),
                name="grant_unique_open_directorate",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.unit_label}"

    @property
    def unit_label(self) -> str:
        if self.scope == Scope.OFFICE and self.office is not None:
            return str(self.office)
        if self.scope == Scope.DIVISION and self.division is not None:
            return str(self.division)
        return str(_("Directorate General (national)"))


class HardwareToken(models.Model):
    """A hardware one-time-password token (RFC 6238 TOTP), registered by its serial number.

    The secret lives in django-otp's TOTP device; this row ties it to the
    serial printed on the token so it can be traced, reassigned or withdrawn.
    """

    serial = models.CharField(_("serial number"), max_length=40, unique=True)
    device = models.OneToOneField("otp_totp.TOTPDevice", on_delete=models.PROTECT, related_name="hardware_token")
    registered_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    registered_at = models.DateTimeField(_("registered at"), auto_now_add=True)

    class Meta:
        verbose_name = _("hardware token")
        verbose_name_plural = _("hardware tokens")

    def __str__(self) -> str:
        return self.serial


class ApiToken(models.Model):
    """A bearer token of the mobile client: only its SHA-256 is stored; it expires and can be revoked."""

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="api_tokens")
    digest = models.CharField(_("SHA-256 of the token"), max_length=64, unique=True)
    prefix = models.CharField(_("first characters"), max_length=8)
    created_at = models.DateTimeField(_("created at"))
    expires_at = models.DateTimeField(_("expires at"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        constraints = [models.CheckConstraint(condition=Q(expires_at__gt=F("created_at")), name="token_expires_later")]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"
