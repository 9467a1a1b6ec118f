"""Reads of applications. Lookups answer 404 for records the caller may not see, exactly as for missing ones."""

from __future__ import annotations

import uuid
from typing import Any

from django.http import Http404

from gerbang.access.permissions import Perm, may

from . import references
from .models import Document, PassportApplication


def applications_of(user: Any) -> list[PassportApplication]:
    return list(PassportApplication.objects.filter(filer=user).select_related("office").order_by("-created_at"))


def application_for_filer(user: Any, public_id: Any, *, with_office: bool = True) -> PassportApplication:
    """The caller's own application, or 404. ``with_office=False`` when the caller already holds the office."""
    try:
        key = uuid.UUID(str(public_id))
    except ValueError:
        raise Http404 from None
    found = PassportApplication.objects.filter(public_id=key, filer=user)
    application = (found.select_related("office") if with_office else found).first()
    if application is None:
        raise Http404
    return application


def application_for_officer(user: Any, reference: str) -> PassportApplication:
    """A submitted application, for staff holding the personal-data permission over its office."""
    if not references.is_valid(reference):
        raise Http404
    application = (
        PassportApplication.objects.filter(reference=references.compact(reference))
        .select_related("office", "office__division")
        .first()
    )
    if application is None or not may(user, Perm.VIEW_APPLICANT_DATA, application.office):
        raise Http404
    return application


def document_of(application: PassportApplication, document_id: int) -> Document:
    document = Document.objects.filter(application=application, pk=document_id).first()
    if document is None:
        raise Http404
    return document


def current_documents(application: PassportApplication) -> dict[str, Document]:
    return {d.kind: d for d in application.documents.filter(superseded_at__isnull=True)}
