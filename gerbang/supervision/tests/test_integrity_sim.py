"""The integrity bench (bench/integrity_sim.py) at its smallest size, so that it keeps running with the detectors."""

from __future__ import annotations

import json

import pytest
from django.conf import settings

from bench import integrity_sim

SIGNALS = {
    "slow_case",
    "refusal_rate",
    "ask_more_rate",
    "reversed_on_appeal",
    "view_not_assigned",
    "view_off_roster",
    "no_deposit",
    "refused_sessions",
    "spot_check",
    "blocked_contact",
    "broker",
    "recurring_pair",
    "express_jump",
    "money_asked",
    "seal_lag",
    "witness_missing",
    "audit_verify",
}


def test_quick_run_prints_the_figures_on_its_last_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert integrity_sim.main(["--quick"]) == 0
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])

    assert figures["cases"] == 10_000
    assert figures["compute_s"] > 0
    assert set(figures["thresholds"]) == set(settings.INTEGRITY_THRESHOLDS)
    assert figures["default_thresholds"] == settings.INTEGRITY_THRESHOLDS
    for result in (figures["signals"], figures["default_thresholds_result"]):
        assert set(result) == SIGNALS
        for name, signal in result.items():
            assert set(signal["planted"]) == {"blatant", "moderate", "subtle"}, name
            assert sum(signal["planted"].values()) > 0, name
            for intensity, found in signal["found"].items():
                assert 0 <= found <= signal["planted"][intensity], name
            assert signal["false_flags"] >= 0
        # Found by construction: a spot-check finding is a finding; a log that fails verification is reported.
        for name in ("spot_check", "audit_verify"):
            assert result[name]["found"] == result[name]["planted"]
            assert result[name]["false_flags"] == 0
    # The blatant cases are the easy ones: with the settings' defaults, most of them are found.
    defaults = figures["default_thresholds_result"]
    blatant_found = sum(s["found"]["blatant"] for s in defaults.values())
    blatant_planted = sum(s["planted"]["blatant"] for s in defaults.values())
    assert blatant_found >= 0.7 * blatant_planted
    assert set(figures["broker_per_channel"]) == {"payer", "terminal", "device", "client"}
    for channel, result in figures["broker_per_channel"].items():
        assert result[f"broker_min_{channel}"] == figures["thresholds"][f"broker_min_{channel}"]
    assert {f"broker_{channel}" for channel in figures["broker_per_channel"]} <= set(figures["calibration"])
    assert figures["calibration"]["money"]["grid_points"] > 1
    assert set(figures["compute_s_by_detector"]) == set(integrity_sim.d.DETECTORS)
