"""A submitted application with its bill, a bank with a secret, and signed requests as a bank sends them."""

from __future__ import annotations

import datetime as dt
import json
import secrets as pysecrets
from pathlib import Path
from typing import Any

from django.db import transaction
from django.test import Client
from django.utils import timezone

from gerbang.applications import actions as application_actions
from gerbang.applications.models import PassportApplication
from gerbang.applications.tests.samples import jpeg_bytes
from gerbang.applications.tests.support import load_demo_tariffs
from gerbang.conftest import build_office, build_user
from gerbang.identity.models import CitizenIdentity
from gerbang.payments import signatures
from gerbang.payments.actions import issue_bill
from gerbang.payments.models import Bank, Bill

_ntpn_seq = iter(range(10**6))


def make_bank(folder: Path, code: str = "bank-sandbox", *, secrets: list[bytes] | None = None) -> tuple[Bank, bytes]:
    secret = pysecrets.token_bytes(32)
    folder.mkdir(parents=True, exist_ok=True)
    lines = [s.hex() for s in (secrets or [secret])]
    (folder / f"{code}.secrets").write_text("\n".join(lines) + "\n")
    return Bank.objects.create(code=code, name=f"Bank {code}"), (secrets or [secret])[0]


def submitted_application(nik: str = "3173015708870001", *, bill: bool = True) -> tuple[PassportApplication, Any]:
    """A renewal filed, documented and submitted through the actions, with its bill issued (as a booked slot does).

    ``bill=False``: no bill yet (the appointments tests book a slot, which issues it); then ``(application, None)``.
    """
    load_demo_tariffs()
    user = build_user()
    CitizenIdentity.objects.create(
        account=user,
        status="active",
        nik=nik,
        kk="3173011001200001",
        name="Siti Rahayu",
        birth_date=dt.date(1987, 8, 17),
        sex="F",
        relationship="wife",
        registry_checked_at=timezone.now(),
        activated_at=timezone.now(),
    )
    application = application_actions.create_draft(actor=user, applicant_nik=nik, kind="renewal")
    application_actions.update_draft(
        application,
        actor=user,
        renewal_reason="full",
        old_passport_number="A1234567",
        office=build_office(),
        product="regular",
        validity_years=5,
    )
    for kind in ("ktp", "old_passport"):
        application_actions.upload_document(application, actor=user, kind=kind, stream=jpeg_bytes())
    version = application_actions.submit(application, actor=user, declaration=True)
    application.refresh_from_db()
    if not bill:
        return application, None
    with transaction.atomic():
        issued = issue_bill(
            application=application,
            payer_name=application.applicant_name,
            items=version.fee["items"],
            service="passport",
            actor=user,
        )
    return application, issued


def notification(bill: Bill | None, bank: Bank, **changes: Any) -> dict[str, Any]:
    n = next(_ntpn_seq)
    body = {
        "notification_id": f"N-{pysecrets.token_hex(6)}",
        "bank_code": bank.code,
        "billing_code": bill.billing_code if bill else "123456789012345",
        "amount": bill.amount if bill else 350_000,
        "paid_at": timezone.now().isoformat(),
        "ntb": f"NTB{n:010d}",
        "ntpn": f"{pysecrets.token_hex(5).upper()}{n:06d}",
        "channel": "teller",
        "terminal_id": "TLR-01",
        "payer_ref": "k3yedHashOfAccount01",
    }
    return body | changes


def send(client: Client, bank: Bank, secret: bytes, body: dict[str, Any] | bytes, **overrides: Any) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    header = overrides.pop("signature", None) or signatures.header_value([secret], raw)
    return client.post(
        "/api/bank/v1/notifications",
        raw,
        content_type="application/json",
        headers={"Gerbang-Bank": overrides.pop("bank_code", bank.code), signatures.HEADER: header},
    )


def inquire(client: Client, bank: Bank, secret: bytes, billing_code: str) -> Any:
    path = f"/api/bank/v1/bills/{billing_code}"
    header = signatures.header_value([secret], b"", method="GET", path=path)
    return client.get(path, headers={"Gerbang-Bank": bank.code, signatures.HEADER: header})
