"""What Gerbang decides by itself about foreigners: eligibility, the automatic checks, stays from border events.

Nothing here writes; actions call it. Stays are computed from :class:`BorderMovement` rows (what border control
reported), never from what an applicant typed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from gerbang.tariffs.selectors import tariff_in_force

from .models import BorderMovement, DenyListEntry, Foreigner, Permit, Purpose, VisaApplication, VisaKind


def add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)  # pragma: no cover


def denied(foreigner: Foreigner) -> DenyListEntry | None:
    """An active deny-list entry naming this passport, or this nationality, surname and birth date."""
    return (
        DenyListEntry.objects.filter(removed_at__isnull=True, nationality=foreigner.nationality)
        .filter(
            Q(passport_number=foreigner.passport_number)
            | Q(surname__iexact=foreigner.surname, birth_date=foreigner.birth_date)
        )
        .first()
    )


def passport_months(kind: VisaKind) -> int:
    return int((kind.eligibility or {}).get("passport_months", 6))


def automatic_checks(application: VisaApplication) -> dict[str, Any]:
    """The checks run when the fee is paid. ``clear``: every one passed (an automatic kind is then issued)."""
    foreigner = application.foreigner
    kind = application.kind
    start = max(application.intended_arrival or timezone.localdate(), timezone.localdate())
    failed: list[str] = []
    if foreigner.passport_expiry < add_months(start, passport_months(kind)):
        failed.append("passport_validity")
    if denied(foreigner) is not None:
        failed.append("deny_list")
    allowed = (kind.eligibility or {}).get("nationalities") or []
    if allowed and foreigner.nationality not in allowed:
        failed.append("nationality")
    if kind.sponsor_required and application.sponsor_id is None:
        failed.append("sponsor")
    current = set(application.documents.filter(superseded_at__isnull=True).values_list("kind", flat=True))
    if set(kind.required_documents) - current:
        failed.append("documents")
    return {"clear": not failed, "failed": failed, "at": timezone.now().isoformat()}


# --- Stays from border events ----------------------------------------------------------------------------------


def last_movement(foreigner: Foreigner) -> BorderMovement | None:
    return BorderMovement.objects.filter(foreigner=foreigner).order_by("-at", "-pk").first()


def open_entry(foreigner: Foreigner) -> BorderMovement | None:
    """The entry of the stay the foreigner is in now (their last movement, if it is an entry)."""
    last = last_movement(foreigner)
    return last if last is not None and last.direction == BorderMovement.Direction.ENTRY else None


def local_day(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment).date()


def stay_allowed_until(entry: BorderMovement) -> dt.date | None:
    """The last day this stay is allowed: the entry permit's stay, or the latest stay permit issued during it."""
    if entry.foreigner_id is None:
        return None
    ends: list[dt.date] = []
    permit = entry.permit
    if permit is not None:
        if permit.kind.category == VisaKind.Category.VISA:
            ends.append(local_day(entry.at) + dt.timedelta(days=permit.stay_days - 1))
        else:
            ends.append(permit.valid_until)
    later = BorderMovement.objects.filter(foreigner=entry.foreigner_id, at__gt=entry.at).order_by("at").first()
    during = Permit.objects.filter(
        foreigner=entry.foreigner_id,
        kind__category=VisaKind.Category.STAY_PERMIT,
        issued_at__gte=entry.at,
        status__in=[Permit.Status.VALID, Permit.Status.SUPERSEDED],
    )
    if later is not None:
        during = during.filter(issued_at__lt=later.at)
    ends.extend(during.values_list("valid_until", flat=True))
    return max(ends) if ends else None


def overstay_days(entry: BorderMovement, on: dt.date) -> int:
    allowed = stay_allowed_until(entry)
    if allowed is None:
        return 0
    return max(0, (on - allowed).days)


def overstay_amount(days: int, on: dt.date) -> tuple[int, Any]:
    tariff = tariff_in_force(settings.GERBANG_OVERSTAY_SERVICE, on)
    if tariff is None:
        raise RuntimeError(f"no tariff {settings.GERBANG_OVERSTAY_SERVICE!r} in force on {on}")
    return days * tariff.amount, tariff


