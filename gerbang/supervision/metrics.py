"""The supervision dashboards' figures: computed here, rendered by ``dashboard_views``.

Every function takes the offices a page covers (a queryset the caller already limited to what the supervisor
may see) and a :class:`Period`, and answers with a fixed number of grouped queries whatever the number of
offices (``values()`` + ``annotate()``); medians and 95th percentiles are computed in Python from the rows of
the period. Division and directorate figures are the offices' figures merged (:meth:`Figures.merge`).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import statistics
import zoneinfo
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from django.conf import settings
from django.db.models import Count, Exists, Min, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gerbang.accounts.models import User
from gerbang.applications.models import CASEWORK_STATUSES, Kind, PassportApplication, Product, Step
from gerbang.applications.models import Status as PassportStatus
from gerbang.appointments.models import Booking
from gerbang.audit import witness_client
from gerbang.audit.models import AuditEvent, Checkpoint
from gerbang.casework.models import Assignment, Biometrics, Decision, Duty, Interview
from gerbang.duty.models import CounterSession, DeviceDeposit, SpotCheck
from gerbang.organisation.models import Counter as OfficeCounter
from gerbang.organisation.models import Office
from gerbang.payments.models import PaymentException
from gerbang.visas.models import Status as VisaStatus
from gerbang.visas.models import VisaApplication, VisaDecision, VisaKind, VisaStep
from gerbang.visits.models import Visit
from tlog import note

from .models import Report, ReportStatus, Signal, SignalStatus, VisitFeedback

log = logging.getLogger(__name__)

PERIODS = (7, 30, 90)
DEFAULT_DAYS = 30

# Cases waiting for the office after payment (the applicant's own waits, drafts and unpaid bills are not backlog).
PASSPORT_BACKLOG = [PassportStatus.PAID, *CASEWORK_STATUSES]
VISA_BACKLOG = [VisaStatus.PAID, VisaStatus.VERIFIED, VisaStatus.REFUSAL_PROPOSED, VisaStatus.APPEALED]
# Steps whose time is the applicant's, not the office's, are still shown; the draft is not a step of the case.
NOT_A_STEP = ("", PassportStatus.DRAFT)
OPEN_SIGNALS = [SignalStatus.OPEN, SignalStatus.ACKNOWLEDGED, SignalStatus.INVESTIGATING]
OPEN_EXCEPTIONS = [PaymentException.Status.OPEN, PaymentException.Status.ACCEPTANCE_PROPOSED]
CASES_SHOWN = 500

SERVICE_LABELS = {
    "passport.express": gettext_lazy("Passport: same-day express"),
}


@dataclass(frozen=True)
class Period:
    days: int
    start: dt.datetime
    end: dt.datetime

    def contains(self, field_name: str) -> Q:
        return Q(**{f"{field_name}__gte": self.start, f"{field_name}__lt": self.end})


def period(days: str | None, now: dt.datetime | None = None) -> Period:
    """The period of ``?days=`` (7, 30 or 90; anything else: 30) ending now."""
    try:
        chosen = int(days or DEFAULT_DAYS)
    except ValueError:
        chosen = DEFAULT_DAYS
    if chosen not in PERIODS:
        chosen = DEFAULT_DAYS
    end = now or timezone.now()
    return Period(chosen, end - dt.timedelta(days=chosen), end)


def median(values: list[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def percentile(values: list[float], q: float) -> float | None:
    """The nearest-rank percentile (``q`` in 0..100): a value that occurred, never an interpolation."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return float(ordered[rank - 1])


def share(part: int, whole: int) -> int | None:
    """``part`` of ``whole`` in whole percent; None when there is nothing to divide."""
    return round(100 * part / whole) if whole else None


def format_hours(hours: float | None) -> str:
    """A duration people read: minutes under an hour, hours under two days, days after."""
    if hours is None:
        return "\u2013"
    if hours < 1:
        return _("%(n)d min") % {"n": round(hours * 60)}
    if hours < 48:
        return _("%(n)s h") % {"n": f"{hours:.1f}".removesuffix(".0")}
    return _("%(n)s d") % {"n": f"{hours / 24:.1f}".removesuffix(".0")}


