"""Security keys over HTTP: who may register one, the page, and the audit of a registration."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError
from django.test import Client, RequestFactory
from django.urls import resolve, reverse
from django_otp_webauthn.helpers import WebAuthnHelper
from django_otp_webauthn.models import WebAuthnCredential

from gerbang.accounts import security_keys
from gerbang.accounts.models import User
from gerbang.audit.models import AuditEvent
from gerbang.conftest import build_office, build_staff, build_user, staff_client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("name", "view_class"),
    [
        ("credential-registration-begin", security_keys.StaffBeginRegistrationView),
        ("credential-registration-complete", security_keys.StaffCompleteRegistrationView),
        ("credential-authentication-complete", security_keys.AuditedCompleteAuthenticationView),
    ],
)
def test_the_library_url_names_reach_gerbangs_views(name: str, view_class: type) -> None:
    assert resolve(reverse(f"otp_webauthn:{name}")).func.view_class is view_class  # type: ignore[attr-defined]


def test_the_library_urls_not_overridden_still_work() -> None:
    assert Client().get(reverse("otp_webauthn:js-i18n-catalog")).status_code == 200


def _begin_registration(client: Client) -> Any:
    return client.post(reverse("otp_webauthn:credential-registration-begin"), content_type="application/json")


def test_applicants_cannot_register_a_security_key() -> None:
    client = Client()
    client.force_login(build_user(kind=User.Kind.APPLICANT))
    response = _begin_registration(client)
    assert response.status_code == 403
    assert response.json()["code"] == "staff_only"
    complete = client.post(
        reverse("otp_webauthn:credential-registration-complete"), data={}, content_type="application/json"
    )
    assert complete.status_code == 403


def test_staff_must_pass_the_second_factor_before_registering() -> None:
    client = Client()
    client.force_login(build_staff(home=build_office()))  # password only
    response = _begin_registration(client)
    assert response.status_code == 403
    assert response.json()["code"] == "user_not_verified"


def test_staff_without_any_device_cannot_register_after_the_password_alone() -> None:
    # The library would let a user with no device register a key (and count it as the second factor).
    staff = build_user(kind=User.Kind.STAFF)
    client = Client()
    client.force_login(staff)
    response = _begin_registration(client)
    assert response.status_code == 403
    assert response.json()["code"] == "user_not_verified"


def test_verified_staff_get_registration_options() -> None:
    client = staff_client(build_staff(home=build_office()))
    response = _begin_registration(client)
    assert response.status_code == 200
    assert response.json()["rp"]["id"] == "localhost"


def test_security_keys_page_is_for_verified_staff() -> None:
    url = reverse("staff:security_keys")
    staff = build_staff(home=build_office())

    anonymous = Client().get(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("accounts:staff_login"))

    password_only = Client()
    password_only.force_login(staff)
    response = password_only.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:staff_verify"))

    response = staff_client(staff).get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="passkey-register-button"' in html
    assert 'id="otp_webauthn_config"' in html
    assert "You have no security key yet." in html
    assert "<script>" not in html  # no inline script under the CSP


def _fake_credential(user: User) -> WebAuthnCredential:
    return WebAuthnCredential.objects.create(
        user=user, credential_id=b"gerbang-test-key", public_key=b"\x00", sign_count=0, aaguid="0" * 32
    )


def test_a_registration_is_audited_with_the_new_key(monkeypatch: pytest.MonkeyPatch) -> None:
    staff = build_staff(home=build_office())
    monkeypatch.setattr(WebAuthnHelper, "register_complete", lambda self, user, state, data: _fake_credential(user))
    helper = security_keys.StaffWebAuthnHelper(request=RequestFactory().post("/"))

    credential = helper.register_complete(staff, {}, {})

    event = AuditEvent.objects.get(action="accounts.security_key_registered", actor=staff)
    assert event.actor == staff
    assert event.office == staff.home_office
    assert event.object_id == str(credential.pk)


def test_a_key_is_not_kept_when_its_audit_event_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    staff = build_staff(home=build_office())
    monkeypatch.setattr(WebAuthnHelper, "register_complete", lambda self, user, state, data: _fake_credential(user))

    def fail(*args: Any, **kwargs: Any) -> None:
        raise IntegrityError("audit log unavailable")

    monkeypatch.setattr(security_keys.webauthn_actions, "record_security_key_registered", fail)
    helper = security_keys.StaffWebAuthnHelper(request=RequestFactory().post("/"))

    with pytest.raises(IntegrityError):
        helper.register_complete(staff, {}, {})
    assert not WebAuthnCredential.objects.filter(user=staff).exists()
