"""The exception queue over HTTP: who sees an item, a refund, and an acceptance that needs two finance officers."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.test import Client
from django.utils import timezone, translation

from gerbang.accounts.models import Role, User
from gerbang.applications.models import PassportApplication
from gerbang.audit.models import AuditEvent
from gerbang.conftest import build_office, build_staff, grant, last_audit_id, staff_client
from gerbang.payments import actions
from gerbang.payments.models import Bank, Bill, Payment, PaymentException

from .support import make_bank, notification, send, submitted_application

pytestmark = pytest.mark.django_db

QUEUE = "/staf/pembayaran/pengecualian/"
NOTE = "Checked the bank's proof and the applicant's letter."


@pytest.fixture
def bank(settings: Any, tmp_path: Path) -> tuple[Bank, bytes]:
    settings.BANK_SECRETS_DIR = tmp_path / "banks"
    return make_bank(settings.BANK_SECRETS_DIR)


# --- Helpers -------------------------------------------------------------------------------------------


def _exception(bank: tuple[Bank, bytes], bill: Bill | None, **changes: Any) -> PaymentException:
    """Send a signed notification that cannot be credited; return the queued item."""
    body = notification(bill, bank[0], **changes)
    answer = send(Client(), bank[0], bank[1], body)
    assert answer.status_code == 200 and answer.json() == {"status": "exception"}, answer.content
    return PaymentException.objects.select_related("payment").get(payment__ntpn=body["ntpn"])


def _make_overdue(bill: Bill, *, days_ago: int = 1) -> Bill:
    """Move the bill's validity into the past (the bill itself stays as it is)."""
    now = timezone.now()
    Bill.objects.filter(pk=bill.pk).update(
        issued_at=now - dt.timedelta(days=days_ago + 7), expires_at=now - dt.timedelta(days=days_ago)
    )
    bill.refresh_from_db()
    return bill


def _late_exception(
    bank: tuple[Bank, bytes], nik: str = "3173015708870001"
) -> tuple[PassportApplication, Bill, PaymentException]:
    """An application whose fee was paid one hour after its bill expired: reason after_expiry."""
    application, bill = submitted_application(nik=nik)
    bill = _make_overdue(bill)
    late = (bill.expires_at + dt.timedelta(hours=1)).isoformat()
    item = _exception(bank, bill, paid_at=late)
    assert item.reason == PaymentException.Reason.AFTER_EXPIRY and item.status == "open"
    return application, bill, item


def _finance(office: Any = None) -> User:
    """A finance officer over ``office``; over the whole directorate when no office is given."""
    if office is not None:
        return build_staff(Role.FINANCE_OFFICER, office=office)
    user = build_staff()
    grant(user, Role.FINANCE_OFFICER)
    return user


def _signed_in(user: User) -> User:
    """The user as an action sees them inside a request past the second factor (to set up state directly)."""
    user.is_verified = lambda: True  # type: ignore[attr-defined]
    return user