class Answers:
    """What applicants answered after their visits, summed per unit, officer or counter (the dataclasses below
    declare the three fields); rows come from :func:`answers`."""

    feedback_answered: int
    satisfaction_sum: int
    money_asked: int

    def add_answers(self, row: dict[str, Any]) -> None:
        self.feedback_answered += row["answered"]
        self.satisfaction_sum += row["total"] or 0
        self.money_asked += row["money"]

    @property
    def satisfaction(self) -> float | None:
        return round(self.satisfaction_sum / self.feedback_answered, 1) if self.feedback_answered else None


def answers(p: Period, by: str, **filters: Any) -> QuerySet[VisitFeedback, dict[str, Any]]:
    """Visit questions asked in the period, grouped by ``by``: how many (n), answered, the stars' total, "money"."""
    return (
        VisitFeedback.objects.filter(p.contains("prompted_at"), **filters)
        .values(by)
        .annotate(
            n=Count("pk"),
            answered=Count("pk", filter=Q(answered_at__isnull=False)),
            total=Sum("satisfaction"),
            money=Count("pk", filter=Q(asked_for_money=True)),
        )
    )


@dataclass
class Figures(Answers):
    """One unit's figures over the period (an office, or offices merged into a division or the directorate)."""

    passports_submitted: int = 0
    passports_paid: int = 0
    visas_submitted: int = 0
    services: Counter[str] = field(default_factory=Counter)
    backlog_passports: int = 0
    backlog_visas: int = 0
    late_open: int = 0
    printed: int = 0
    judged: int = 0
    on_time: int = 0
    no_shows: int = 0
    attended: int = 0
    exceptions_opened: int = 0
    exceptions_open: int = 0
    sessions_opened: int = 0
    sessions_refused: int = 0
    refused_no_deposit: int = 0
    counter_acts: int = 0
    acts_without_deposit: int = 0
    spot_checks: int = 0
    spot_findings: int = 0
    reports_received: int = 0
    reports_closed: int = 0
    reports_overdue: int = 0
    feedback_prompted: int = 0
    feedback_answered: int = 0
    satisfaction_sum: int = 0
    money_asked: int = 0
    signals_open: int = 0
    # "passport:<status>" / "visa:<status>" -> hours each case spent in that step (left in the period).
    step_hours: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    def merge(self, other: Figures) -> None:
        for name in self.__dataclass_fields__:
            mine, theirs = getattr(self, name), getattr(other, name)
            if name == "services":
                mine.update(theirs)
            elif name == "step_hours":
                for key, hours in theirs.items():
                    mine[key].extend(hours)
            else:
                setattr(self, name, mine + theirs)

    @property
    def backlog(self) -> int:
        return self.backlog_passports + self.backlog_visas

    @property
    def on_time_pct(self) -> int | None:
        return share(self.on_time, self.judged)

    @property
    def no_show_pct(self) -> int | None:
        return share(self.no_shows, self.no_shows + self.attended)

    @property
    def locker_compliance_pct(self) -> int | None:
        return share(self.counter_acts - self.acts_without_deposit, self.counter_acts)

    def steps(self, prefix: str) -> list[StepStat]:
        """Median and 95th percentile of the time spent in each step of ``prefix`` ("passport" or "visa")."""
        labels = dict(PassportStatus.choices if prefix == "passport" else VisaStatus.choices)
        order = list(labels)
        stats = []
        for key, hours in self.step_hours.items():
            kind, _sep, status = key.partition(":")
            if kind != prefix or not hours:
                continue
            stats.append(
                StepStat(
                    status=status,
                    label=str(labels.get(status, status)),
                    cases=len(hours),
                    median_h=median(hours),
                    p95_h=percentile(hours, 95),
                )
            )
        return sorted(stats, key=lambda s: order.index(s.status) if s.status in order else len(order))


@dataclass(frozen=True)
class StepStat:
    status: str
    label: str
    cases: int
    median_h: float | None
    p95_h: float | None

    @property
    def median_text(self) -> str:
        return format_hours(self.median_h)

    @property
    def p95_text(self) -> str:
        return format_hours(self.p95_h)


def _ids(offices: QuerySet[Office]) -> QuerySet[Office, int]:
    return offices.values_list("pk", flat=True)


def _prev_at(model: Any) -> Subquery:
    """The time of the case's previous timeline entry (ties broken by id): when it entered ``from_status``."""
    earlier = model.objects.filter(application=OuterRef("application")).filter(
        Q(at__lt=OuterRef("at")) | Q(at=OuterRef("at"), pk__lt=OuterRef("pk"))
    )
    return Subquery(earlier.order_by("-at", "-pk").values("at")[:1])


