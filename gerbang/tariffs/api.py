from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Router, Schema

from gerbang.core.api_types import IsoDate, errors

from .selectors import tariffs_in_force

router = Router(tags=["tariffs"])


class TariffOut(Schema):
    service: str
    category: str
    name: str
    amount: int
    currency: str = "IDR"
    valid_from: dt.date
    legal_basis: str


@router.get(
    "/tariffs", response={200: list[TariffOut], **errors(422)}, summary="Fees in force on a date (today by default)"
)
def list_tariffs(request: HttpRequest, on: IsoDate | None = None) -> list[dict[str, object]]:
    return [
        {
            "service": t.service.code,
            "category": t.service.category,
            "name": t.service.name,
            "amount": t.amount,
            "valid_from": t.valid_from,
            "legal_basis": t.legal_basis,
        }
        for t in tariffs_in_force(on)
    ]
