"""The integrity detectors: plain functions over plain facts, no database.

``collect.py`` reads the facts of a window (30 days by default) from the database; ``bench/integrity_sim.py``
generates them for a simulated month with planted abuse. Both call :func:`detect_all` with the thresholds
of ``settings.INTEGRITY_THRESHOLDS``. Every detector is one pass over its facts (grouping in dictionaries),
so a month of a million cases is computed in seconds.

Identifiers (offices, officers, cases, applicants, payers) are whatever hashable values the caller uses.
A :class:`Finding` names its subject with a ``key`` that is stable between runs, so a signal found again
is the same signal, and carries the figures its plain-language explanation is written from.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

Id = Hashable


class Spell(NamedTuple):
    """A case's stay in one step: ``days`` so far (``open``) or until it left."""

    case: Id
    office: Id
    step: str
    officer: Id | None
    days: float
    open: bool


class DecisionFact(NamedTuple):
    """An officer's decision on a case: ``approve``, ``refuse`` or ``ask_more``; a refusal later reversed."""

    officer: Id
    office: Id
    case: Id
    outcome: str
    reversed: bool = False
    # Peers are the officers of the same duty ("verification", "decision", …).
    duty: str = "decision"


class ViewFact(NamedTuple):
    """A staff member looked at a case's personal data (an audit event)."""

    viewer: Id
    office: Id
    case: Id
    assigned: bool
    on_roster: bool
    ref: Id


class CounterAct(NamedTuple):
    """Face-to-face work at a counter; ``deposit_ok``: the officer's devices were in a locker then."""

    officer: Id
    office: Id
    counter: Id | None
    deposit_ok: bool
    ref: Id


class SessionRefusal(NamedTuple):
    officer: Id
    office: Id
    ref: Id


class SpotFinding(NamedTuple):
    officer: Id
    office: Id
    counter: Id | None
    finding: str
    ref: Id


class BlockedFact(NamedTuple):
    """A message of an officer the channel's screening blocked (contact details)."""

    officer: Id
    office: Id
    case: Id
    ref: Id


class ActFor(NamedTuple):
    """Someone acted for an applicant: paid (``payer``, ``terminal``) or filed/booked (``client``, ``device``).

    ``group`` ties applicants who may rightly share a payer: their family card or their sponsor.
    """

    channel: str
    key: Id
    applicant: Id
    group: Id | None
    office: Id
    ref: Id


class Handling(NamedTuple):
    """An officer handled a case of an applicant (any step)."""

    applicant: Id
    officer: Id
    office: Id
    case: Id


class ExpressFact(NamedTuple):
    """A paid passport case of an office in a week (0 = this week, 1 = last week, …): express or not."""

    office: Id
    week: int
    express: bool


class FeedbackFact(NamedTuple):
    office: Id
    counter: Id | None
    officer: Id | None
    asked_money: bool
    satisfaction: int
    ref: Id


class AuditHealth(NamedTuple):
    """The audit log now: age of the oldest unsealed event, of the newest head not yet cosigned, verification."""

    oldest_unsealed_s: float
    uncosigned_s: float
    verify_ok: bool
    verify_problem: str = ""


@dataclass
class Facts:
    spells: list[Spell] = field(default_factory=list)
    decisions: list[DecisionFact] = field(default_factory=list)
    views: list[ViewFact] = field(default_factory=list)
    counter_acts: list[CounterAct] = field(default_factory=list)
    session_refusals: list[SessionRefusal] = field(default_factory=list)
    spot_findings: list[SpotFinding] = field(default_factory=list)
    blocked: list[BlockedFact] = field(default_factory=list)
    acts_for: list[ActFor] = field(default_factory=list)
    handlings: list[Handling] = field(default_factory=list)
    express: list[ExpressFact] = field(default_factory=list)
    feedback: list[FeedbackFact] = field(default_factory=list)
    audit: AuditHealth | None = None


class Finding(NamedTuple):
    kind: str
    key: str
    office: Id | None
    officer: Id | None
    score: float
    params: dict[str, Any]
    # (type, id) of the records behind it: "case", "audit", "payment", "visit", "blocked_message", …
    evidence: list[tuple[str, Id]]
    counter: Id | None = None


MAX_EVIDENCE = 25