def _deposit_held() -> Exists:
    """The acting officer's devices were in a locker at the moment of the act (``at``)."""
    return Exists(
        DeviceDeposit.objects.filter(officer=OuterRef("officer"), deposited_at__lte=OuterRef("at")).filter(
            Q(returned_at__isnull=True) | Q(returned_at__gte=OuterRef("at"))
        )
    )


def counter_acts(offices: QuerySet[Office], p: Period) -> list[tuple[int, int, int, bool]]:
    """Face-to-face acts at a counter in the period: (office, counter, officer, devices in a locker then)."""
    rows: list[tuple[int, int, int, bool]] = []
    for model in (Interview, Biometrics):
        rows += list(
            model.objects.filter(p.contains("at"), counter__unit__office__in=_ids(offices))
            .annotate(covered=_deposit_held())
            .values_list("counter__unit__office_id", "counter_id", "officer_id", "covered")
        )
    return rows


def _overdue(now: dt.datetime) -> Q:
    return (
        Q(status=ReportStatus.RECEIVED, answer_due__lt=now)
        | Q(status__in=[ReportStatus.RECEIVED, ReportStatus.ANSWERED], close_due__lt=now)
        | Q(status=ReportStatus.DISPUTED, dispute_due__lt=now)
    )


def office_figures(offices: QuerySet[Office], p: Period) -> dict[int | None, Figures]:
    """Office id -> its figures; the key ``None`` holds what belongs to no office (payment exceptions on an
    unknown billing code, reports about no office): only a directorate-wide page shows it."""
    figures: dict[int | None, Figures] = defaultdict(Figures)
    ids = _ids(offices)
    now = p.end
    today = timezone.localdate(now)

    for row in (
        PassportApplication.objects.filter(p.contains("submitted_at"), office__in=ids)
        .values("office_id", "kind", "product", "express")
        .annotate(n=Count("pk"))
    ):
        f = figures[row["office_id"]]
        f.passports_submitted += row["n"]
        f.services[f"passport.kind.{row['kind']}"] += row["n"]
        if row["product"]:
            f.services[f"passport.product.{row['product']}"] += row["n"]
        if row["express"]:
            f.services["passport.express"] += row["n"]
    for row in (
        PassportApplication.objects.filter(p.contains("paid_at"), office__in=ids)
        .values("office_id")
        .annotate(n=Count("pk"))
    ):
        figures[row["office_id"]].passports_paid += row["n"]
    for row in (
        VisaApplication.objects.filter(p.contains("submitted_at"), office__in=ids)
        .values("office_id", "kind__code")
        .annotate(n=Count("pk"))
    ):
        f = figures[row["office_id"]]
        f.visas_submitted += row["n"]
        f.services[f"visa.{row['kind__code']}"] += row["n"]

    # Backlog now: open after payment; late: past the promised date and not printed yet.
    for row in (
        PassportApplication.objects.filter(status__in=PASSPORT_BACKLOG, office__in=ids)
        .values("office_id")
        .annotate(
            n=Count("pk"),
            late=Count("pk", filter=Q(ready_by__lt=today) & ~Q(status=PassportStatus.PRINTED)),
        )
    ):
        f = figures[row["office_id"]]
        f.backlog_passports += row["n"]
        f.late_open += row["late"]
    for row in (
        VisaApplication.objects.filter(status__in=VISA_BACKLOG, office__in=ids)
        .values("office_id")
        .annotate(n=Count("pk"))
    ):
        figures[row["office_id"]].backlog_visas += row["n"]

    # Service standard: printed by the date promised at the interview (office time, working days).
    for office_id, at, ready_by, zone in Step.objects.filter(
        p.contains("at"), to_status=PassportStatus.PRINTED, application__office__in=ids
    ).values_list("application__office_id", "at", "application__ready_by", "application__office__timezone"):
        f = figures[office_id]
        f.printed += 1
        if ready_by is not None:
            f.judged += 1
            if at.astimezone(zoneinfo.ZoneInfo(zone)).date() <= ready_by:
                f.on_time += 1

    # Time in each step: every timeline entry of the period closes the step its case was in.
    for prefix, model, office_path in (
        ("passport", Step, "application__office"),
        ("visa", VisaStep, "application__office"),
    ):
        rows = (
            model.objects.filter(p.contains("at"), **{f"{office_path}__in": ids})
            .exclude(from_status__in=NOT_A_STEP)
            .annotate(prev_at=_prev_at(model))
            .values_list(f"{office_path}_id", "from_status", "at", "prev_at")
        )
        for office_id, status, at, prev_at in rows:
            if prev_at is not None:
                figures[office_id].step_hours[f"{prefix}:{status}"].append((at - prev_at).total_seconds() / 3600)

    for row in (
        Booking.objects.filter(
            p.contains("slot__starts_at"),
            slot__office__in=ids,
            status__in=[Booking.Status.NO_SHOW, Booking.Status.ATTENDED],
        )
        .values("slot__office_id")
        .annotate(
            no_show=Count("pk", filter=Q(status=Booking.Status.NO_SHOW)),
            attended=Count("pk", filter=Q(status=Booking.Status.ATTENDED)),
        )
    ):
        f = figures[row["slot__office_id"]]
        f.no_shows += row["no_show"]
        f.attended += row["attended"]

    exceptions = PaymentException.objects.annotate(
        office_id=Coalesce("payment__bill__application__office_id", "payment__bill__visa_application__office_id")
    ).filter(p.contains("opened_at") | Q(status__in=OPEN_EXCEPTIONS))
    for row in (
        exceptions.filter(Q(office_id__in=ids) | Q(office_id__isnull=True))
        .values("office_id")
        .annotate(
            opened=Count("pk", filter=p.contains("opened_at")),
            still_open=Count("pk", filter=Q(status__in=OPEN_EXCEPTIONS)),
        )
    ):
        f = figures[row["office_id"]]
        f.exceptions_opened += row["opened"]
        f.exceptions_open += row["still_open"]

    for row in (
        CounterSession.objects.filter(p.contains("opened_at"), counter__unit__office__in=ids)
        .values("counter__unit__office_id")
        .annotate(n=Count("pk"))
    ):
        figures[row["counter__unit__office_id"]].sessions_opened += row["n"]
    for row in (
        AuditEvent.objects.filter(p.contains("occurred_at"), action="duty.counter_session_refused", office_id__in=ids)
        .values("office_id")
        .annotate(n=Count("pk"), no_deposit=Count("pk", filter=Q(details__reason="no_deposit")))
    ):
        f = figures[row["office_id"]]
        f.sessions_refused += row["n"]
        f.refused_no_deposit += row["no_deposit"]
    for office_id, _counter, _officer, covered in counter_acts(offices, p):
        f = figures[office_id]
        f.counter_acts += 1
        f.acts_without_deposit += 0 if covered else 1
    for row in (
        SpotCheck.objects.filter(p.contains("checked_at"), office__in=ids)
        .values("office_id")
        .annotate(n=Count("pk"), adverse=Count("pk", filter=~Q(finding=SpotCheck.Finding.CLEAN)))
    ):
        f = figures[row["office_id"]]
        f.spot_checks += row["n"]
        f.spot_findings += row["adverse"]

    for row in (
        Report.objects.filter(Q(office__in=ids) | Q(office__isnull=True))
        .filter(p.contains("received_at") | p.contains("closed_at") | _overdue(now))
        .values("office_id")
        .annotate(
            received=Count("pk", filter=p.contains("received_at")),
            closed=Count("pk", filter=p.contains("closed_at")),
            overdue=Count("pk", filter=_overdue(now)),
        )
    ):
        f = figures[row["office_id"]]
        f.reports_received += row["received"]
        f.reports_closed += row["closed"]
        f.reports_overdue += row["overdue"]

    for row in answers(p, "office_id", office__in=ids):
        f = figures[row["office_id"]]
        f.feedback_prompted += row["n"]
        f.add_answers(row)

    # The applicants' "asked for money" answers are counted with the feedback (the level above the office sees
    # them); the office's own count of open signals leaves that signal out.
    open_signals = Signal.objects.filter(status__in=OPEN_SIGNALS, office__in=ids).exclude(kind="money_asked")
    for row in open_signals.values("office_id").annotate(n=Count("pk")):
        figures[row["office_id"]].signals_open += row["n"]
    return figures


