"""Scheduled tasks of supervision (gerbang/core/schedules.py)."""

from __future__ import annotations


def compute_signals() -> int:
    """Recompute the integrity signals; returns how many were found."""
    from .signals import refresh_signals

    return refresh_signals().found


def escalate_reports() -> int:
    """Escalate anonymous reports past a deadline; returns how many."""
    from .reports import escalate_overdue

    return escalate_overdue()


def ask_visit_feedback() -> int:
    """Ask the applicants of visits that ended; returns how many were asked."""
    from .feedback import ask_due

    return ask_due()


def purge_client_traces() -> int:
    """Delete client traces older than CLIENT_TRACE_KEEP_DAYS; returns how many."""
    from .traces import purge

    return purge()
