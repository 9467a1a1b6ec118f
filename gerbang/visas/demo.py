"""Demo foreigners and a demo sponsor (development only): their accounts and passports.

``seed_demo`` creates the accounts; ``manage.py demo_visas`` takes them through the services.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone

from gerbang.accounts.demo import DEMO_DOMAIN, DEMO_PASSWORD
from gerbang.accounts.models import User
from gerbang.core import mrz

from . import actions
from .models import Foreigner, Sponsor

SPONSOR_EMAIL = f"penjamin@{DEMO_DOMAIN}"
SPONSOR_COMPANY = "PT Demo Nusantara Teknologi"
SPONSOR_NIB = "9120001234567"
SPONSOR_NPWP = "013000666091000"


@dataclass(frozen=True)
class DemoForeigner:
    slug: str
    surname: str
    given_names: str
    nationality: str  # as in the MRZ (ICAO: Germany is "D")
    number: str
    birth_date: dt.date
    sex: str
    note: str


WORKER = DemoForeigner(
    "pekerja",
    "MUELLER",
    "ANNA MARIA",
    "D",
    "C01X00T47",
    dt.date(1988, 4, 12),
    "F",
    "sponsored worker: E23 visa, entry, ITAS, extension",
)
TOURIST = DemoForeigner(
    "turis", "TANAKA", "HIRO", "JPN", "TR2041755", dt.date(1992, 11, 3), "M", "e-VoA issued without an officer"
)
OVERSTAYER = DemoForeigner(
    "melebihi",
    "SMITH",
    "JOHN",
    "GBR",
    "533401223",
    dt.date(1979, 2, 24),
    "M",
    "stayed 6 days beyond the e-VoA: fined at exit",
)
FOREIGNERS = [WORKER, TOURIST, OVERSTAYER]


def email(demo: DemoForeigner) -> str:
    return f"{demo.slug}@{DEMO_DOMAIN}"


def passport_lines(demo: DemoForeigner) -> tuple[str, str]:
    expiry = timezone.localdate().replace(month=1, day=1) + dt.timedelta(days=365 * 6)
    return mrz.td3(
        mrz.PassportData(
            number=demo.number,
            surname=demo.surname,
            given_names=demo.given_names,
            birth_date=demo.birth_date,
            sex=demo.sex,
            expiry_date=expiry,
            nationality=demo.nationality,
            issuing_state=demo.nationality,
        )
    )


def _account(address: str, name: str) -> tuple[User, bool]:
    user = User.objects.filter(email=address).first()
    if user is not None:
        return user, False
    user = User.objects.create_user(
        email=address, password=DEMO_PASSWORD, full_name=name, email_verified_at=timezone.now()
    )
    return user, True


def seed_demo_foreigners() -> list[str]:
    """The sponsor company's account and the foreigners' own accounts (the worker's passport is the sponsor's to
    record). Creates what is missing; never changes what exists."""
    if settings.PRODUCTION:
        raise ImproperlyConfigured("demo people are never created in production")
    created: list[str] = []
    with transaction.atomic():
        sponsor_user, new = _account(SPONSOR_EMAIL, "Rina Kusumawati (HRD)")
        if new:
            created.append(SPONSOR_EMAIL)
        if not Sponsor.objects.filter(account=sponsor_user).exists():
            actions.register_sponsor(
                actor=sponsor_user,
                kind=Sponsor.Kind.COMPANY,
                name=SPONSOR_COMPANY,
                address="Jl. Jend. Sudirman Kav. 52, Jakarta Selatan",
                nib=SPONSOR_NIB,
                npwp=SPONSOR_NPWP,
            )
        for demo in (TOURIST, OVERSTAYER):
            user, new = _account(email(demo), f"{demo.given_names.title()} {demo.surname.title()}")
            if new:
                created.append(user.email)
    return created


def foreigner(demo: DemoForeigner, *, actor: User, own: bool) -> Foreigner:
    line1, line2 = passport_lines(demo)
    return actions.register_foreigner(
        actor=actor,
        line1=line1,
        line2=line2,
        surname=demo.surname.title(),
        given_names=demo.given_names.title(),
        birth_date=demo.birth_date,
        passport_number=demo.number,
        own=own,
    )
