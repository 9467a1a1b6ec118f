"""Publishing fee versions. Each action writes its audit event."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gerbang.access.permissions import Perm, require
from gerbang.audit.actions import record

from .models import Service, Tariff

if TYPE_CHECKING:
    from gerbang.accounts.models import User

TARIFF_CSV_COLUMNS = ("service", "category", "name_id", "name_en", "order", "valid_from", "amount", "legal_basis")


def publish_tariff(
    service: Service, *, valid_from: dt.date, amount: int, legal_basis: str, actor: User | None
) -> Tariff:
    """Add a new version of a fee. Past versions stay as they were; a version cannot start in the past."""
    if actor is not None:
        require(actor, Perm.MANAGE_TARIFFS)
        if valid_from < timezone.localdate():
            raise ValidationError({"valid_from": _("A new tariff cannot take effect in the past.")})
    if amount <= 0:
        raise ValidationError({"amount": _("The amount must be a positive number of rupiah.")})
    if not legal_basis.strip():
        raise ValidationError({"legal_basis": _("Name the regulation that sets this fee.")})
    with transaction.atomic():
        if Tariff.objects.filter(service=service, valid_from=valid_from).exists():
            raise ValidationError({"valid_from": _("A version of this fee already starts on that date.")})
        tariff = Tariff.objects.create(
            service=service, valid_from=valid_from, amount=amount, legal_basis=legal_basis.strip(), created_by=actor
        )
        record(
            "tariffs.published",
            actor=actor,
            obj=tariff,
            details={"service": service.code, "valid_from": valid_from.isoformat(), "amount": amount},
        )
    return tariff


def load_tariffs(path: Path) -> int:
    """Load services and tariff versions from the tariff CSV; versions already present are left alone."""
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = set(TARIFF_CSV_COLUMNS) - set(reader.fieldnames or ())
        if missing:
            raise ValidationError(_("The tariff file lacks columns: %(cols)s") % {"cols": ", ".join(sorted(missing))})
        rows = list(reader)
    added = 0
    with transaction.atomic():
        for row in rows:
            service, created = Service.objects.get_or_create(
                code=row["service"],
                defaults={
                    "category": row["category"],
                    "name_id": row["name_id"],
                    "name_en": row["name_en"],
                    "sort_order": int(row["order"]),
                },
            )
            if created:
                record("tariffs.service_created", actor=None, obj=service, details={"code": service.code})
            valid_from = dt.date.fromisoformat(row["valid_from"])
            if not Tariff.objects.filter(service=service, valid_from=valid_from).exists():
                publish_tariff(
                    service,
                    valid_from=valid_from,
                    amount=int(row["amount"]),
                    legal_basis=row["legal_basis"],
                    actor=None,
                )
                added += 1
    return added
