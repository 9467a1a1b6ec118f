"""The only code that changes the organisation (offices, counters, holidays). Each action writes its audit event."""

from __future__ import annotations

import csv
import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gerbang.access.permissions import Perm, require
from gerbang.audit.actions import record

from .models import Counter, Directorate, Division, Holiday, Office, OfficeClass, ServiceUnit, validate_timezone

if TYPE_CHECKING:
    from gerbang.accounts.models import User

DIRECTORATE_CODE = "DITJENIM"
DIRECTORATE_NAME = "Direktorat Jenderal Imigrasi"
OFFICE_CSV_COLUMNS = ("name", "office_class", "city", "province", "province_code", "timezone", "source")


def office_code(name: str) -> str:
    """A stable slug for an office, e.g. 'kanim-i-tpi-surabaya'."""
    base = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    base = base.replace("kantor imigrasi kelas", "kanim")
    return re.sub(r"[^a-z0-9]+", "-", base).strip("-")[:80]


@dataclass
class LoadResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def load_offices(path: Path, *, actor: User | None = None) -> LoadResult:
    """Create or update divisions and offices from the office CSV (data an administrator can correct).

    Idempotent: rows that match the database change nothing and record nothing.
    """
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = set(OFFICE_CSV_COLUMNS) - set(reader.fieldnames or ())
        if missing:
            raise ValidationError(_("The office file lacks columns: %(cols)s") % {"cols": ", ".join(sorted(missing))})
        rows = list(reader)
    result = LoadResult()
    with transaction.atomic():
        directorate, _created = Directorate.objects.get_or_create(
            code=DIRECTORATE_CODE, defaults={"name": DIRECTORATE_NAME}
        )
        for lineno, row in enumerate(rows, start=2):
            code = row["province_code"].strip()
            if not re.fullmatch(r"[0-9]{2}", code):
                raise ValidationError(_("Line %(line)d: bad province code.") % {"line": lineno})
            if row["office_class"] not in OfficeClass.values:
                raise ValidationError(_("Line %(line)d: unknown office class.") % {"line": lineno})
            validate_timezone(row["timezone"])
            division, created = Division.objects.get_or_create(
                province_code=code,
                defaults={
                    "directorate": directorate,
                    "province": row["province"].strip(),
                    "name": f"Kantor Wilayah {row['province'].strip()}",
                },
            )
            if created:
                record("organisation.division_created", actor=actor, obj=division)
            values = {
                "division": division,
                "office_class": row["office_class"],
                "city": row["city"].strip(),
                "timezone": row["timezone"].strip(),
                "source_url": row["source"].strip(),
            }
            name = row["name"].strip()
            office = Office.objects.filter(name=name).first()
            if office is None:
                office = Office.objects.create(name=name, code=office_code(name), **values)
                ServiceUnit.objects.create(office=office, name=name, kind=ServiceUnit.Kind.MAIN)
                record("organisation.office_created", actor=actor, obj=office, office=office)
                result.created += 1
                continue
            changed = {k: v for k, v in values.items() if getattr(office, k) != v}
            if not changed:
                result.unchanged += 1
                continue
            for key, value in changed.items():
                setattr(office, key, value)
            office.save(update_fields=list(changed))
            record(
                "organisation.office_updated",
                actor=actor,
                obj=office,
                office=office,
                details={"fields": sorted(changed), "source": "office file"},
            )
            result.updated += 1
    return result


EDITABLE_OFFICE_FIELDS = ("office_class", "city", "address", "timezone", "is_active")


def update_office(office: Office, *, actor: User, changes: dict[str, object]) -> Office:
    """An administrator corrects an office's data (class upgrades, address, time zone)."""
    require(actor, Perm.EDIT_OFFICE, office)
    unknown = set(changes) - set(EDITABLE_OFFICE_FIELDS)
    if unknown:
        raise ValidationError(_("These fields cannot be changed here: %(f)s") % {"f": ", ".join(sorted(unknown))})
    with transaction.atomic():
        locked = Office.objects.select_for_update().get(pk=office.pk)
        changed = {k: v for k, v in changes.items() if getattr(locked, k) != v}
        for key, value in changed.items():
            setattr(locked, key, value)
        locked.full_clean()
        if changed:
            locked.save(update_fields=list(changed))
            record(
                "organisation.office_updated",
                actor=actor,
                obj=locked,
                office=locked,
                details={"fields": sorted(changed)},
            )
    return locked


def add_counter(unit: ServiceUnit, *, number: int, label: str, actor: User) -> Counter:
    """An office head registers a counter in one of the office's service units."""
    require(actor, Perm.MANAGE_COUNTERS, unit.office)
    if number < 1 or number > 999:
        raise ValidationError({"number": _("The counter number must be between 1 and 999.")})
    with transaction.atomic():
        if Counter.objects.filter(unit=unit, number=number).exists():
            raise ValidationError({"number": _("This unit already has a counter with this number.")})
        counter = Counter.objects.create(unit=unit, number=number, label=label.strip())
        record(
            "organisation.counter_added",
            actor=actor,
            obj=counter,
            office=unit.office,
            details={"unit": unit.pk, "number": number},
        )
    return counter


HOLIDAY_CSV_COLUMNS = ("date", "name")
HOLIDAY_NAME_MAX = 200


