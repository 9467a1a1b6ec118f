"""Builders for application tests: tariffs, a signed-in resident, and the whole form filled in over HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from gerbang.applications.models import PassportApplication
from gerbang.tariffs.actions import load_tariffs

from .samples import jpeg_bytes, pdf_bytes, png_bytes


def load_demo_tariffs() -> None:
    load_tariffs(Path(settings.BASE_DIR) / "data" / "tariffs.csv")


def upload(name: str, data: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


DOCUMENT_FILES = {
    "ktp": lambda: upload("ktp.jpg", jpeg_bytes(exif_gps=True), "image/jpeg"),
    "kk": lambda: upload("kk.pdf", pdf_bytes(metadata_title="Kartu Keluarga"), "application/pdf"),
    "civil_record": lambda: upload("akta.png", png_bytes(), "image/png"),
    "old_passport": lambda: upload("paspor.jpg", jpeg_bytes(), "image/jpeg"),
    "police_report": lambda: upload("polisi.pdf", pdf_bytes(pages=2), "application/pdf"),
}


def start(client: Client, applicant_nik: str, kind: str = "first") -> PassportApplication:
    response = client.post("/permohonan/paspor/baru/", {"applicant_nik": applicant_nik, "kind": kind})
    assert response.status_code == 302, response.content.decode()[:3000]
    public_id = response["Location"].split("/")[2]
    return PassportApplication.objects.get(public_id=public_id)


def step_url(application: PassportApplication, step: str) -> str:
    return f"/permohonan/{application.public_id}/langkah/{step}/"


def fill_in(
    client: Client,
    application: PassportApplication,
    *,
    office: Any,
    kind: dict[str, str] | None = None,
    passport: dict[str, Any] | None = None,
) -> None:
    """Every step of the form, as a browser without JavaScript would post it."""
    answers = {"kind": application.kind} | (kind or {})
    response = client.post(step_url(application, "kind"), answers)
    assert response.status_code == 302, response.context["form"].errors if response.context else response
    chosen = {"product": "electronic", "validity_years": 10, "office": office.pk} | (passport or {})
    response = client.post(step_url(application, "passport"), chosen)
    assert response.status_code == 302, response.context["form"].errors
    application.refresh_from_db()
    from gerbang.applications import rules

    files = {kind: DOCUMENT_FILES[kind]() for kind in rules.required_documents(application)}
    response = client.post(step_url(application, "documents"), {"continue": "1", **files})
    assert response.status_code == 302, response.context["form"].errors
    assert response["Location"] == step_url(application, "review")
