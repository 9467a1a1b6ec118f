"""The independent party of the lottery: the witness commits to a secret before the window opens and reveals it
only for the one list of requests (its Merkle root) Gerbang presents after the window closed (tlog/draws.py,
services/witness/README.md). Every answer is checked with the witness's public key."""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.request
from typing import Any

from django.conf import settings

from gerbang.audit.witness_client import WitnessUnavailable, witness_verifier
from tlog import draws

TIMEOUT = 10.0


def _post(path: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    url = settings.AUDIT_WITNESS_URL.rstrip("/") + path
    request = urllib.request.Request(  # noqa: S310 (configured http(s) URL)
        url, json.dumps(payload).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:  # noqa: S310 (configured http(s) URL)
            status, body = answer.status, answer.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    except (OSError, ValueError) as exc:
        raise WitnessUnavailable(f"cannot reach the witness at {url}: {exc}") from exc
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise WitnessUnavailable(f"the witness answered {status} with something that is not JSON") from exc
    if not isinstance(data, dict):
        raise WitnessUnavailable("the witness's answer is not a JSON object")
    return status, data


def commit(draw_id: str, closes_at: dt.datetime) -> tuple[str, str, str]:
    """The witness's (commitment, signature, closes_at as it signed it) for the draw."""
    closes = closes_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    status, data = _post(f"/v1/draws/{draw_id}", {"closes_at": closes})
    if status not in (200, 201):
        raise WitnessUnavailable(f"the witness refused the commitment ({status}): {data.get('error', '')}")
    commitment, signature, signed_closes = (
        str(data.get("commitment")),
        str(data.get("signature")),
        str(data.get("closes_at")),
    )
    try:
        draws.verify(witness_verifier().public, draws.commit_message(draw_id, commitment, signed_closes), signature)
    except ValueError as exc:  # DrawSignatureError, or DrawFormatError for a malformed answer
        raise WitnessUnavailable(f"the witness's commitment is not signed with its key: {exc}") from exc
    return commitment, signature, signed_closes


def reveal(draw_id: str, commitment: str, root: str, count: int) -> tuple[str, str]:
    """The witness's (secret, signature) for the list with ``root``; its secret must match its commitment."""
    status, data = _post(f"/v1/draws/{draw_id}/reveal", {"root": root, "count": count})
    if status != 200:
        raise WitnessUnavailable(f"the witness did not reveal ({status}): {data.get('error', '')}")
    secret, signature = str(data.get("secret")), str(data.get("signature"))
    try:
        draws.verify(
            witness_verifier().public, draws.reveal_message(draw_id, commitment, root, count, secret), signature
        )
    except ValueError as exc:  # DrawSignatureError, or DrawFormatError for a malformed answer
        raise WitnessUnavailable(f"the witness's reveal is not signed with its key: {exc}") from exc
    try:
        matches = draws.commitment(bytes.fromhex(secret)) == commitment
    except ValueError:
        matches = False
    if not matches:
        raise WitnessUnavailable("the witness revealed a secret that does not match its commitment")
    return secret, signature
