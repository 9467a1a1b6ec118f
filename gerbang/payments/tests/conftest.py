"""The sandbox bank (services/bank) as a real process, talking to Gerbang's live server over signed HTTP."""

from __future__ import annotations

import datetime as dt
import json
import secrets as pysecrets
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

from gerbang.payments.models import Bank
from services.testing import free_port, stop

ACCOUNT = "0001234567890"
WIB = dt.timezone(dt.timedelta(hours=7))


@dataclass
class SandboxBank:
    url: str
    bank: Bank
    secret: bytes
    data: Path
    secrets_file: Path
    log: Path

    def pay(self, billing_code: str, **fields: Any) -> dict[str, Any]:
        """``POST /api/test/pay`` (amount, booked_at, paid_at, notify...): the payment the bank recorded."""
        body = json.dumps({"billing_code": billing_code, **fields}, default=str).encode()
        request = urllib.request.Request(  # noqa: S310 (local)
            self.url + "/api/test/pay", body, headers={"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 (local)
            return dict(json.loads(answer.read()))

    def wait_idle(self, timeout: float = 20) -> dict[str, Any]:
        """Until no notification is pending (every one acknowledged or failed)."""
        deadline = time.monotonic() + timeout
        while True:
            with urllib.request.urlopen(f"{self.url}/api/status", timeout=10) as answer:  # noqa: S310 (local)
                status = dict(json.loads(answer.read()))
            if status["notifications"]["pending"] == 0:
                return status
            if time.monotonic() > deadline:
                raise AssertionError(f"notifications still pending: {status}\n{self.log.read_text()[-3000:]}")
            time.sleep(0.1)


def today_wib() -> dt.date:
    return dt.datetime.now(WIB).date()


def at_noon(day: dt.date) -> str:
    return dt.datetime.combine(day, dt.time(12, 0), WIB).isoformat()


@pytest.fixture
def sandbox_bank(live_server: Any, tmp_path: Path, settings: Any) -> Iterator[SandboxBank]:
    """A fresh sandbox bank, opened ten days ago, registered at Gerbang with its API address and account."""
    secret = pysecrets.token_bytes(32)
    settings.BANK_SECRETS_DIR = tmp_path / "banks"
    settings.BANK_SECRETS_DIR.mkdir()
    secrets_file = settings.BANK_SECRETS_DIR / "bank-sandbox.secrets"
    secrets_file.write_text(secret.hex() + "\n")
    port = free_port()
    log = tmp_path / "bank.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "services.bank",
                "--data",
                str(tmp_path / "bank"),
                "--port",
                str(port),
                "--gerbang",
                str(live_server.url),
                "--code",
                "bank-sandbox",
                "--secrets",
                str(secrets_file),
                "--account",
                ACCOUNT,
                "--test-api",
                "--opened",
                (today_wib() - dt.timedelta(days=10)).isoformat(),
                "--retry-base",
                "0.2",
                "--retry-cap",
                "1",
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
                    if answer.read() == b"ok\n":
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the bank did not start:\n{log.read_text()}")
            time.sleep(0.1)
        bank = Bank.objects.create(code="bank-sandbox", name="Bank Sandbox", api_url=url, account=ACCOUNT)
        yield SandboxBank(url, bank, secret, tmp_path / "bank", secrets_file, log)
    finally:
        stop(process)
