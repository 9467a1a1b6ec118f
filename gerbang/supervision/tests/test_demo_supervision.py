"""``manage.py demo_supervision`` against the sandbox registry and bank processes and Gerbang's live server.

As in ``make run``: the bank notifies the live server of each card payment, the pages are used over HTTP (the
applicants' and the broker's submissions, the verifier's messages and case pages, the after-visit answer, the
anonymous report). A paid appointment of today stands for what ``demo_visit_day`` leaves at the demo office.
"""

from __future__ import annotations

import io
from typing import Any, cast

import pytest
from django.core.management import call_command

from gerbang.accounts.demo import DEMO_OFFICE_NAME, DEMO_OTHER_OFFICE_NAME, DEMO_STAFF, demo_email
from gerbang.accounts.models import User
from gerbang.applications.models import PassportApplication
from gerbang.casework.tests.support import paid_application
from gerbang.channel.models import BlockedMessage
from gerbang.conftest import RegistryService, last_audit_id
from gerbang.duty.demo import person
from gerbang.duty.models import Shift, SpotCheck
from gerbang.organisation.models import Office
from gerbang.payments.models import Payment
from gerbang.payments.tests.conftest import ACCOUNT, SandboxBank, sandbox_bank  # noqa: F401 (fixture)
from gerbang.payments.tests.support import submitted_application
from gerbang.supervision import demo, signals
from gerbang.supervision.detectors import broker_minimum
from gerbang.supervision.models import ClientTrace, Report, ReportLevel, Signal, VisitFeedback
from gerbang.supervision.signal_views import visible_signals
from gerbang.visas.models import Status, VisaApplication

pytestmark = pytest.mark.django_db(transaction=True)

# A demo resident of the registry (it has her photo for the check-in), booked and paid for today.
RESIDENT_NIK = "3173015708870001"


def _run(base: str) -> str:
    out = io.StringIO()
    call_command("demo_supervision", "--base-url", base, "--wait", "30", "--no-audit-check", stdout=out)
    return out.getvalue()


def _kinds(user: User) -> set[str]:
    return set(Signal.objects.filter(officer=user, present=True).values_list("kind", flat=True))


def _counts() -> dict[str, int]:
    return {
        "blocked": BlockedMessage.objects.count(),
        "spot_checks": SpotCheck.objects.count(),
        "reports": Report.objects.count(),
        "feedback": VisitFeedback.objects.count(),
        "traces": ClientTrace.objects.count(),
        "payments": Payment.objects.count(),
        "visa_applications": VisaApplication.objects.count(),
        "shifts": Shift.objects.count(),
    }


@pytest.fixture(autouse=True)
def _only_events_since(monkeypatch: pytest.MonkeyPatch) -> None:
    """Audit events outlive the data of transactional tests (append-only): leave out the earlier tests' ones,
    whose officers and offices no longer exist, from the facts the detectors read."""
    since = last_audit_id()
    collect = signals.collect

    def ours(*args: Any, **kwargs: Any) -> Any:
        facts = collect(*args, **kwargs)
        facts.views = [v for v in facts.views if cast(tuple[str, int], v.ref)[1] > since]
        facts.session_refusals = [r for r in facts.session_refusals if cast(tuple[str, int], r.ref)[1] > since]
        return facts

    monkeypatch.setattr(signals, "collect", ours)


