"""Planted abuse for the supervisors of ``make run`` (development only): ``manage.py demo_supervision``.

Run by ``scripts/run.sh`` after ``demo_visas``, against the live web process and the sandbox registry and bank.
Everything goes through the actions and pages the people concerned would use (the web pages over HTTP where
the real flow does, so that the client traces and the staff page views are the pages' own); around the clean
work of the other demos it plants:

* **a broker (calo)** who files the tourist-visa applications of five unrelated foreigners at Kantor Imigrasi
  Jakarta Timur from one laptop (signed in to each one's account) and pays all five bills with one card;
* next to it **a family**: a citizen sponsor (Dewi Kartika, a registry resident) files the e-VoAs of her
  husband, their two children and her mother-in-law from her own phone and pays them with her own card
  (one family: not a broker);
* **Teguh Wibowo**, the Jakarta Timur verifier the broker's cases are drawn for: he writes his WhatsApp number
  to two applicants (the channel blocks it), goes off duty, then opens his cases from home and the family's
  personal data, which was never assigned to him;
* **Slamet Riyadi**, a front-desk officer at the demo office (Jakarta Selatan): three refused attempts to open
  his counter without putting his phone in a locker, cash found in his drawer by the office head's spot
  check, and an applicant he served answering the after-visit question "asked for money";
* **an anonymous report** about the demo office's counter, routed to the regional division.

Then the integrity signals are computed (``signals.refresh_signals``) and printed with the demo log-in who
should look at each one. Idempotent: each part checks what an earlier run left and does only what is missing.

From one machine every request comes from 127.0.0.1 (``TRUSTED_PROXY_COUNT`` is 0), so the "one client
address" broker signal names everyone who filed over HTTP here, the family included: in production each
household has its own address. The browsers (User-Agent) tell them apart: the broker's laptop is one device
for five families, Dewi's phone one device for one family.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import http.cookiejar
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from gerbang.accounts import actions as accounts
from gerbang.accounts.demo import (
    DEMO_DOMAIN,
    DEMO_OFFICE_NAME,
    DEMO_OTHER_OFFICE_NAME,
    DEMO_PASSWORD,
    demo_code,
    demo_email,
    demo_seed,
    demo_serial,
)
from gerbang.accounts.models import GrantStatus, Role, RoleGrant, Scope, User
from gerbang.applications.models import PassportApplication
from gerbang.applications.uploads import check_upload
from gerbang.appointments.models import Booking
from gerbang.audit.models import AuditEvent
from gerbang.casework.models import Assignment
from gerbang.channel.models import BlockedMessage
from gerbang.duty import actions as duty
from gerbang.duty import selectors as duty_selectors
from gerbang.duty.demo import HEADS, person
from gerbang.duty.models import DeviceDeposit, Shift, SpotCheck
from gerbang.identity import registry
from gerbang.identity.actions import register_citizen
from gerbang.identity.models import CitizenIdentity
from gerbang.organisation.actions import add_counter
from gerbang.organisation.models import Counter, Office, ServiceUnit
from gerbang.payments.models import Bill
from gerbang.visas import actions as visas
from gerbang.visas import flow as visa_flow
from gerbang.visas.demo import DemoForeigner, foreigner
from gerbang.visas.models import Foreigner, Sponsor, Status, VisaApplication, VisaKind
from gerbang.visits import actions as visits
from gerbang.visits.management.commands.demo_visit_day import _desk_photo, _http_json, _jpeg, _rupiah

from . import feedback, reports
from .models import Report, ReportCategory, Signal, VisitFeedback

Say = Callable[[str], None]

# --- The people ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoOfficer:
    slug: str
    name: str
    role: Role
    office_name: str
    note: str


TEGUH = DemoOfficer(
    "verifikator-jaktim",
    "Teguh Wibowo",
    Role.DOCUMENT_VERIFIER,
    DEMO_OTHER_OFFICE_NAME,
    "verifier drawn for the broker's cases; contact details blocked, files opened off duty and not his",
)
SLAMET = DemoOfficer(
    "loket2",
    "Slamet Riyadi",
    Role.FRONT_DESK,
    DEMO_OFFICE_NAME,
    "front desk: refused the locker again and again, cash in the drawer, an applicant says he asked for money",
)
OFFICERS = [TEGUH, SLAMET]
# The demo staff whose work is clean: no signal may name them (the test checks it).
SUPERVISORS = ("kakanim", "kakanim-jaktim", "kanwil", "auditor")


def _birth(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


# The broker's clients: each has their own account (the broker signs in to it), none related to another.
CLIENTS = [
    DemoForeigner("wisatawan-liu", "LIU", "WEI", "CHN", "E58210437", _birth("1990-05-14"), "M", "broker's client"),
    DemoForeigner("wisatawan-nguyen", "NGUYEN", "THI HOA", "VNM", "C27418566", _birth("1994-02-02"), "F", ""),
    DemoForeigner("wisatawan-kumar", "KUMAR", "RAJESH", "IND", "Z45192738", _birth("1987-09-21"), "M", ""),
    DemoForeigner("wisatawan-santos", "SANTOS", "MARIA", "PHL", "P3382011A", _birth("1991-12-08"), "F", ""),
    DemoForeigner("wisatawan-kim", "KIM", "MIN JUN", "KOR", "M81920455", _birth("1989-03-30"), "M", ""),
]
# The family Dewi Kartika sponsors (one family: one card paying for all four is expected).
FAMILY = [
    DemoForeigner("becker-lukas", "BECKER", "LUKAS", "D", "C3T9P2K71", _birth("1986-01-19"), "M", "husband"),
    DemoForeigner("becker-mia", "BECKER", "MIA", "D", "C3T9P2K72", _birth("2014-06-02"), "F", "daughter"),
    DemoForeigner("becker-jonas", "BECKER", "JONAS", "D", "C3T9P2K73", _birth("2017-10-11"), "M", "son"),
    DemoForeigner("becker-ingrid", "BECKER", "INGRID", "D", "C3T9P2K74", _birth("1958-04-07"), "F", "mother-in-law"),
]
# A documented demo resident of the sandbox registry (services/registry/README.md), not used by demo_visit_day's
# default six applicants.
SPONSOR_RESIDENT = {
    "nik": "3471014304950001",
    "kk": "3471010508230001",
    "name": "Dewi Kartika",
    "birth_date": "1995-04-03",
}
SPONSOR_EMAIL = f"dewi.kartika@{DEMO_DOMAIN}"

# Luhn-valid card numbers (well-known test numbers, not the sandbox bank's default 4111 1111 1111 1111).
BROKER_CARD = "5555555555554444"
FAMILY_CARD = "4012888888881881"

# The browsers' User-Agent strings: what the client traces keep (as keyed hashes) beside the address.
BROKER_BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/124.0 (demo: the broker's laptop)"
FAMILY_BROWSER = "Mozilla/5.0 (Linux; Android 14; SM-A546E) Chrome/124.0 Mobile (demo: Dewi's phone)"
TEGUH_BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Firefox/126.0 (demo: Teguh's computer at home)"
SLAMET_BROWSER = "Mozilla/5.0 (Windows NT 10.0) Edge/124.0 (demo: the front desk's computer)"
APPLICANT_BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4) Safari/604.1 (demo: the applicant's phone)"
REPORTER_BROWSER = "Mozilla/5.0 (demo: an anonymous reporter)"

BLOCKED_MESSAGES = [
    "Berkas Anda belum lengkap. Supaya cepat selesai, hubungi saya langsung di WhatsApp 0812-3456-7890.",
    "Bisa saya bantu prosesnya hari ini juga, chat saja ke wa.me/6281234567890 ya.",
]
SPOT_CHECK_NOTE = "Rp 1.500.000 in small notes in the counter drawer, no receipt; the officer could not explain it."
REPORT_TEXT = (
    "Hari ini di loket front desk Kantor Imigrasi Jakarta Selatan, petugas bernama Slamet meminta uang "
    "Rp 500.000 supaya nomor antrean saya dipanggil lebih dulu. Uangnya ia masukkan ke laci loket. "
    "Saya melihat pemohon lain juga diminta uang."
)
ROSTER_HOURS = 8


class DemoFailed(Exception):
    """A part of the demo cannot go on (a service does not answer, a step refused)."""


# --- A browser ----------------------------------------------------------------------------------------------


@dataclass
class Page:
    status: int
    url: str
    text: str


def blatant(threshold: str) -> int:
    """How many times the demo plants an act: clearly above the signal's threshold in settings (blatant abuse)."""
    return max(int(settings.INTEGRITY_THRESHOLDS[threshold]) + 1, 3)


