"""Reads of the casework for the applicant's status page and the API."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings

from gerbang.applications.models import PassportApplication, Status

from .models import Decision, Passport


def applicant_context(application: PassportApplication) -> dict[str, Any]:
    """What the applicant sees of their case: the promised date, decisions with reasons, the passport, appeal."""
    decisions = list(Decision.objects.filter(application=application).order_by("at"))
    refused_at = application.steps.filter(to_status=Status.REFUSED).order_by("-at").values_list("at", flat=True).first()
    appeal_until = refused_at + dt.timedelta(days=settings.GERBANG_APPEAL_DAYS) if refused_at else None
    return {
        "ready_by": application.ready_by,
        # The applicant sees outcomes and legal reasons, never who decided or where.
        "decisions": [
            {
                "stage": d.get_stage_display(),
                "outcome": d.get_outcome_display(),
                "reason": d.get_reason_display(),
                "at": d.at,
            }
            for d in decisions
            if d.outcome != Decision.Outcome.MORE_DOCUMENTS
        ],
        "passport": Passport.objects.filter(application=application, void=False).first(),
        "appeal_until": appeal_until,
    }
