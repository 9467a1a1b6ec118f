"""Signed heads and proofs over HTTP, checked the way a witness or a citizen would."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import Client

from gerbang.audit import checkpoints, sealing
from gerbang.audit.actions import record
from gerbang.conftest import build_user
from tlog import note, rfc6962

pytestmark = pytest.mark.django_db


def _grow(n: int) -> None:
    user = build_user()
    with transaction.atomic():
        for i in range(n):
            record("test.api", actor=user, obj=user, details={"i": i})


def _signed_head() -> note.Checkpoint:
    checkpoints.generate_key()
    _grow(5)
    sealing.seal_pending()
    head = checkpoints.sign_checkpoint(force=True)
    assert head is not None
    return checkpoints.log_verifier().verify_note(head.note)


def _b(values: list[str]) -> list[bytes]:
    return [base64.b64decode(v) for v in values]


def test_the_latest_checkpoint_is_served_and_its_note_verifies(client: Client) -> None:
    head = _signed_head()
    body = client.get("/api/v1/audit/checkpoint").json()
    served = checkpoints.log_verifier().verify_note(body["note"])
    assert served == head
    assert body["tree_size"] == head.size and base64.b64decode(body["root_hash"]) == head.root


def test_inclusion_proofs_verify_against_the_signed_root(client: Client) -> None:
    head = _signed_head()
    for seq in (1, head.size // 2 + 1, head.size):
        body = client.get("/api/v1/audit/proof/inclusion", {"seq": seq, "tree_size": head.size}).json()
        leaf = base64.b64decode(body["leaf_hash"])
        rfc6962.verify_inclusion(seq - 1, head.size, leaf, _b(body["proof"]), head.root)
        with pytest.raises(rfc6962.ProofError):
            rfc6962.verify_inclusion(seq - 1, head.size, rfc6962.leaf_hash(b"forged"), _b(body["proof"]), head.root)


def test_consistency_proofs_link_two_signed_heads(client: Client) -> None:
    old = _signed_head()
    _grow(7)
    sealing.seal_pending()
    new_head = checkpoints.sign_checkpoint()
    assert new_head is not None
    new = new_head.checkpoint
    body = client.get("/api/v1/audit/proof/consistency", {"first": old.size, "second": new.size}).json()
    rfc6962.verify_consistency(old.size, new.size, old.root, new.root, _b(body["proof"]))
    with pytest.raises(rfc6962.ProofError):
        rfc6962.verify_consistency(old.size, new.size, rfc6962.leaf_hash(b"other"), new.root, _b(body["proof"]))


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/v1/audit/proof/inclusion", {"seq": 1, "tree_size": 10**9}, "tree_size"),
        ("/api/v1/audit/proof/inclusion", {"seq": 3, "tree_size": 2}, "seq"),
        ("/api/v1/audit/proof/inclusion", {"seq": 0, "tree_size": 2}, "seq"),
        ("/api/v1/audit/proof/inclusion", {"seq": "abc", "tree_size": 2}, "seq"),
        ("/api/v1/audit/proof/consistency", {"first": 3, "second": 2}, "first"),
        ("/api/v1/audit/proof/consistency", {"first": 1, "second": 10**9}, "second"),
        ("/api/v1/audit/proof/consistency", {"second": 2}, "first"),
    ],
)
def test_bad_proof_requests_get_a_field_level_422(
    client: Client, path: str, params: dict[str, Any], field: str
) -> None:
    _signed_head()
    response = client.get(path, params)
    assert response.status_code == 422
    assert any(d["loc"][-1] == field for d in response.json()["detail"]), response.json()


def test_status_reports_the_sealing_lag(client: Client) -> None:
    _grow(2)
    body = client.get("/api/v1/audit/status").json()
    assert body["unsealed_events"] >= 2 and body["sealing_lag_seconds"] >= 0
    sealing.seal_pending()
    body = client.get("/api/v1/audit/status").json()
    assert body["unsealed_events"] == 0 and body["sealing_lag_seconds"] == 0
    assert body["sealed_events"] == sealing.chain_head().size


def test_audit_checkpoint_writes_a_signed_head_under_the_checkpoint_folder(capsys: Any) -> None:
    with pytest.raises(CommandError, match="audit_keygen"):
        call_command("audit_checkpoint")
    call_command("audit_keygen")
    _grow(3)
    call_command("audit_checkpoint")
    folder = Path(settings.AUDIT_CHECKPOINT_DIR)
    latest = (folder / "latest.note").read_text()
    head = checkpoints.log_verifier().verify_note(latest)
    assert head.size == sealing.chain_head().size
    assert [p.name for p in folder.glob("*.note") if p.name != "latest.note"] == [
        f"{head.size:012d}-{head.time:%Y%m%dT%H%M%SZ}.note"
    ]
    assert "checkpoint: size" in capsys.readouterr().out
    call_command("audit_checkpoint", "--no-seal")  # the only new event is unsealed: nothing to sign
    assert "has not grown" in capsys.readouterr().out


def test_audit_verify_accepts_its_own_checkpoint_and_rejects_a_forged_one(tmp_path: Path) -> None:
    checkpoints.generate_key()
    _grow(4)
    sealing.seal_pending()
    head = checkpoints.sign_checkpoint(force=True)
    assert head is not None and head.path is not None
    call_command("audit_verify", "--checkpoint", str(head.path))  # returns: intact
    forged = note.Checkpoint(head.checkpoint.origin, head.checkpoint.size, b"\x01" * 32, head.checkpoint.time)
    forged_file = tmp_path / "forged.note"
    forged_file.write_text(checkpoints.log_signer().sign_checkpoint(forged))
    with pytest.raises(SystemExit) as exited:
        call_command("audit_verify", "--checkpoint", str(forged_file))
    assert exited.value.code == 1
    stranger = note.Signer.generate(head.checkpoint.origin).sign_checkpoint(head.checkpoint)
    forged_file.write_text(stranger)
    with pytest.raises(SystemExit) as exited:
        call_command("audit_verify", "--checkpoint", str(forged_file))
    assert exited.value.code == 2


def test_audit_verify_without_a_reachable_witness_cannot_verify() -> None:
    checkpoints.generate_key()
    with pytest.raises(SystemExit) as exited:
        call_command("audit_verify")
    assert exited.value.code == 2


def test_health_and_metrics_expose_the_sealing_lag(client: Client, settings: Any) -> None:
    sealing.seal_pending()
    assert client.get("/api/v1/health").json()["audit_sealer"] == "ok"
    _grow(1)
    settings.AUDIT_SEALING_LAG_MAX = -1.0  # any unsealed event counts as "behind"
    health = client.get("/api/v1/health").json()
    assert health["audit_sealer"] == "behind" and health["status"] == "degraded"
    assert health["audit_sealing_lag_seconds"] >= 0
    body = client.get("/metrics").content.decode()
    assert "gerbang_audit_unsealed_events 1\n" in body
    assert "# TYPE gerbang_audit_sealing_lag_seconds gauge" in body
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 404