def without_feedback(f: Figures) -> Figures:
    """The figures without what applicants answered after their visits (for someone who only heads the office)."""
    return replace(f, feedback_prompted=0, feedback_answered=0, satisfaction_sum=0, money_asked=0)


def merged(parts: Iterable[Figures]) -> Figures:
    total = Figures()
    for part in parts:
        total.merge(part)
    return total


def service_volumes(f: Figures) -> list[tuple[str, int]]:
    """(label, count) of every service asked for in the period: passport kinds, products, express, visa kinds."""
    kinds = dict(Kind.choices)
    products = dict(Product.choices)
    visa_codes = [key.removeprefix("visa.") for key in f.services if key.startswith("visa.")]
    visa_names = {k.code: f"{k.index_code} {k.name}" for k in VisaKind.objects.filter(code__in=visa_codes)}
    rows: list[tuple[str, int]] = []
    for key, n in f.services.items():
        if key.startswith("passport.kind."):
            label = _("Passport: %(kind)s") % {"kind": kinds.get(key.rsplit(".", 1)[1], key)}
        elif key.startswith("passport.product."):
            label = _("Passport: %(product)s") % {"product": products.get(key.rsplit(".", 1)[1], key)}
        elif key.startswith("visa."):
            code = key.removeprefix("visa.")
            label = _("Visa or permit: %(kind)s") % {"kind": visa_names.get(code, code)}
        else:
            label = str(SERVICE_LABELS.get(key, key))
        rows.append((label, n))
    order = ("passport.kind.", "passport.product.", "passport.express", "visa.")

    def rank(item: tuple[str, tuple[str, int]]) -> tuple[int, str]:
        key = item[0]
        return (next((i for i, prefix in enumerate(order) if key.startswith(prefix)), len(order)), key)

    keyed = sorted(zip(f.services.keys(), rows, strict=True), key=rank)
    return [row for _key, row in keyed]


