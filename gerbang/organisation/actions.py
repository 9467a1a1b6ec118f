"""The only code that changes the organisation. Each action writes its audit event."""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from gerbang.access.permissions import Perm, require
from gerbang.audit.actions import record

from .models import Counter, Directorate, Division, Office, OfficeClass, ServiceUnit, validate_timezone

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
