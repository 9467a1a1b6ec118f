"""Security baseline: headers on every HTML response, and production settings that refuse to start unsafe."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

BASE = Path(settings.BASE_DIR)
PAGES = ["/", "/tarif/", "/kanal-resmi/", "/akun/masuk/", "/akun/daftar/", "/akun/staf/masuk/"]


def _production_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "GERBANG_"))}
    env.update(
        GERBANG_ENV="production",
        GERBANG_VAR_DIR=str(tmp_path),
        SECRET_KEY="p" * 20 + "-Zq8^vN3!kL0@xR7#tY2&mB5*cW9(hJ4)gF6",
        ALLOWED_HOSTS="gerbang.example",
        DATABASE_URL=f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        EMAIL_HOST="smtp.gerbang.example",
        WEBAUTHN_ALLOWED_ORIGINS="https://gerbang.example",
        WEBAUTHN_RP_ID="gerbang.example",
        GERBANG_PUBLIC_URL="https://gerbang.example",
    )
    env.update(overrides)
    return env


@pytest.mark.django_db
@pytest.mark.parametrize("path", PAGES)
def test_every_html_page_carries_security_headers(path: str) -> None:
    response = Client().get(path)
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"


def test_production_passes_the_deployment_checklist(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        check=False,
        cwd=BASE,
        env=_production_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "missing", ["SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "WEBAUTHN_ALLOWED_ORIGINS", "GERBANG_PUBLIC_URL"]
)
def test_production_refuses_to_start_without_its_secrets(tmp_path: Path, missing: str) -> None:
    env = _production_env(tmp_path)
    env.pop(missing)
    command = [sys.executable, "manage.py", "check"]
    result = subprocess.run(command, check=False, cwd=BASE, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert missing in result.stderr


PROBE = """
import django, json, os
django.setup()
from django.core.management import call_command
from django.test import Client
call_command("collectstatic", interactive=False, verbosity=0)
call_command("migrate", "core", interactive=False, verbosity=0)  # every page counts its request (rate limits)
r = Client().get("/akun/masuk/", secure=True, HTTP_HOST="gerbang.example")
print(json.dumps({"status": r.status_code, "headers": dict(r.headers)}))
"""


def test_production_pages_carry_hsts(tmp_path: Path) -> None:
    env = _production_env(tmp_path, DJANGO_SETTINGS_MODULE="config.settings")
    result = subprocess.run(
        [sys.executable, "-c", PROBE], check=False, cwd=BASE, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe["status"] == 200
    headers = probe["headers"]
    assert "max-age=63072000" in headers["Strict-Transport-Security"]
    assert "includeSubDomains" in headers["Strict-Transport-Security"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "Secure" in headers.get("Set-Cookie", "Secure")
