from __future__ import annotations

import datetime as dt

from django.db.models import OuterRef, Subquery
from django.utils import timezone

from .models import Service, Tariff


def tariff_in_force(service_code: str, on: dt.date | None = None) -> Tariff | None:
    """The version of a service's fee in force on ``on`` (today, Jakarta time, by default)."""
    on = on or timezone.localdate()
    return (
        Tariff.objects.filter(service__code=service_code, valid_from__lte=on)
        .select_related("service")
        .order_by("-valid_from")
        .first()
    )


def tariffs_in_force(on: dt.date | None = None) -> list[Tariff]:
    """Every offered service with the tariff in force on ``on``, in display order."""
    on = on or timezone.localdate()
    latest = (
        Tariff.objects.filter(service=OuterRef("service"), valid_from__lte=on).order_by("-valid_from").values("pk")[:1]
    )
    return list(
        Tariff.objects.filter(pk=Subquery(latest), service__is_active=True)
        .select_related("service")
        .order_by("service__sort_order", "service__code")
    )


def services() -> list[Service]:
    return list(Service.objects.filter(is_active=True))
