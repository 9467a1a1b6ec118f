"""End to end: the witness process polls the real Gerbang over HTTP, and Gerbang's audit_verify reads the witness."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction

from gerbang.audit import checkpoints, sealing
from gerbang.audit.actions import record
from services.testing import free_port, stop
from tlog import note

from .support import call

REPO = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.django_db(transaction=True)


@dataclass
class WitnessProcess:
    url: str
    data: Path
    log_key: Path


@pytest.fixture
def gerbang_key(settings: Any, tmp_path: Path) -> Path:
    """A fresh log key for this test; returns the path of its public verifier key."""
    settings.AUDIT_LOG_KEY_FILE = tmp_path / "keys" / "audit-log.key"
    settings.AUDIT_CHECKPOINT_DIR = tmp_path / "checkpoints"
    checkpoints.generate_key()
    return checkpoints.public_key_path()


@pytest.fixture
def witness_process(live_server: Any, gerbang_key: Path, tmp_path: Path) -> Iterator[WitnessProcess]:
    port = free_port()
    data = tmp_path / "witness"
    log_file = tmp_path / "witness.log"
    command = [
        sys.executable,
        "-m",
        "services.witness",
        "--gerbang",
        live_server.url,
        "--log-key",
        str(gerbang_key),
        "--data",
        str(data),
        "--port",
        str(port),
        "--name",
        "witness.e2e",
        "--interval",
        "3600",  # only POST /v1/poll polls during the test
    ]
    with log_file.open("w") as log:
        proc = subprocess.Popen(command, cwd=REPO, env=dict(os.environ), stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if call(url + "/healthz", timeout=1)[2] == "ok\n":
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the witness did not start:\n{log_file.read_text()}")
            time.sleep(0.1)
        yield WitnessProcess(url, data, gerbang_key)
    finally:
        stop(proc)


def _new_head(count: int) -> note.Checkpoint:
    """Record ``count`` events, seal everything waiting and sign a head."""
    for i in range(count):
        with transaction.atomic():
            record("witness_test.event", actor=None, details={"n": i})
    sealing.seal_pending()
    signed = checkpoints.sign_checkpoint(force=True)
    assert signed is not None
    return signed.checkpoint


def _poll(witness: WitnessProcess) -> dict[str, Any]:
    code, _, body = call(witness.url + "/v1/poll", "POST")
    assert code == 200, body
    return dict(json.loads(body))


def test_witness_cosigns_gerbang_heads_and_audit_verify_trusts_them(
    witness_process: WitnessProcess, settings: Any
) -> None:
    assert call(witness_process.url + "/v1/cosigned")[0] == 404

    first = _new_head(3)
    assert first.size >= 3  # the log is shared with earlier tests: sizes are relative
    result = _poll(witness_process)
    assert (result["outcome"], result["size"]) == ("cosigned", first.size), result

    second = _new_head(4)
    assert second.size >= first.size + 4
    result = _poll(witness_process)
    assert (result["outcome"], result["size"]) == ("cosigned", second.size), result
    assert _poll(witness_process)["outcome"] == "unchanged"

    code, _, text = call(witness_process.url + "/v1/cosigned")
    assert code == 200
    witness_key = note.Verifier.from_text((witness_process.data / "witness.vkey").read_text())
    head, _ = witness_key.verify_cosignature(text)
    assert head == second
    assert note.Verifier.from_text(witness_process.log_key.read_text()).verify_note(text) == second
    assert checkpoints.log_verifier().verify_note(text) == second

    status = json.loads(call(witness_process.url + "/v1/status")[2])
    assert status["last_cosigned"]["size"] == second.size and status["refusals"] == []
    assert status["log_origin"] == settings.AUDIT_LOG_ORIGIN

    settings.AUDIT_WITNESS_URL = witness_process.url
    settings.AUDIT_WITNESS_KEY = str(witness_process.data / "witness.vkey")
    out = io.StringIO()
    call_command("audit_verify", stdout=out)  # sys.exit(1 or 2) on failure
    assert "cosigned at" in out.getvalue() and "intact" in out.getvalue()