def _evidence(kind: str, refs: Iterable[Id]) -> list[tuple[str, Id]]:
    """Up to MAX_EVIDENCE (type, id) pairs; a ref that is already a (type, id) pair keeps its own type."""
    out: list[tuple[str, Id]] = []
    for ref in refs:
        if len(out) == MAX_EVIDENCE:
            break
        if isinstance(ref, tuple) and len(ref) == 2 and isinstance(ref[0], str):
            out.append((ref[0], ref[1]))
        else:
            out.append((kind, ref))
    return out


def slow_cases(facts: Facts, t: dict[str, float]) -> list[Finding]:
    """A case in one step longer than ``slow_factor`` x the office's median for that step (and ``slow_min_days``)."""
    usual: dict[tuple[Id, str], list[float]] = defaultdict(list)
    for s in facts.spells:
        if not s.open:
            usual[(s.office, s.step)].append(s.days)
    medians = {k: statistics.median(v) for k, v in usual.items() if len(v) >= 5}
    out = []
    factor, floor = t["slow_factor"], t["slow_min_days"]
    for s in facts.spells:
        median = medians.get((s.office, s.step))
        if median is None:
            continue
        limit = max(factor * median, floor)
        if s.days > limit:
            out.append(
                Finding(
                    "slow_case",
                    f"slow_case:{s.case}:{s.step}",
                    s.office,
                    s.officer,
                    s.days / max(median, 0.5),
                    {
                        "case": s.case[1] if isinstance(s.case, tuple) and len(s.case) == 2 else str(s.case),
                        "step": s.step,
                        "days": round(s.days, 1),
                        "median": round(median, 1),
                        "open": s.open,
                    },
                    [("case", s.case)],
                )
            )
    return out


def _z(k: int, n: int, p: float) -> float:
    if n == 0:
        return 0.0
    p = min(max(p, 1e-6), 1 - 1e-6)
    return (k - n * p) / math.sqrt(n * p * (1 - p))


def decision_rates(facts: Facts, t: dict[str, float]) -> list[Finding]:
    """Officers whose refusal or ask-for-more rate is far above their peers' (same duty); refusals reversed."""
    n: Counter[tuple[str, Id]] = Counter()
    outcomes: dict[str, Counter[tuple[str, Id]]] = {"refuse": Counter(), "ask_more": Counter()}
    reversed_: Counter[Id] = Counter()
    refusals: Counter[Id] = Counter()
    cases: dict[Id, list[Id]] = defaultdict(list)
    office_of: dict[Id, Id] = {}
    for d in facts.decisions:
        dk = (d.duty, d.officer)
        n[dk] += 1
        office_of[d.officer] = d.office
        if d.outcome in outcomes:
            outcomes[d.outcome][dk] += 1
            if len(cases[d.officer]) < MAX_EVIDENCE:
                cases[d.officer].append(d.case)
        if d.outcome == "refuse":
            refusals[d.officer] += 1
        if d.reversed:
            reversed_[d.officer] += 1
    duty_total: Counter[str] = Counter()
    for (duty, _officer), count in n.items():
        duty_total[duty] += count
    out = []
    min_n, z_min = t["rate_min_decisions"], t["rate_z"]
    for outcome, kind in (("refuse", "refusal_rate"), ("ask_more", "ask_more_rate")):
        counts = outcomes[outcome]
        duty_k: Counter[str] = Counter()
        for (duty, _officer), count in counts.items():
            duty_k[duty] += count
        for (duty, officer), officer_n in n.items():
            others = duty_total[duty] - officer_n
            if officer_n < min_n or others <= 0:
                continue
            k = counts[(duty, officer)]
            peers = (duty_k[duty] - k) / others
            z = _z(k, officer_n, peers)
            if z >= z_min:
                out.append(
                    Finding(
                        kind,
                        f"{kind}:{duty}:{officer}",
                        office_of[officer],
                        officer,
                        z,
                        {
                            "count": k,
                            "decisions": officer_n,
                            "rate_pct": round(100 * k / officer_n, 1),
                            "peers_pct": round(100 * peers, 1),
                            "z": round(z, 1),
                            "duty": duty,
                        },
                        _evidence("case", cases[officer]),
                    )
                )
    for officer, r in reversed_.items():
        refused = refusals[officer]
        if r >= t["reversed_min"] and refused and r / refused >= t["reversed_share"]:
            out.append(
                Finding(
                    "reversed_on_appeal",
                    f"reversed_on_appeal:{officer}",
                    office_of[officer],
                    officer,
                    float(r),
                    {"reversed": r, "refusals": refused},
                    _evidence("case", cases[officer]),
                )
            )
    return out


