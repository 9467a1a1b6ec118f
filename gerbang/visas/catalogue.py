"""The visa and permit catalogue as data: loaded from ``data/visa_kinds.csv``, corrected by an administrator.

Codes, index codes, stays and eligibility are data (DOMAIN.md marks them "check"); the fee of each kind is a
tariff service (``data/tariffs.csv``), so its amount is dated and versioned by ``gerbang.tariffs``.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gerbang.audit.actions import record
from gerbang.tariffs.models import Service

from .models import VisaKind

# Documents an applicant may be asked for, by code (VisaKind.required_documents).
DOCUMENTS: dict[str, Any] = {
    "passport_page": gettext_lazy("Passport data page"),
    "photo": gettext_lazy("Recent colour photo"),
    "return_ticket": gettext_lazy("Return or onward ticket"),
    "proof_of_funds": gettext_lazy("Proof of sufficient funds (bank statement)"),
    "sponsor_letter": gettext_lazy("Sponsor's letter of guarantee"),
    "medical_letter": gettext_lazy("Letter from the treating hospital"),
    "government_letter": gettext_lazy("Letter from the sending government"),
    "press_card": gettext_lazy("Press card and letter of assignment"),
    "employment_contract": gettext_lazy("Employment contract and approved foreign-worker plan (RPTKA)"),
    "investment_proof": gettext_lazy("Deed of the company and proof of the investment"),
    "family_document": gettext_lazy("Marriage or birth certificate linking to the sponsor"),
    "remote_work_contract": gettext_lazy("Contract with an employer abroad"),
    "stay_address": gettext_lazy("Statement of the address of stay"),
}

CSV_COLUMNS = [
    "code",
    "index_code",
    "category",
    "name_id",
    "name_en",
    "purpose_id",
    "purpose_en",
    "required_documents",
    "sponsor_required",
    "service",
    "stay_days",
    "entry_within_days",
    "multiple_entry",
    "extensions",
    "extension_days",
    "leads_to",
    "automatic",
    "passport_months",
    "from_kinds",
    "min_stay_days",
    "order",
]

# The fields an administrator may correct, and how a submitted value is read.
EDITABLE = [
    "index_code",
    "name_id",
    "name_en",
    "purpose_id",
    "purpose_en",
    "required_documents",
    "sponsor_required",
    "stay_days",
    "entry_within_days",
    "multiple_entry",
    "extensions",
    "extension_days",
    "leads_to",
    "automatic",
    "eligibility",
    "is_active",
]


def _flag(value: str) -> bool:
    return value.strip().lower() in {"true", "1", "yes", "ya"}


def _kind_values(row: dict[str, str]) -> dict[str, Any]:
    eligibility: dict[str, Any] = {"passport_months": int(row["passport_months"] or 6)}
    if row["from_kinds"].strip():
        eligibility["from_kinds"] = row["from_kinds"].split()
    if row["min_stay_days"].strip():
        eligibility["min_stay_days"] = int(row["min_stay_days"])
    return {
        "index_code": row["index_code"],
        "category": row["category"],
        "name_id": row["name_id"],
        "name_en": row["name_en"],
        "purpose_id": row["purpose_id"],
        "purpose_en": row["purpose_en"],
        "required_documents": row["required_documents"].split(),
        "sponsor_required": _flag(row["sponsor_required"]),
        "stay_days": int(row["stay_days"]),
        "entry_within_days": int(row["entry_within_days"] or 0),
        "multiple_entry": _flag(row["multiple_entry"]),
        "extensions": int(row["extensions"] or 0),
        "extension_days": int(row["extension_days"] or 0),
        "leads_to": row["leads_to"].strip(),
        "automatic": _flag(row["automatic"]),
        "eligibility": eligibility,
        "sort_order": int(row["order"]),
    }


def load_catalogue(path: Path) -> int:
    """Create the kinds the file lists that do not exist yet (existing ones keep their corrections)."""
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = set(CSV_COLUMNS) - set(reader.fieldnames or ())
        if missing:
            raise ValidationError(
                _("The catalogue file lacks columns: %(cols)s") % {"cols": ", ".join(sorted(missing))}
            )
        rows = list(reader)
    added = 0
    with transaction.atomic():
        for row in rows:
            if VisaKind.objects.filter(code=row["code"]).exists():
                continue
            unknown = set(row["required_documents"].split()) - set(DOCUMENTS)
            if unknown:
                raise ValidationError(_("Unknown document codes: %(codes)s") % {"codes": ", ".join(sorted(unknown))})
            service = Service.objects.get(code=row["service"])
            kind = VisaKind.objects.create(code=row["code"], service=service, **_kind_values(row))
            record("visas.kind_created", actor=None, obj=kind, details={"code": kind.code})
            added += 1
    return added


def kind_snapshot(kind: VisaKind) -> dict[str, Any]:
    return {name: getattr(kind, name) for name in EDITABLE}


def correct_kind(kind: VisaKind, *, actor: Any, changes: dict[str, Any], reason: str) -> VisaKind:
    """An administrator corrects the catalogue (``Perm.MANAGE_CATALOGUE``); before and after are audited."""
    from gerbang.access.permissions import Perm, require

    require(actor, Perm.MANAGE_CATALOGUE)
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the catalogue is corrected (the legal basis).")})
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationError({"changes": _("These fields cannot be changed here: %(f)s") % {"f": ", ".join(unknown)}})
    docs = changes.get("required_documents")
    if docs is not None and (not isinstance(docs, list) or set(docs) - set(DOCUMENTS)):
        raise ValidationError({"required_documents": _("Choose documents from the list.")})
    with transaction.atomic():
        kind = VisaKind.objects.select_for_update().get(pk=kind.pk)
        before = kind_snapshot(kind)
        for name, value in changes.items():
            setattr(kind, name, value)
        kind.full_clean(exclude=["service"])
        kind.save()
        after = kind_snapshot(kind)
        changed = {k: {"before": before[k], "after": after[k]} for k in EDITABLE if before[k] != after[k]}
        record("visas.kind_corrected", actor=actor, obj=kind, details={"changes": changed, "reason": reason.strip()})
    return kind
