"""The periodic tasks. Installed by migration core.0002; a new migration re-applies them when this list changes
(core.0003 added the audit checkpoint, core.0004 the expiry of unpaid bills, core.0005 reconciliation,
core.0006 the lottery draws, core.0007 no-shows, core.0008 the rate-limit clean-up, core.0009 casework
assignment, notifications and counter sessions of ended shifts, core.0010 stay-permit expiry reminders,
core.0011 supervision, core.0012 the purge of client traces)."""

from __future__ import annotations

from typing import Any

# (name, task function, django-q schedule type, minutes for type "I")
SCHEDULES: list[tuple[str, str, str, int | None]] = [
    ("heartbeat", "gerbang.core.tasks.heartbeat", "I", 1),
    ("clear-expired-sessions", "gerbang.core.tasks.clear_expired_sessions", "D", None),
    ("audit-checkpoint", "gerbang.audit.tasks.checkpoint", "I", 1),
    ("expire-bills", "gerbang.payments.tasks.expire_bills", "I", 5),
    # Hourly: a day's statement is fetched once it is over; later runs find it reconciled and change nothing.
    ("reconcile-statements", "gerbang.payments.tasks.reconcile", "H", None),
    # Every minute: lotteries whose request window closed are drawn (docs/lottery.md).
    ("run-draws", "gerbang.appointments.tasks.run_due_draws", "I", 1),
    # Bookings not checked in an hour after their start are no-shows (installed by core.0007).
    ("mark-no-shows", "gerbang.appointments.tasks.mark_no_shows", "I", 15),
    # Rate-limit counters of windows that are over (docs/adr/0007; installed by core.0008).
    ("purge-rate-limits", "gerbang.core.tasks.purge_rate_limit_windows", "I", 5),
    # Cases whose next step nobody held (nobody eligible on duty) go to officers who are now (installed by 0009).
    ("assign-waiting-cases", "gerbang.casework.tasks.assign_waiting", "I", 1),
    # Notifications not sent after commit (a gateway failure) are tried again.
    ("send-notifications", "gerbang.channel.tasks.send_pending", "I", 1),
    # Counter sessions whose shift is over are closed.
    ("close-ended-sessions", "gerbang.duty.tasks.close_ended_sessions", "I", 5),
    # Hourly: stay permits ending soon remind their sponsor or holder once (installed by core.0010).
    ("remind-permit-expiry", "gerbang.visas.tasks.send_expiry_reminders", "H", None),
    # Integrity signals recomputed over the last INTEGRITY_WINDOW_DAYS (installed by core.0011).
    ("compute-integrity-signals", "gerbang.supervision.tasks.compute_signals", "I", 15),
    # Anonymous reports past their answer, close or dispute deadline go a level up.
    ("escalate-overdue-reports", "gerbang.supervision.tasks.escalate_reports", "I", 15),
    # Applicants whose counter visit ended are asked the one-tap question (within the hour).
    ("ask-visit-feedback", "gerbang.supervision.tasks.ask_visit_feedback", "I", 5),
    # Daily: client traces older than CLIENT_TRACE_KEEP_DAYS are deleted (installed by core.0012).
    ("purge-client-traces", "gerbang.supervision.tasks.purge_client_traces", "D", None),
]


def ensure_schedules(schedule_model: Any) -> None:
    """Create or update each schedule; takes the model so that migrations can pass their historical one."""
    for name, func, kind, minutes in SCHEDULES:
        schedule_model.objects.update_or_create(
            name=name, defaults={"func": func, "schedule_type": kind, "minutes": minutes, "repeats": -1}
        )
