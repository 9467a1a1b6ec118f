"""Integrity signals from the database: the facts of a window, the detectors, the stored signals.

:func:`collect` reads what the detectors need from the records of the last ``INTEGRITY_WINDOW_DAYS``
(identifiers are primary keys; evidence refs are ``(type, id)`` pairs the signal page links to).
:func:`refresh_signals` (the ``compute-integrity-signals`` schedule) runs the detectors and stores each
finding as one :class:`Signal` per key in one transaction, auditing every new signal. The supervisor's
workflow on a signal is :func:`acknowledge`, :func:`investigate` and :func:`dismiss` (with a reason).
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from gerbang.access.permissions import Perm, may
from gerbang.accounts.models import GrantStatus, Role, RoleGrant
from gerbang.applications.models import PassportApplication, Step
from gerbang.applications.models import Status as PassportStatus
from gerbang.audit.actions import record
from gerbang.audit.models import AuditEvent
from gerbang.casework.models import Assignment, Biometrics, Decision, Interview
from gerbang.channel.models import BlockedMessage
from gerbang.core.errors import FieldError
from gerbang.duty.models import DeviceDeposit, Shift, SpotCheck
from gerbang.identity.models import CitizenIdentity
from gerbang.payments.models import Payment
from gerbang.visas.models import VisaApplication, VisaDecision, VisaStep
from gerbang.visits.models import Visit

from . import detectors as d
from . import metrics
from .models import ClientTrace, Signal, SignalStatus, VisitFeedback
from .traces import keyed

log = logging.getLogger(__name__)

# Steps in which the office holds the case (the applicant's own steps are not slow-walking).
OFFICE_STEPS = {
    "paid",
    "verified",
    "biometrics_taken",
    "interviewed",
    "refusal_proposed",
    "appealed",
    "approved",
    "printed",
}
# Audit events of staff opening a case's personal data.
VIEW_EVENTS = (
    "applications.viewed_by_officer",
    "casework.case_viewed",
    "visas.case_viewed",
    # The front desk's look-up of a booked applicant (assigned: whoever then checks them in or calls them).
    "visits.application_viewed",
)
SUPERVISORY_ROLES = (Role.OFFICE_HEAD, Role.REGIONAL_SUPERVISOR, Role.DIRECTORATE_AUDITOR)
# Payment channels whose terminal id stands for one device, not a bank's counter, machine or gateway. The
# sandbox bank's teller and ATM terminals serve the public, and its mobile (MOB-APP) and card (CARD-GW-01)
# channels report one id for every payer: for those, the payer_ref (account or card) is the fingerprint.
PERSONAL_TERMINAL_CHANNELS = ("internet",)
UNKNOWN_PAYERS = frozenset({"unknown"})
# PostgreSQL advisory lock key of refresh_signals (any constant no other code uses).
REFRESH_LOCK = 0x5155_5056


def _days(delta: dt.timedelta) -> float:
    return delta.total_seconds() / 86400


def _spells(facts: d.Facts, since: dt.datetime, now: dt.datetime) -> None:
    """Each case's stays in the office's steps, from the timelines (passports and visas)."""
    holders: dict[tuple[str, int], int] = {}
    for a in Assignment.objects.filter(ended_at__isnull=True).values(
        "application_id", "visa_application_id", "officer_id"
    ):
        if a["application_id"]:
            holders[("p", a["application_id"])] = a["officer_id"]
        else:
            holders[("v", a["visa_application_id"])] = a["officer_id"]
    for prefix, step_model, case_model in (("p", Step, PassportApplication), ("v", VisaStep, VisaApplication)):
        # Cases that moved in the window, and every case the office holds now however long ago it last moved.
        active = case_model.objects.filter(
            (Q(updated_at__gte=since) if prefix == "p" else Q(steps__at__gte=since)) | Q(status__in=OFFICE_STEPS)
        ).values_list("pk", flat=True)
        cases = {
            c["pk"]: c
            for c in case_model.objects.filter(pk__in=list(active)).values("pk", "reference", "office_id", "status")
        }
        steps = step_model.objects.filter(application_id__in=list(cases)).order_by("application_id", "at", "pk")
        previous: dict[int, tuple[str, dt.datetime]] = {}
        for row in steps.values("application_id", "to_status", "at"):
            case = cases[row["application_id"]]
            before = previous.get(row["application_id"])
            if before is not None and before[0] in OFFICE_STEPS and row["at"] >= since:
                facts.spells.append(
                    d.Spell(
                        (prefix, case["reference"]),
                        case["office_id"],
                        before[0],
                        None,
                        _days(row["at"] - before[1]),
                        False,
                    )
                )
            previous[row["application_id"]] = (row["to_status"], row["at"])
        for pk, (status, at) in previous.items():
            case = cases[pk]
            if status in OFFICE_STEPS and case["status"] == status:
                facts.spells.append(
                    d.Spell(
                        (prefix, case["reference"]),
                        case["office_id"],
                        status,
                        holders.get((prefix, pk)),
                        _days(now - at),
                        True,
                    )
                )


def _decisions(facts: d.Facts, since: dt.datetime) -> None:
    """Adjudicators' decisions and verifiers' outcomes; refusals an appeal reversed."""
    for prefix, model in (("p", Decision), ("v", VisaDecision)):
        rows = list(
            model.objects.filter(at__gte=since).values(
                "application_id", "application__reference", "stage", "outcome", "officer_id", "office_id"
            )
        )
        reversed_cases = {r["application_id"] for r in rows if r["stage"] == "appeal" and r["outcome"] == "approve"}
        for r in rows:
            if r["stage"] == "appeal":
                continue
            outcome = {"approve": "approve", "refuse": "refuse", "more_documents": "ask_more"}.get(r["outcome"])
            if outcome is None:
                continue
            facts.decisions.append(
                d.DecisionFact(
                    r["officer_id"],
                    r["office_id"],
                    (prefix, r["application__reference"]),
                    outcome,
                    outcome == "refuse" and r["application_id"] in reversed_cases,
                    "decision",
                )
            )
    # Verifiers: a paid case verified (accepted) or sent back for documents.
    for prefix, step_model in (("p", Step), ("v", VisaStep)):
        steps = step_model.objects.filter(
            at__gte=since, from_status="paid", to_status__in=["verified", "documents_requested"], actor__isnull=False
        ).values("actor_id", "application__reference", "application__office_id", "to_status")
        for st in steps:
            facts.decisions.append(
                d.DecisionFact(
                    st["actor_id"],
                    st["application__office_id"],
                    (prefix, st["application__reference"]),
                    "approve" if st["to_status"] == "verified" else "ask_more",
                    False,
                    "verification",
                )
            )


def _supervising() -> dict[int, list[tuple[dt.datetime, dt.datetime | None]]]:
    """user -> the spans (from, until) in which they held a supervisory grant (active now, or revoked since)."""
    spans: dict[int, list[tuple[dt.datetime, dt.datetime | None]]] = defaultdict(list)
    for g in RoleGrant.objects.filter(
        status__in=[GrantStatus.ACTIVE, GrantStatus.REVOKED], role__in=SUPERVISORY_ROLES, decided_at__isnull=False
    ).values("user_id", "decided_at", "revoked_at"):
        if g["decided_at"] is not None:
            spans[g["user_id"]].append((g["decided_at"], g["revoked_at"]))
    return spans


def _was_supervising(
    spans: dict[int, list[tuple[dt.datetime, dt.datetime | None]]], user: int, at: dt.datetime
) -> bool:
    return any(start <= at and (end is None or at < end) for start, end in spans.get(user, ()))


def _views(facts: d.Facts, since: dt.datetime) -> None:
    events = list(
        AuditEvent.objects.filter(occurred_at__gte=since, action__in=VIEW_EVENTS, actor__isnull=False).values(
            "id", "actor_id", "office_id", "object_type", "object_id", "occurred_at"
        )
    )
    if not events:
        return
    supervising = _supervising()
    events = [e for e in events if not _was_supervising(supervising, e["actor_id"], e["occurred_at"])]
    passport_ids = {int(e["object_id"]) for e in events if e["object_type"] == "applications.passportapplication"}
    visa_ids = {int(e["object_id"]) for e in events if e["object_type"] == "visas.visaapplication"}
    assigned = set(
        Assignment.objects.filter(application_id__in=passport_ids).values_list("officer_id", "application_id")
    )
    assigned_visa = set(
        Assignment.objects.filter(visa_application_id__in=visa_ids).values_list("officer_id", "visa_application_id")
    )
    # Officers who met the applicant at the desk or a counter also handled the case.
    for v in Visit.objects.filter(application_id__in=passport_ids).values(
        "application_id", "checked_in_by_id", "called_by_id"
    ):
        assigned.add((v["checked_in_by_id"], v["application_id"]))
        if v["called_by_id"]:
            assigned.add((v["called_by_id"], v["application_id"]))
    refs = {
        **{
            ("p", pk): ref
            for pk, ref in PassportApplication.objects.filter(pk__in=passport_ids).values_list("pk", "reference")
        },
        **{
            ("v", pk): ref for pk, ref in VisaApplication.objects.filter(pk__in=visa_ids).values_list("pk", "reference")
        },
    }
    shifts: dict[int, list[tuple[dt.datetime, dt.datetime]]] = defaultdict(list)
    for s in Shift.objects.filter(
        officer_id__in={e["actor_id"] for e in events}, cancelled_at__isnull=True, ends_at__gte=since
    ).values("officer_id", "starts_at", "ends_at"):
        shifts[s["officer_id"]].append((s["starts_at"], s["ends_at"]))
    for e in events:
        pk = int(e["object_id"])
        is_visa = e["object_type"] == "visas.visaapplication"
        key = ("v", pk) if is_visa else ("p", pk)
        was_assigned = (e["actor_id"], pk) in (assigned_visa if is_visa else assigned)
        on_roster = any(start <= e["occurred_at"] <= end for start, end in shifts[e["actor_id"]])
        facts.views.append(
            d.ViewFact(
                e["actor_id"],
                e["office_id"],
                (key[0], refs.get(key, str(pk))),
                was_assigned,
                on_roster,
                ("audit", e["id"]),
            )
        )


def _deposit_ok(
    deposits: dict[int, list[tuple[dt.datetime, dt.datetime | None]]], officer: int, at: dt.datetime
) -> bool:
    return any(start <= at and (end is None or end > at) for start, end in deposits.get(officer, ()))


def _counters(facts: d.Facts, since: dt.datetime) -> None:
    deposits: dict[int, list[tuple[dt.datetime, dt.datetime | None]]] = defaultdict(list)
    for dep in DeviceDeposit.objects.filter(Q(returned_at__isnull=True) | Q(returned_at__gte=since)).values(
        "officer_id", "deposited_at", "returned_at"
    ):
        deposits[dep["officer_id"]].append((dep["deposited_at"], dep["returned_at"]))
    for model, kind in ((Biometrics, "biometrics"), (Interview, "interview")):
        for r in model.objects.filter(at__gte=since).values(
            "officer_id", "counter_id", "counter__unit__office_id", "at", "application__reference"
        ):
            facts.counter_acts.append(
                d.CounterAct(
                    r["officer_id"],
                    r["counter__unit__office_id"],
                    r["counter_id"],
                    _deposit_ok(deposits, r["officer_id"], r["at"]),
                    ("case", r["application__reference"]) if kind else None,
                )
            )
    for v in Visit.objects.filter(called_at__gte=since, called_by__isnull=False).values(
        "id", "called_by_id", "office_id", "counter_id", "called_at"
    ):
        facts.counter_acts.append(
            d.CounterAct(
                v["called_by_id"],
                v["office_id"],
                v["counter_id"],
                v["called_at"] is not None and _deposit_ok(deposits, v["called_by_id"], v["called_at"]),
                ("visit", v["id"]),
            )
        )
    for e in AuditEvent.objects.filter(
        occurred_at__gte=since, action="duty.counter_session_refused", actor__isnull=False
    ).values("id", "actor_id", "office_id"):
        facts.session_refusals.append(d.SessionRefusal(e["actor_id"], e["office_id"], ("audit", e["id"])))
    for s in (
        SpotCheck.objects.filter(checked_at__gte=since)
        .exclude(finding=SpotCheck.Finding.CLEAN)
        .values("id", "officer_id", "office_id", "counter_id", "finding")
    ):
        facts.spot_findings.append(
            d.SpotFinding(s["officer_id"], s["office_id"], s["counter_id"], s["finding"], s["id"])
        )


def _blocked(facts: d.Facts, since: dt.datetime) -> None:
    for b in BlockedMessage.objects.filter(attempted_at__gte=since).values(
        "id",
        "author_id",
        "application__office_id",
        "application__reference",
        "visa_application__office_id",
        "visa_application__reference",
    ):
        if b["application__reference"]:
            office, case = b["application__office_id"], ("p", b["application__reference"])
        else:
            office, case = b["visa_application__office_id"], ("v", b["visa_application__reference"])
        facts.blocked.append(d.BlockedFact(b["author_id"], office, case, ("blocked_message", b["id"])))


def _applicants(passport_ids: set[int], visa_ids: set[int]) -> dict[tuple[str, int], tuple[Any, Any, Any, str]]:
    """(kind, pk) -> (applicant, group, office, reference): the person, who may rightly pay with them, where."""
    out: dict[tuple[str, int], tuple[Any, Any, Any, str]] = {}
    rows = list(
        PassportApplication.objects.filter(pk__in=passport_ids).values(
            "pk", "applicant_nik", "filer_id", "office_id", "reference"
        )
    )
    # One family card (KK) is one family: the filer's, as the registry confirmed it; minors are filed on it.
    family_card = dict(
        CitizenIdentity.objects.filter(account_id__in={a["filer_id"] for a in rows}, status="active").values_list(
            "account_id", "kk"
        )
    )
    for a in rows:
        kk = family_card.get(a["filer_id"])
        group = ("kk", keyed("kk", kk)[:16]) if kk else ("filer", a["filer_id"])
        out[("p", a["pk"])] = (("nik", a["applicant_nik"]), group, a["office_id"], a["reference"])
    for v in VisaApplication.objects.filter(pk__in=visa_ids).values(
        "pk", "foreigner_id", "sponsor_id", "filer_id", "office_id", "reference"
    ):
        group = ("sponsor", v["sponsor_id"]) if v["sponsor_id"] else ("filer", v["filer_id"])
        out[("v", v["pk"])] = (("foreigner", v["foreigner_id"]), group, v["office_id"], v["reference"])
    return out


def _acts_for(facts: d.Facts, since: dt.datetime) -> None:
    payments = list(
        Payment.objects.filter(paid_at__gte=since, bill__isnull=False).values(
            "id", "payer_ref", "terminal_id", "channel", "bill__application_id", "bill__visa_application_id"
        )
    )
    traces = list(
        ClientTrace.objects.filter(at__gte=since).values(
            "id", "client", "device", "application_id", "visa_application_id"
        )
    )
    passport_ids: set[int] = set()
    visa_ids: set[int] = set()
    pairs = [(p["bill__application_id"], p["bill__visa_application_id"]) for p in payments]
    pairs += [(t["application_id"], t["visa_application_id"]) for t in traces]
    for passport_id, visa_id in pairs:
        if passport_id is not None:
            passport_ids.add(passport_id)
        if visa_id is not None:
            visa_ids.add(visa_id)
    who = _applicants(passport_ids, visa_ids)
    for p in payments:
        case = ("p", p["bill__application_id"]) if p["bill__application_id"] else ("v", p["bill__visa_application_id"])
        if case not in who:
            continue
        applicant, group, office, _ref = who[case]
        # A statement entry naming no payer is stored as "unknown": not a payer at all.
        if p["payer_ref"] and p["payer_ref"] not in UNKNOWN_PAYERS:
            facts.acts_for.append(d.ActFor("payer", p["payer_ref"], applicant, group, office, ("payment", p["id"])))
        if p["terminal_id"] not in ("", *UNKNOWN_PAYERS) and p["channel"] in PERSONAL_TERMINAL_CHANNELS:
            facts.acts_for.append(
                d.ActFor("terminal", p["terminal_id"], applicant, group, office, ("payment", p["id"]))
            )
    for t in traces:
        case = ("p", t["application_id"]) if t["application_id"] else ("v", t["visa_application_id"])
        if case not in who:
            continue
        applicant, group, office, ref = who[case]
        evidence = ("case" if case[0] == "p" else "visa_case", ref)
        facts.acts_for.append(d.ActFor("client", t["client"], applicant, group, office, evidence))
        facts.acts_for.append(d.ActFor("device", t["device"], applicant, group, office, evidence))


def _handlings(facts: d.Facts, since: dt.datetime) -> None:
    for a in Assignment.objects.filter(assigned_at__gte=since).values(
        "officer_id",
        "office_id",
        "application__applicant_nik",
        "application__reference",
        "visa_application__foreigner_id",
        "visa_application__reference",
    ):
        applicant: tuple[str, Any]
        if a["application__reference"]:
            # A keyed hash, not the NIK: the key ends up in the signal and its audit event.
            applicant, case = (
                ("nik", keyed("nik", a["application__applicant_nik"])[:16]),
                ("p", a["application__reference"]),
            )
        else:
            applicant, case = (
                ("foreigner", a["visa_application__foreigner_id"]),
                ("v", a["visa_application__reference"]),
            )
        facts.handlings.append(d.Handling(applicant, a["officer_id"], a["office_id"], case))


def _express(facts: d.Facts, now: dt.datetime) -> None:
    since = now - dt.timedelta(weeks=6)
    for s in Step.objects.filter(at__gte=since, to_status=PassportStatus.PAID).values(
        "at", "application__office_id", "application__express"
    ):
        facts.express.append(
            d.ExpressFact(s["application__office_id"], (now - s["at"]).days // 7, s["application__express"])
        )


def _feedback(facts: d.Facts, since: dt.datetime) -> None:
    for f in VisitFeedback.objects.filter(answered_at__gte=since).values(
        "visit_id", "office_id", "counter_id", "officer_id", "asked_for_money", "satisfaction"
    ):
        facts.feedback.append(
            d.FeedbackFact(
                f["office_id"],
                f["counter_id"],
                f["officer_id"],
                bool(f["asked_for_money"]),
                f["satisfaction"] or 0,
                f["visit_id"],
            )
        )


def audit_health(now: dt.datetime, *, verify: bool = True) -> d.AuditHealth:
    """The audit log's facts for the signals: the dashboard's reading (``metrics.audit_health``), plus a
    verification of the whole log against the latest signed head."""
    health = metrics.audit_health(now, timeout=5.0)
    # The witness cannot be read ("unknown"): at least the newest head has waited since it was signed.
    waiting = health.checkpoint_at if health.witness == "unknown" else health.uncosigned_since
    unsealed = health.oldest_unsealed_at
    ok, problem = _verify() if verify else (True, "")
    return d.AuditHealth(
        max((now - unsealed).total_seconds(), 0.0) if unsealed else 0.0,
        max((now - waiting).total_seconds(), 0.0) if waiting else 0.0,
        ok,
        problem,
    )


def _verify() -> tuple[bool, str]:
    """Recompute the chain and tree against the latest head Gerbang signed (as ``audit_verify`` does)."""
    from gerbang.audit import checkpoints
    from gerbang.audit.verify import Reference, verify_log

    latest = checkpoints.latest()
    references = []
    if latest is not None:
        try:
            references.append(Reference(checkpoints.log_verifier().verify_note(latest.note), "latest checkpoint"))
        except Exception as exc:
            return False, f"the latest checkpoint does not verify: {exc}"
    report = verify_log(references)
    if report.intact:
        return True, ""
    return False, "; ".join(p.message for p in report.problems[:3])


def collect(now: dt.datetime | None = None, *, days: int | None = None, audit: bool = True) -> d.Facts:
    now = now or timezone.now()
    since = now - dt.timedelta(days=days or settings.INTEGRITY_WINDOW_DAYS)
    facts = d.Facts()
    _spells(facts, since, now)
    _decisions(facts, since)
    _views(facts, since)
    _counters(facts, since)
    _blocked(facts, since)
    _acts_for(facts, since)
    _handlings(facts, since)
    _express(facts, now)
    _feedback(facts, since)
    if audit:
        facts.audit = audit_health(now)
    return facts


@dataclass
class Refresh:
    found: int
    new: int
    gone: int
    reopened: int = 0


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float):
        return round(value, 3)
    return value


def _existing_subjects(findings: list[d.Finding]) -> list[d.Finding]:
    """Findings whose office, officer and counter still exist (an audit event outlives what it names)."""
    from gerbang.accounts.models import User
    from gerbang.organisation.models import Counter, Office

    offices = set(Office.objects.filter(pk__in={f.office for f in findings}).values_list("pk", flat=True))
    officers = set(User.objects.filter(pk__in={f.officer for f in findings}).values_list("pk", flat=True))
    counters = set(Counter.objects.filter(pk__in={f.counter for f in findings}).values_list("pk", flat=True))
    kept = []
    for f in findings:
        if (f.office is None or f.office in offices) and (f.officer is None or f.officer in officers):
            kept.append(f._replace(counter=f.counter if f.counter in counters else None))
        else:
            log.warning("integrity finding %s names an office or officer that no longer exists", f.key)
    return kept


def refresh_signals(now: dt.datetime | None = None, *, audit: bool = True) -> Refresh:
    """Run the detectors and store their findings (one Signal per key); audited, one transaction."""
    now = now or timezone.now()
    facts = collect(now, audit=audit)
    # Millions of small tuples: the cyclic garbage collector would walk them again and again for nothing.
    gc.disable()
    try:
        raw = d.detect_all(facts, settings.INTEGRITY_THRESHOLDS)
    finally:
        gc.enable()
    findings = _existing_subjects(raw)
    by_key = {f.key: f for f in findings}
    new = reopened = 0
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Two runs at once (two workers, or the demo beside the schedule) would insert the same new keys:
            # the second waits here for the first to commit, then finds its rows.
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [REFRESH_LOCK])
        existing = {
            s.key: s for s in Signal.objects.select_for_update().filter(Q(key__in=list(by_key)) | Q(present=True))
        }
        for key, f in by_key.items():
            fields = {
                "office_id": f.office,
                "officer_id": f.officer,
                "counter_id": f.counter,
                "score": float(f.score),
                "params": {k: _jsonable(v) for k, v in f.params.items()},
                "evidence": [[t, _jsonable(i)] for t, i in f.evidence],
                "last_seen_at": now,
                "present": True,
            }
            signal = existing.get(key)
            if signal is None:
                signal = Signal.objects.create(kind=f.kind, key=key, first_seen_at=now, **fields)
                record(
                    "supervision.signal_raised",
                    actor=None,
                    obj=signal,
                    office=signal.office,
                    details={"kind": f.kind, "key": key, "officer": f.officer if isinstance(f.officer, int) else None},
                )
                new += 1
            else:
                for name, value in fields.items():
                    setattr(signal, name, value)
                if _grown_since_dismissed(signal):
                    reopened += 1
                    _reopen_grown(signal, now)
                    fields.update(
                        status=signal.status,
                        status_changed_at=now,
                        status_changed_by=None,
                        status_note="",
                        dismissed_score=None,
                    )
                signal.save(update_fields=[*fields.keys()])
        gone = [s.pk for key, s in existing.items() if key not in by_key and s.present]
        Signal.objects.filter(pk__in=gone).update(present=False)
        record(
            "supervision.signals_computed",
            actor=None,
            details={"found": len(by_key), "new": new, "no_longer_found": len(gone), "reopened": reopened},
        )
    return Refresh(found=len(by_key), new=new, gone=len(gone), reopened=reopened)


def _grown_since_dismissed(signal: Signal) -> bool:
    """Dismissed, and found again at least ``reopen_growth`` x as strong as when it was dismissed."""
    if signal.status != SignalStatus.DISMISSED or signal.dismissed_score is None:
        return False
    growth = settings.INTEGRITY_THRESHOLDS["reopen_growth"]
    return signal.score > signal.dismissed_score and signal.score >= signal.dismissed_score * growth


def _reopen_grown(signal: Signal, now: dt.datetime) -> None:
    """Inside refresh_signals' transaction: Gerbang reopens the signal; audited with both strengths."""
    dismissed = signal.dismissed_score
    signal.status = SignalStatus.OPEN
    signal.status_changed_at = now
    signal.dismissed_score = None
    signal.status_changed_by = None  # Gerbang, as for a new signal; the history keeps who dismissed it and why
    signal.status_note = ""
    record(
        "supervision.signal_reopened_grown",
        actor=None,
        obj=signal,
        office=signal.office,
        details={
            "kind": signal.kind,
            "from": SignalStatus.DISMISSED,
            "to": SignalStatus.OPEN,
            # Strings: the audit log's canonical JSON holds no floats.
            "score_when_dismissed": f"{dismissed:g}",
            "score": f"{signal.score:g}",
            "note": f"{dismissed:g} → {signal.score:g}",
        },
    )