# --- Audit log health -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditHealth:
    unsealed: int
    oldest_unsealed_s: int | None
    checkpoint_size: int | None
    checkpoint_at: dt.datetime | None
    # "cosigned": the witness cosigned the latest signed head; "behind": an older one; "unknown": no answer.
    witness: str
    witness_size: int | None
    witness_at: dt.datetime | None
    uncosigned_s: int | None
    # The moments behind the two ages (the signals compare them to their thresholds to the second's fraction).
    oldest_unsealed_at: dt.datetime | None = None
    uncosigned_since: dt.datetime | None = None

    @property
    def seal_lag_alarm(self) -> bool:
        limit = settings.INTEGRITY_THRESHOLDS.get("seal_lag_s", 300)
        return self.oldest_unsealed_s is not None and self.oldest_unsealed_s > limit

    @property
    def witness_alarm(self) -> bool:
        limit = settings.INTEGRITY_THRESHOLDS.get("witness_lag_s", 900)
        return self.witness == "behind" and (self.uncosigned_s or 0) > limit

    @property
    def seal_lag_text(self) -> str:
        return format_hours(None if self.oldest_unsealed_s is None else self.oldest_unsealed_s / 3600)

    @property
    def uncosigned_text(self) -> str:
        return format_hours(None if self.uncosigned_s is None else self.uncosigned_s / 3600)


def audit_health(now: dt.datetime | None = None, *, timeout: float = 2.0) -> AuditHealth:
    """The oldest unsealed event's age, the latest signed head and whether the witness cosigned it.

    The witness is another party's service: when it cannot be reached or its answer does not verify, the
    answer is "unknown", never an error.
    """
    now = now or timezone.now()
    pending = AuditEvent.objects.filter(seq__isnull=True).aggregate(n=Count("pk"), oldest=Min("occurred_at"))
    oldest = pending["oldest"]
    head = Checkpoint.objects.order_by("-id").first()
    witness, witness_size, witness_at = "unknown", None, None
    try:
        text = witness_client.latest_cosigned(timeout=timeout)
        cosigned, when = witness_client.witness_verifier().verify_cosignature(text)
        witness_size, witness_at = cosigned.size, when
        witness = "behind" if head is not None and cosigned.size < head.tree_size else "cosigned"
    except (witness_client.WitnessUnavailable, note.NoteError, OSError, ValueError) as exc:
        log.warning("witness cosignature not readable: %s", exc)
        witness = "unknown"
    first = None
    if witness == "behind" and witness_size is not None:
        # Since the oldest head the witness has not cosigned was signed (heads only grow).
        first = (
            Checkpoint.objects.filter(tree_size__gt=witness_size)
            .order_by("id")
            .values_list("signed_at", flat=True)
            .first()
        )
    uncosigned = None if first is None else max(0, int((now - first).total_seconds()))
    return AuditHealth(
        unsealed=pending["n"] or 0,
        oldest_unsealed_s=None if oldest is None else max(0, int((now - oldest).total_seconds())),
        checkpoint_size=head.tree_size if head is not None else None,
        checkpoint_at=head.signed_at if head is not None else None,
        witness=witness,
        witness_size=witness_size,
        witness_at=witness_at,
        uncosigned_s=uncosigned,
        oldest_unsealed_at=oldest,
        uncosigned_since=first,
    )


