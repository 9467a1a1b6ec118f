"""Public transparency pages and open data (CSV, JSON) per office: figures only, never personal data."""

from __future__ import annotations

import csv
import io
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone, translation
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe

from gerbang.organisation.models import Office, OfficeKind

from .transparency import (
    CACHE_SECONDS,
    COLUMN_KEYS,
    COLUMNS,
    DATA_MONTHS,
    INDEX_MONTHS,
    Month,
    as_json,
    figures,
    flat_rows,
    months_for,
    public_offices,
)

LICENCE = "Free to reuse, also commercially; please name Gerbang as the source."


def _office(code: str) -> Office:
    return get_object_or_404(
        Office.objects.select_related("division"), code=code, is_active=True, kind=OfficeKind.OFFICE
    )


def _cached(response: HttpResponse, *, public: bool) -> HttpResponse:
    if public:
        patch_cache_control(response, public=True, max_age=CACHE_SECONDS)
    else:  # pages carry the language form's CSRF token
        patch_cache_control(response, private=True, max_age=CACHE_SECONDS)
    return response


def _column_notes() -> dict[str, str]:
    with translation.override("en"):
        return {key: str(description) for key, description in COLUMNS}


def _header(months: list[Month]) -> dict[str, Any]:
    return {
        "licence": LICENCE,
        "generated_at": timezone.now().isoformat(timespec="seconds"),
        "months": [m.key for m in months],
        "columns": _column_notes(),
    }


def _csv(rows: list[list[Any]], filename: str) -> HttpResponse:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMN_KEYS)
    writer.writerows(rows)
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return _cached(response, public=True)


@require_safe
def index(request: HttpRequest) -> HttpResponse:
    offices = public_offices()
    months = months_for(offices, INDEX_MONTHS)
    table = figures(offices, months)
    rows = [(office, table.get(office.pk, [])) for office in offices]
    response = render(
        request,
        "supervision/transparency.html",
        {
            "rows": rows,
            "months": months,
            "colspan": 1 + 3 * len(months),
            "columns": COLUMNS,
            "data_months": DATA_MONTHS,
        },
    )
    return _cached(response, public=False)


@require_safe
def all_csv(request: HttpRequest) -> HttpResponse:
    offices = public_offices()
    months = months_for(offices, DATA_MONTHS)
    return _csv(flat_rows(offices, figures(offices, months)), "gerbang-transparency.csv")


@require_safe
def all_json(request: HttpRequest) -> HttpResponse:
    offices = public_offices()
    months = months_for(offices, DATA_MONTHS)
    table = figures(offices, months)
    data = {**_header(months), "offices": [as_json(office, table.get(office.pk, [])) for office in offices]}
    return _cached(JsonResponse(data), public=True)


@require_safe
def office(request: HttpRequest, code: str) -> HttpResponse:
    found = _office(code)
    months = months_for([found], DATA_MONTHS)
    rows = figures([found], months).get(found.pk, [])
    draws = [(row["month"], draw) for row in reversed(rows) for draw in row["draws"]]
    response = render(
        request,
        "supervision/transparency_office.html",
        {"office": found, "rows": rows, "draws": draws, "columns": COLUMNS, "data_months": DATA_MONTHS},
    )
    return _cached(response, public=False)


@require_safe
def office_csv(request: HttpRequest, code: str) -> HttpResponse:
    found = _office(code)
    months = months_for([found], DATA_MONTHS)
    return _csv(flat_rows([found], figures([found], months)), f"gerbang-transparency-{found.code}.csv")


@require_safe
def office_json(request: HttpRequest, code: str) -> HttpResponse:
    found = _office(code)
    months = months_for([found], DATA_MONTHS)
    data = {**_header(months), "office": as_json(found, figures([found], months).get(found.pk, []))}
    return _cached(JsonResponse(data), public=True)