# --- The supervisor's workflow ---------------------------------------------------------------------------

TRANSITIONS: dict[str, set[str]] = {
    "acknowledge": {SignalStatus.OPEN},
    "investigate": {SignalStatus.OPEN, SignalStatus.ACKNOWLEDGED},
    "dismiss": {SignalStatus.OPEN, SignalStatus.ACKNOWLEDGED, SignalStatus.INVESTIGATING},
    "reopen": {SignalStatus.DISMISSED},
}
TARGET = {
    "acknowledge": SignalStatus.ACKNOWLEDGED,
    "investigate": SignalStatus.INVESTIGATING,
    "dismiss": SignalStatus.DISMISSED,
    "reopen": SignalStatus.OPEN,
}


def work_signal(signal: Signal, *, actor: Any, step: str, note: str = "") -> Signal:
    """Acknowledge, investigate, dismiss (a reason required) or reopen a signal; audited with the note."""
    note = (note or "").strip()
    if step not in TARGET:
        raise FieldError("step", _("Choose acknowledge, investigate, dismiss or reopen."))
    if actor is not None and actor.pk == signal.officer_id:
        raise FieldError("step", _("This signal is about you: a supervisor above you works it."))
    # Dismissing or reopening ends or revives the matter: the level above the office decides, so that nobody
    # buries a signal about their own office (its head acknowledges and investigates).
    above = signal.office.division if signal.office is not None else None
    if step in ("dismiss", "reopen") and not may(actor, Perm.SUPERVISE, above):
        raise FieldError(
            "step", _("Only the regional division or the directorate can dismiss or reopen a signal about an office.")
        )
    if step in ("dismiss", "reopen") and len(note) < 10:
        raise FieldError("note", _("Write why (at least 10 characters): the reason is kept in the audit log."))
    if len(note) > 1000:
        raise FieldError("note", _("Keep the note under 1,000 characters."))
    with transaction.atomic():
        locked = Signal.objects.select_for_update().get(pk=signal.pk)
        if locked.status not in TRANSITIONS[step]:
            raise FieldError(
                "step",
                _("This signal is %(status)s; it cannot be changed that way.")
                % {"status": locked.get_status_display()},
            )
        before = locked.status
        locked.status = TARGET[step]
        locked.status_changed_at = timezone.now()
        locked.status_changed_by = actor
        locked.status_note = note if step != "reopen" else ""
        locked.dismissed_score = locked.score if step == "dismiss" else None
        locked.save(
            update_fields=["status", "status_changed_at", "status_changed_by", "status_note", "dismissed_score"]
        )
        record(
            f"supervision.signal_{'reopened' if step == 'reopen' else TARGET[step]}",
            actor=actor,
            obj=locked,
            office=locked.office,
            details={"kind": locked.kind, "from": before, "to": locked.status, "note": note},
        )
    return locked
