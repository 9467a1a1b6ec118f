"""Conditions on casework rows beyond the status, and who may act on a casework row.

Called by ``gerbang.applications.workflow`` (``_guard`` and ``_may``) only.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.utils import timezone

from gerbang.access.permissions import Perm, may
from gerbang.applications.models import PassportApplication
from gerbang.organisation.selectors import office_today

from . import rules
from .models import Interview


def guard(application: PassportApplication, action: str) -> bool:
    if action == "verify_documents":
        return not Interview.objects.filter(application=application).exists()
    if action == "verify_again":
        return Interview.objects.filter(application=application).exists()
    if action == "appeal":
        steps = application.steps.all()
        if steps.filter(action="appeal").exists():
            return False  # one appeal
        refused = steps.filter(to_status="refused").order_by("-at").values_list("at", flat=True).first()
        return refused is not None and timezone.now() - refused <= dt.timedelta(days=settings.GERBANG_APPEAL_DAYS)
    return True


def may_act(application: Any, actor: Any, perm: Perm, duty: str, action: str) -> bool:
    """The actor holds the open assignment for ``duty``, the permission over the office they were drawn from,
    may still hold the duty (separation of duties, declared relatives) and, face to face, serves at a counter
    of the application's office now (their devices in a locker)."""
    assignment = rules.holder(application, actor, duty)
    if assignment is None or not may(actor, perm, assignment.office):
        return False
    if action in rules.AT_COUNTER:
        from gerbang.duty.selectors import serving_at

        if application.office is None or serving_at(actor, application.office) is None:
            return False
    if action == "take_biometrics":
        if application.office is None:
            return False
        return application.visits.filter(office=application.office, day=office_today(application.office)).exists()
    return True