def _client(user: User) -> Client:
    client = staff_client(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def _url(item: PaymentException) -> str:
    return f"{QUEUE}{item.pk}/"


def _post(client: Client, item: PaymentException, decision: str, note: str = NOTE) -> Any:
    return client.post(_url(item), {"decision": decision, "note": note})


def _offered(html: str) -> list[str]:
    """The decisions the form offers, in order."""
    return re.findall(r'<input type="radio" name="decision" value="([a-z]+)"', html)


def _events(mark: int, *names: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(id__gt=mark, action__in=names).order_by("id"))


def _state(item: PaymentException) -> tuple[Any, ...]:
    item.refresh_from_db()
    return (
        item.status,
        item.proposed_by_id,
        item.proposal_note,
        item.resolved_by_id,
        item.resolution_note,
        item.refund_reference,
    )


# --- 1. Who sees what ------------------------------------------------------------------------------------


def test_each_item_is_seen_only_by_finance_officers_who_cover_it(bank: tuple[Bank, bytes]) -> None:
    application, bill, late = _late_exception(bank)
    unknown = _exception(bank, None, billing_code="123456789012345")
    assert unknown.reason == "unknown_code" and unknown.payment.bill_id is None
    own = _client(_finance(application.office))
    elsewhere_officer = _finance(build_office())
    elsewhere = _client(elsewhere_officer)
    front_desk = _client(build_staff(Role.FRONT_DESK, office=application.office))
    directorate = _client(_finance())

    # The office's finance officer: the late payment is in the queue, the unknown code is not.
    queue = own.get(QUEUE)
    assert queue.status_code == 200
    html = queue.content.decode()
    assert late.payment.ntpn in html and _url(late) in html
    assert unknown.payment.ntpn not in html and _url(unknown) not in html
    detail = own.get(_url(late))
    assert detail.status_code == 200
    page = detail.content.decode()
    assert "Paid after the bill expired" in page
    for proof in (
        late.payment.ntpn,
        late.payment.notification_id,
        late.payment.ntb,
        "Signed notification",
        bill.billing_code,
        application.reference,
    ):
        assert proof in page, proof
    assert own.get(_url(unknown)).status_code == 404

    # Another office's finance officer and a front-desk officer of the same office: as if it did not exist.
    other_queue = elsewhere.get(QUEUE)
    assert other_queue.status_code == 200
    assert late.payment.ntpn not in other_queue.content.decode()
    assert unknown.payment.ntpn not in other_queue.content.decode()
    assert elsewhere.get(_url(late)).status_code == 404
    assert elsewhere.get(_url(unknown)).status_code == 404
    assert front_desk.get(QUEUE).status_code == 404
    assert front_desk.get(_url(late)).status_code == 404

    # Nor can they act on it.
    before = _state(late)
    mark = last_audit_id()
    assert _post(elsewhere, late, "refund").status_code == 404
    assert _post(front_desk, late, "refund").status_code == 404
    assert _state(late) == before and not _events(mark, "payments.refund_instructed")
    # The actions check the scope themselves too (as not found), whatever a screen lets through.
    with pytest.raises(Http404):
        actions.instruct_refund(late, actor=_signed_in(elsewhere_officer), note=NOTE)
    with pytest.raises(Http404):
        actions.propose_acceptance(late, actor=_signed_in(elsewhere_officer), note=NOTE)
    assert _state(late) == before

    # Money without an application belongs to the directorate's finance officers only.
    all_items = directorate.get(QUEUE).content.decode()
    assert late.payment.ntpn in all_items and unknown.payment.ntpn in all_items
    unknown_page = directorate.get(_url(unknown))
    assert unknown_page.status_code == 200
    assert unknown.payment.ntpn in unknown_page.content.decode()
    assert "No bill has this billing code." in unknown_page.content.decode()
    assert "123456789012345" in unknown_page.content.decode()


# --- 2. Refund -------------------------------------------------------------------------------------------


def test_a_refund_is_instructed_once_with_a_reference_and_an_audit_event(bank: tuple[Bank, bytes]) -> None:
    application, bill, item = _late_exception(bank)
    officer = _finance(application.office)
    client = _client(officer)
    assert _offered(client.get(_url(item)).content.decode()) == ["refund", "propose"]
    mark = last_audit_id()

    # No note, or too short a note: the form says so and nothing changes.
    before = _state(item)
    empty = _post(client, item, "refund", note="   ")
    assert empty.status_code == 200 and "This field is required." in empty.content.decode()
    short = _post(client, item, "refund", note="ok")
    assert short.status_code == 200
    assert "Say what you checked and why (at least a few words)." in short.content.decode()
    assert _state(item) == before and not _events(mark, "payments.refund_instructed")

    done = _post(client, item, "refund", note="  Payer phoned; bank confirmed the transfer.  ")
    assert done.status_code == 302 and done["Location"] == _url(item)
    item.refresh_from_db()
    assert item.status == "refund" and item.resolved_by_id == officer.pk and item.resolved_at is not None
    assert item.resolution_note == "Payer phoned; bank confirmed the transfer."
    assert item.refund_reference == f"RF{item.pk:010d}" and re.fullmatch(r"RF\d{10}", item.refund_reference)
    page = client.get(_url(item)).content.decode()
    assert f'<strong id="refund-reference">{item.refund_reference}</strong>' in page
    assert '<span id="exception-status">Refund instructed</span>' in page
    assert "Your decision was recorded." in page
    assert _offered(page) == [] and "Record the decision" not in page

    (event,) = _events(mark, "payments.refund_instructed")
    assert event.actor_id == officer.pk and event.office_id == application.office_id
    assert event.object_type == "payments.paymentexception" and event.object_id == str(item.pk)
    assert event.details["amount"] == 350_000 == item.payment.amount
    assert event.details["reference"] == item.refund_reference
    assert event.details["ntpn"] == item.payment.ntpn and event.details["payment"] == item.payment_id
    # The money went back: the bill is untouched and no receipt exists for that NTPN.
    bill.refresh_from_db()
    assert bill.status == "issued" and bill.ntpn == ""
    assert Client().get(f"/kuitansi/{item.payment.ntpn}/{bill.billing_code}/").status_code == 404

    # Resolved: no second decision by anyone, by any route.
    resolved = _state(item)
    second = _client(_finance(application.office))
    for who, decision in ((client, "refund"), (second, "refund"), (second, "propose"), (second, "approve")):
        again = _post(who, item, decision, note="Trying a second decision on it.")
        assert again.status_code == 200 and "Record the decision" not in again.content.decode()
        assert _state(item) == resolved
    # Two officers with the page open at once: the action refuses the later decision.
    with translation.override("en"), pytest.raises(ValidationError, match="dealt with"):
        actions.instruct_refund(item, actor=_signed_in(officer), note="A second refund of the same money.")
    assert _state(item) == resolved
    assert len(_events(mark, "payments.refund_instructed")) == 1
    assert not _events(mark, "payments.acceptance_proposed", "payments.acceptance_approved")

    # It left the waiting queue and is listed under its status.
    assert item.payment.ntpn not in client.get(QUEUE).content.decode()
    assert item.payment.ntpn in client.get(QUEUE + "?status=refund").content.decode()
    assert item.payment.ntpn not in client.get(QUEUE + "?status=accepted").content.decode()


# --- 3. Acceptance by two finance officers ---------------------------------------------------------------


def test_an_acceptance_needs_a_second_finance_officer_then_the_bill_is_paid(bank: tuple[Bank, bytes]) -> None:
    application, bill, item = _late_exception(bank)
    payment = item.payment
    a, b = _finance(application.office), _finance(application.office)
    client_a, client_b = _client(a), _client(b)
    mark = last_audit_id()

    proposed = _post(client_a, item, "propose", note="Paid one hour late at the teller; same amount.")
    assert proposed.status_code == 302
    item.refresh_from_db()
    assert item.status == "proposed" and item.proposed_by_id == a.pk and item.proposed_at is not None
    assert item.proposal_note == "Paid one hour late at the teller; same amount."
    assert item.resolved_by_id is None
    (event,) = _events(mark, "payments.acceptance_proposed")
    assert event.actor_id == a.pk and event.office_id == application.office_id
    assert event.details["payment"] == payment.pk

    # The proposer cannot approve: it is not offered, and a forged approval changes nothing.
    assert _offered(client_a.get(_url(item)).content.decode()) == ["refund"]
    before = _state(item)
    forged = _post(client_a, item, "approve", note="Approving my own proposal.")
    assert forged.status_code == 200 and "Select a valid choice." in forged.content.decode()
    assert _state(item) == before and before[0] == "proposed"
    bill.refresh_from_db()
    application.refresh_from_db()
    assert bill.status == "issued" and application.status == "submitted" and application.paid_at is None
    assert not _events(mark, "payments.acceptance_approved", "payments.bill_paid")

    # A second finance officer approves: the proven payment is credited to its bill.
    page_b = client_b.get(_url(item)).content.decode()
    assert _offered(page_b) == ["refund", "approve", "reject"]
    assert "Paid one hour late at the teller; same amount." in page_b
    approved = _post(client_b, item, "approve", note="Agree: bank proof and amount match the bill.")
    assert approved.status_code == 302
    item.refresh_from_db()
    assert item.status == "accepted" and item.proposed_by_id == a.pk and item.resolved_by_id == b.pk
    assert item.resolution_note == "Agree: bank proof and amount match the bill."
    bill.refresh_from_db()
    application.refresh_from_db()
    assert bill.status == "paid" and bill.ntpn == payment.ntpn and bill.paid_at == payment.paid_at
    assert application.status == "paid" and application.paid_at == payment.paid_at
    # The payment row itself is never changed.
    assert Payment.objects.get(pk=payment.pk).outcome == "exception"
    assert _offered(client_b.get(_url(item)).content.decode()) == []

    approved_event, paid_event = _events(mark, "payments.acceptance_approved", "payments.bill_paid")
    assert approved_event.action == "payments.acceptance_approved" and approved_event.actor_id == b.pk
    assert approved_event.details["bill"] == bill.billing_code
    assert paid_event.action == "payments.bill_paid" and paid_event.actor_id is None
    assert paid_event.details["ntpn"] == payment.ntpn and paid_event.details["amount"] == 350_000
    assert len(_events(mark, "applications.pay")) == 1

    # The applicant now has a receipt, and anyone can check it.
    applicant = Client()
    applicant.force_login(application.filer)
    receipt = applicant.get(f"/permohonan/{application.public_id}/kuitansi/")
    assert receipt.status_code == 200 and payment.ntpn in receipt.content.decode()
    verify = Client().get(f"/kuitansi/{payment.ntpn}/{bill.billing_code}/", headers={"accept-language": "en"})
    assert verify.status_code == 200 and "Genuine" in verify.content.decode()

    # It is listed as accepted, no longer as waiting.
    assert payment.ntpn in client_b.get(QUEUE + "?status=accepted").content.decode()
    assert payment.ntpn not in client_b.get(QUEUE).content.decode()


def test_the_database_refuses_an_acceptance_resolved_by_its_proposer(bank: tuple[Bank, bytes]) -> None:
    application, _bill, item = _late_exception(bank)
    a, b = _finance(application.office), _finance(application.office)
    item = actions.propose_acceptance(item, actor=_signed_in(a), note="Paid late, same amount.")
    # The action itself refuses the proposer, whatever a screen offers.
    with translation.override("en"), pytest.raises(ValidationError, match="second finance officer"):
        actions.decide_acceptance(item, actor=a, approve=True, note="I approve my own proposal.")
    assert PaymentException.objects.get(pk=item.pk).status == "proposed"
    item.status = PaymentException.Status.ACCEPTED
    item.resolved_by = a
    item.resolved_at = timezone.now()
    item.resolution_note = "I approve my own proposal."
    with pytest.raises(IntegrityError), transaction.atomic():
        item.save()
    assert PaymentException.objects.get(pk=item.pk).status == "proposed"
    # The same row resolved by another officer is accepted by the database.
    item.resolved_by = b
    with transaction.atomic():
        item.save()
    assert PaymentException.objects.get(pk=item.pk).status == "accepted"


def test_two_late_payments_for_one_bill_cannot_both_be_accepted(bank: tuple[Bank, bytes]) -> None:
    application, bill, first = _late_exception(bank)
    second = _exception(bank, bill, paid_at=(bill.expires_at + dt.timedelta(hours=3)).isoformat())
    assert second.reason == "after_expiry"
    a, b = _finance(application.office), _finance(application.office)
    client_a, client_b = _client(a), _client(b)
    assert _post(client_a, first, "propose").status_code == 302
    assert _post(client_a, second, "propose").status_code == 302
    assert _post(client_b, first, "approve", note="Agree: the first payment pays the bill.").status_code == 302
    bill.refresh_from_db()
    assert bill.status == "paid" and bill.ntpn == first.payment.ntpn
    before = _state(second)
    mark = last_audit_id()

    refused = _post(client_b, second, "approve", note="Agree: the second payment pays the bill.")
    assert refused.status_code == 200
    assert "The bill is no longer waiting for payment." in refused.content.decode()
    assert _state(second) == before
    bill.refresh_from_db()
    assert bill.status == "paid" and bill.ntpn == first.payment.ntpn
    assert not _events(mark, "payments.acceptance_approved", "payments.bill_paid", "applications.pay")
    assert _post(client_b, second, "refund", note="Paid twice: refund the second.").status_code == 302
    assert PaymentException.objects.get(pk=second.pk).status == "refund"


# --- 4. Rejecting a proposal -----------------------------------------------------------------------------


def test_the_second_officer_can_send_a_proposal_back_to_open(bank: tuple[Bank, bytes]) -> None:
    application, bill, item = _late_exception(bank)
    a, b = _finance(application.office), _finance(application.office)
    client_a, client_b = _client(a), _client(b)
    assert _post(client_a, item, "propose", note="Paid late, same amount.").status_code == 302
    mark = last_audit_id()

    rejected = _post(client_b, item, "reject", note="The payer asked for their money back.")
    assert rejected.status_code == 302
    item.refresh_from_db()
    assert item.status == "open" and item.proposed_by_id is None and item.proposed_at is None
    assert item.proposal_note == "" and item.resolved_by_id is None
    (event,) = _events(mark, "payments.acceptance_rejected")
    assert event.actor_id == b.pk and event.details["note"] == "The payer asked for their money back."
    assert not _events(mark, "payments.acceptance_approved", "payments.bill_paid")
    bill.refresh_from_db()
    application.refresh_from_db()
    assert bill.status == "issued" and application.status == "submitted"
    # Back in the waiting queue, open to a fresh decision by either officer.
    assert item.payment.ntpn in client_a.get(QUEUE + "?status=open").content.decode()
    assert _offered(client_a.get(_url(item)).content.decode()) == ["refund", "propose"]


# --- 5. Reasons that can only be refunded ----------------------------------------------------------------


def _already_paid(bank: tuple[Bank, bytes]) -> tuple[PaymentException, Any]:
    application, bill = submitted_application()
    assert send(Client(), bank[0], bank[1], notification(bill, bank[0])).json() == {"status": "credited"}
    return _exception(bank, bill), application.office


def _wrong_amount(bank: tuple[Bank, bytes]) -> tuple[PaymentException, Any]:
    application, bill = submitted_application()
    return _exception(bank, bill, amount=349_000), application.office


def _unknown_code(bank: tuple[Bank, bytes]) -> tuple[PaymentException, Any]:
    return _exception(bank, None, billing_code="123456789012345"), None


def _bill_cancelled(bank: tuple[Bank, bytes]) -> tuple[PaymentException, Any]:
    from gerbang.applications.actions import withdraw

    application, bill = submitted_application()
    withdraw(application, actor=application.filer, reason="")
    return _exception(bank, bill), application.office


@pytest.mark.parametrize(
    ("reason", "make"),
    [
        ("wrong_amount", _wrong_amount),
        ("unknown_code", _unknown_code),
        ("already_paid", _already_paid),
        ("bill_cancelled", _bill_cancelled),
    ],
)
def test_only_a_late_payment_can_be_accepted_the_rest_only_refunded(
    bank: tuple[Bank, bytes], reason: str, make: Any
) -> None:
    item, office = make(bank)
    assert item.reason == reason and item.status == "open"
    client = _client(_finance(office))
    page = client.get(_url(item))
    assert page.status_code == 200
    html = page.content.decode()
    assert _offered(html) == ["refund"]
    refusal = "Only a payment made after its bill expired can be accepted; this one can only be refunded."
    assert refusal in html
    bill = item.payment.bill
    bill_before = (bill.status, bill.ntpn) if bill else None
    before = _state(item)
    mark = last_audit_id()

    forged = _post(client, item, "propose", note="Accept it anyway, please.")
    assert forged.status_code == 200
    answer = forged.content.decode()
    assert "Select a valid choice. propose is not one of the available choices." in answer and refusal in answer
    assert _state(item) == before
    if bill is not None:
        bill.refresh_from_db()
        assert (bill.status, bill.ntpn) == bill_before
    assert not _events(mark, "payments.acceptance_proposed", "payments.bill_paid")
    # And the action itself refuses with the reason, whatever the screen offers.
    with translation.override("en"), pytest.raises(ValidationError, match="can only be refunded"):
        actions.propose_acceptance(item, actor=_signed_in(_finance(office)), note="Accept it anyway, please.")
    assert _state(item) == before


# --- 6. A new bill was issued meanwhile ------------------------------------------------------------------


def _expire_and_reissue(application: PassportApplication, bill: Bill) -> Bill:
    """The old bill lapses (the periodic task) and the applicant is given a new billing code."""
    _make_overdue(bill, days_ago=3)
    assert actions.expire_bills() == 1
    bill.refresh_from_db()
    assert bill.status == "expired"
    with transaction.atomic():
        new = actions.issue_bill(
            application=application,
            payer_name=application.applicant_name,
            items=application.versions.get().fee["items"],
            service="passport",
            actor=application.filer,
        )
    assert new.status == "issued" and new.billing_code != bill.billing_code
    return new


def test_accepting_a_late_payment_cancels_the_new_bill_issued_meanwhile(bank: tuple[Bank, bytes]) -> None:
    application, bill = submitted_application()
    new = _expire_and_reissue(application, bill)
    late = (bill.expires_at + dt.timedelta(hours=2)).isoformat()
    item = _exception(bank, bill, paid_at=late)
    assert item.reason == "after_expiry"
    a, b = _finance(application.office), _finance(application.office)
    assert _post(_client(a), item, "propose").status_code == 302
    mark = last_audit_id()

    assert _post(_client(b), item, "approve", note="Agree: paid late, amount matches.").status_code == 302
    item.refresh_from_db()
    bill.refresh_from_db()
    new.refresh_from_db()
    application.refresh_from_db()
    assert item.status == "accepted"
    assert bill.status == "paid" and bill.ntpn == item.payment.ntpn
    assert new.status == "cancelled" and new.ntpn == ""
    assert application.status == "paid" and application.paid_at == item.payment.paid_at
    (cancelled,) = _events(mark, "payments.bill_cancelled")
    assert cancelled.object_id == str(new.pk) and cancelled.actor_id == b.pk
    assert cancelled.details == {"reason": "paid late, accepted"}
    applicant = Client()
    applicant.force_login(application.filer)
    receipt = applicant.get(f"/permohonan/{application.public_id}/kuitansi/")
    assert receipt.status_code == 200 and item.payment.ntpn in receipt.content.decode()


def test_an_acceptance_is_refused_when_the_new_bill_was_paid_meanwhile(bank: tuple[Bank, bytes]) -> None:
    application, bill = submitted_application()
    new = _expire_and_reissue(application, bill)
    late = (bill.expires_at + dt.timedelta(hours=2)).isoformat()
    item = _exception(bank, bill, paid_at=late)
    a, b = _finance(application.office), _finance(application.office)
    assert _post(_client(a), item, "propose").status_code == 302
    # The applicant pays the new bill before the second officer decides.
    assert send(Client(), bank[0], bank[1], notification(new, bank[0])).json() == {"status": "credited"}
    new.refresh_from_db()
    before = _state(item)
    mark = last_audit_id()

    refused = _post(_client(b), item, "approve", note="Agree: paid late, amount matches.")
    assert refused.status_code == 200
    assert "The application is already paid or was withdrawn." in refused.content.decode()
    assert _state(item) == before
    bill.refresh_from_db()
    assert bill.status == "expired" and bill.ntpn == ""
    assert Bill.objects.get(pk=new.pk).ntpn == new.ntpn
    assert not _events(mark, "payments.acceptance_approved", "payments.bill_paid", "applications.pay")
    # The late money can still go back to the payer.
    assert _post(_client(b), item, "refund", note="Paid twice: refund the late one.").status_code == 302
    item.refresh_from_db()
    assert item.status == "refund"