def entry_permit(foreigner: Foreigner, at: dt.datetime) -> Permit | None:
    """The permit a foreigner enters on: a valid stay permit (re-entry), else a visa still valid for entry."""
    day = local_day(at)
    stay = (
        Permit.objects.filter(
            foreigner=foreigner,
            status=Permit.Status.VALID,
            kind__category=VisaKind.Category.STAY_PERMIT,
            valid_from__lte=day,
            valid_until__gte=day,
        )
        .order_by("-valid_until")
        .first()
    )
    if stay is not None:
        return stay
    return (
        Permit.objects.filter(
            foreigner=foreigner,
            status=Permit.Status.VALID,
            kind__category=VisaKind.Category.VISA,
            valid_from__lte=day,
            enter_by__gte=day,
        )
        .order_by("issued_at")
        .first()
    )


# --- Follow-ups: registration, extension, change of status ---------------------------------------------------


def root_permit(permit: Permit) -> Permit:
    seen = 0
    while permit.previous_id is not None and seen < 50:
        permit = permit.previous  # type: ignore[assignment]
        seen += 1
    return permit


@dataclass(frozen=True)
class Basis:
    """What a follow-up application rests on: the entry (a registration) or the permit (extension, change)."""

    kind: VisaKind
    permit: Permit | None = None
    entry: BorderMovement | None = None


def registration_basis(foreigner: Foreigner, today: dt.date | None = None) -> Basis | str:
    """An ITAS registration: an entry on a visa leading to one, within the registration period. Or why not."""
    today = today or timezone.localdate()
    entry = open_entry(foreigner)
    if entry is None or entry.permit is None:
        return "no_entry"
    if entry.permit.kind.leads_to != "itas":
        return "not_a_limited_stay_visa"
    if (today - local_day(entry.at)).days > settings.GERBANG_ITAS_REGISTRATION_DAYS:
        return "registration_period_over"
    if Permit.objects.filter(foreigner=foreigner, kind__code="itas", issued_at__gte=entry.at).exists():
        return "already_registered"
    return Basis(kind=VisaKind.objects.get(code="itas"), entry=entry)


def extension_basis(permit: Permit, today: dt.date | None = None) -> Basis | str:
    """An extension of a stay permit (ITAS) or of a visit stay (ITK), filed before it ends. Or why not."""
    today = today or timezone.localdate()
    entry = open_entry(permit.foreigner)
    if entry is None:
        return "not_in_country"
    allowed = stay_allowed_until(entry)
    if allowed is None or today > allowed:
        return "stay_already_ended"
    if permit.status not in (Permit.Status.VALID, Permit.Status.USED):
        return "permit_not_current"
    if Permit.objects.filter(previous=permit).exclude(status=Permit.Status.REVOKED).exists():
        return "already_extended"
    root = root_permit(permit)
    if permit.kind.code == "itas":
        kind = permit.kind
        if permit.extensions_used >= kind.extensions:
            return "no_extensions_left"
        return Basis(kind=kind, permit=permit)
    if root.kind.leads_to == "itk":
        if permit.extensions_used >= root.kind.extensions:
            return "no_extensions_left"
        return Basis(kind=VisaKind.objects.get(code="itk"), permit=permit)
    return "not_extendable"


def change_basis(permit: Permit, today: dt.date | None = None) -> Basis | str:
    """ITAS -> ITAP: a valid ITAS held for the catalogue's minimum stay. Or why not."""
    today = today or timezone.localdate()
    itap = VisaKind.objects.get(code="itap")
    if permit.kind.code not in (itap.eligibility or {}).get("from_kinds", ["itas"]) or permit.status != "valid":
        return "not_an_itas"
    held = (today - root_itas(permit).valid_from).days
    if held < int((itap.eligibility or {}).get("min_stay_days", 0)):
        return "stay_too_short"
    return Basis(kind=itap, permit=permit)


def root_itas(permit: Permit) -> Permit:
    first = permit
    while first.previous_id is not None and first.previous.kind.code == "itas":  # type: ignore[union-attr]
        first = first.previous  # type: ignore[assignment]
    return first


def purpose_of(basis: Basis) -> str:
    if basis.entry is not None:
        return Purpose.REGISTRATION
    assert basis.permit is not None
    return Purpose.CHANGE if basis.kind.code == "itap" else Purpose.EXTENSION