# Files a front-desk officer opens with nobody at the desk (view_not_assigned).
def look_ups() -> int:
    return blatant("view_not_assigned_min")


class Browser:
    """Gerbang's pages over HTTP, with cookies, the CSRF token and one User-Agent (a device)."""

    def __init__(self, base: str, agent: str) -> None:
        self.base = base.rstrip("/")
        self.agent = agent
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def _csrf(self) -> str:
        for cookie in self.jar:
            if cookie.name == settings.CSRF_COOKIE_NAME and cookie.value:
                return cookie.value
        return ""

    def open(self, path: str, data: dict[str, str] | None = None) -> Page:
        body = None
        headers = {"User-Agent": self.agent, "Accept-Language": "en"}
        if data is not None:
            token = self._csrf()
            body = urllib.parse.urlencode({**({"csrfmiddlewaretoken": token} if token else {}), **data}).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        request = urllib.request.Request(  # noqa: S310 (Gerbang's own configured address)
            self.base + path, body, headers=headers, method="GET" if body is None else "POST"
        )
        try:
            with self.opener.open(request, timeout=30) as answer:
                return Page(answer.status, answer.geturl(), answer.read().decode(errors="replace"))
        except urllib.error.HTTPError as error:
            return Page(error.code, error.geturl(), error.read().decode(errors="replace"))
        except OSError as exc:
            raise DemoFailed(f"Gerbang does not answer at {self.base}: {exc}") from exc

    def path_of(self, page: Page) -> str:
        return urllib.parse.urlsplit(page.url).path

    def sign_in(self, email: str, password: str = DEMO_PASSWORD) -> bool:
        """An applicant's sign-in page: True once signed in."""
        login = reverse("accounts:login")
        self.open(login)
        page = self.open(login, {"username": email, "password": password})
        return page.status == 200 and self.path_of(page) != login

    def staff_sign_in(self, email: str, serial: str) -> bool:
        """The two-step staff sign-in: password, then the demo hardware token's current code."""
        login, verify = reverse("accounts:staff_login"), reverse("accounts:staff_verify")
        self.open(login)
        page = self.open(login, {"username": email, "password": DEMO_PASSWORD})
        if self.path_of(page) != verify:
            return False
        for attempt in range(2):
            page = self.open(verify, {"code": demo_code(serial)})
            if page.status == 200 and self.path_of(page).startswith("/staf/"):
                return True
            if attempt == 0:  # a code is accepted once: wait for the token's next one
                time.sleep(31 - time.time() % 30)
        return False


