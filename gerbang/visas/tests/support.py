"""The foreigners' stage: the catalogue, a division with two offices and officers on duty, sponsors, passports."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path
from typing import Any

from django.conf import settings
from django.test import Client
from django.utils import timezone, translation

from gerbang.accounts.models import User
from gerbang.applications.tests.samples import jpeg_bytes
from gerbang.conftest import build_user
from gerbang.core import mrz
from gerbang.payments.tests.support import make_bank, notification, send
from gerbang.tariffs.actions import load_tariffs
from gerbang.visas import actions
from gerbang.visas.catalogue import load_catalogue
from gerbang.visas.models import Foreigner, Sponsor, VisaApplication, VisaKind

_numbers = itertools.count(1000001)


def load_data() -> None:
    base = Path(settings.BASE_DIR) / "data"
    load_tariffs(base / "tariffs.csv")
    load_catalogue(base / "visa_kinds.csv")


def passport_lines(
    *,
    number: str | None = None,
    surname: str = "MUELLER",
    given_names: str = "ANNA MARIA",
    nationality: str = "D",
    birth_date: dt.date = dt.date(1988, 4, 12),
    sex: str = "F",
    expiry: dt.date | None = None,
) -> tuple[str, str, str]:
    """A foreign passport's TD3 MRZ lines and its number."""
    number = number or f"C{next(_numbers)}"
    expiry = expiry or timezone.localdate() + dt.timedelta(days=365 * 5)
    data = mrz.PassportData(
        number=number,
        surname=surname,
        given_names=given_names,
        birth_date=birth_date,
        sex=sex,
        expiry_date=expiry,
        nationality=nationality,
        issuing_state=nationality,
    )
    line1, line2 = mrz.td3(data)
    return line1, line2, number


def foreigner(actor: User, *, own: bool = False, **passport: Any) -> Foreigner:
    birth_date = passport.get("birth_date", dt.date(1988, 4, 12))
    surname = passport.get("surname", "MUELLER")
    given = passport.get("given_names", "ANNA MARIA")
    line1, line2, number = passport_lines(**passport)
    return actions.register_foreigner(
        actor=actor,
        line1=line1,
        line2=line2,
        surname=surname.title(),
        given_names=given.title(),
        birth_date=birth_date,
        passport_number=number,
        own=own,
    )


def company_sponsor() -> Sponsor:
    user = build_user(full_name="HRD PT Nusantara Teknologi")
    n = next(_numbers)
    return actions.register_sponsor(
        actor=user,
        kind=Sponsor.Kind.COMPANY,
        name="PT Nusantara Teknologi",
        address="Jl. Sudirman 1, Jakarta",
        nib=f"912{n:010d}"[:13],
        npwp="013000666091000",
    )


def sponsored(sponsor: Sponsor, **passport: Any) -> Foreigner:
    person = foreigner(sponsor.account, **passport)
    actions.sponsor_foreigner(actor=sponsor.account, foreigner=person, relationship="employer")
    return person


def document() -> bytes:
    return jpeg_bytes(400, 300)


def filed(
    filer: User, person: Foreigner, kind_code: str, office: Any, *, submit: bool = True, **follow: Any
) -> VisaApplication:
    kind = VisaKind.objects.get(code=kind_code)
    application = actions.start_application(
        actor=filer,
        foreigner=person,
        kind=None if follow else kind,
        office=office,
        intended_arrival=None if follow else timezone.localdate() + dt.timedelta(days=14),
        statement="Software engineer for the Jakarta office",
        **follow,
    )
    for doc in application.kind.required_documents:
        actions.upload_document(application, actor=filer, kind=doc, stream=document())
    if submit:
        actions.submit(application, actor=filer, declaration=True)
    application.refresh_from_db()
    return application


def pay(application_or_bill: Any, tmp_path: Path, **changes: Any) -> Any:
    """Pay the open bill through the bank's signed notification (a card payment by default)."""
    bill = (
        application_or_bill.bills.get(status="issued")
        if isinstance(application_or_bill, VisaApplication)
        else application_or_bill
    )
    settings.BANK_SECRETS_DIR = tmp_path / "banks"
    bank, secret = make_bank(settings.BANK_SECRETS_DIR, code=f"bank-v{bill.pk}")
    body = notification(bill, bank, channel="card", terminal_id="CARD-GW-01", **changes)
    # The request leaves its own language active in this thread: keep the test's (English) afterwards.
    with translation.override(translation.get_language()):
        assert send(Client(), bank, secret, body).json() == {"status": "credited"}
    if isinstance(application_or_bill, VisaApplication):
        application_or_bill.refresh_from_db()
    return application_or_bill
