"""The witness's poll rounds, storage, key files and HTTP API (with an in-memory log)."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from services.testing import free_port
from services.witness.server import WitnessServer
from services.witness.witness import HttpGerbang, Store, Witness, load_or_create_signer
from tlog import note

from .support import T0, MemoryLog, call

REPO = Path(__file__).resolve().parents[3]


def _witness(tmp_path: Path, log: Any, log_key: note.Verifier) -> Witness:
    signer = load_or_create_signer(tmp_path / "data", "witness.test")
    return Witness(signer, Store(tmp_path / "data" / "witness.sqlite3"), log, lambda: log_key, lambda: T0)


@pytest.fixture
def log() -> MemoryLog:
    log = MemoryLog()
    log.append(3)
    return log


@pytest.fixture
def witness(tmp_path: Path, log: MemoryLog) -> Witness:
    return _witness(tmp_path, log, log.verifier)


def test_poll_rounds_cosign_store_and_refuse(tmp_path: Path, log: MemoryLog, witness: Witness) -> None:
    assert witness.poll().outcome == "unchanged"  # nothing signed yet
    assert witness.store.latest() is None

    log.sign(1)
    assert witness.poll().as_json() == {
        "outcome": "cosigned",
        "size": 3,
        "reason": "first head seen (trust on first use)",
    }
    assert witness.poll().outcome == "unchanged"

    log.append(4)
    log.sign(2)
    assert witness.poll().outcome == "cosigned"
    latest = witness.store.latest()
    assert latest is not None and latest.checkpoint == log.head(2)
    vkey = note.Verifier.from_text((tmp_path / "data" / "witness.vkey").read_text())
    head, when = vkey.verify_cosignature(latest.note)
    assert head == log.head(2) and when == T0
    assert log.verifier.verify_note(latest.note) == head

    # The log rewrites its past: refused, stored, and the cosigned head stays.
    log.leaves[0] = b"\x00" * 32
    log.append(1)
    log.sign(3)
    result = witness.poll()
    assert (result.outcome, result.size) == ("refused", 8)
    assert witness.store.latest() == latest
    status = witness.status()
    assert status["last_cosigned"]["size"] == 7
    assert [(r["size"], r["time"]) for r in status["refusals"]] == [(8, "2026-01-01T08:00:00Z")]
    assert status["log_origin"] == log.signer.name
    assert status["public_key"] == vkey.to_text()

    # The log stops serving any head after one was cosigned: an error (not a refusal), nothing changes.
    log.note = None
    assert witness.poll().outcome == "error"
    assert witness.store.latest() == latest and len(witness.store.refusals()) == 1


def test_a_note_by_another_key_is_refused_and_never_cosigned(tmp_path: Path, log: MemoryLog) -> None:
    witness = _witness(tmp_path, log, MemoryLog(name=log.signer.name).verifier)
    log.sign()
    assert witness.poll().outcome == "refused"
    assert witness.store.latest() is None
    assert len(witness.store.refusals()) == 1


def test_an_unreachable_log_is_an_error_not_a_refusal(tmp_path: Path, log: MemoryLog) -> None:
    gerbang = HttpGerbang(f"http://127.0.0.1:{free_port()}", timeout=2)
    witness = _witness(tmp_path, gerbang, log.verifier)
    result = witness.poll()
    assert result.outcome == "error"
    assert witness.store.latest() is None and witness.store.refusals() == []


def test_the_key_is_created_once_private_and_named(tmp_path: Path) -> None:
    data = tmp_path / "data"
    signer = load_or_create_signer(data, "witness.test")
    assert stat.S_IMODE((data / "witness.key").stat().st_mode) == 0o600
    assert signer.alg == note.ALG_COSIGNATURE_V1
    assert (data / "witness.vkey").read_text() == signer.verifier().to_text() + "\n"
    assert load_or_create_signer(data, "witness.test").to_text() == signer.to_text()
    with pytest.raises(note.NoteError, match=r"belongs to 'witness\.test'"):
        load_or_create_signer(data, "another.witness")


@pytest.fixture
def server(witness: Witness) -> Iterator[str]:
    httpd = WitnessServer(("127.0.0.1", 0), witness)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_http_api(server: str, log: MemoryLog) -> None:
    assert call(server + "/healthz") == (200, "text/plain; charset=utf-8", "ok\n")
    assert call(server + "/v1/cosigned")[0] == 404
    assert call(server + "/nowhere")[0] == 404
    assert call(server + "/v1/poll")[0] == 405
    assert call(server + "/v1/cosigned", "POST")[0] == 405
    assert call(server + "/v1/status", "DELETE")[0] == 405

    log.sign()
    code, content_type, body = call(server + "/v1/poll", "POST")
    assert (code, content_type) == (200, "application/json; charset=utf-8")
    assert json.loads(body)["outcome"] == "cosigned"
    code, content_type, text = call(server + "/v1/cosigned")
    assert (code, content_type) == (200, "text/plain; charset=utf-8")
    assert log.verifier.verify_note(text) == log.head()
    status = json.loads(call(server + "/v1/status")[2])
    assert status["name"] == "witness.test"
    assert status["last_cosigned"]["size"] == 3 and status["refusals"] == []
    head, _ = note.Verifier.from_text(status["public_key"]).verify_cosignature(text)
    assert head == log.head()


def test_concurrent_polls_cosign_once(tmp_path: Path, log: MemoryLog) -> None:
    clock = iter(datetime(2026, 2, 1, 0, 0, s, tzinfo=UTC) for s in range(60))
    witness = Witness(
        load_or_create_signer(tmp_path, "witness.test"),
        Store(tmp_path / "witness.sqlite3"),
        log,
        lambda: log.verifier,
        lambda: next(clock),
    )
    log.sign()
    outcomes: list[str] = []
    threads = [threading.Thread(target=lambda: outcomes.append(witness.poll().outcome)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["cosigned"] + ["unchanged"] * 7


def test_the_process_starts_prints_its_key_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    out = (tmp_path / "stdout").open("w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.witness", "--port", str(port), "--data", str(tmp_path / "data")],
        cwd=REPO,
        env={**os.environ, "WITNESS_GERBANG_URL": "http://127.0.0.1:9", "WITNESS_NAME": "witness.sigterm"},
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while not _healthy(port):
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "stdout").read_text()
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        out.close()
    printed = (tmp_path / "stdout").read_text()
    vkey = (tmp_path / "data" / "witness.vkey").read_text().strip()
    assert f"listening on http://127.0.0.1:{port}/" in printed
    assert vkey.startswith("witness.sigterm+") and vkey in printed


def _healthy(port: int) -> bool:
    try:
        return call(f"http://127.0.0.1:{port}/healthz", timeout=1)[2] == "ok\n"
    except OSError:
        return False