# --- One office: its officers, its counters, one officer's cases -----------------------------------------


@dataclass
class OfficerRow(Answers):
    officer_id: int
    name: str = ""
    steps_taken: int = 0
    steps_done: int = 0
    steps_open: int = 0
    held_hours: list[float] = field(default_factory=list)
    refusals: int = 0
    asked_more: int = 0
    decisions: int = 0
    visits_served: int = 0
    counter_acts: int = 0
    acts_without_deposit: int = 0
    spot_findings: int = 0
    feedback_answered: int = 0
    satisfaction_sum: int = 0
    money_asked: int = 0

    @property
    def median_held_h(self) -> float | None:
        return median(self.held_hours)

    @property
    def median_held_text(self) -> str:
        return format_hours(self.median_held_h)


def worked_at(office: Office, officer_id: int) -> bool:
    """Did the officer hold a step drawn from this office's roster, or serve at one of its counters?"""
    return (
        Assignment.objects.filter(office=office, officer_id=officer_id).exists()
        or CounterSession.objects.filter(counter__unit__office=office, officer_id=officer_id).exists()
    )


def officer_rows(office: Office, p: Period) -> list[OfficerRow]:
    """A row per officer who worked at the office in the period (steps held, decisions, counter work)."""
    rows: dict[int, OfficerRow] = {}

    def row(officer_id: int) -> OfficerRow:
        return rows.setdefault(officer_id, OfficerRow(officer_id))

    for officer_id, assigned_at, ended_at, because in (
        Assignment.objects.filter(office=office)
        .filter(p.contains("assigned_at") | p.contains("ended_at") | Q(ended_at__isnull=True))
        .values_list("officer_id", "assigned_at", "ended_at", "ended_because")
    ):
        r = row(officer_id)
        if p.start <= assigned_at < p.end:
            r.steps_taken += 1
        if ended_at is None:
            r.steps_open += 1
        elif because == Assignment.Ended.DONE and p.start <= ended_at < p.end:
            r.steps_done += 1
            r.held_hours.append((ended_at - assigned_at).total_seconds() / 3600)
    for model in (Decision, VisaDecision):
        for d in (
            model.objects.filter(p.contains("at"), office=office)
            .values("officer_id")
            .annotate(
                n=Count("pk"),
                refused=Count("pk", filter=Q(outcome="refuse")),
                more=Count("pk", filter=Q(outcome="more_documents")),
            )
        ):
            r = row(d["officer_id"])
            r.decisions += d["n"]
            r.refusals += d["refused"]
            r.asked_more += d["more"]
    for v in (
        Visit.objects.filter(
            p.contains("called_at"), office=office, status=Visit.Status.SERVED, called_by__isnull=False
        )
        .values("called_by_id")
        .annotate(n=Count("pk"))
    ):
        row(v["called_by_id"]).visits_served += v["n"]
    offices = Office.objects.filter(pk=office.pk)
    for _office, _counter, officer_id, covered in counter_acts(offices, p):
        r = row(officer_id)
        r.counter_acts += 1
        r.acts_without_deposit += 0 if covered else 1
    for s in (
        SpotCheck.objects.filter(p.contains("checked_at"), office=office)
        .exclude(finding=SpotCheck.Finding.CLEAN)
        .values("officer_id")
        .annotate(n=Count("pk"))
    ):
        row(s["officer_id"]).spot_findings += s["n"]
    for fb in answers(p, "officer_id", office=office, officer__isnull=False):
        row(fb["officer_id"]).add_answers(fb)
    for pk, name in User.objects.filter(pk__in=list(rows)).values_list("pk", "full_name"):
        rows[pk].name = name
    return sorted(rows.values(), key=lambda r: (r.name.casefold(), r.officer_id))


