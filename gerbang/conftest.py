"""Test-data builders shared by every app's tests. Tests talk to Gerbang over HTTP with these."""

from __future__ import annotations

import itertools
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client
from django.utils import timezone, translation
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from gerbang.accounts.models import GrantStatus, Role, RoleGrant, Scope, User
from gerbang.organisation.models import Directorate, Division, Office, ServiceUnit
from services.testing import free_port, stop
from signedhttp import generate_keypair

PASSWORD = "Kata-Sandi-Uji-2026!"
_seq = itertools.count(1)


@pytest.fixture(autouse=True)
def _english_outside_requests() -> Iterator[None]:
    """Messages raised by actions called directly are compared in English. Without this, the language of
    whatever request the same thread served last (LocaleMiddleware leaves it active) decided, so a test's
    outcome depended on the tests run before it. Requests still choose their own language."""
    translation.activate("en")
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _isolated_settings(settings: Any, tmp_path: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Audit-log keys and checkpoints in the test's own folder; no witness unless a test starts one.
    settings.AUDIT_LOG_KEY_FILE = tmp_path / "keys" / "audit-log.key"
    settings.AUDIT_CHECKPOINT_DIR = tmp_path / "checkpoints"
    settings.AUDIT_WITNESS_URL = "http://127.0.0.1:9"
    settings.AUDIT_WITNESS_KEY = str(tmp_path / "witness.vkey")
    # No population registry unless a test asks for the `registry` fixture; documents in the test's folder.
    settings.REGISTRY_URL = "http://127.0.0.1:9"
    # Rate limits stay on, so every request runs the counting statement, but far above what one test sends
    # from 127.0.0.1 as one user; gerbang/core/tests/test_rate_limits.py sets low ones.
    settings.RATE_LIMITS = {name: {"account": 1_000_000, "address": 1_000_000} for name in settings.RATE_LIMITS}
    settings.STORAGES = {
        **settings.STORAGES,
        "documents": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "documents"), "base_url": None},
        },
    }


@dataclass(frozen=True)
class RegistryService:
    url: str
    client_key: Path
    registry_key: Path


@pytest.fixture(scope="session")
def registry_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryService]:
    """The sandbox population registry (services/registry) as a real process, once per test session."""
    folder = tmp_path_factory.mktemp("registry")
    generate_keypair("gerbang-client", folder / "keys")
    port = free_port()
    log = folder / "registry.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(  # noqa: S603 (fixed arguments)
            [
                sys.executable,
                "-m",
                "services.registry",
                "--data",
                str(folder / "data"),
                "--port",
                str(port),
                "--gerbang-key",
                str(folder / "keys" / "gerbang-client.pub"),
            ],
            cwd=django_settings.BASE_DIR,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=1) as answer:  # noqa: S310 (local)
                    if answer.read() == b"ok\n":
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the registry did not start:\n{log.read_text()}")
            time.sleep(0.1)
        yield RegistryService(url, folder / "keys" / "gerbang-client.key", folder / "data" / "registry.pub")
    finally:
        stop(process)


@pytest.fixture
def registry(registry_service: RegistryService, settings: Any) -> RegistryService:
    """Point Gerbang at the sandbox registry for one test."""
    settings.REGISTRY_URL = registry_service.url
    settings.REGISTRY_CLIENT_KEY_FILE = registry_service.client_key
    settings.REGISTRY_PUBLIC_KEY_FILE = registry_service.registry_key
    return registry_service


def build_division(province_code: str = "31", province: str = "DKI Jakarta") -> Division:
    directorate, _ = Directorate.objects.get_or_create(code="DITJENIM", defaults={"name": "Direktorat Jenderal"})
    division, _ = Division.objects.get_or_create(
        province_code=province_code,
        defaults={"directorate": directorate, "province": province, "name": f"Kantor Wilayah {province}"},
    )
    return division


def build_office(name: str | None = None, *, province_code: str = "31", timezone_name: str = "Asia/Jakarta") -> Office:
    n = next(_seq)
    division = build_division(province_code, f"Provinsi {province_code}")
    office = Office.objects.create(
        division=division,
        code=f"kanim-test-{n}",
        name=name or f"Kantor Imigrasi Uji {n}",
        office_class="I TPI",
        city=f"Kota {n}",
        timezone=timezone_name,
    )
    ServiceUnit.objects.create(office=office, name=office.name)
    return office


def build_user(*, kind: str = "applicant", office: Office | None = None, verified: bool = True, **extra: Any) -> User:
    n = next(_seq)
    return User.objects.create_user(
        email=extra.pop("email", f"orang{n}@example.test"),
        password=PASSWORD,
        full_name=extra.pop("full_name", f"Orang Uji {n}"),
        kind=kind,
        home_office=office,
        email_verified_at=timezone.now() if verified else None,
        **extra,
    )


def _bystanders() -> tuple[User, User]:
    a = User.objects.filter(email="pemohon-grant@example.test").first() or build_user(
        kind="staff", email="pemohon-grant@example.test"
    )
    b = User.objects.filter(email="penyetuju-grant@example.test").first() or build_user(
        kind="staff", email="penyetuju-grant@example.test"
    )
    return a, b


def grant(user: User, role: Role, *, office: Office | None = None, division: Division | None = None) -> RoleGrant:
    """An active grant, as if requested and approved by two other people."""
    requester, approver = _bystanders()
    scope = Scope.OFFICE if office else Scope.DIVISION if division else Scope.DIRECTORATE
    return RoleGrant.objects.create(
        user=user,
        role=role,
        scope=scope,
        office=office,
        division=division,
        reason="test",
        requested_by=requester,
        status=GrantStatus.ACTIVE,
        decided_by=approver,
        decided_at=timezone.now(),
    )


def build_staff(
    role: Role | None = None,
    *,
    office: Office | None = None,
    division: Division | None = None,
    home: Office | None = None,
) -> User:
    user = build_user(kind="staff", office=home or office)
    TOTPDevice.objects.create(user=user, name=f"T-{user.pk}", key="3132333435363738393031323334353637383930")
    if role is not None:
        grant(user, role, office=office, division=division)
    return user


def totp_code(device: TOTPDevice, offset: int = 0) -> str:
    """The code a hardware token shows now (offset in 30-second steps)."""
    return (
        f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=offset):0{device.digits}d}"
    )


def staff_client(user: User) -> Client:
    """A client signed in as ``user`` and past the second factor (the sign-in itself is tested over HTTP)."""
    client = Client()
    client.force_login(user)
    device = TOTPDevice.objects.filter(user=user).first()
    assert device is not None
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def test_database_url() -> str:
    """DATABASE_URL of the test database, for processes a test starts (as the connection's role)."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    return f"postgresql://{quote(s['USER'])}:{quote(s['PASSWORD'])}@{s['HOST']}:{s['PORT']}/{s['NAME']}"


test_database_url.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


def last_audit_id() -> int:
    """The newest audit event's id: events outlive the data of transactional tests, so filter on id > this."""
    from gerbang.audit.models import AuditEvent

    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


@pytest.fixture
def office() -> Office:
    return build_office()


@pytest.fixture
def make_staff() -> Callable[..., User]:
    return build_staff


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """PostgreSQL-only tests need row locks; on SQLite they are deselected by CI and skipped with a reason here."""
    if django_settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL); CI runs it there")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)