def _holiday_permission(office: Office | None) -> Perm:
    """An office's own holidays belong to its calendar (office head); national ones to system administrators."""
    return Perm.MANAGE_HOLIDAYS if office is None else Perm.MANAGE_SLOTS


def _clean_holiday_name(name: str) -> str:
    cleaned = " ".join(str(name or "").split())
    if not cleaned:
        raise ValidationError({"name": _("Give the holiday a name.")})
    if len(cleaned) > HOLIDAY_NAME_MAX:
        raise ValidationError({"name": _("At most %(count)d characters.") % {"count": HOLIDAY_NAME_MAX}})
    return cleaned


def declare_holiday(*, day: dt.date, name: str, office: Office | None = None, actor: User) -> Holiday:
    """Declare a holiday: for one office (its head, ``Perm.MANAGE_SLOTS``) or national (``Perm.MANAGE_HOLIDAYS``).

    Refused while the day has booked appointments (move or cancel them first). In the same transaction the
    day's slots that were never booked are removed; slots whose bookings all ended stay as their history and
    are never offered again (``appointments.selectors.release_slots`` skips holidays).
    """
    require(actor, _holiday_permission(office), office)
    return _declare_holiday(day=day, name=name, office=office, actor=actor, source="")


def _declare_holiday(*, day: dt.date, name: str, office: Office | None, actor: User | None, source: str) -> Holiday:
    # Appointments depend on the organisation, not the other way round: import the appointments' side here.
    from gerbang.appointments.actions import clear_day_for_holiday

    name = _clean_holiday_name(name)
    taken = ValidationError({"day": _("This day is already a holiday.")})
    try:
        with transaction.atomic():
            national = Holiday.objects.filter(office__isnull=True, day=day).first()
            if national is not None:
                if office is None:
                    raise taken
                raise ValidationError(
                    {"day": _("This day is already a national holiday: %(name)s.") % {"name": national.name}}
                )
            if office is not None and Holiday.objects.filter(office=office, day=day).exists():
                raise taken
            removed = clear_day_for_holiday(office=office, day=day)
            holiday = Holiday.objects.create(
                day=day,
                name=name,
                office=office,
                declared_by=actor if actor is not None and actor.is_authenticated else None,
                declared_at=timezone.now(),
            )
            details: dict[str, object] = {
                "day": day.isoformat(),
                "name": name,
                "national": office is None,
                "slots_removed": removed,
            }
            if source:
                details["source"] = source
            record("organisation.holiday_declared", actor=actor, obj=holiday, office=office, details=details)
    except IntegrityError as exc:  # the same day declared at the same moment by someone else
        raise taken from exc
    return holiday


def remove_holiday(holiday: Holiday, *, actor: User) -> None:
    """Withdraw a holiday: the day is a working day again (slots removed with it are not recreated)."""
    require(actor, _holiday_permission(holiday.office), holiday.office)
    with transaction.atomic():
        locked = Holiday.objects.select_for_update(of=("self",)).select_related("office").filter(pk=holiday.pk).first()
        if locked is None:
            raise ValidationError({"holiday": _("This holiday has already been removed.")})
        record(
            "organisation.holiday_removed",
            actor=actor,
            obj=locked,
            office=locked.office,
            details={"day": locked.day.isoformat(), "name": locked.name, "national": locked.office_id is None},
        )
        locked.delete()


def load_national_holidays(path: Path, *, actor: User | None = None) -> LoadResult:
    """National holidays from a CSV file (``date`` as YYYY-MM-DD, ``name``), for the command line (operators).

    Idempotent: a day already declared with the same name changes nothing; with another name it is renamed.
    Declaring follows :func:`declare_holiday` (refused on a day with booked appointments); the whole file is
    one transaction, so a refused line loads nothing.
    """
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = set(HOLIDAY_CSV_COLUMNS) - set(reader.fieldnames or ())
        if missing:
            raise ValidationError(_("The holiday file lacks columns: %(cols)s") % {"cols": ", ".join(sorted(missing))})
        rows = list(reader)
    result = LoadResult()
    source = f"holiday file {path.name}"
    with transaction.atomic():
        for lineno, row in enumerate(rows, start=2):
            try:
                day = dt.date.fromisoformat((row["date"] or "").strip())
                name = _clean_holiday_name(row["name"])
            except (ValueError, ValidationError):
                raise ValidationError(
                    _("Line %(line)d: give a date as YYYY-MM-DD and a name.") % {"line": lineno}
                ) from None
            existing = Holiday.objects.select_for_update().filter(office__isnull=True, day=day).first()
            if existing is None:
                try:
                    _declare_holiday(day=day, name=name, office=None, actor=actor, source=source)
                except ValidationError as exc:
                    raise ValidationError(
                        _("Line %(line)d: %(error)s") % {"line": lineno, "error": " ".join(exc.messages)}
                    ) from None
                result.created += 1
            elif existing.name != name:
                record(
                    "organisation.holiday_renamed",
                    actor=actor,
                    obj=existing,
                    details={"day": day.isoformat(), "from": existing.name, "to": name, "source": source},
                )
                existing.name = name
                existing.save(update_fields=["name"])
                result.updated += 1
            else:
                result.unchanged += 1
    return result
