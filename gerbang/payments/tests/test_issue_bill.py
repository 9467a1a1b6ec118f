"""Issuing a bill: one open bill per application, and a drawn code already in use is drawn again."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import IntegrityError, transaction

from gerbang.audit.models import AuditEvent
from gerbang.conftest import last_audit_id
from gerbang.payments import billing_codes
from gerbang.payments.actions import issue_bill, issue_bill_unless_open
from gerbang.payments.models import Bill

from .support import submitted_application

pytestmark = pytest.mark.django_db

ITEMS = [{"service": "passport-regular-5y", "name": "Paspor", "amount": 350_000}]


def _issue(application: object, *, unless_open: bool = False) -> Bill | None:
    action = issue_bill_unless_open if unless_open else issue_bill
    with transaction.atomic():
        return action(application=application, payer_name="Siti Rahayu", items=ITEMS, service="passport", actor=None)


def test_an_open_bill_is_kept_and_a_second_one_is_refused() -> None:
    application, first = submitted_application()
    before = last_audit_id()
    assert _issue(application, unless_open=True) is None
    with pytest.raises(IntegrityError):
        _issue(application)
    assert list(Bill.objects.filter(application=application).values_list("pk", flat=True)) == [first.pk]
    assert not AuditEvent.objects.filter(id__gt=before, action="payments.bill_issued").exists()
    # Once that bill is no longer open, a new one is issued, with its event.
    Bill.objects.filter(pk=first.pk).update(status="expired")
    second = _issue(application, unless_open=True)
    assert second is not None and second.pk != first.pk and second.status == "issued"
    stored = Bill.objects.get(pk=second.pk)
    assert (stored.billing_code, stored.amount, stored.items, stored.expires_at) == (
        second.billing_code,
        350_000,
        ITEMS,
        second.expires_at,
    )
    event = AuditEvent.objects.get(id__gt=before, action="payments.bill_issued")
    assert event.object_id == str(second.pk) and event.details["billing_code"] == second.billing_code


def test_a_drawn_code_already_in_use_is_drawn_again() -> None:
    application, first = submitted_application(bill=True)
    Bill.objects.filter(pk=first.pk).update(status="expired")
    fresh = billing_codes.new_billing_code()
    draws = iter([first.billing_code, fresh])
    with mock.patch.object(billing_codes, "new_billing_code", lambda: next(draws)):
        bill = _issue(application)
    assert bill is not None and bill.billing_code == fresh
    assert Bill.objects.filter(billing_code=first.billing_code).get().pk == first.pk