# --- The demo -----------------------------------------------------------------------------------------------


def seed_officers() -> list[str]:
    """Teguh and Slamet: staff accounts with demo hardware tokens, their roles granted by the two administrators."""
    if settings.PRODUCTION:
        raise ImproperlyConfigured("demo people are never created in production")
    created: list[str] = []
    requester, approver = person("admin1"), person("admin2")
    for demo in OFFICERS:
        office = Office.objects.get(name=demo.office_name)
        user = User.objects.filter(email=demo_email(demo.slug)).first()
        if user is None:
            with transaction.atomic():
                user = accounts.create_staff(
                    actor=None,
                    email=demo_email(demo.slug),
                    full_name=demo.name,
                    home_office=office,
                    password=DEMO_PASSWORD,
                )
                serial = demo_serial(demo.slug)
                accounts.register_hardware_token(user, serial=serial, seed_hex=demo_seed(serial).hex(), actor=None)
            created.append(f"{demo.name} ({demo.role.label}, {office.name}): {user.email}")
        if not RoleGrant.objects.filter(user=user, role=demo.role, status=GrantStatus.ACTIVE).exists():
            grant = accounts.request_grant(
                user, role=demo.role, scope=Scope.OFFICE, office=office, reason="demo", actor=requester
            )
            accounts.decide_grant(grant, approve=True, actor=approver, reason="demo")
    return created


