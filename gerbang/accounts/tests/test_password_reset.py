"""Applicants reset a forgotten password through a one-time e-mailed link; staff cannot."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client

from gerbang.audit.models import AuditEvent
from gerbang.conftest import build_staff, build_user

pytestmark = pytest.mark.django_db


def _link(body: str) -> str:
    match = re.search(r"https?://[^/\s]+(/akun/atur-ulang-sandi/\S+/)", body)
    assert match is not None, body
    return match.group(1)


def test_applicant_sets_a_new_password_once() -> None:
    user = build_user()
    client = Client()
    response = client.post("/akun/lupa-sandi/", {"email": user.email.upper()})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = _link(str(mail.outbox[0].body))
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200 and form_page.context["validlink"]
    set_url = form_page.redirect_chain[-1][0]
    weak = client.post(set_url, {"new_password1": "password", "new_password2": "password"})
    assert weak.status_code == 200 and weak.context["form"].errors
    done = client.post(set_url, {"new_password1": "Hujan-Deras-Sore-9", "new_password2": "Hujan-Deras-Sore-9"})
    assert done.status_code == 302
    user.refresh_from_db()
    assert user.check_password("Hujan-Deras-Sore-9")
    assert AuditEvent.objects.filter(action="accounts.password_reset", object_id=str(user.pk)).count() == 1
    # The link works once.
    again = Client().get(link, follow=True)
    assert again.context["validlink"] is False


def test_unknown_addresses_and_staff_get_the_same_answer_and_no_mail(office) -> None:
    staff = build_staff(home=office)
    client = Client()
    unknown = client.post("/akun/lupa-sandi/", {"email": "siapa@example.test"})
    staff_answer = client.post("/akun/lupa-sandi/", {"email": staff.email})
    assert unknown.status_code == staff_answer.status_code == 302
    assert unknown["Location"] == staff_answer["Location"]
    assert mail.outbox == []
