"""The detectors on hand-made facts: each fires on its pattern and stays quiet on the clean variant."""

from __future__ import annotations

import random

import pytest
from django.conf import settings

from gerbang.supervision import detectors as d

# The examples below are built around these thresholds (settings' calibrated ones are higher for some):
# they test what each detector counts, not the calibration (bench/integrity_sim.py does that).
T = {
    **settings.INTEGRITY_THRESHOLDS,
    "slow_factor": 3.0,
    "slow_min_days": 5.0,
    "rate_min_decisions": 20.0,
    "rate_z": 4.0,
    "reversed_share": 0.5,
    "view_not_assigned_min": 3.0,
    "view_off_roster_min": 3.0,
    "no_deposit_min": 1.0,
    "refused_sessions_min": 3.0,
    "blocked_min": 2.0,
    "pair_p": 1e-4,
    "express_min_cases": 20.0,
    "express_z": 4.0,
    "money_p": 0.001,
}


def test_the_settings_name_every_threshold_the_detectors_read() -> None:
    # Every key the examples use exists in settings (a renamed key would silently fall back or fail at 3 a.m.).
    assert set(T) == set(settings.INTEGRITY_THRESHOLDS)
    d.detect_all(
        d.Facts(
            spells=[d.Spell("c", "o", "paid", None, 1.0, False)] * 6,
            decisions=[d.DecisionFact("a", "o", "c", "refuse")],
            feedback=[d.FeedbackFact("o", 1, None, True, 1, 1)],
            acts_for=[d.ActFor("payer", "k", "a", None, "o", 1)],
            audit=d.AuditHealth(0.0, 0.0, True),
        ),
        dict(settings.INTEGRITY_THRESHOLDS),
    )


def kinds(facts: d.Facts, thresholds: dict[str, float] | None = None) -> dict[str, list[d.Finding]]:
    out: dict[str, list[d.Finding]] = {}
    for f in d.detect_all(facts, thresholds or T):
        out.setdefault(f.kind, []).append(f)
    return out


def test_empty_facts_find_nothing() -> None:
    assert d.detect_all(d.Facts(), T) == []


def test_a_case_held_far_beyond_the_offices_median_is_slow() -> None:
    facts = d.Facts(spells=[d.Spell(f"c{i}", "o1", "paid", None, 1.0 + i / 10, False) for i in range(10)])
    facts.spells.append(d.Spell("held", "o1", "paid", "officer-7", 12.0, True))
    facts.spells.append(d.Spell("normal", "o1", "paid", "officer-8", 2.0, True))
    found = kinds(facts)["slow_case"]
    assert [f.key for f in found] == ["slow_case:held:paid"]
    assert found[0].officer == "officer-7"
    assert found[0].params["median"] == pytest.approx(1.4, abs=0.1)


def test_the_floor_keeps_fast_offices_quiet() -> None:
    facts = d.Facts(spells=[d.Spell(f"c{i}", "o1", "paid", None, 0.1, False) for i in range(10)])
    facts.spells.append(d.Spell("bit-late", "o1", "paid", None, 2.0, True))  # 20x the median but under 5 days
    assert "slow_case" not in kinds(facts)


def _decisions(
    officer: str, n: int, refused: int, *, duty: str = "decision", reversed_: int = 0
) -> list[d.DecisionFact]:
    out = []
    for i in range(n):
        outcome = "refuse" if i < refused else "approve"
        out.append(d.DecisionFact(officer, "o1", f"{officer}-{i}", outcome, i < reversed_, duty))
    return out


def test_an_officer_refusing_far_more_than_peers_is_flagged() -> None:
    facts = d.Facts()
    for k in range(20):
        facts.decisions += _decisions(f"peer{k}", 50, 3)
    facts.decisions += _decisions("harsh", 50, 25)
    found = kinds(facts)["refusal_rate"]
    assert [f.officer for f in found] == ["harsh"]
    assert found[0].params["rate_pct"] == 50.0


def test_peers_are_officers_of_the_same_duty() -> None:
    facts = d.Facts()
    for k in range(20):
        facts.decisions += _decisions(f"verifier{k}", 50, 20, duty="verification")
        facts.decisions += _decisions(f"adjudicator{k}", 50, 2)
    # As refusing as the verifiers, but among adjudicators: flagged only there.
    facts.decisions += _decisions("odd-adjudicator", 50, 20)
    found = kinds(facts)["refusal_rate"]
    assert [f.officer for f in found] == ["odd-adjudicator"]


def test_refusals_reversed_on_appeal() -> None:
    facts = d.Facts(decisions=_decisions("a", 30, 4, reversed_=3) + _decisions("b", 30, 4, reversed_=1))
    assert [f.officer for f in kinds(facts)["reversed_on_appeal"]] == ["a"]


def test_views_without_assignment_or_shift() -> None:
    facts = d.Facts(
        views=[d.ViewFact("snoop", "o1", f"c{i}", False, True, i) for i in range(3)]
        + [d.ViewFact("night", "o1", f"c{i}", True, False, 10 + i) for i in range(3)]
        + [d.ViewFact("once", "o1", "c9", False, False, 99)]
    )
    found = kinds(facts)
    assert [f.officer for f in found["view_not_assigned"]] == ["snoop"]
    assert [f.officer for f in found["view_off_roster"]] == ["night"]
    assert found["view_not_assigned"][0].evidence == [("audit", 0), ("audit", 1), ("audit", 2)]