class SupervisionDemo:
    def __init__(self, say: Say, *, base: str, bank: str, wait: float) -> None:
        self.say = say
        self.base = base.rstrip("/")
        self.bank = bank.rstrip("/")
        self.wait = wait
        office = Office.objects.filter(name=DEMO_OFFICE_NAME).select_related("division").first()
        other = Office.objects.filter(name=DEMO_OTHER_OFFICE_NAME).first()
        if office is None or other is None:
            raise ImproperlyConfigured("run `manage.py seed_demo` first")
        self.office, self.other = office, other

    # --- helpers ------------------------------------------------------------------------------------------

    def until(self, condition: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + self.wait
        while not condition():
            if time.monotonic() > deadline:
                raise DemoFailed(f"no {what} after {self.wait:.0f} s")
            time.sleep(0.3)

    def account(self, email: str, name: str) -> User:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = visas.register_account(email=email, password=DEMO_PASSWORD, full_name=name)
        if user.email_verified_at is None:
            user = accounts.verify_email(user)
        return user

    def draft(self, filer: User, person_: Foreigner, kind: str) -> VisaApplication:
        """The foreigner's application at Jakarta Timur: open (reused) or a new draft with its documents."""
        found = (
            VisaApplication.objects.filter(foreigner=person_, kind__code=kind, office=self.other)
            .order_by("-pk")
            .first()
        )
        if found is not None and found.status != Status.WITHDRAWN:
            return found
        application = visas.start_application(
            actor=filer,
            foreigner=person_,
            kind=VisaKind.objects.get(code=kind),
            office=self.other,
            intended_arrival=timezone.localdate() + dt.timedelta(days=14),
            statement="Holiday in Indonesia (demo)",
        )
        for code in application.kind.required_documents:
            scan = _jpeg(code.replace("_", " ").title(), [person_.full_name, person_.passport_number])
            visas.upload_document(application, actor=filer, kind=code, stream=scan)
        return application

    def submit_over_http(self, browser: Browser, application: VisaApplication) -> None:
        """The filer's application page, "Submit": the page notes the client (address and browser)."""
        path = reverse("visas:application", args=[application.public_id])
        page = browser.open(path, {"action": "submit", "declaration": "on"})
        application.refresh_from_db()
        if application.status == Status.DRAFT:
            raise DemoFailed(f"the application page did not submit {application.pk}: HTTP {page.status}")

    def pay_by_card(self, bills: list[Bill], card: str) -> None:
        for bill in bills:
            try:
                status, answer = _http_json(
                    f"{self.bank}/api/test/pay",
                    {"billing_code": bill.billing_code, "channel": "card", "card_number": card},
                )
            except OSError as exc:
                raise DemoFailed(f"the sandbox bank does not answer at {self.bank}: {exc}") from exc
            if status != 201:
                raise DemoFailed(f"the bank refused {bill.billing_code}: HTTP {status} {answer}")
            self.say(f"      {bill.billing_code} {_rupiah(bill.amount)} paid by card **** {card[-4:]}")
        pks = [b.pk for b in bills]
        self.until(
            lambda: not Bill.objects.filter(pk__in=pks).exclude(status=Bill.Status.PAID).exists(),
            "notification from the bank",
        )
        if bills:
            self.say("      Gerbang received the bank's signed notifications")

    def file_and_pay(
        self, applications: list[VisaApplication], browser: Browser, sign_in_as: dict[int, str], card: str
    ) -> None:
        """Submit the drafts over HTTP (signed in as each filer, from one browser), then pay the open bills."""
        signed_in: str | None = None
        for application in applications:
            if application.status != Status.DRAFT:
                continue
            email = sign_in_as[application.pk]
            if signed_in != email:
                browser.jar.clear()
                if not browser.sign_in(email):
                    raise DemoFailed(f"{email} could not sign in on {self.base}")
                signed_in = email
            self.submit_over_http(browser, application)
            application.refresh_from_db()
            self.say(
                f"      {application.reference}: {application.kind.index_code} for {application.foreigner.full_name}, "
                f"submitted on the application page as {email}"
            )
        bills = list(Bill.objects.filter(visa_application__in=applications, status=Bill.Status.ISSUED).order_by("pk"))
        self.pay_by_card(bills, card)
        for application in applications:
            application.refresh_from_db()

    # --- 1. the family ------------------------------------------------------------------------------------

    def sponsor_account(self) -> User | None:
        """Dewi Kartika's account, her NIK confirmed by the registry (registered here if it is not yet)."""
        holder = (
            CitizenIdentity.objects.filter(nik=SPONSOR_RESIDENT["nik"], status=CitizenIdentity.Status.ACTIVE)
            .select_related("account")
            .first()
        )
        if holder is not None:
            return holder.account
        if User.objects.filter(email=SPONSOR_EMAIL).exists():
            return None  # an account without the NIK (a pending claim?): leave it to a human
        try:
            user = register_citizen(
                email=SPONSOR_EMAIL,
                password=DEMO_PASSWORD,
                nik=SPONSOR_RESIDENT["nik"],
                kk=SPONSOR_RESIDENT["kk"],
                full_name=SPONSOR_RESIDENT["name"],
                birth_date=_birth(SPONSOR_RESIDENT["birth_date"]),
            )
        except registry.RegistryUnavailable as exc:
            raise DemoFailed(f"the sandbox registry must be running (make run): {exc}") from exc
        return accounts.verify_email(user)

    def family(self) -> list[VisaApplication]:
        self.say("")
        self.say("1. A family: a citizen sponsor files and pays the e-VoAs of her husband, children and mother-in-law")
        user = self.sponsor_account()
        if user is None:
            self.say(f"   ! {SPONSOR_EMAIL} exists without the registry-confirmed NIK: the family is left out")
            return []
        sponsor = Sponsor.objects.filter(account=user).first()
        if sponsor is None:
            sponsor = visas.register_sponsor(
                actor=user,
                kind=Sponsor.Kind.CITIZEN,
                name=user.full_name,
                address="Jl. Kaliurang Km 5 No. 12, Sleman, DI Yogyakarta",
            )
        self.say(f"   sponsor: {sponsor.name} (citizen, NIK confirmed by the registry), {user.email}")
        applications = []
        for demo in FAMILY:
            member = foreigner(demo, actor=user, own=False)
            visas.sponsor_foreigner(actor=user, foreigner=member, relationship=demo.note)
            applications.append(self.draft(user, member, "evoa"))
        if all(a.status == Status.ISSUED for a in applications):
            self.say("   already filed, paid and issued in an earlier run:")
        elif user.email != SPONSOR_EMAIL:
            self.say(f"   ! the NIK is held by {user.email} (not a demo account): filed through the actions")
            for application in applications:
                if application.status == Status.DRAFT:
                    visas.submit(application, actor=user, declaration=True)
            self.pay_by_card(
                list(Bill.objects.filter(visa_application__in=applications, status=Bill.Status.ISSUED)), FAMILY_CARD
            )
        else:
            self.say("   from her own phone, signed in as herself; paid with her own card:")
            browser = Browser(self.base, FAMILY_BROWSER)
            self.file_and_pay(applications, browser, {a.pk: user.email for a in applications}, FAMILY_CARD)
        for application in applications:
            application.refresh_from_db()
            self.say(
                f"      {application.reference}: {application.foreigner.full_name} ({application.get_status_display()})"
            )
        return applications

    # --- 2. the broker and the verifier drawn for his cases -----------------------------------------------

    def counter_for(self, office: Office, officer: User, head: User) -> Counter:
        """The officer's counter from an earlier shift, else a new one at the office (added by its head)."""
        earlier = (
            Shift.objects.filter(officer=officer, office=office, counter__isnull=False)
            .select_related("counter__unit__office")
            .order_by("-starts_at")
            .first()
        )
        if earlier is not None and earlier.counter is not None and earlier.counter.is_active:
            return earlier.counter
        unit = ServiceUnit.objects.filter(office=office).order_by("pk").first()
        if unit is None:
            raise DemoFailed(f"{office.name} has no service unit")
        number = (Counter.objects.filter(unit=unit).aggregate(top=Max("number"))["top"] or 0) + 1
        added = add_counter(unit, number=number, label="Loket demo", actor=head)
        return Counter.objects.select_related("unit__office").get(pk=added.pk)

    def on_roster(self, officer: User, office: Office, role: Role) -> Shift:
        """The officer's shift now at the office (planned by its head for the next hours if there is none)."""
        now = timezone.now()
        current = duty_selectors.shift_now(officer, office, role=role, at=now)
        if current is not None:
            return current
        head = person(HEADS[office.name])
        counter = self.counter_for(office, officer, head)
        shift = duty.plan_shift(
            office=office,
            officer=officer,
            role=role,
            counter=counter,
            starts_at=now - dt.timedelta(minutes=1),
            ends_at=now + dt.timedelta(hours=ROSTER_HOURS),
            actor=head,
        )
        self.say(
            f"   roster: {officer.full_name} ({role.label}, counter {counter.number}) at {office.name}, "
            f"planned by {head.full_name}"
        )
        return shift

    def broker(self, teguh: User) -> list[VisaApplication]:
        self.say("")
        self.say(
            f"2. A broker files tourist visas (C1) for {len(CLIENTS)} unrelated foreigners at {self.other.name} "
            "from one laptop and pays them all with one card"
        )
        clients = []
        for demo in CLIENTS:
            user = self.account(f"{demo.slug}@{DEMO_DOMAIN}", f"{demo.given_names.title()} {demo.surname.title()}")
            clients.append((user, foreigner(demo, actor=user, own=True)))
        applications = [self.draft(user, member, "c1") for user, member in clients]
        mine = Assignment.objects.filter(visa_application__in=applications, officer=teguh)
        if mine.values("visa_application").distinct().count() < len(applications):
            # At payment the verifier is drawn among those on duty at Jakarta Timur: Teguh is the only one.
            self.on_roster(teguh, self.other, TEGUH.role)
        if all(a.status != Status.DRAFT for a in applications) and not Bill.objects.filter(
            visa_application__in=applications, status=Bill.Status.ISSUED
        ):
            self.say("   already filed and paid in an earlier run:")
        else:
            self.say("   the broker signs in to each client's account on his laptop and submits; then pays:")
            emails = {a.pk: a.filer.email for a in applications}
            self.file_and_pay(applications, Browser(self.base, BROKER_BROWSER), emails, BROKER_CARD)
        visa_flow.assign_waiting()
        for application in applications:
            application.refresh_from_db()
            held = (
                Assignment.objects.filter(visa_application=application, duty="verification")
                .select_related("officer")
                .order_by("-assigned_at")
                .first()
            )
            self.say(
                f"      {application.reference}: {application.foreigner.full_name} "
                f"({application.get_status_display()}); verification drawn for "
                f"{held.officer.full_name if held else 'nobody yet'}"
            )
        return applications

    def teguh(self, teguh: User, cases: list[VisaApplication], family: list[VisaApplication]) -> None:
        self.say("")
        self.say(
            f"3. {teguh.full_name}, the verifier at {self.other.name}: contact details to applicants, "
            "then files opened off duty"
        )
        his = [
            a
            for a in cases
            if Assignment.objects.filter(visa_application=a, officer=teguh, ended_at__isnull=True).exists()
        ]
        # Done when he has opened his cases after the office head ended his shift (off the roster).

        def off_duty_views() -> bool:
            ended = (
                Shift.objects.filter(officer=teguh, cancelled_at__isnull=False)
                .order_by("-cancelled_at")
                .values_list("cancelled_at", flat=True)
                .first()
            )
            return (
                ended is not None
                and AuditEvent.objects.filter(actor=teguh, action="visas.case_viewed", occurred_at__gt=ended).exists()
            )

        blocked = BlockedMessage.objects.filter(author=teguh)
        browser = Browser(self.base, TEGUH_BROWSER)
        messages_wanted = blatant("blocked_min")
        need_http = blocked.count() < messages_wanted or not off_duty_views()
        if need_http and not browser.staff_sign_in(teguh.email, demo_serial(TEGUH.slug)):
            raise DemoFailed(f"{teguh.email} could not sign in on {self.base} with token {demo_serial(TEGUH.slug)}")
        if blocked.count() >= messages_wanted:
            self.say(f"   {blocked.count()} messages already blocked in an earlier run")
        else:
            for n in range(messages_wanted - blocked.count() if his else 0):
                application, text = his[n % len(his)], BLOCKED_MESSAGES[n % len(BLOCKED_MESSAGES)]
                before = blocked.count()
                page = browser.open(
                    reverse("staff:visa_case", args=[application.reference]), {"do": "message", "message-body": text}
                )
                outcome = "blocked by the channel" if blocked.count() > before else f"HTTP {page.status}"
                self.say(f"   to the filer of {application.reference}: \u201c{text}\u201d -> {outcome}")
        # Off duty: the office head ends his shift early (cancelled shifts are no roster time at all).
        head = person(HEADS[self.other.name])
        for shift in Shift.objects.filter(officer=teguh, cancelled_at__isnull=True, ends_at__gt=timezone.now()):
            duty.cancel_shift(shift, actor=head, reason="demo: went home early")
            self.say(f"   {head.full_name} ends {teguh.full_name}'s shift early: he is off duty from now")
        if off_duty_views():
            self.say("   his off-duty look at his files was already recorded in an earlier run")
            return
        # Evening after evening he opens his cases again from home (each opening is one view off the roster).
        for n in range(blatant("view_off_roster_min") if his else 0):
            application = his[n % len(his)]
            page = browser.open(reverse("staff:visa_case", args=[application.reference]))
            self.say(f"   from home, off duty: opens {application.reference} (his case) -> HTTP {page.status}")
        if family:
            page = browser.open(reverse("staff:visa_case", args=[family[0].reference]))
            self.say(
                f"   tries {family[0].reference} (the family's, never drawn for him) -> HTTP {page.status}: "
                "the page opens only cases drawn for the officer"
            )

    # --- 4. the front desk at the demo office -------------------------------------------------------------

    def slamet(self, slamet: User) -> None:
        self.say("")
        self.say(f"4. {slamet.full_name} at the front desk of {self.office.name}")
        head = person(HEADS[self.office.name])
        refused = AuditEvent.objects.filter(actor=slamet, action="duty.counter_session_refused")
        money = VisitFeedback.objects.filter(officer=slamet, asked_for_money=True)
        checks = SpotCheck.objects.filter(officer=slamet).exclude(finding=SpotCheck.Finding.CLEAN)
        attempts = blatant("refused_sessions_min")
        if refused.count() >= attempts and money.exists() and checks.exists():
            self.say("   already planted in an earlier run")
            self.look_ups(person(SLAMET.slug))
            return
        shift = self.on_roster(slamet, self.office, SLAMET.role)
        counter = shift.counter
        assert counter is not None
        officer = person(SLAMET.slug)
        for _attempt in range(attempts):
            if refused.count() >= attempts or duty_selectors.active_deposit(officer) is not None:
                break
            try:
                duty.open_counter_session(counter=counter, actor=officer)
            except ValidationError as exc:
                self.say(f"   opens counter {counter.number} with his phone in his pocket: refused ({exc.messages[0]})")
        attendant = person("loker")
        if duty_selectors.active_deposit(officer) is None:
            lockers = duty.ensure_lockers(self.office, 12, actor=head)
            used = set(DeviceDeposit.objects.filter(returned_at__isnull=True).values_list("locker_id", flat=True))
            free = next((locker for locker in lockers if locker.pk not in used), None)
            if free is None:
                raise DemoFailed(f"no free locker at {self.office.name}")
            duty.deposit_devices(locker=free, officer=officer, devices="phone", actor=attendant)
            self.say(f"   then hands in one phone: locker {free.number}, confirmed by {attendant.full_name}")
        if duty_selectors.serving_at(officer, self.office) is None:
            duty.open_counter_session(counter=counter, actor=officer)
            self.say(f"   counter {counter.number}: {officer.full_name} serving")
        if not checks.exists():
            check = duty.record_spot_check(
                office=self.office,
                officer=officer,
                counter=counter,
                finding=SpotCheck.Finding.CASH_IN_DRAWER,
                note=SPOT_CHECK_NOTE,
                actor=head,
            )
            self.say(f"   spot check by {head.full_name} at counter {counter.number}: {check.get_finding_display()}")
            clean = person("verifikator")
            session = duty_selectors.serving_at(clean, self.office)
            duty.record_spot_check(
                office=self.office,
                officer=clean,
                counter=session.counter if session else None,
                finding=SpotCheck.Finding.CLEAN,
                actor=head,
            )
            self.say(f"   spot check by {head.full_name} of {clean.full_name}: nothing found")
        if not money.exists():
            self.visit(officer, counter)
        self.look_ups(officer)

    def look_ups(self, officer: User) -> None:
        """Slamet types other people's NIKs into the walk-in search: their files open, though none is at his desk."""
        looked = AuditEvent.objects.filter(actor=officer, action="visits.application_viewed")
        wanted = look_ups()
        if looked.count() >= wanted:
            return
        people = list(
            PassportApplication.objects.filter(office=self.office, status__in=visits.WALK_IN_STATUSES)
            .exclude(visits__isnull=False)
            .order_by("pk")[:wanted]
        )
        if not people:
            self.say("   (no paid application at the office to look up: demo_visit_day has not run)")
            return
        browser = Browser(self.base, SLAMET_BROWSER)
        if not browser.staff_sign_in(officer.email, demo_serial(SLAMET.slug)):
            raise DemoFailed(f"{officer.email} could not sign in on {self.base}")
        path = reverse("staff:walk_in", args=[self.office.code])
        # The same few people again and again if the office has few files (each look-up is one view).
        for n in range(wanted - looked.count()):
            application = people[n % len(people)]
            page = browser.open(f"{path}?{urllib.parse.urlencode({'nik': application.applicant_nik})}")
            self.say(
                f"   looks up the NIK of {application.reference} in the walk-in search (nobody at his desk) "
                f"-> HTTP {page.status}: the file opens"
            )

    def visit(self, officer: User, counter: Counter) -> None:
        """Slamet checks in a paid appointment of today, calls it to his counter, serves it; the applicant answers."""
        visit = visits.current_call(counter)
        if visit is None:
            today = visits.office_today(self.office)
            booking = (
                Booking.objects.filter(
                    slot__office=self.office,
                    slot__day=today,
                    status=Booking.Status.ACTIVE,
                    application__paid_at__isnull=False,
                )
                .select_related("slot__office", "application")
                .order_by("slot__starts_at", "pk")
                .first()
            )
            if booking is None:
                self.say(
                    "   ! no paid appointment of today is left to check in (manage.py demo_visit_day leaves some): "
                    "the after-visit answer is left out"
                )
                return
            try:
                found = registry.photo(booking.applicant_nik)
                face = base64.b64decode(found[1], validate=True) if found else None
            except (registry.RegistryUnavailable, binascii.Error, ValueError) as exc:
                raise DemoFailed(f"no registry photo for the check-in: {exc}") from exc
            if face is None:
                self.say(f"   ! the registry has no photo of NIK {booking.applicant_nik}: no check-in")
                return
            name = booking.application.applicant_name
            checked = visits.check_in(
                booking=booking,
                office=self.office,
                actor=officer,
                id_card_nik=booking.applicant_nik,
                face_matches=True,
                registry_photo=visits.Photo(face, "png"),
                checkin_photo=visits.Photo.from_checked(check_upload(_desk_photo(name))),
            )
            self.say(f"   checks in {name} (ID card and registry photo checked): number {checked.code}")
            visit = visits.call_next(counter=counter, actor=officer)
            if visit is None:
                self.say("   ! nobody waiting to call")
                return
            self.say(f"   calls {visit.code} to counter {counter.number}")
        visit = visits.finish(visit=visit, counter=counter, actor=officer, came=True)
        self.say(f"   serves {visit.code}")
        asked = feedback.ask(visit) or VisitFeedback.objects.get(visit=visit)
        # The applicant taps "yes, asked for money" and one star on the link sent to them.
        browser = Browser(self.base, APPLICANT_BROWSER)
        path = reverse("public:visit_feedback", args=[asked.token])
        browser.open(path)
        page = browser.open(path, {"answer": "1:1"})
        asked.refresh_from_db()
        if asked.answered_at is None:
            raise DemoFailed(f"the after-visit answer was not recorded: HTTP {page.status}")
        self.say(
            f"   the applicant answers the after-visit question ({path}): asked for money: yes, "
            f"satisfaction {asked.satisfaction}/5"
        )

    # --- 5. the anonymous report --------------------------------------------------------------------------

    def report(self) -> Report | None:
        self.say("")
        self.say(f"5. An anonymous report about {self.office.name}")
        found = Report.objects.filter(office=self.office, text=REPORT_TEXT).first()
        if found is not None:
            self.say(f"   already filed in an earlier run: {reports.display_code(found.code)}")
            return found
        browser = Browser(self.base, REPORTER_BROWSER)
        path = reverse("public:report_new")
        page = browser.open(path, {"office": str(self.office.pk), "category": ReportCategory.LEVY, "text": REPORT_TEXT})
        report = Report.objects.filter(office=self.office, text=REPORT_TEXT).first()
        if report is None:
            raise DemoFailed(f"the report form did not file the report: HTTP {page.status}")
        shown = re.search(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", page.text)
        self.say(
            f"   filed on {self.base}{path} (no address, browser or cookie kept): tracking code "
            f"{shown.group(0) if shown else reports.display_code(report.code)}; routed to "
            f"{report.get_level_display()} ({report.division.name if report.division else '-'}), answer due "
            f"{timezone.localtime(report.answer_due):%Y-%m-%d}"
        )
        return report

    # --- the whole ----------------------------------------------------------------------------------------

    def run(self) -> None:
        for line in seed_officers():
            self.say(f"   new demo officer: {line}")
        teguh = person(TEGUH.slug)
        family = self.family()
        cases = self.broker(teguh)
        self.teguh(teguh, cases, family)
        self.slamet(person(SLAMET.slug))
        self.report()


# --- What the supervisors find ------------------------------------------------------------------------------


def watchers(signal: Signal) -> list[str]:
    """The demo supervisors whose signal pages show this signal (their Perm.SUPERVISE subtree)."""
    from .signal_views import visible_signals

    out = []
    for slug in SUPERVISORS:
        user = User.objects.filter(email=demo_email(slug)).first()
        if user is not None and visible_signals(person(slug)).filter(pk=signal.pk).exists():
            out.append(slug)
    return out


def describe(signal: Signal, base: str) -> list[str]:
    """A signal in three lines: what and who, the plain-language explanation, who looks at it and where."""
    from .explain import explain

    where = signal.office.name if signal.office else "Directorate General"
    who = f", {signal.officer.full_name}" if signal.officer else ""
    counter = f", counter {signal.counter.number}" if signal.counter else ""
    return [
        f"   [{signal.kind}] {where}{who}{counter}",
        f"      {explain(signal)}",
        f"      seen by: {', '.join(watchers(signal)) or '-'}   {base}{reverse('staff:signal', args=[signal.pk])}",
    ]
