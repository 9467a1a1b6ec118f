"""Reading the witness: its latest cosigned head, checked with its public key."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

from django.conf import settings

from tlog import note


class WitnessUnavailable(RuntimeError):
    """The witness could not be reached or its answer could not be checked."""


def witness_verifier() -> note.Verifier:
    value = str(settings.AUDIT_WITNESS_KEY).strip()
    if not value:
        raise WitnessUnavailable("GERBANG_WITNESS_KEY is not set")
    if "+" not in value or Path(value).exists():
        path = Path(value)
        try:
            value = path.read_text().strip()
        except OSError as exc:
            raise WitnessUnavailable(f"cannot read the witness key at {path}: {exc}") from exc
    try:
        return note.Verifier.from_text(value)
    except note.NoteError as exc:
        raise WitnessUnavailable(f"the witness key is malformed: {exc}") from exc


def latest_cosigned(timeout: float = 10.0) -> str:
    """The witness's latest cosigned note (raises WitnessUnavailable)."""
    url = settings.AUDIT_WITNESS_URL.rstrip("/") + "/v1/cosigned"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (configured http(s) URL)
            return str(response.read().decode())
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            raise WitnessUnavailable(f"the witness at {url} has cosigned nothing yet") from exc
        raise WitnessUnavailable(f"the witness at {url} answered {exc.code}") from exc
    except (OSError, ValueError) as exc:
        raise WitnessUnavailable(f"cannot reach the witness at {url}: {exc}") from exc
