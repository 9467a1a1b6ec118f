"""``manage.py demo_visit_day --check-in`` against the real witness, registry and bank, as `make run` has them.

The witness and the registry run as processes (their fixtures); the sandbox bank runs as a process talking to
Gerbang's live server: it asks for each bill over the signed bank API and notifies the payment with a signed
webhook, which is what marks an application paid.
"""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from gerbang.accounts.demo import DEMO_OFFICE_NAME, DEMO_OTHER_OFFICE_NAME
from gerbang.appointments.models import Booking, Draw, LotteryRequest, Release
from gerbang.appointments.tests.conftest import WitnessService, witness, witness_service  # noqa: F401 (fixtures)
from gerbang.audit.models import AuditEvent
from gerbang.conftest import RegistryService, last_audit_id
from gerbang.organisation.models import Counter, Office
from gerbang.payments.models import Bill
from gerbang.payments.tests.conftest import ACCOUNT, SandboxBank, sandbox_bank  # noqa: F401 (fixture)
from gerbang.visits.codes import booking_from_code
from gerbang.visits.models import Visit

pytestmark = pytest.mark.django_db(transaction=True)

PEOPLE = 5


def _run(*extra: str) -> str:
    out = io.StringIO()
    call_command(
        "demo_visit_day",
        "--window-seconds",
        "3",
        "--people",
        str(PEOPLE),
        "--worker-wait",
        "0",
        "--payment-wait",
        "30",
        "--base-url",
        "http://gerbang.test",
        *extra,
        stdout=out,
    )
    return out.getvalue()


def test_a_demo_lottery_day_runs_end_to_end_and_again(
    registry: RegistryService,
    witness: WitnessService,  # noqa: F811 (fixture)
    sandbox_bank: SandboxBank,  # noqa: F811 (fixture)
    settings: Any,
) -> None:
    settings.BANK_SANDBOX_URL, settings.BANK_SANDBOX_ACCOUNT = sandbox_bank.url, ACCOUNT
    call_command("seed_demo", stdout=io.StringIO())
    office = Office.objects.get(name=DEMO_OFFICE_NAME)
    since = last_audit_id()

    output = _run("--check-in")

    # The draw: committed, revealed by the witness, recomputable by anyone.
    release = Release.objects.get(office=office, mode=Release.Mode.LOTTERY)
    assert release.status == Release.Status.DRAWN
    draw = Draw.objects.get(release=release)
    assert f"http://gerbang.test/undian/{draw.public_id}/" in output
    verified = io.StringIO()
    call_command("verify_draw", draw.public_id, stdout=verified)
    assert f"draw {draw.public_id} verifies" in verified.getvalue()

    # Five registry residents entered; 2 slots x 2 places (1 priority each): three places for one priority
    # applicant and four others, so some wait.
    assert release.requests.count() == draw.request_count == PEOPLE
    assert len(draw.result["allocations"]) == 3, output
    assert len(draw.result["waiting"]) == PEOPLE - 3
    assert "waiting list:\n     1. " in output

    # One cancelled; its place went to the first on the waiting list who wanted it, with a new bill.
    cancelled = Booking.objects.get(request__release=release, status=Booking.Status.CANCELLED)
    offered = Booking.objects.get(request__release=release, source=Booking.Source.WAITING_LIST)
    assert offered.slot_id == cancelled.slot_id
    assert offered.request is not None and offered.request.pseudonym in draw.result["waiting"]
    assert release.requests.filter(outcome=LotteryRequest.Outcome.WAITING).count() == PEOPLE - 4
    assert f"the place went to {offered.application.applicant_name}" in output

    # Every appointment kept was paid at the sandbox bank and notified to Gerbang with a signed webhook.
    kept = Booking.objects.filter(request__release=release).exclude(status=Booking.Status.CANCELLED)
    assert kept.count() == 3
    for booking in kept.select_related("application"):
        assert booking.application.paid_at is not None
        bill = booking.application.bills.get(status=Bill.Status.PAID)
        assert bill.ntpn and bill.billing_code in output
    assert sandbox_bank.wait_idle()["notifications"]["failed"] == 0

    # One person checked in with both photos and called to a counter; the others' codes are printed.
    visit = Visit.objects.select_related("booking", "counter").get(office=office)
    assert visit.booking is not None and visit.booking.status == Booking.Status.ATTENDED
    assert visit.registry_photo_sha256 and visit.checkin_photo_sha256
    assert visit.status == Visit.Status.CALLED and visit.counter is not None
    assert Counter.objects.filter(unit__office=office, is_active=True).exists()
    assert f"http://gerbang.test/staf/loket/{visit.counter_id}/antrean/" in output
    codes = re.findall(r"GB1:\d+:\S+", output)
    assert codes and {booking_from_code(code) for code in codes} == set(
        kept.filter(status=Booking.Status.ACTIVE, application__paid_at__isnull=False)
    )
    assert f"/staf/kantor/{office.code}/kedatangan/" in output and f"/antrean/{office.code}/" in output

    # The public pages show the draw and the queue.
    assert Client().get(f"/undian/{draw.public_id}/").status_code == 200
    assert visit.code in Client().get(f"/antrean/{office.code}/").content.decode()

    # Each step is on the audit log.
    actions = set(AuditEvent.objects.filter(id__gt=since).values_list("action", flat=True))
    assert {
        "identity.bound",
        "accounts.email_verified",
        "applications.document_uploaded",
        "appointments.slots_created",
        "appointments.release_opened",
        "appointments.lottery_requested",
        "appointments.draw_completed",
        "appointments.booking_cancelled",
        "appointments.waiting_list_booked",
        "organisation.counter_added",
        "visits.checked_in",
        "visits.called",
    } <= actions
    assert any(a.startswith("payments.") for a in actions)

    # The casework demo takes the checked-in person to handover; the decision is taken at Jakarta Timur.
    casework = io.StringIO()
    call_command("demo_casework", "--base-url", "http://gerbang.test", stdout=casework)
    assert "demo_casework: done." in casework.getvalue()
    handed = visit.application
    handed.refresh_from_db()
    assert handed.status == "handed_over"
    decided_at = handed.decisions.get().office
    assert decided_at.name == DEMO_OTHER_OFFICE_NAME and decided_at != office
    steps = set(AuditEvent.objects.filter(id__gt=since).values_list("action", flat=True))
    assert {
        "duty.shift_planned",
        "duty.devices_deposited",
        "duty.counter_session_opened",
        "casework.assigned",
        "applications.verify_documents",
        "applications.take_biometrics",
        "applications.interview",
        "applications.approve",
        "applications.print",
        "applications.hand_over",
    } <= steps

    # The same day again: accounts and applications reused, those with an appointment or a visit skipped.
    again = _run()
    assert "already has an appointment" in again and "already came to the office today" in again
    assert "account reused" in again and "demo_visit_day: done." in again
    assert Release.objects.filter(office=office, status=Release.Status.DRAWN).count() == 2
