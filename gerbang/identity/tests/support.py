"""Demo residents of the sandbox registry (services/registry/README.md) and registration over HTTP."""

from __future__ import annotations

import re
from typing import Any

from django.core import mail
from django.test import Client

from gerbang.accounts.models import User

SITI = {"nik": "3173015708870001", "kk": "3173011001200001", "full_name": "Siti Rahayu", "birth_date": "1987-08-17"}
BUDI = {"nik": "3173011203840001", "kk": "3173011001200001", "full_name": "Budi Santoso", "birth_date": "1984-03-12"}
ANDI = {"nik": "3578010112920001", "kk": "3578012010200001", "full_name": "Andi Wijaya", "birth_date": "1992-12-01"}
PUTRI_NIK = "3173016005150001"
RIZKY_NIK = "3173010211190001"
APPLICANT_PASSWORD = "Bunga-Melati-77"


def register(client: Client, person: dict[str, str], email: str, **extra: Any) -> Any:
    data = {
        **person,
        "email": email,
        "password": APPLICANT_PASSWORD,
        "password_again": APPLICANT_PASSWORD,
        "language": "id",
        **extra,
    }
    return client.post("/akun/daftar/", data)


def confirm_email(client: Client, email: str) -> None:
    """Open the link of the last verification e-mail sent to ``email``."""
    message = [m for m in mail.outbox if email in m.to][-1]
    link = re.search(r"http://\S+/akun/verifikasi/\S+/", str(message.body))
    assert link is not None
    path = "/" + link.group(0).split("/", 3)[3]
    assert client.get(path).status_code == 200


def signed_in_citizen(person: dict[str, str], email: str, capture: Any) -> tuple[Client, User]:
    """Register ``person`` through the page, confirm the e-mail, sign in; return the client and the user."""
    client = Client()
    with capture(execute=True):
        response = register(client, person, email)
    assert response.status_code == 200, response.content.decode()[:2000]
    confirm_email(client, email)
    signed = client.post("/akun/masuk/", {"username": email, "password": APPLICANT_PASSWORD})
    assert signed.status_code == 302
    return client, User.objects.get(email=email)