@dataclass
class CounterRow(Answers):
    counter_id: int
    number: int
    unit: str
    label: str
    active: bool
    sessions: int = 0
    refused: int = 0
    visits_served: int = 0
    feedback_answered: int = 0
    satisfaction_sum: int = 0
    money_asked: int = 0
    spot_checks: int = 0
    spot_findings: int = 0
    counter_acts: int = 0
    acts_without_deposit: int = 0

    @property
    def name(self) -> str:
        name = _("Counter %(number)s") % {"number": self.number}
        if self.unit:
            name = f"{self.unit} · {name}"
        return name + (f" ({self.label})" if self.label else "")


def counter_rows(office: Office, p: Period) -> list[CounterRow]:
    """A row per counter of the office: visits served, answers to the visit question, spot checks, locker use."""
    rows = {
        # The unit is named only where it is not the office's main hall (a passport service unit, ULP).
        c.pk: CounterRow(c.pk, c.number, "" if c.unit.name == office.name else c.unit.name, c.label, c.is_active)
        for c in OfficeCounter.objects.filter(unit__office=office).select_related("unit").order_by("unit", "number")
    }
    for s in (
        CounterSession.objects.filter(p.contains("opened_at"), counter__in=list(rows))
        .values("counter_id")
        .annotate(n=Count("pk"))
    ):
        rows[s["counter_id"]].sessions += s["n"]
    for object_id, n in (
        AuditEvent.objects.filter(
            p.contains("occurred_at"),
            action="duty.counter_session_refused",
            object_type="organisation.counter",
            object_id__in=[str(pk) for pk in rows],
        )
        .values("object_id")
        .annotate(n=Count("pk"))
        .values_list("object_id", "n")
    ):
        rows[int(object_id)].refused += n
    for v in (
        Visit.objects.filter(p.contains("called_at"), office=office, status=Visit.Status.SERVED, counter__isnull=False)
        .values("counter_id")
        .annotate(n=Count("pk"))
    ):
        if v["counter_id"] in rows:
            rows[v["counter_id"]].visits_served += v["n"]
    for fb in answers(p, "counter_id", office=office, counter__isnull=False):
        if fb["counter_id"] in rows:
            rows[fb["counter_id"]].add_answers(fb)
    for s in (
        SpotCheck.objects.filter(p.contains("checked_at"), office=office, counter__isnull=False)
        .values("counter_id")
        .annotate(n=Count("pk"), adverse=Count("pk", filter=~Q(finding=SpotCheck.Finding.CLEAN)))
    ):
        if s["counter_id"] in rows:
            rows[s["counter_id"]].spot_checks += s["n"]
            rows[s["counter_id"]].spot_findings += s["adverse"]
    for _office, counter_id, _officer, covered in counter_acts(Office.objects.filter(pk=office.pk), p):
        if counter_id in rows:
            rows[counter_id].counter_acts += 1
            rows[counter_id].acts_without_deposit += 0 if covered else 1
    return list(rows.values())


@dataclass(frozen=True)
class CaseRow:
    visa: bool
    reference: str
    status: str
    duty: str
    assigned_at: dt.datetime
    ended_at: dt.datetime | None
    ended_because: str
    held_h: float | None

    @property
    def held_text(self) -> str:
        return format_hours(self.held_h)


def officer_cases(office: Office, officer_id: int, p: Period) -> list[CaseRow]:
    """The officer's steps held from this office in the period (taken, finished, or still open), newest first."""
    duties = dict(Duty.choices)
    ended = dict(Assignment.Ended.choices)
    passport_status = dict(PassportStatus.choices)
    visa_status = dict(VisaStatus.choices)
    rows = []
    for a in (
        Assignment.objects.filter(office=office, officer_id=officer_id)
        .filter(p.contains("assigned_at") | p.contains("ended_at") | Q(ended_at__isnull=True))
        .select_related("application", "visa_application")
        .order_by("-assigned_at", "-pk")[:CASES_SHOWN]
    ):
        visa = a.visa_application_id is not None
        case = a.visa_application if visa else a.application
        assert case is not None
        status_label = (visa_status if visa else passport_status).get(case.status, case.status)
        rows.append(
            CaseRow(
                visa=visa,
                reference=case.reference,
                status=str(status_label),
                duty=str(duties.get(a.duty, a.duty)),
                assigned_at=a.assigned_at,
                ended_at=a.ended_at,
                ended_because=str(ended.get(a.ended_because, "")),
                held_h=None if a.ended_at is None else (a.ended_at - a.assigned_at).total_seconds() / 3600,
            )
        )
    return rows
