"""``manage.py demo_visas`` against the real sandbox bank and border control processes, as `make run` has them."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command

from gerbang.audit.models import AuditEvent
from gerbang.conftest import last_audit_id
from gerbang.payments.tests.conftest import ACCOUNT, SandboxBank, sandbox_bank  # noqa: F401 (fixture)
from gerbang.visas import demo
from gerbang.visas.models import OverstayFine, Permit, Status, VisaApplication

from .test_border_api import border_service  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_foreigners_demo_runs_end_to_end_and_again(
    sandbox_bank: SandboxBank,  # noqa: F811 (fixture)
    border_service: str,  # noqa: F811 (fixture)
    settings: Any,
) -> None:
    settings.BANK_SANDBOX_URL, settings.BANK_SANDBOX_ACCOUNT = sandbox_bank.url, ACCOUNT
    settings.BORDER_URL = border_service
    call_command("seed_demo", stdout=io.StringIO())
    since = last_audit_id()
    out = io.StringIO()
    call_command("demo_visas", "--wait", "30", "--base-url", "http://gerbang.test", stdout=out)
    log = out.getvalue()

    worker = Permit.objects.filter(foreigner__passport_number=demo.WORKER.number)
    visa = worker.get(kind__code="e23")
    assert visa.status == Permit.Status.USED and "MRV-A: V<IDNMUELLER<<ANNA<MARIA" in log
    itas = worker.filter(kind__code="itas").order_by("issued_at")
    assert [p.status for p in itas] == [Permit.Status.VALID, Permit.Status.VALID]  # the first runs until the second
    assert itas[1].previous == itas[0] and itas[1].extensions_used == 1
    decided = VisaApplication.objects.get(issued_permit=visa).decisions.get()
    assert decided.office.name == "Kantor Imigrasi Kelas I TPI Jakarta Timur"

    evoa = VisaApplication.objects.get(foreigner__passport_number=demo.TOURIST.number)
    assert evoa.status == Status.ISSUED and evoa.issued_permit.issued_by is None
    assert not evoa.assignments.exists()

    fine = OverstayFine.objects.get(foreigner__passport_number=demo.OVERSTAYER.number)
    assert fine.days == 6 and fine.amount == 6_000_000 and fine.bill.status == "paid"

    actions = set(AuditEvent.objects.filter(id__gt=since).values_list("action", flat=True))
    assert {
        "visas.submit",
        "visas.pay",
        "visas.verify_documents",
        "visas.approve",
        "visas.permit_issued",
        "visas.border_entry",
        "visas.border_exit",
        "visas.issue_automatically",
        "visas.overstay_fined",
        "visas.fine_paid",
        "casework.assigned",
    } <= actions

    again = io.StringIO()
    call_command("demo_visas", "--wait", "30", stdout=again)
    assert "already done in an earlier run" in again.getvalue()
    assert OverstayFine.objects.count() == 1
