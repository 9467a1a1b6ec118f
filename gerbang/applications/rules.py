"""What an application needs: documents by kind, answers by kind, the fee from the tariff in force."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

from gerbang.tariffs.selectors import tariff_in_force

from .models import DocumentKind, Kind, PassportApplication, Product

ADULT_AGE = 17
PASSPORT_NUMBER = re.compile(r"^[A-Z]{1,2}[0-9]{6,7}$")

DOCUMENTS_BY_KIND: dict[str, list[str]] = {
    Kind.FIRST: [DocumentKind.KTP, DocumentKind.KK, DocumentKind.CIVIL_RECORD],
    Kind.RENEWAL: [DocumentKind.KTP, DocumentKind.OLD_PASSPORT],
    Kind.LOST: [DocumentKind.KTP, DocumentKind.KK, DocumentKind.CIVIL_RECORD, DocumentKind.POLICE_REPORT],
    Kind.DAMAGED: [DocumentKind.KTP, DocumentKind.KK, DocumentKind.CIVIL_RECORD, DocumentKind.OLD_PASSPORT],
}
# A minor has no ID card of their own: the family card and birth certificate always, a parent's KTP.
MINOR_DOCUMENTS = [DocumentKind.KK, DocumentKind.CIVIL_RECORD]
SURCHARGE_BY_KIND: dict[str, str] = {Kind.LOST: "passport-replace-lost", Kind.DAMAGED: "passport-replace-damaged"}


def age_on(birth_date: dt.date, day: dt.date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def is_minor(birth_date: dt.date, day: dt.date | None = None) -> bool:
    return age_on(birth_date, day or timezone.localdate()) < ADULT_AGE


def required_documents(application: PassportApplication) -> list[str]:
    kinds = list(DOCUMENTS_BY_KIND.get(application.kind, []))
    if application.applicant_minor:
        kinds += [k for k in MINOR_DOCUMENTS if k not in kinds]
    for extra in application.requested_documents or []:
        if extra not in kinds and extra in DocumentKind.values:
            kinds.append(extra)
    order = list(DocumentKind.values)
    return sorted(kinds, key=order.index)


def missing_answers(application: PassportApplication) -> dict[str, str]:
    """Field -> message for every answer still missing or inconsistent (empty when complete)."""
    missing: dict[str, str] = {}
    if not application.product:
        missing["product"] = _("Choose an ordinary or an electronic passport.")
    if application.validity_years not in (5, 10):
        missing["validity_years"] = _("Choose 5 or 10 years.")
    elif application.validity_years == 10 and application.applicant_minor:
        missing["validity_years"] = _("A 10-year passport is only for adults; choose 5 years.")
    if application.office_id is None:
        missing["office"] = _("Choose the office where you will come for photo and interview.")
    if application.kind == Kind.RENEWAL and not application.renewal_reason:
        missing["renewal_reason"] = _("Say why the passport is renewed.")
    if application.kind in (Kind.RENEWAL, Kind.DAMAGED) and not application.old_passport_number:
        missing["old_passport_number"] = _("Enter the number of the old passport.")
    if application.kind == Kind.LOST:
        if not application.police_report_number:
            missing["police_report_number"] = _("Enter the number of the police report.")
        if application.police_report_date is None:
            missing["police_report_date"] = _("Enter the date of the police report.")
    return missing


def missing_documents(application: PassportApplication) -> list[str]:
    present = set(application.documents.filter(superseded_at__isnull=True).values_list("kind", flat=True))
    return [kind for kind in required_documents(application) if kind not in present]


@dataclass(frozen=True)
class FeeItem:
    service: str
    name: str
    amount: int
    legal_basis: str


@dataclass(frozen=True)
class Fee:
    items: list[FeeItem]
    on: dt.date

    @property
    def total(self) -> int:
        return sum(item.amount for item in self.items)

    def as_json(self) -> dict[str, object]:
        return {
            "on": self.on.isoformat(),
            "total": self.total,
            "items": [
                {"service": i.service, "name": i.name, "amount": i.amount, "legal_basis": i.legal_basis}
                for i in self.items
            ],
        }


def fee_services(application: PassportApplication) -> list[str]:
    """The tariff services this application is charged: the passport, then surcharges."""
    if not application.product or application.validity_years not in (5, 10):
        return []
    product = "electronic" if application.product == Product.ELECTRONIC else "regular"
    services = [f"passport-{product}-{application.validity_years}y"]
    if application.kind in SURCHARGE_BY_KIND:
        services.append(SURCHARGE_BY_KIND[application.kind])
    if application.express:
        services.append("passport-express")
    return services


def fee(application: PassportApplication, on: dt.date | None = None) -> Fee | None:
    """The itemised fee from the tariffs in force on ``on``; ``None`` when a tariff is missing."""
    on = on or timezone.localdate()
    items = []
    for code in fee_services(application):
        tariff = tariff_in_force(code, on)
        if tariff is None:
            return None
        items.append(FeeItem(code, tariff.service.name, tariff.amount, tariff.legal_basis))
    return Fee(items, on) if items else None
