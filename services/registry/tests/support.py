"""Test support: free ports, raw HTTP calls (signed or not) and process control."""

from __future__ import annotations

import subprocess
import time
import urllib.error
import urllib.request
from email.message import Message


def raw(
    url: str, method: str = "GET", body: bytes | None = None, headers: dict[str, str] | None = None, timeout: float = 30
) -> tuple[int, Message, bytes]:
    """``(status, headers, body)`` of an HTTP request sent exactly as given; raises OSError when nobody answers."""
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError(f"tests only call local servers, not {url}")
    request = urllib.request.Request(url, method=method, data=body, headers=headers or {})  # noqa: S310 (checked)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (checked above)
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def wait_healthy(url: str, process: subprocess.Popen[bytes], output: str, timeout: float = 30) -> None:
    """Wait until ``url/healthz`` answers ``ok``; fail with the process's output if it dies or never does."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if raw(url + "/healthz", timeout=1)[2] == b"ok\n":
                return
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            with open(output) as handle:
                raise AssertionError(f"the registry did not start:\n{handle.read()}")
        time.sleep(0.1)
