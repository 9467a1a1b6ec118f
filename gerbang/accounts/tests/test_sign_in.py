"""Sign-in over HTTP: applicants with a verified e-mail; staff with a password and a hardware token."""

from __future__ import annotations

import time

import pytest
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from gerbang.accounts.middleware import SESSION_KEY
from gerbang.audit.models import AuditEvent
from gerbang.conftest import PASSWORD, build_staff, build_user, staff_client, totp_code

pytestmark = pytest.mark.django_db

STAFF_LOGIN = "/akun/staf/masuk/"
STAFF_VERIFY = "/akun/staf/verifikasi/"


def test_rfc6238_sha1_vectors() -> None:
    """RFC 6238 appendix B, SHA-1 rows, with the seed '12345678901234567890' and 8 digits."""
    key = b"12345678901234567890"
    vectors = {59: 94287082, 1111111109: 7081804, 1111111111: 14050471, 1234567890: 89005924, 2000000000: 69279037}
    for when, expected in vectors.items():
        otp = TOTP(key, step=30, t0=0, digits=8)
        otp.time = when
        assert otp.token() == expected


def test_bad_verification_link_is_a_clear_400() -> None:
    assert Client().get("/akun/verifikasi/not-a-token/").status_code == 400


def test_staff_sign_in_needs_password_then_token_code_once_only(office) -> None:
    staff = build_staff(home=office)
    device = TOTPDevice.objects.get(user=staff)
    client = Client()
    before = client.session  # a session that exists before sign-in (e.g. planted by an attacker)
    before["planted"] = True
    before.save()
    client.cookies["sessionid"] = str(before.session_key)
    response = client.post(STAFF_LOGIN, {"username": staff.email, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"].startswith(STAFF_VERIFY)
    assert client.cookies["sessionid"].value != before.session_key  # the session id rotates at log-in
    # Password alone does not open the console.
    assert client.get("/staf/")["Location"].startswith(STAFF_VERIFY)

    wrong = client.post(STAFF_VERIFY, {"code": "000000" if totp_code(device) != "000000" else "111111"})
    assert wrong.status_code == 200 and wrong.context["form"].errors["code"]

    code = totp_code(device)
    # Right after a failure the token is throttled: even the right code waits.
    throttled = client.post(STAFF_VERIFY, {"code": code})
    assert throttled.status_code == 200
    time.sleep(1.1)
    ok = client.post(STAFF_VERIFY, {"code": code})
    assert ok.status_code == 302 and ok["Location"] == "/staf/"
    assert client.get("/staf/").status_code == 200
    assert AuditEvent.objects.filter(action="accounts.signed_in", actor=staff, details__step="totp").exists()

    # The same code is refused in a second session: a code is accepted once only.
    other = Client()
    other.post(STAFF_LOGIN, {"username": staff.email, "password": PASSWORD})
    replay = other.post(STAFF_VERIFY, {"code": code})
    assert replay.status_code == 200
    assert other.get("/staf/").status_code == 302


def test_applicants_cannot_use_staff_sign_in_and_staff_cannot_use_applicant_sign_in(office) -> None:
    applicant = build_user()
    staff = build_staff(home=office)
    client = Client()
    response = client.post(STAFF_LOGIN, {"username": applicant.email, "password": PASSWORD})
    assert response.status_code == 200 and "_auth_user_id" not in client.session
    response = client.post("/akun/masuk/", {"username": staff.email, "password": PASSWORD})
    assert response.status_code == 200 and "_auth_user_id" not in client.session


def test_repeated_failures_lock_the_account(settings, office) -> None:
    staff = build_staff(home=office)
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post(STAFF_LOGIN, {"username": staff.email, "password": "salah-salah-salah"})
        assert response.status_code == 200
    locked = client.post(STAFF_LOGIN, {"username": staff.email, "password": "salah-salah-salah"})
    assert locked.status_code == 429
    # Even the right password is refused while locked, from any client.
    again = Client().post(STAFF_LOGIN, {"username": staff.email, "password": PASSWORD})
    assert again.status_code == 429
    assert "_auth_user_id" not in Client().session


def test_staff_session_expires_after_idle_period(office) -> None:
    staff = build_staff(home=office)
    client = staff_client(staff)
    assert client.get("/staf/").status_code == 200
    session = client.session
    session[SESSION_KEY] = time.time() - 16 * 60
    session.save()
    response = client.get("/staf/")
    assert response.status_code == 302 and response["Location"].startswith(STAFF_LOGIN)
    assert "_auth_user_id" not in client.session


def test_applicant_session_is_not_cut_after_fifteen_minutes() -> None:
    applicant = build_user()
    client = Client()
    client.force_login(applicant)
    session = client.session
    session[SESSION_KEY] = time.time() - 16 * 60
    session.save()
    assert client.get("/akun/").status_code == 200
