"""``manage.py demo_visas``: foreigners' services end to end in the sandbox (development only).

Run by ``scripts/run.sh`` after ``demo_casework`` (the demo staff are on today's roster). Through the same actions
as the pages, and the sandbox bank and border control over their HTTP APIs:

1. the demo sponsor (a company) files an E23 work visa for its worker; it is paid at the sandbox bank, verified
   by the verifier drawn at Jakarta Selatan, approved by an adjudicator drawn at Jakarta Timur; the e-visa has
   its MRV-A machine-readable zone;
2. the worker's entry arrives from the border-control sandbox (signed); the sponsor registers her ITAS, then
   extends it;
3. a tourist applies for an e-VoA, pays by card and gets it without any officer;
4. an overstayer: his e-VoA is dated back 40 days (the sandbox cannot wait a month), his entry 35 days ago and
   his exit today come from border control; Gerbang computes the fine from those events and the tariff and
   bills it; it is paid by card.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone, translation

from gerbang.accounts.demo import DEMO_OFFICE_NAME, DEMO_PASSWORD
from gerbang.accounts.models import User
from gerbang.casework.models import Assignment
from gerbang.duty.demo import demo_duty_day, verified
from gerbang.organisation.models import Office
from gerbang.payments.models import Bill
from gerbang.visas import actions, demo, flow
from gerbang.visas.models import BorderMovement, Foreigner, OverstayFine, Permit, Sponsor, Status, VisaApplication
from gerbang.visits.management.commands.demo_visit_day import _http_json, _jpeg, _rupiah


class Command(BaseCommand):
    help = "Take the demo foreigners through a work visa, entry, ITAS and extension, an e-VoA and an overstay fine."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--base-url", default="", help="Gerbang's address, for the links printed")
        parser.add_argument("--wait", type=float, default=60, help="seconds to wait for a bank or border report")

    def say(self, line: str) -> None:
        self.stdout.write(line)

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("demo_visas refuses to run with GERBANG_ENV=production")
        with translation.override("en"):
            self.run(options)

    def run(self, options: dict[str, Any]) -> None:
        self.base = (options["base_url"] or settings.GERBANG_PUBLIC_URL).rstrip("/")
        self.wait = options["wait"]
        self.bank = settings.BANK_SANDBOX_URL.rstrip("/")
        self.border = settings.BORDER_URL.rstrip("/")
        office = Office.objects.filter(name=DEMO_OFFICE_NAME).first()
        sponsor = Sponsor.objects.filter(account__email=demo.SPONSOR_EMAIL).select_related("account").first()
        if office is None or sponsor is None:
            raise CommandError("run `manage.py seed_demo` first")
        self.office = office
        self.say(f"demo_visas at {office.name}")
        for line in demo_duty_day():
            self.say(f"   {line}")
        self.work_visa(sponsor)
        self.evoa()
        self.overstay()
        self.say("")
        self.say(f"   Sponsor's pages: {self.base}/visa/  ({demo.SPONSOR_EMAIL}, password {DEMO_PASSWORD})")
        self.say(f"   Check any permit: {self.base}/izin/periksa/   Catalogue: {self.base}/visa/katalog/")

    # --- helpers ------------------------------------------------------------------------------------------

    def file(self, filer: User, person: Foreigner, kind: str | None, **follow: Any) -> VisaApplication:
        from gerbang.visas.models import VisaKind

        application = actions.start_application(
            actor=filer,
            foreigner=person,
            kind=VisaKind.objects.get(code=kind) if kind else None,
            office=self.office,
            intended_arrival=None if follow else timezone.localdate() + dt.timedelta(days=7),
            statement="Demo: " + (kind or follow.get("follow_up", "")),
            **follow,
        )
        for code in application.kind.required_documents:
            scan = _jpeg(code.replace("_", " ").title(), [person.full_name, person.passport_number])
            actions.upload_document(application, actor=filer, kind=code, stream=scan)
        actions.submit(application, actor=filer, declaration=True)
        application.refresh_from_db()
        self.say(
            f"   {application.reference}: {application.kind.index_code} ({application.get_purpose_display()}) "
            f"filed by {filer.full_name} for {person.full_name}"
        )
        return application

    def pay(self, bill: Bill, channel: str = "card") -> None:
        try:
            status, answer = _http_json(
                f"{self.bank}/api/test/pay", {"billing_code": bill.billing_code, "channel": channel}
            )
        except OSError as exc:
            raise CommandError(f"the sandbox bank does not answer at {self.bank}: {exc}") from exc
        if status != 201:
            raise CommandError(f"the bank refused {bill.billing_code}: HTTP {status} {answer}")
        self.say(f"   {bill.billing_code} {_rupiah(bill.amount)} paid at the sandbox bank ({channel})")
        self.until(lambda: Bill.objects.get(pk=bill.pk).status == Bill.Status.PAID, "the bank's notification")
        self.say("   Gerbang received the bank's signed notification")

    def until(self, condition: Any, what: str) -> None:
        deadline = time.monotonic() + self.wait
        while not condition():
            if time.monotonic() > deadline:
                raise CommandError(f"no {what} after {self.wait:.0f} s")
            time.sleep(0.5)

    def move(self, person: Foreigner, direction: str, at: dt.datetime | None = None) -> BorderMovement:
        body = {
            "direction": direction,
            "nationality": person.nationality,
            "passport_number": person.passport_number,
            "port": "CGK",
        }
        if at is not None:
            body["at"] = at.isoformat()
        try:
            status, answer = _http_json(f"{self.border}/v1/test/movements", body)
        except OSError as exc:
            raise CommandError(f"border control does not answer at {self.border}: {exc}") from exc
        if status != 201 or not isinstance(answer, dict):
            raise CommandError(f"border control refused the {direction}: HTTP {status} {answer}")
        event = answer["event_id"]
        self.until(lambda: BorderMovement.objects.filter(event_id=event).exists(), f"{direction} report")
        movement = BorderMovement.objects.select_related("permit").get(event_id=event)
        self.say(
            f"   border control reported the {direction} of {person.full_name} at CGK "
            f"({timezone.localtime(movement.at):%Y-%m-%d %H:%M}), signed; permit "
            f"{movement.permit.number if movement.permit else '-'}"
        )
        return movement

    def work(self, application: VisaApplication) -> Permit:
        """Each step by the officer Gerbang drew for it, until the permit is issued."""
        flow.assign_waiting()
        for _round in range(6):
            application.refresh_from_db()
            if application.status == Status.ISSUED:
                break
            held = (
                Assignment.objects.filter(visa_application=application, ended_at__isnull=True)
                .select_related("officer", "office")
                .first()
            )
            if held is None:
                raise CommandError(f"nobody on duty holds the next step of {application.reference}")
            officer = verified(held.officer)
            if application.status == Status.PAID:
                actions.verify(application, actor=officer, accept=True, note="Documents complete and consistent")
                self.say(f"   verified by {officer.full_name} ({held.office.name})")
            elif application.status == Status.VERIFIED:
                actions.decide(application, actor=officer, outcome="approve", note="Conditions met")
                self.say(f"   approved by {officer.full_name}, drawn at {held.office.name}")
        application.refresh_from_db()
        if application.status != Status.ISSUED:
            raise CommandError(f"{application.reference} is {application.status}, not issued")
        permit = application.issued_permit
        self.say(f"   issued {permit.kind.index_code} {permit.number}: {permit.valid_from} to {permit.valid_until}")
        return permit

    # --- the journeys -------------------------------------------------------------------------------------

    def work_visa(self, sponsor: Sponsor) -> None:
        self.say("")
        self.say("1. A work visa (E23) filed by the sponsor, then entry, ITAS registration and extension")
        account = sponsor.account
        person = demo.foreigner(demo.WORKER, actor=account, own=False)
        actions.sponsor_foreigner(actor=account, foreigner=person, relationship="employer")
        if Permit.objects.filter(foreigner=person, kind__code="itas", status="valid", extensions_used__gte=1).exists():
            self.say("   already done in an earlier run")
            return
        visa = Permit.objects.filter(foreigner=person, kind__code="e23").first()
        if visa is None:
            application = self.file(account, person, "e23")
            self.pay(application.bills.get(status="issued"), channel="teller")
            visa = self.work(application)
            line1, line2 = visa.mrz.split("\n")
            self.say(f"   MRV-A: {line1}")
            self.say(f"          {line2}")
            self.say(f"   e-visa PDF: {self.base}/visa/izin/{visa.number}.pdf")
        if not BorderMovement.objects.filter(foreigner=person, direction="entry").exists():
            self.move(person, "entry")
        itas = Permit.objects.filter(foreigner=person, kind__code="itas", status="valid").first()
        if itas is None:
            itas = self.work(self.pay_then(self.file(account, person, None, follow_up="registration")))
        extended = self.work(self.pay_then(self.file(account, person, None, follow_up="extension", permit=itas)))
        self.say(
            f"   ITAS {itas.number} (until {itas.valid_until}) extended by {extended.number} "
            f"(until {extended.valid_until})"
        )

    def pay_then(self, application: VisaApplication) -> VisaApplication:
        self.pay(application.bills.get(status="issued"))
        application.refresh_from_db()
        return application

    def evoa(self) -> None:
        self.say("")
        self.say("2. An e-VoA, paid by card and issued without any officer")
        user = User.objects.get(email=demo.email(demo.TOURIST))
        person = demo.foreigner(demo.TOURIST, actor=user, own=True)
        issued = Permit.objects.filter(foreigner=person, kind__code="evoa").first()
        if issued is None:
            application = self.file(user, person, "evoa")
            self.pay(application.bills.get(status="issued"))
            application.refresh_from_db()
            if application.status != Status.ISSUED:
                raise CommandError(f"the e-VoA was not issued automatically: {application.checks}")
            issued = application.issued_permit
        self.say(f"   e-VoA {issued.number} issued automatically (no officer); checks: passport valid, deny list clear")

    def overstay(self) -> None:
        self.say("")
        self.say("3. An overstay: the fine computed from border control's events and billed")
        user = User.objects.get(email=demo.email(demo.OVERSTAYER))
        person = demo.foreigner(demo.OVERSTAYER, actor=user, own=True)
        fine = OverstayFine.objects.filter(foreigner=person).select_related("bill").first()
        if fine is None:
            permit = Permit.objects.filter(foreigner=person, kind__code="evoa").first()
            if permit is None:
                application = self.file(user, person, "evoa")
                self.pay(application.bills.get(status="issued"))
                permit = Permit.objects.get(application=application)
                with transaction.atomic():  # the sandbox cannot wait a month: this one permit is dated back
                    shift = dt.timedelta(days=40)
                    Permit.objects.filter(pk=permit.pk).update(
                        issued_at=permit.issued_at - shift,
                        valid_from=permit.valid_from - shift,
                        valid_until=permit.valid_until - shift,
                        enter_by=permit.enter_by - shift if permit.enter_by else None,
                    )
                self.say(f"   e-VoA {permit.number} dated back 40 days for the demo")
            self.move(person, "entry", at=timezone.now() - dt.timedelta(days=35))
            self.move(person, "exit")
            fine = OverstayFine.objects.filter(foreigner=person).select_related("bill").first()
            if fine is None:
                raise CommandError("no overstay fine was computed")
        self.say(
            f"   allowed until {fine.allowed_until}; {fine.days} days over x tariff = {_rupiah(fine.amount)}; "
            f"billing code {fine.bill.billing_code}"
        )
        if fine.bill.status == Bill.Status.ISSUED:
            self.pay(fine.bill)
