"""A signal in plain language, in the reader's language, and the links to its evidence."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.urls import NoReverseMatch, reverse
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import Signal, SignalKind

STEP_NAMES = {
    "paid": gettext_lazy("documents waiting to be checked"),
    "verified": gettext_lazy("waiting for photo, fingerprints and interview"),
    "biometrics_taken": gettext_lazy("waiting for the interview"),
    "interviewed": gettext_lazy("waiting for the decision"),
    "refusal_proposed": gettext_lazy("refusal waiting for the second review"),
    "appealed": gettext_lazy("appeal waiting for a decision"),
    "approved": gettext_lazy("waiting for printing"),
    "printed": gettext_lazy("passport waiting to be handed over"),
}


def _step(step: str) -> str:
    return str(STEP_NAMES.get(step, step))


def explain(signal: Signal) -> str:
    p: dict[str, Any] = dict(signal.params)
    kind = signal.kind
    if kind == SignalKind.SLOW_CASE:
        return _(
            "Case %(case)s has been at the step “%(step)s” for %(days)s days; at this office cases usually leave "
            "that step in %(median)s days. A case held back far longer than usual can be a way to invite a payment."
        ) % {
            "case": p.get("case", "?"),
            "step": _step(str(p.get("step", ""))),
            "days": p.get("days"),
            "median": p.get("median"),
        }
    if kind in (SignalKind.REFUSAL_RATE, SignalKind.ASK_MORE_RATE):
        what = _("refused") if kind == SignalKind.REFUSAL_RATE else _("asked for more documents in")
        return _(
            "This officer %(what)s %(count)s of %(decisions)s cases (%(rate)s%%) while officers doing the same "
            "work did so in %(peers)s%%; that is %(z)s standard errors from their peers, far more than chance. "
            "Unusual refusals or requests can be used to press applicants to pay."
        ) % {
            "what": what,
            "count": p.get("count"),
            "decisions": p.get("decisions"),
            "rate": p.get("rate_pct"),
            "peers": p.get("peers_pct"),
            "z": p.get("z"),
        }
    if kind == SignalKind.REVERSED_ON_APPEAL:
        return _(
            "%(reversed)s of this officer's %(refusals)s refusals were reversed on appeal: the refusals did not "
            "hold up."
        ) % {"reversed": p.get("reversed"), "refusals": p.get("refusals")}
    if kind == SignalKind.VIEW_NOT_ASSIGNED:
        return _(
            "This staff member opened the personal data of %(cases)s cases (%(views)s times) that were never "
            "assigned to them. Looking up people's files without a reason is how brokers get their information."
        ) % {"cases": p.get("cases"), "views": p.get("views")}
    if kind == SignalKind.VIEW_OFF_ROSTER:
        return _(
            "This staff member opened personal data %(views)s times (%(cases)s cases) outside any shift of theirs "
            "on the roster."
        ) % {"cases": p.get("cases"), "views": p.get("views")}
    if kind == SignalKind.NO_DEPOSIT:
        return _(
            "This officer worked at a counter %(acts)s times while no deposit of their devices was recorded in a "
            "locker: their phone may have been with them."
        ) % {"acts": p.get("acts")}
    if kind == SignalKind.REFUSED_SESSIONS:
        return _(
            "Gerbang refused %(attempts)s attempts by this officer to open a counter session (no shift there, no "
            "locker deposit, or the counter not in use)."
        ) % {"attempts": p.get("attempts")}
    if kind == SignalKind.SPOT_CHECK:
        return _("A spot check recorded this finding: %(finding)s.") % {"finding": _finding(str(p.get("finding", "")))}
    if kind == SignalKind.BLOCKED_CONTACT:
        return _(
            "The official channel blocked %(attempts)s messages of this officer (in %(cases)s cases) because they "
            "carried a phone number, an e-mail address or another way to reach the applicant outside Gerbang."
        ) % {"attempts": p.get("attempts"), "cases": p.get("cases")}
    if kind == SignalKind.BROKER:
        channel = {
            "payer": _("one payer (the same bank account or card)"),
            "terminal": _("one payment device"),
            "client": _("one client address"),
            "device": _("one browser"),
        }.get(str(p.get("channel")), str(p.get("channel")))
        text = capfirst(
            _(
                "%(channel)s acted for %(applicants)s applicants from %(unrelated)s different families or sponsors. "
                "Families paying together and a company paying for its own workers are counted as one; many unrelated "
                "people behind one payer or device is the mark of a broker."
            )
            % {"channel": channel, "applicants": p.get("applicants"), "unrelated": p.get("unrelated")}
        )
        if p.get("channel") in ("device", "client"):
            text += " " + _(
                "A shared computer (an internet café) or a shared network looks the same: read the evidence before "
                "acting."
            )
        return text
    if kind == SignalKind.RECURRING_PAIR:
        return _(
            "The same applicant's cases went to this officer %(cases)s times, where the random draw would give "
            "about %(expected)s (chance: %(p)s). Cases are drawn at random; meeting again and again is not chance."
        ) % {"cases": p.get("cases"), "expected": p.get("expected"), "p": p.get("p")}
    if kind == SignalKind.EXPRESS_JUMP:
        return _(
            "%(share)s%% of this office's paid passport cases this week were express, against %(before)s%% in the "
            "weeks before (%(cases)s cases, %(z)s standard errors). A sudden jump can mean applicants are pushed "
            "to pay for speed."
        ) % {"share": p.get("share_pct"), "before": p.get("before_pct"), "cases": p.get("cases"), "z": p.get("z")}
    if kind == SignalKind.MONEY_ASKED:
        return _(
            "%(yes)s of %(answers)s applicants served at this counter answered that someone asked them for money or "
            "a gift; at the other counters %(rate)s%% of applicants say so (chance of this many: %(p)s)."
        ) % {"yes": p.get("yes"), "answers": p.get("answers"), "rate": p.get("rate_pct", "?"), "p": p.get("p", "?")}
    if kind == SignalKind.SEAL_LAG:
        return _(
            "The oldest audit event waiting to be sealed is %(seconds)s seconds old: the sealer is stopped or "
            "behind, so recent actions are not yet protected by the hash chain."
        ) % {"seconds": p.get("seconds")}
    if kind == SignalKind.WITNESS_MISSING:
        return _(
            "A signed head of the audit log has waited %(seconds)s seconds for the witness's cosignature: the "
            "outside party cannot vouch for the recent log."
        ) % {"seconds": p.get("seconds")}
    if kind == SignalKind.AUDIT_VERIFY:
        return _(
            "Verifying the audit log failed: %(problem)s. Either the log was altered or it cannot be verified "
            "(a key or a signed head is missing): find out which before anything else."
        ) % {"problem": p.get("problem", "")}
    return str(signal.get_kind_display())


def _finding(code: str) -> str:
    from gerbang.duty.models import SpotCheck

    try:
        return str(SpotCheck.Finding(code).label)
    except ValueError:
        return code


RECORD_LABELS = {
    "audit": gettext_lazy("Audit event %(id)s"),
    "payment": gettext_lazy("Payment %(id)s"),
    "blocked_message": gettext_lazy("Blocked message %(id)s"),
    "spot_check": gettext_lazy("Spot check %(id)s"),
    "visit": gettext_lazy("Visit %(id)s"),
}


HISTORY = {
    "supervision.signal_raised": gettext_lazy("Found by Gerbang"),
    "supervision.signal_acknowledged": gettext_lazy("Acknowledged"),
    "supervision.signal_investigating": gettext_lazy("Investigation opened"),
    "supervision.signal_dismissed": gettext_lazy("Dismissed"),
    "supervision.signal_reopened": gettext_lazy("Reopened"),
    "supervision.signal_reopened_grown": gettext_lazy("Reopened by Gerbang: found again, stronger than when dismissed"),
    "supervision.evidence_viewed": gettext_lazy("Evidence looked at"),
}


def history_label(action: str) -> str:
    return str(HISTORY.get(action, action))


@dataclass
class Evidence:
    label: str
    url: str | None


def _url(name: str, *args: Any) -> str | None:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def _case_url(ref: Any) -> tuple[str, str | None]:
    """A case ref is ["p", reference] (passport) or ["v", reference] (visa), or a bare reference."""
    if isinstance(ref, list | tuple) and len(ref) == 2:
        kind, reference = ref
        if kind == "v":
            return str(reference), _url("staff:visa_case", reference)
        return str(reference), _url("staff:case", reference)
    return str(ref), _url("staff:case", ref)


def evidence(signal: Signal) -> list[Evidence]:
    out = []
    for item in signal.evidence:
        kind, ref = item[0], item[1]
        if kind in ("p", "v"):  # a case named by its kind and reference (["p", "PAS…"])
            kind, ref = "case", [kind, ref]
        if kind == "case":
            label, url = _case_url(ref)
            out.append(Evidence(_("Case %(ref)s") % {"ref": label}, url))
        elif kind == "visa_case":
            out.append(Evidence(_("Visa case %(ref)s") % {"ref": ref}, _url("staff:visa_case", ref)))
        elif kind in RECORD_LABELS:
            label = RECORD_LABELS[kind] % {"id": ref}
            out.append(Evidence(label, _url("staff:signal_evidence", signal.pk, kind, ref)))
        else:
            out.append(Evidence(f"{kind} {ref}", None))
    return out
