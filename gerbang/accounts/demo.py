"""Demo people for `make run`: one staff member per role, each with a demo hardware token, and one applicant.

Demo tokens have seeds derived from their serials, so anyone can compute their
codes: they exist only outside production.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import zoneinfo
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import transaction
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from gerbang.organisation.models import Division, Holiday, Office

from . import actions
from .models import GrantStatus, Role, RoleGrant, Scope, User

DEMO_PASSWORD = "Gerbang-Demo-2026!"
DEMO_DOMAIN = "demo.gerbang.localhost"
DEMO_OFFICE_NAME = "Kantor Imigrasi Kelas I Khusus Non TPI Jakarta Selatan"
# Another office of the same division (DKI Jakarta): its adjudicators decide the demo office's cases remotely.
DEMO_OTHER_OFFICE_NAME = "Kantor Imigrasi Kelas I TPI Jakarta Timur"


@dataclass(frozen=True)
class DemoStaff:
    role: Role
    slug: str
    name: str
    scope: Scope
    # Office-scoped staff work at the demo office unless this names another one.
    office_name: str = DEMO_OFFICE_NAME


DEMO_STAFF = [
    DemoStaff(Role.SYSTEM_ADMIN, "admin1", "Adi Santoso", Scope.DIRECTORATE),
    DemoStaff(Role.SYSTEM_ADMIN, "admin2", "Budi Hartono", Scope.DIRECTORATE),
    DemoStaff(Role.FRONT_DESK, "loket", "Citra Lestari", Scope.OFFICE),
    DemoStaff(Role.DOCUMENT_VERIFIER, "verifikator", "Dewi Anggraini", Scope.OFFICE),
    DemoStaff(Role.INTERVIEWER, "wawancara", "Eko Prasetyo", Scope.OFFICE),
    DemoStaff(Role.ADJUDICATOR, "adjudikator", "Fitri Handayani", Scope.OFFICE),
    DemoStaff(Role.ISSUING_OFFICER, "penerbit", "Gilang Ramadhan", Scope.OFFICE),
    DemoStaff(Role.LOCKER_ATTENDANT, "loker", "Hendra Wijaya", Scope.OFFICE),
    DemoStaff(Role.FINANCE_OFFICER, "keuangan", "Indah Permata", Scope.OFFICE),
    # A second finance officer, national: approves acceptances the first proposes, and sees unknown codes.
    DemoStaff(Role.FINANCE_OFFICER, "keuangan-pusat", "Nanda Pratiwi", Scope.DIRECTORATE),
    DemoStaff(Role.DENY_LIST_MAINTAINER, "cekal", "Joko Susilo", Scope.OFFICE),
    DemoStaff(Role.OFFICE_HEAD, "kakanim", "Kartika Sari", Scope.OFFICE),
    DemoStaff(Role.REGIONAL_SUPERVISOR, "kanwil", "Lukman Hakim", Scope.DIVISION),
    DemoStaff(Role.DIRECTORATE_AUDITOR, "auditor", "Maya Kusuma", Scope.DIRECTORATE),
    # At Jakarta Timur: two adjudicators (a proposed refusal needs a second reviewer) and their office head.
    DemoStaff(Role.ADJUDICATOR, "adjudikator-jaktim", "Oki Setiawan", Scope.OFFICE, DEMO_OTHER_OFFICE_NAME),
    DemoStaff(Role.ADJUDICATOR, "adjudikator2-jaktim", "Putri Wulandari", Scope.OFFICE, DEMO_OTHER_OFFICE_NAME),
    DemoStaff(Role.OFFICE_HEAD, "kakanim-jaktim", "Rudi Hermawan", Scope.OFFICE, DEMO_OTHER_OFFICE_NAME),
]
DEMO_APPLICANT_EMAIL = f"pemohon@{DEMO_DOMAIN}"
# Gerbang ships no list of national holidays (load the decree with `manage.py load_holidays`); the demo office
# gets one holiday of its own as an example, this many days ahead.
DEMO_HOLIDAY_NAME = "Libur kantor (contoh demo)"
DEMO_HOLIDAY_DAYS_AHEAD = 30


def demo_email(slug: str) -> str:
    return f"{slug}@{DEMO_DOMAIN}"


def demo_serial(slug: str) -> str:
    return f"DEMO-{slug.upper()}"


def demo_seed(serial: str) -> bytes:
    return hashlib.sha256(f"gerbang-demo-token:{serial}".encode()).digest()[:20]


def demo_code(serial: str) -> str:
    if settings.PRODUCTION:
        raise ImproperlyConfigured("demo tokens do not exist in production")
    value = totp(demo_seed(serial), step=30, digits=6)
    return f"{value:06d}"


def _as_verified(user: User) -> User:
    """Act as an administrator past the second factor, for the demo seed only."""
    user.otp_device = TOTPDevice.objects.filter(user=user).first()  # type: ignore[attr-defined]
    user.is_verified = lambda: True  # type: ignore[attr-defined]
    return user


def seed_demo_people() -> list[str]:
    """Create what is missing; never changes what exists. Returns what it created."""
    if settings.PRODUCTION:
        raise ImproperlyConfigured("demo people are never created in production")
    created: list[str] = []
    office = Office.objects.get(name=DEMO_OFFICE_NAME)
    division = Division.objects.get(pk=office.division_id)
    offices = {o.name: o for o in Office.objects.filter(name__in={d.office_name for d in DEMO_STAFF})}
    with transaction.atomic():
        installer = actions.installer_account()
        people: dict[str, User] = {}
        for demo in DEMO_STAFF:
            user = User.objects.filter(email=demo_email(demo.slug)).first()
            if user is None:
                user = actions.create_staff(
                    actor=None,
                    email=demo_email(demo.slug),
                    full_name=demo.name,
                    home_office=None if demo.scope == Scope.DIRECTORATE else offices[demo.office_name],
                    password=DEMO_PASSWORD,
                )
                serial = demo_serial(demo.slug)
                actions.register_hardware_token(user, serial=serial, seed_hex=demo_seed(serial).hex(), actor=None)
                created.append(user.email)
            people[demo.slug] = user
        admin1, admin2 = people["admin1"], people["admin2"]
        if not RoleGrant.objects.filter(role=Role.SYSTEM_ADMIN, status=GrantStatus.ACTIVE).exists():
            actions.bootstrap_system_admins(admin1, admin2, installer=installer)
        requester, approver = _as_verified(admin1), _as_verified(admin2)
        for demo in DEMO_STAFF:
            if demo.role == Role.SYSTEM_ADMIN:
                continue
            user = people[demo.slug]
            if RoleGrant.objects.filter(user=user, role=demo.role, status=GrantStatus.ACTIVE).exists():
                continue
            grant = actions.request_grant(
                user,
                role=demo.role,
                scope=demo.scope,
                office=offices[demo.office_name] if demo.scope == Scope.OFFICE else None,
                division=division if demo.scope == Scope.DIVISION else None,
                reason="demo",
                actor=requester,
            )
            actions.decide_grant(grant, approve=True, actor=approver, reason="demo")
        if not User.objects.filter(email=DEMO_APPLICANT_EMAIL).exists():
            applicant = User.objects.create_user(
                email=DEMO_APPLICANT_EMAIL,
                password=DEMO_PASSWORD,
                full_name="Nur Aini",
                email_verified_at=timezone.now(),
            )
            created.append(applicant.email)
    return created


def seed_demo_holiday() -> Holiday | None:
    """An example holiday of the demo office, declared by its head, unless the office already has one."""
    if settings.PRODUCTION:
        raise ImproperlyConfigured("demo data is never created in production")
    from gerbang.organisation.actions import declare_holiday

    office = Office.objects.get(name=DEMO_OFFICE_NAME)
    head = User.objects.filter(email=demo_email("kakanim")).first()
    if head is None or Holiday.objects.filter(office=office).exists():
        return None
    today = timezone.now().astimezone(zoneinfo.ZoneInfo(office.timezone)).date()
    day = today + dt.timedelta(days=DEMO_HOLIDAY_DAYS_AHEAD)
    try:
        return declare_holiday(day=day, name=DEMO_HOLIDAY_NAME, office=office, actor=_as_verified(head))
    except ValidationError:  # appointments already booked that day, or a national holiday: no example then
        return None