def test_the_planted_abuse_is_found_and_clean_officers_are_not_named(
    registry: RegistryService,
    sandbox_bank: SandboxBank,  # noqa: F811 (fixture)
    live_server: Any,
    settings: Any,
    tmp_path: Any,
) -> None:
    settings.BANK_SANDBOX_URL, settings.BANK_SANDBOX_ACCOUNT = sandbox_bank.url, ACCOUNT
    call_command("seed_demo", stdout=io.StringIO())
    office = Office.objects.get(name=DEMO_OFFICE_NAME)
    other = Office.objects.get(name=DEMO_OTHER_OFFICE_NAME)
    paid_application(office, settings, tmp_path, nik=RESIDENT_NIK)
    # Three filed applications at the office nobody brings to the front desk: Slamet looks them up anyway.
    for serial in range(3):
        looked_up, _bill = submitted_application(f"317301570887{9100 + serial}", bill=False)
        PassportApplication.objects.filter(pk=looked_up.pk).update(office=office)

    log = _run(live_server.url)

    teguh = User.objects.get(email=demo_email(demo.TEGUH.slug))
    slamet = User.objects.get(email=demo_email(demo.SLAMET.slug))
    assert {"view_off_roster", "blocked_contact"} <= _kinds(teguh), log
    assert {"view_not_assigned", "refused_sessions", "spot_check", "money_asked"} <= _kinds(slamet), log
    assert "view_not_assigned" not in _kinds(teguh), log
    assert "blocked by the channel" in log and "asked for money: yes" in log

    # The broker: one card and one laptop for five unrelated applicants; the address channel names everyone who
    # filed over HTTP from this machine (127.0.0.1), the family included.
    brokers = {s.params["channel"]: s for s in Signal.objects.filter(kind="broker", present=True)}
    clients = VisaApplication.objects.filter(foreigner__passport_number__in=[c.number for c in demo.CLIENTS])
    family = VisaApplication.objects.filter(foreigner__passport_number__in=[f.number for f in demo.FAMILY])
    assert clients.count() == len(demo.CLIENTS) and family.count() == len(demo.FAMILY)
    assert all(a.status == Status.PAID for a in clients) and all(a.status == Status.ISSUED for a in family)
    # Each channel is flagged when the broker's unrelated clients reach its threshold (settings): the card at
    # least; a browser or an address is shared by many more people, so theirs may be higher than five.
    unrelated = {"payer": len(demo.CLIENTS), "device": len(demo.CLIENTS), "client": len(demo.CLIENTS) + 1}
    thresholds = settings.INTEGRITY_THRESHOLDS
    expected = {c for c, n in unrelated.items() if n >= broker_minimum(thresholds, c)}
    assert "payer" in expected and expected == set(brokers), log
    for channel in expected:  # the address channel: + the family (one sponsor), from the same machine
        assert brokers[channel].params["unrelated"] == unrelated[channel]
    if "device" in expected:
        assert {ref for _kind, ref in brokers["device"].evidence} == {a.reference for a in clients}
    # The family's card paid for four people: one sponsor, so no payer signal carries its payments.
    family_payments = set(Payment.objects.filter(bill__visa_application__in=family).values_list("pk", flat=True))
    assert len(family_payments) == len(demo.FAMILY)
    for signal in Signal.objects.filter(kind="broker", params__channel="payer"):
        assert not family_payments & {ref for kind, ref in signal.evidence if kind == "payment"}
    # Teguh's cases are the broker's, drawn for him; the family's were never his.
    drawn = set(teguh.assignments.values_list("visa_application", flat=True))
    assert drawn == set(clients.values_list("pk", flat=True))

    # The anonymous report goes to the level above the office.
    report = Report.objects.get(office=office)
    assert report.level == ReportLevel.DIVISION and report.division_id == office.division_id

    # Clean officers are named by no signal.
    for staff in DEMO_STAFF:
        if staff.slug not in demo.SUPERVISORS:
            assert not _kinds(User.objects.get(email=demo_email(staff.slug))), staff.slug

    # Each level sees its subtree: an office head only their office's signals (but not what applicants said after
    # their visit: that goes to the level above), the division and directorate all.
    slamets = Signal.objects.filter(officer=slamet).exclude(kind="money_asked")
    money = set(Signal.objects.filter(kind="money_asked").values_list("pk", flat=True))
    tegus = Signal.objects.filter(officer=teguh)
    seen = {slug: set(visible_signals(person(slug)).values_list("pk", flat=True)) for slug in demo.SUPERVISORS}
    assert set(slamets.values_list("pk", flat=True)) <= seen["kakanim"]
    assert not seen["kakanim"] & set(tegus.values_list("pk", flat=True))
    assert money and not seen["kakanim"] & money and money <= seen["kanwil"]
    assert set(tegus.values_list("pk", flat=True)) <= seen["kakanim-jaktim"]
    assert all(s.office_id == other.pk for s in tegus)
    assert set(Signal.objects.filter(office__in=[office, other]).values_list("pk", flat=True)) <= seen["kanwil"]
    assert set(Signal.objects.values_list("pk", flat=True)) <= seen["auditor"]
    assert "seen by: kanwil, auditor" in log  # the applicant's answer: the level above the office
    assert "seen by: kakanim, kanwil, auditor" in log and "seen by: kakanim-jaktim, kanwil, auditor" in log

    # Again: nothing is planted twice, and the same signals are found.
    before, keys = _counts(), set(Signal.objects.filter(present=True).values_list("key", flat=True))
    again = _run(live_server.url)
    assert _counts() == before, again
    assert set(Signal.objects.filter(present=True).values_list("key", flat=True)) == keys
    assert "already" in again