def views(facts: Facts, t: dict[str, float]) -> list[Finding]:
    """Personal data viewed by someone not assigned to the case, or outside their rostered hours."""
    not_assigned: dict[Id, list[ViewFact]] = defaultdict(list)
    off_roster: dict[Id, list[ViewFact]] = defaultdict(list)
    for v in facts.views:
        if not v.assigned:
            not_assigned[v.viewer].append(v)
        if not v.on_roster:
            off_roster[v.viewer].append(v)
    out = []
    for kind, groups, minimum in (
        ("view_not_assigned", not_assigned, t["view_not_assigned_min"]),
        ("view_off_roster", off_roster, t["view_off_roster_min"]),
    ):
        for viewer, items in groups.items():
            if len(items) >= minimum:
                offices = Counter(v.office for v in items)
                out.append(
                    Finding(
                        kind,
                        f"{kind}:{viewer}",
                        offices.most_common(1)[0][0],
                        viewer,
                        float(len(items)),
                        {"views": len(items), "cases": len({v.case for v in items})},
                        _evidence("audit", (v.ref for v in items)),
                    )
                )
    return out


def counters(facts: Facts, t: dict[str, float]) -> list[Finding]:
    """Counter work without an active locker deposit, refused session attempts, spot-check findings."""
    out = []
    without: dict[Id, list[CounterAct]] = defaultdict(list)
    for a in facts.counter_acts:
        if not a.deposit_ok:
            without[a.officer].append(a)
    for officer, items in without.items():
        if len(items) >= t["no_deposit_min"]:
            out.append(
                Finding(
                    "no_deposit",
                    f"no_deposit:{officer}",
                    items[0].office,
                    officer,
                    float(len(items)),
                    {"acts": len(items)},
                    _evidence("audit", (a.ref for a in items)),
                    items[0].counter,
                )
            )
    refused: dict[Id, list[SessionRefusal]] = defaultdict(list)
    for r in facts.session_refusals:
        refused[r.officer].append(r)
    for officer, refusals in refused.items():
        if len(refusals) >= t["refused_sessions_min"]:
            out.append(
                Finding(
                    "refused_sessions",
                    f"refused_sessions:{officer}",
                    refusals[0].office,
                    officer,
                    float(len(refusals)),
                    {"attempts": len(refusals)},
                    _evidence("audit", (r.ref for r in refusals)),
                )
            )
    for f in facts.spot_findings:
        out.append(
            Finding(
                "spot_check",
                f"spot_check:{f.ref}",
                f.office,
                f.officer,
                1.0,
                {"finding": f.finding},
                [("spot_check", f.ref)],
                f.counter,
            )
        )
    return out


def blocked_contact(facts: Facts, t: dict[str, float]) -> list[Finding]:
    """Officers whose messages were blocked for carrying contact details."""
    by_officer: dict[Id, list[BlockedFact]] = defaultdict(list)
    for b in facts.blocked:
        by_officer[b.officer].append(b)
    return [
        Finding(
            "blocked_contact",
            f"blocked_contact:{officer}",
            items[0].office,
            officer,
            float(len(items)),
            {"attempts": len(items), "cases": len({b.case for b in items})},
            _evidence("blocked_message", (b.ref for b in items)),
        )
        for officer, items in by_officer.items()
        if len(items) >= t["blocked_min"]
    ]


def broker_minimum(t: dict[str, float], channel: str) -> float:
    """The least number of unrelated groups that flags a key of ``channel`` (``broker_min_<channel>``).

    Channels differ: a card or an account (payer) is one person's, a browser is shared by a household, and a
    client address by a whole carrier-grade NAT, public Wi-Fi or internet café.
    """
    return t.get(f"broker_min_{channel}", t["broker_min_applicants"])