def test_counter_work_without_deposit_refused_sessions_and_spot_checks() -> None:
    facts = d.Facts(
        counter_acts=[
            d.CounterAct("ok", "o1", 1, True, ("visit", 1)),
            d.CounterAct("phone", "o1", 2, False, ("visit", 2)),
        ],
        session_refusals=[d.SessionRefusal("tries", "o1", i) for i in range(3)] + [d.SessionRefusal("once", "o1", 9)],
        spot_findings=[d.SpotFinding("cash", "o1", 3, "cash_in_drawer", 5)],
    )
    found = kinds(facts)
    assert [f.officer for f in found["no_deposit"]] == ["phone"]
    assert found["no_deposit"][0].evidence == [("visit", 2)]
    assert [f.officer for f in found["refused_sessions"]] == ["tries"]
    assert [(f.officer, f.params["finding"]) for f in found["spot_check"]] == [("cash", "cash_in_drawer")]


def test_blocked_contact() -> None:
    facts = d.Facts(
        blocked=[d.BlockedFact("leaky", "o1", f"c{i}", i) for i in range(2)] + [d.BlockedFact("x", "o1", "c", 9)]
    )
    assert [f.officer for f in kinds(facts)["blocked_contact"]] == ["leaky"]


def test_broker_counts_unrelated_applicants_not_families_or_sponsors() -> None:
    facts = d.Facts(
        acts_for=[d.ActFor("payer", "card-1", f"person{i}", ("filer", i), "o1", i) for i in range(4)]
        # A parent paying for five children on one family card: one group.
        + [d.ActFor("payer", "card-2", f"child{i}", ("filer", 77), "o1", 10 + i) for i in range(5)]
        # A company paying for its twenty workers: one sponsor.
        + [d.ActFor("payer", "company", f"worker{i}", ("sponsor", 5), "o1", 20 + i) for i in range(20)]
    )
    found = kinds(facts)["broker"]
    assert [f.key for f in found] == ["broker:payer:card-1"]
    assert found[0].params["unrelated"] == 4


def test_recurring_pairs_beyond_chance() -> None:
    rng = random.Random(4)
    officers = [f"off{i}" for i in range(10)]
    facts = d.Facts()
    case = 0
    for applicant in range(300):
        for _ in range(2):
            case += 1
            facts.handlings.append(d.Handling(f"a{applicant}", rng.choice(officers), "o1", case))
    for _ in range(5):  # one applicant always meeting the same officer
        case += 1
        facts.handlings.append(d.Handling("regular", "off3", "o1", case))
    found = kinds(facts).get("recurring_pair", [])
    assert [(f.key) for f in found] == ["recurring_pair:regular:off3"]


def test_express_share_jump() -> None:
    facts = d.Facts(
        express=[d.ExpressFact("o1", w, i % 10 == 0) for w in (1, 2, 3) for i in range(100)]
        + [d.ExpressFact("o1", 0, i % 2 == 0) for i in range(100)]
        + [d.ExpressFact("o2", w, i % 10 == 0) for w in (0, 1, 2, 3) for i in range(100)]
    )
    assert [f.office for f in kinds(facts)["express_jump"]] == ["o1"]


def test_money_asked_beyond_the_other_counters_rate() -> None:
    # Twenty counters with a stray "yes" now and then (one in a hundred answers), one where many say yes.
    feedback = []
    for counter in range(20):
        feedback += [
            d.FeedbackFact("o1", counter, f"clerk{counter}", i == 0 and counter % 2 == 0, 4, i) for i in range(100)
        ]
    feedback += [d.FeedbackFact("o1", 99, "greedy", i < 4, 1, i) for i in range(30)]
    found = kinds(d.Facts(feedback=feedback))["money_asked"]
    assert [(f.counter, f.officer, f.params["yes"], f.params["answers"]) for f in found] == [(99, "greedy", 4, 30)]


def test_a_single_yes_at_a_quiet_counter_is_enough_where_nobody_else_says_yes() -> None:
    feedback = [d.FeedbackFact("o1", c, None, False, 5, c * 100 + i) for c in range(10) for i in range(100)]
    feedback.append(d.FeedbackFact("o1", 42, "x", True, 1, 1))
    found = kinds(d.Facts(feedback=feedback))["money_asked"]
    assert [f.counter for f in found] == [42]


def test_broker_thresholds_per_channel() -> None:
    acts = [d.ActFor("client", "cafe", f"p{i}", ("filer", i), "o1", i) for i in range(12)]
    acts += [d.ActFor("payer", "card", f"q{i}", ("filer", 100 + i), "o1", 100 + i) for i in range(4)]
    found = kinds(d.Facts(acts_for=acts), {**T, "broker_min_client": 40, "broker_min_payer": 4})["broker"]
    assert [f.key for f in found] == ["broker:payer:card"]


def test_audit_health() -> None:
    quiet = d.Facts(audit=d.AuditHealth(2.0, 60.0, True))
    assert kinds(quiet) == {}
    loud = d.Facts(audit=d.AuditHealth(3600.0, 7200.0, False, "entry hash of 12 differs"))
    assert set(kinds(loud)) == {"seal_lag", "witness_missing", "audit_verify"}


def test_evidence_is_capped() -> None:
    facts = d.Facts(blocked=[d.BlockedFact("leaky", "o1", f"c{i}", i) for i in range(100)])
    assert len(kinds(facts)["blocked_contact"][0].evidence) == d.MAX_EVIDENCE
