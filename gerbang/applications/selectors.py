"""Reads of applications. Lookups answer 404 for records the caller may not see, exactly as for missing ones."""

from __future__ import annotations

import uuid
from typing import Any

from django.http import Http404

from gerbang.access.permissions import Perm, holds_role_over, may
from gerbang.accounts.models import Role

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
    if application is None or not may_open_case(user, application):
        raise Http404
    return application


# Who sees every application of an office they supervise; everyone else sees only cases drawn for them.
SUPERVISING = frozenset({Role.OFFICE_HEAD, Role.REGIONAL_SUPERVISOR, Role.DIRECTORATE_AUDITOR})


def may_open_case(user: Any, application: PassportApplication) -> bool:
    """An officer opens only the cases Gerbang assigned to them (now or before, not reassigned away);
    supervisors open their offices' cases."""
    from gerbang.casework.models import Assignment

    if holds_role_over(user, SUPERVISING, application.office):
        return True
    held = (
        Assignment.objects.filter(application=application, officer=user)
        .exclude(ended_because=Assignment.Ended.REASSIGNED)
        .select_related("office")
    )
    return any(may(user, Perm.VIEW_APPLICANT_DATA, a.office) for a in held)


def document_of(application: PassportApplication, document_id: int) -> Document:
    document = Document.objects.filter(application=application, pk=document_id).first()
    if document is None:
        raise Http404
    return document


def current_documents(application: PassportApplication) -> dict[str, Document]:
    return {d.kind: d for d in application.documents.filter(superseded_at__isnull=True)}