def brokers(facts: Facts, t: dict[str, float]) -> list[Finding]:
    """One payer, terminal, device or client address acting for many applicants of different families/sponsors."""
    # A first pass counts rows per key: only keys with enough rows can reach the threshold, so only theirs
    # are grouped (most keys are one family's card or browser).
    rows: Counter[tuple[str, Id]] = Counter((a.channel, a.key) for a in facts.acts_for)
    least = {channel: broker_minimum(t, channel) for channel, _key in rows}
    candidates = {k for k, n in rows.items() if n >= least[k[0]]}
    groups: dict[tuple[str, Id], set[Id]] = defaultdict(set)
    applicants: dict[tuple[str, Id], set[Id]] = defaultdict(set)
    refs: dict[tuple[str, Id], list[Id]] = defaultdict(list)
    offices: dict[tuple[str, Id], Counter[Id]] = defaultdict(Counter)
    for a in facts.acts_for:
        k = (a.channel, a.key)
        if k not in candidates:
            continue
        groups[k].add(a.group if a.group is not None else ("applicant", a.applicant))
        applicants[k].add(a.applicant)
        offices[k][a.office] += 1
        if len(refs[k]) < MAX_EVIDENCE:
            refs[k].append(a.ref)
    out = []
    for (channel, key), unrelated in groups.items():
        if len(unrelated) >= least[channel]:
            evidence_type = "payment" if channel in ("payer", "terminal") else "trace"
            out.append(
                Finding(
                    "broker",
                    f"broker:{channel}:{key}",
                    offices[(channel, key)].most_common(1)[0][0],
                    None,
                    float(len(unrelated)),
                    {
                        "channel": channel,
                        "key": str(key)[:16],
                        "applicants": len(applicants[(channel, key)]),
                        "unrelated": len(unrelated),
                    },
                    _evidence(evidence_type, refs[(channel, key)]),
                )
            )
    return out


