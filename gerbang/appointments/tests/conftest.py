"""The witness (services/witness) as a real process: the lottery's independent party."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings

from gerbang.browser import browser, new_page, site_url  # noqa: F401
from services.testing import free_port, stop


@dataclass(frozen=True)
class WitnessService:
    url: str
    key: Path


@pytest.fixture(scope="session")
def witness_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WitnessService]:
    folder = tmp_path_factory.mktemp("witness")
    port = free_port()
    log = folder / "witness.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "services.witness",
                "--gerbang",
                "http://127.0.0.1:9",
                "--port",
                str(port),
                "--data",
                str(folder / "data"),
                "--log-key",
                str(folder / "none.vkey"),
                "--interval",
                "3600",
            ],
            cwd=django_settings.BASE_DIR,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=1) as answer:  # noqa: S310 (local)
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the witness did not start:\n{log.read_text()}")
            time.sleep(0.1)
        yield WitnessService(url, folder / "data" / "witness.vkey")
    finally:
        stop(process)


@pytest.fixture
def witness(witness_service: WitnessService, settings: Any) -> WitnessService:
    settings.AUDIT_WITNESS_URL = witness_service.url
    settings.AUDIT_WITNESS_KEY = str(witness_service.key)
    return witness_service
