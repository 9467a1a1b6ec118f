"""A staff member registers a security key in a real Chromium and uses it as the second factor."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential
from playwright.sync_api import Page, expect
from pytest_django import Settings

from gerbang.audit.models import AuditEvent
from gerbang.browser import VirtualAuthenticator, sign_in_staff_password, wait_for_webauthn_button, watch_errors
from gerbang.conftest import PASSWORD, build_office, build_staff, totp_code

pytestmark = pytest.mark.browser


def _sign_in_steps(user_pk: int) -> list[str]:
    events = AuditEvent.objects.filter(action="accounts.signed_in", actor_id=user_pk).order_by("id")
    return [event.details["step"] for event in events]


def test_staff_registers_a_security_key_and_signs_in_with_it(
    new_page: Callable[[], Page], site_url: str, settings: Settings
) -> None:
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = [site_url]
    staff = build_staff(home=build_office())
    token = TOTPDevice.objects.get(user=staff)
    console = site_url + "/staf/"

    page = new_page()
    errors = watch_errors(page)
    key = VirtualAuthenticator.attach(page)

    # Sign in with the password and the hardware token.
    sign_in_staff_password(page, staff.email, PASSWORD)
    page.fill("#id_code", totp_code(token))
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(console)

    # Register the key on "My security keys"; the page reloads and lists it.
    page.get_by_role("link", name="My security keys").click()
    expect(page).to_have_url(site_url + "/staf/kunci-keamanan/")
    expect(page.locator("#security-keys tbody")).to_contain_text("You have no security key yet.")
    wait_for_webauthn_button(page, "passkey-register-button")
    page.locator("#passkey-register-button").click()
    expect(page.locator("#security-keys tbody tr")).to_contain_text("Security key 1")
    expect(page.locator(".messages")).to_contain_text("Security key registered.")
    credential = WebAuthnCredential.objects.get(user=staff)
    assert credential.confirmed
    assert len(key.credentials()) == 1
    assert AuditEvent.objects.filter(
        action="accounts.security_key_registered", actor=staff, object_id=str(credential.pk)
    ).exists()

    # Sign out (a POST button in the header), then sign in with the password and the key.
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    sign_in_staff_password(page, staff.email, PASSWORD)
    wait_for_webauthn_button(page, "passkey-verification-button")
    page.locator("#passkey-verification-button").click()
    expect(page).to_have_url(console)
    expect(page.locator("h1")).to_have_text("Staff console")
    assert _sign_in_steps(staff.pk) == ["password", "totp", "password", "webauthn"]
    assert AuditEvent.objects.filter(actor=staff, action="accounts.signed_in", details__step="webauthn").count() == 1
    credential.refresh_from_db()
    assert credential.last_used_at is not None
    assert errors == []

    # Without the key: a fresh browser with a key that holds no credential for Gerbang.
    other = new_page()
    VirtualAuthenticator.attach(other)
    sign_in_staff_password(other, staff.email, PASSWORD)
    wait_for_webauthn_button(other, "passkey-verification-button")
    other.locator("#passkey-verification-button").click()
    expect(other.locator("#passkey-verification-status-message")).to_have_attribute(
        "data-status-enum", re.compile("not-allowed-or-aborted|server-error")
    )
    other.goto("/staf/")
    expect(other).to_have_url(re.compile(r"/akun/staf/verifikasi/\?next=%2Fstaf%2F$"))
    expect(other.locator("h1")).not_to_have_text("Staff console")
    assert _sign_in_steps(staff.pk) == ["password", "totp", "password", "webauthn", "password"]