def _binomial_tail(k: int, m: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(m, p): k or more of an applicant's m cases drawn to one officer."""
    if k <= 0:
        return 1.0
    if k > m:
        return 0.0
    p = min(max(p, 1e-12), 1.0)
    return min(1.0, sum(math.comb(m, i) * p**i * (1 - p) ** (m - i) for i in range(k, m + 1)))


def recurring_pairs(facts: Facts, t: dict[str, float]) -> list[Finding]:
    """The same applicant and officer meeting in more cases than a random draw explains."""
    # Only pairs with enough rows can be flagged: count rows first, then look closer at those pairs.
    minimum = t["pair_min_cases"]
    pair_rows: Counter[tuple[Id, Id]] = Counter((h.applicant, h.officer) for h in facts.handlings)
    candidates = {pair for pair, n in pair_rows.items() if n >= minimum}
    wanted = {applicant for applicant, _officer in candidates}
    pair_cases: dict[tuple[Id, Id], set[Id]] = defaultdict(set)
    applicant_cases: dict[tuple[Id, Id], set[Id]] = defaultdict(set)
    officer_cases: Counter[tuple[Id, Id]] = Counter()
    office_cases: dict[Id, set[Id]] = defaultdict(set)
    seen: set[tuple[Id, Id]] = set()
    for h in facts.handlings:
        if (h.applicant, h.officer) in candidates:
            pair_cases[(h.applicant, h.officer)].add(h.case)
        if h.applicant in wanted:
            applicant_cases[(h.office, h.applicant)].add(h.case)
        office_cases[h.office].add(h.case)
        if (h.officer, h.case) not in seen:
            seen.add((h.officer, h.case))
            officer_cases[(h.office, h.officer)] += 1
    office_of_officer = {officer: office for (office, officer) in officer_cases}
    out = []
    for (applicant, officer), cases in pair_cases.items():
        k = len(cases)
        if k < minimum:
            continue
        office = office_of_officer[officer]
        share = officer_cases[(office, officer)] / max(len(office_cases[office]), 1)
        m = len(applicant_cases[(office, applicant)])
        lam = m * share
        p = _binomial_tail(k, m, share)
        if p < t["pair_p"]:
            out.append(
                Finding(
                    "recurring_pair",
                    f"recurring_pair:{applicant}:{officer}",
                    office,
                    officer,
                    -math.log10(max(p, 1e-300)),
                    {"cases": k, "expected": round(lam, 2), "p": f"{p:.1e}"},
                    _evidence("case", sorted(cases, key=str)),
                )
            )
    return out


def express_jumps(facts: Facts, t: dict[str, float]) -> list[Finding]:
    """An office whose express share this week is far above its share in the weeks before."""
    now: Counter[Id] = Counter()
    now_express: Counter[Id] = Counter()
    before: Counter[Id] = Counter()
    before_express: Counter[Id] = Counter()
    for e in facts.express:
        if e.week == 0:
            now[e.office] += 1
            now_express[e.office] += e.express
        else:
            before[e.office] += 1
            before_express[e.office] += e.express
    out = []
    for office, n in now.items():
        if n < t["express_min_cases"] or before[office] < t["express_min_cases"]:
            continue
        base = (before_express[office] + 1) / (before[office] + 2)
        z = _z(now_express[office], n, base)
        if z >= t["express_z"]:
            out.append(
                Finding(
                    "express_jump",
                    f"express_jump:{office}",
                    office,
                    None,
                    z,
                    {
                        "share_pct": round(100 * now_express[office] / n, 1),
                        "before_pct": round(100 * base, 1),
                        "cases": n,
                        "z": round(z, 1),
                    },
                    [],
                )
            )
    return out


def money_asked(facts: Facts, t: dict[str, float]) -> list[Finding]:
    """Counters where more applicants said someone asked them for money than the other counters' rate explains.

    A "yes" is also given by mistake or in anger; a busy counter collects a few. So a counter is flagged when
    it has at least ``money_asked_min`` yes answers and the binomial tail of its yes count, at the rate of all
    other counters, is below ``money_p``.
    """
    yes: dict[tuple[Id, Id | None], list[FeedbackFact]] = defaultdict(list)
    answers: Counter[tuple[Id, Id | None]] = Counter()
    for f in facts.feedback:
        answers[(f.office, f.counter)] += 1
        if f.asked_money:
            yes[(f.office, f.counter)].append(f)
    all_answers, all_yes = sum(answers.values()), sum(len(v) for v in yes.values())
    out = []
    for (office, counter), items in yes.items():
        k, n = len(items), answers[(office, counter)]
        if k < t["money_asked_min"]:
            continue
        others = all_answers - n
        # Nothing to compare with (a single counter): the rate of a rare mistake, one in a thousand.
        rate = (all_yes - k + 1) / (others + 2) if others > 0 else 0.001
        p = _binomial_tail(k, n, rate)
        if p < t["money_p"]:
            officers = Counter(f.officer for f in items if f.officer is not None)
            officer = officers.most_common(1)[0][0] if officers else None
            out.append(
                Finding(
                    "money_asked",
                    f"money_asked:{office}:{counter}",
                    office,
                    officer,
                    -math.log10(max(p, 1e-300)),
                    {"yes": k, "answers": n, "rate_pct": round(100 * rate, 2), "p": f"{p:.1e}"},
                    _evidence("visit", (f.ref for f in items)),
                    counter,
                )
            )
    return out


def audit_health(facts: Facts, t: dict[str, float]) -> list[Finding]:
    a = facts.audit
    if a is None:
        return []
    out = []
    if a.oldest_unsealed_s > t["seal_lag_s"]:
        out.append(
            Finding("seal_lag", "seal_lag", None, None, a.oldest_unsealed_s, {"seconds": int(a.oldest_unsealed_s)}, [])
        )
    if a.uncosigned_s > t["witness_lag_s"]:
        out.append(
            Finding(
                "witness_missing", "witness_missing", None, None, a.uncosigned_s, {"seconds": int(a.uncosigned_s)}, []
            )
        )
    if not a.verify_ok:
        out.append(Finding("audit_verify", "audit_verify", None, None, 1.0, {"problem": a.verify_problem[:300]}, []))
    return out


DETECTORS: dict[str, Callable[[Facts, dict[str, float]], list[Finding]]] = {
    "slow_cases": slow_cases,
    "decision_rates": decision_rates,
    "views": views,
    "counters": counters,
    "blocked_contact": blocked_contact,
    "brokers": brokers,
    "recurring_pairs": recurring_pairs,
    "express_jumps": express_jumps,
    "money_asked": money_asked,
    "audit_health": audit_health,
}


def detect_all(facts: Facts, thresholds: dict[str, float]) -> list[Finding]:
    out: list[Finding] = []
    for detector in DETECTORS.values():
        out.extend(detector(facts, thresholds))
    return out
