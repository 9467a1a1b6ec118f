"""Anonymous reports (whistle-blowing): the tracking code, routing, deadlines, escalation and every action.

A report keeps no account, address, browser or cookie (the pages under settings.ANONYMOUS_PATHS lose them in
``anonymous.AnonymousPathMiddleware`` before anything else runs). Its reporter holds the tracking code and
nothing else: 16 characters of an alphabet without look-alikes, the last one a check character, stored
without separators and shown as ``XXXX-XXXX-XXXX-XXXX``.

Routing: a report about an office goes to the level above it, the office's regional division; a report about
no particular office goes to the Directorate General. The office head of the office concerned never sees it.

Deadlines (settings.REPORT_DEADLINE_DAYS, calendar days): an answer 3 days after receipt, closed 5 days after
receipt and, once the reporter disputes the closure (once), the dispute settled 14 days after it.
:func:`escalate_overdue` (every 15 minutes) moves a division's overdue report to the directorate and counts one
escalation per missed deadline, never twice for the same one: ``escalations`` is kept equal to the number of
deadlines missed so far.

Every change is an action here (keyword-only ``actor``; ``None`` for the reporter and the schedule), in one
transaction with its audit event. The events name the report, never its text, and carry no office, so that the
audit views of the office concerned do not show that a report about it exists.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, F, IntegerField, Q, QuerySet, Value, When
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from gerbang.access.permissions import Perm, active_grants, holds_role_over, is_verified_staff, may
from gerbang.accounts.models import Role, Scope
from gerbang.audit.actions import record
from gerbang.core import ratelimit
from gerbang.organisation.models import Office

from .models import Report, ReportCategory, ReportEntry, ReportLevel, ReportStatus

if TYPE_CHECKING:
    from gerbang.accounts.models import User

# --- Tracking codes -------------------------------------------------------------------------------------

# No 0/O, 1/I/L, U (V) or Z (2): nothing a reporter copying by hand can mistake for another character. 29
# characters, a prime number, so that a weighted sum modulo 29 catches every error below.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXY"
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
_P = len(ALPHABET)
CODE_LENGTH = 16  # 15 random characters (about 73 bits) and the check character
GROUP = 4
TEXT_MIN = 20
TEXT_MAX = 5000
MESSAGE_MIN = 2

OPEN_STATUSES = (ReportStatus.RECEIVED, ReportStatus.ANSWERED, ReportStatus.DISPUTED)
FINAL_STATUSES = (ReportStatus.CLOSED, ReportStatus.DISPUTE_CLOSED)

# The one fixed bucket the global flood guard counts in (core.RateLimitCounter): nothing of the sender in it.
FILING_BUCKET = "supervision-reports:all"
# Lookups of a code (and a reporter's messages) are counted apart, with a looser limit.
LOOKUP_BUCKET = "supervision-report-lookups:all"
LOOKUPS_PER_REPORT = 10


def _check_character(body: str) -> str:
    """The character making sum((i + 1) * value(c_i)) over the whole code 0 modulo 29.

    The weights 1..16 are distinct and non-zero modulo the prime 29, so any single wrong character and any
    two characters swapped (adjacent or not) change the sum: every such typing error is caught.
    """
    total = sum((i + 1) * _VALUE[c] for i, c in enumerate(body))
    return ALPHABET[(-total * pow(CODE_LENGTH, -1, _P)) % _P]


def new_code() -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH - 1))
    return body + _check_character(body)


def normalise_code(typed: str) -> str | None:
    """The stored form of a typed code (case, spaces and hyphens ignored), or None when it cannot be one."""
    code = "".join(typed.split()).replace("-", "").upper()
    if len(code) != CODE_LENGTH or any(c not in _VALUE for c in code):
        return None
    if sum((i + 1) * _VALUE[c] for i, c in enumerate(code)) % _P:
        return None
    return code


def display_code(code: str) -> str:
    return "-".join(code[i : i + GROUP] for i in range(0, len(code), GROUP))


# --- Deadlines ------------------------------------------------------------------------------------------


def _days(name: str) -> dt.timedelta:
    return dt.timedelta(days=int(settings.REPORT_DEADLINE_DAYS[name]))


def _missed_q(now: dt.datetime) -> tuple[Q, Q, Q]:
    """Per deadline: missed, whether late now or done late."""
    answer = Q(answered_at__isnull=True, answer_due__lt=now) | Q(answered_at__gt=F("answer_due"))
    close = Q(closed_at__isnull=True, close_due__lt=now) | Q(closed_at__gt=F("close_due"))
    dispute = Q(disputed_at__isnull=False) & (
        Q(dispute_closed_at__isnull=True, dispute_due__lt=now) | Q(dispute_closed_at__gt=F("dispute_due"))
    )
    return answer, close, dispute


def missed_deadlines(report: Report, now: dt.datetime) -> list[str]:
    """The deadlines the report missed so far ("answer", "close", "dispute"), late now or met late."""

    def missed(due: dt.datetime | None, done: dt.datetime | None) -> bool:
        if due is None:
            return False
        return done > due if done is not None else now > due

    names = []
    if missed(report.answer_due, report.answered_at):
        names.append("answer")
    if missed(report.close_due, report.closed_at):
        names.append("close")
    if report.disputed_at is not None and missed(report.dispute_due, report.dispute_closed_at):
        names.append("dispute")
    return names


def overdue(report: Report, now: dt.datetime | None = None) -> list[str]:
    """The deadlines past and still waiting (for the staff list's highlight)."""
    now = now or timezone.now()
    late = []
    if report.status == ReportStatus.RECEIVED and now > report.answer_due:
        late.append("answer")
    if report.status in (ReportStatus.RECEIVED, ReportStatus.ANSWERED) and now > report.close_due:
        late.append("close")
    if report.status == ReportStatus.DISPUTED and report.dispute_due is not None and now > report.dispute_due:
        late.append("dispute")
    return late


# --- Who handles a report -------------------------------------------------------------------------------

_HANDLER_ROLES = frozenset({Role.REGIONAL_SUPERVISOR, Role.DIRECTORATE_AUDITOR})


def _office_head_offices(user: User) -> Q:
    """Reports about offices the user heads: never theirs, whatever else they hold."""
    grants = [g for g in active_grants(user) if g.role == Role.OFFICE_HEAD]
    if any(g.scope == Scope.DIRECTORATE for g in grants):
        return Q(office__isnull=False)
    offices = [g.office_id for g in grants if g.scope == Scope.OFFICE]
    divisions = [g.division_id for g in grants if g.scope == Scope.DIVISION]
    return Q(office_id__in=offices) | Q(office__division_id__in=divisions)


def reports_for(user: Any) -> QuerySet[Report]:
    """The reports routed to what ``user`` covers with HANDLE_REPORTS: all for the directorate, a division's
    division-level reports for its supervisors; never those about an office the user heads."""
    if not is_verified_staff(user):
        return Report.objects.none()
    if may(user, Perm.HANDLE_REPORTS, None):
        reports = Report.objects.all()
    else:
        divisions = [
            g.division_id
            for g in active_grants(user)
            if g.role in _HANDLER_ROLES and g.scope == Scope.DIVISION and g.division_id is not None
        ]
        if not divisions:
            return Report.objects.none()
        reports = Report.objects.filter(level=ReportLevel.DIVISION, division_id__in=divisions)
    return reports.exclude(_office_head_offices(user))


def may_handle(user: Any, report: Report) -> bool:
    if not is_verified_staff(user):
        return False
    if report.office is not None and holds_role_over(user, frozenset({Role.OFFICE_HEAD}), report.office):
        return False
    if report.level == ReportLevel.DIRECTORATE:
        return may(user, Perm.HANDLE_REPORTS, None)
    return report.division is not None and may(user, Perm.HANDLE_REPORTS, report.division)


def report_for_handler(user: Any, number: str) -> Report:
    """The report numbered ``number`` (its pk) if ``user`` handles it; otherwise 404, as if it did not exist.

    Handlers name a report by its number, never by its tracking code: the code is the reporter's only key to
    the case and must appear neither in a URL (access logs, browser history) nor on a supervisor's screen.
    """
    if not number.isdigit() or len(number) > 18:
        raise Http404
    report = Report.objects.filter(pk=int(number)).select_related("office", "division").first()
    if report is None or not may_handle(user, report):
        raise Http404
    return report


def find_by_code(typed: str) -> Report | None:
    """The reporter's look-up: the report, or None for a wrong code (the caller shows one neutral error)."""
    code = normalise_code(typed)
    if code is None:
        return None
    return Report.objects.filter(code=code).select_related("office", "division").first()


# --- The flood guard ------------------------------------------------------------------------------------


def over_limit(bucket: str, per_minute: int) -> int | None:
    """Count one request in a global bucket; the seconds to wait when it is past ``per_minute``.

    The counter is the rate limiter's table (core.RateLimitCounter) under a fixed bucket name: it holds no
    address, hashed or not. The limit is scaled to the limiter's window (RATE_LIMIT_WINDOW seconds).
    """
    if per_minute <= 0:
        return None
    window = settings.RATE_LIMIT_WINDOW
    limit = max(1, -(-per_minute * window // 60))
    refusal = ratelimit.count([(bucket, limit)], at=ratelimit.now())
    return refusal.retry_after if refusal is not None else None


# --- The reporter's actions -----------------------------------------------------------------------------


def _clean_text(text: str, *, minimum: int, field: str = "text") -> str:
    text = (text or "").strip()
    if len(text) < minimum:
        raise ValidationError(
            {field: _("Please write at least %(min)d characters.") % {"min": minimum}}, code="too_short"
        )
    if len(text) > TEXT_MAX:
        raise ValidationError({field: _("Please keep it within %(max)d characters.") % {"max": TEXT_MAX}})
    return text


def file_report(*, office: Office | None, category: str, text: str, actor: User | None = None) -> Report:
    """File an anonymous report; routed to the office's division, or to the directorate without an office."""
    if category not in ReportCategory.values:
        raise ValidationError({"category": _("Choose what happened.")})
    if office is not None and not office.is_active:
        raise ValidationError({"office": _("Choose an office from the list.")})
    text = _clean_text(text, minimum=TEXT_MIN)
    now = timezone.now()
    with transaction.atomic():
        code = new_code()
        while Report.objects.filter(code=code).exists():  # pragma: no cover - 73 bits
            code = new_code()
        report = Report.objects.create(
            code=code,
            office=office,
            category=category,
            text=text,
            level=ReportLevel.DIVISION if office is not None else ReportLevel.DIRECTORATE,
            division=office.division if office is not None else None,
            status=ReportStatus.RECEIVED,
            received_at=now,
            answer_due=now + _days("answer"),
            close_due=now + _days("close"),
        )
        record(
            "supervision.report_filed",
            actor=None,
            obj=report,
            details={"level": report.level, "division": report.division_id},
        )
    return report


def _locked(report: Report) -> Report:
    return Report.objects.select_for_update().get(pk=report.pk)


def reporter_writes(report: Report, text: str, *, actor: User | None = None) -> ReportEntry:
    """The reporter adds a message while the report is open."""
    text = _clean_text(text, minimum=MESSAGE_MIN, field="message")
    with transaction.atomic():
        report = _locked(report)
        if report.status not in OPEN_STATUSES:
            raise ValidationError(_("This report is closed; no more messages can be added."))
        last = report.entries.order_by("-at", "-pk").first()
        if last is not None and last.sender == ReportEntry.From.REPORTER and last.text == text:
            raise ValidationError(_("This message was already sent."))
        entry = ReportEntry.objects.create(
            report=report, sender=ReportEntry.From.REPORTER, text=text, at=timezone.now()
        )
        record("supervision.report_reporter_wrote", actor=None, obj=report, details={"entry": entry.pk})
    return entry


def dispute(report: Report, text: str, *, actor: User | None = None) -> Report:
    """The reporter disputes the closure, once: the 14-day dispute clock starts."""
    text = _clean_text(text, minimum=TEXT_MIN, field="message")
    with transaction.atomic():
        report = _locked(report)
        if report.status != ReportStatus.CLOSED or report.disputed_at is not None:
            raise ValidationError(_("Only a closed report can be disputed, and only once."))
        now = timezone.now()
        report.status = ReportStatus.DISPUTED
        report.disputed_at = now
        report.dispute_due = now + _days("dispute")
        report.save(update_fields=["status", "disputed_at", "dispute_due"])
        entry = ReportEntry.objects.create(report=report, sender=ReportEntry.From.REPORTER, text=text, at=now)
        record("supervision.report_disputed", actor=None, obj=report, details={"entry": entry.pk})
    return report


# --- The handler's actions ------------------------------------------------------------------------------


def _official_entry(report: Report, text: str, actor: Any, now: dt.datetime) -> ReportEntry:
    return ReportEntry.objects.create(report=report, sender=ReportEntry.From.OFFICIAL, author=actor, text=text, at=now)


def answer(report: Report, text: str, *, actor: Any) -> ReportEntry:
    """A message to the reporter; the first one is the answer the 3-day deadline waits for."""
    text = _clean_text(text, minimum=MESSAGE_MIN, field="message")
    with transaction.atomic():
        report = _locked(report)
        if not may_handle(actor, report):
            raise Http404
        if report.status not in OPEN_STATUSES:
            raise ValidationError(_("This report is closed."))
        now = timezone.now()
        first = report.answered_at is None
        if first:
            report.answered_at = now
        if report.status == ReportStatus.RECEIVED:
            report.status = ReportStatus.ANSWERED
        report.save(update_fields=["answered_at", "status"])
        entry = _official_entry(report, text, actor, now)
        record("supervision.report_answered", actor=actor, obj=report, details={"entry": entry.pk, "first": first})
    return entry


def close(report: Report, text: str, *, actor: Any) -> Report:
    """Close the report with a closing message (which is also its answer if none was given)."""
    text = _clean_text(text, minimum=MESSAGE_MIN, field="message")
    with transaction.atomic():
        report = _locked(report)
        if not may_handle(actor, report):
            raise Http404
        if report.status not in (ReportStatus.RECEIVED, ReportStatus.ANSWERED):
            raise ValidationError(_("Only an open report that is not disputed can be closed."))
        now = timezone.now()
        if report.answered_at is None:
            report.answered_at = now
        report.status = ReportStatus.CLOSED
        report.closed_at = now
        report.save(update_fields=["answered_at", "status", "closed_at"])
        entry = _official_entry(report, text, actor, now)
        record("supervision.report_closed", actor=actor, obj=report, details={"entry": entry.pk})
    return report


def close_dispute(report: Report, text: str, *, actor: Any) -> Report:
    """Settle the reporter's dispute with a message; the report is then final."""
    text = _clean_text(text, minimum=MESSAGE_MIN, field="message")
    with transaction.atomic():
        report = _locked(report)
        if not may_handle(actor, report):
            raise Http404
        if report.status != ReportStatus.DISPUTED:
            raise ValidationError(_("This report is not disputed."))
        now = timezone.now()
        report.status = ReportStatus.DISPUTE_CLOSED
        report.dispute_closed_at = now
        report.save(update_fields=["status", "dispute_closed_at"])
        entry = _official_entry(report, text, actor, now)
        record("supervision.report_dispute_closed", actor=actor, obj=report, details={"entry": entry.pk})
    return report


# --- Escalation -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Escalation:
    report_id: int
    missed: tuple[str, ...]
    moved: bool


def _escalate_one(pk: int, now: dt.datetime) -> Escalation | None:
    with transaction.atomic():
        report = Report.objects.select_for_update().get(pk=pk)
        missed = missed_deadlines(report, now)
        if len(missed) <= report.escalations:
            return None  # another run got there first
        new = missed[report.escalations :]
        moved = report.level == ReportLevel.DIVISION
        from_level = report.level
        report.level = ReportLevel.DIRECTORATE
        report.escalated_at = now
        report.escalations = len(missed)
        report.save(update_fields=["level", "escalated_at", "escalations"])
        record(
            "supervision.report_escalated",
            actor=None,
            obj=report,
            details={
                "missed": list(new),
                "from_level": from_level,
                "to_level": report.level,
                "escalations": report.escalations,
            },
        )
    return Escalation(report.pk, tuple(new), moved)


def escalate_overdue(*, now: dt.datetime | None = None) -> int:
    """Escalate every report that missed a deadline not escalated yet; returns how many reports were escalated.

    A division's report goes to the directorate; one already there counts one more escalation per newly
    missed deadline. Safe to run at any time and by several workers: each report is re-read under a lock.
    """
    now = now or timezone.now()
    answer_q, close_q, dispute_q = _missed_q(now)

    def one_if(q: Q) -> Case:
        return Case(When(q, then=Value(1)), default=Value(0), output_field=IntegerField())

    candidates = (
        Report.objects.filter(answer_q | close_q | dispute_q)
        .annotate(missed=one_if(answer_q) + one_if(close_q) + one_if(dispute_q))
        .filter(missed__gt=F("escalations"))
        .values_list("pk", flat=True)
    )
    done = 0
    for pk in list(candidates):
        if _escalate_one(pk, now) is not None:
            done += 1
    return done
