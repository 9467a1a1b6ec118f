"""``manage.py demo_visit_day [--window-seconds 20] [--people 6] [--check-in]``: a demo office's day, end to end.

Development only (refused in production). Against the running processes of
``make run`` (witness, registry, bank), at the demo office:

1. today's slots (office time), with few places, so some requests go to the waiting list;
2. demo residents of the sandbox registry (``GET /v1/demo-residents``) as applicants: accounts whose NIK the
   registry confirms through Gerbang's signed client (as on the registration page), and passport applications
   filed, documented and submitted through the actions;
3. a lottery release for today (Gerbang and the witness commit), and each applicant's request;
4. the draw once the window has closed: by the worker's ``run-draws`` schedule, or here if it has not run;
5. the allocated bills paid through the sandbox bank's test API (``POST /api/test/pay``), until Gerbang has
   received the bank's signed notifications;
6. one booking cancelled by its applicant: the place goes to the first on the waiting list who wanted it;
7. a counter, the check-in codes and what to do in the browser. ``--check-in`` also checks one person in (the
   registry photo and a generated desk photo) and calls the next number to a counter.

Every change goes through the actions, as the pages make it, so the audit log records the day. Running it
again the same day reuses the demo accounts and their open applications and skips anyone who already has an
appointment or came to the office today. ``scripts/run.sh`` runs it in the background once the web process
answers, with its output in ``var/demo-visit-day.log``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import io
import json
import re
import time
import unicodedata
import urllib.error
import urllib.request
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Max
from django.utils import timezone
from PIL import Image, ImageDraw

from gerbang.accounts.actions import verify_email
from gerbang.accounts.demo import DEMO_DOMAIN, DEMO_OFFICE_NAME, DEMO_PASSWORD, demo_email, demo_serial
from gerbang.accounts.models import User
from gerbang.applications import actions as applications
from gerbang.applications import rules
from gerbang.applications.models import OPEN_STATUSES, PassportApplication, Status
from gerbang.applications.uploads import UploadRefused, check_upload
from gerbang.appointments import actions as appointments
from gerbang.appointments.models import Booking, Draw, LotteryRequest, Release, Slot
from gerbang.appointments.selectors import release_capacity
from gerbang.audit.witness_client import WitnessUnavailable
from gerbang.duty.demo import demo_duty_day
from gerbang.duty.selectors import serving_at
from gerbang.identity import registry
from gerbang.identity.actions import current_identity, register_citizen
from gerbang.identity.models import CitizenIdentity
from gerbang.organisation.actions import add_counter
from gerbang.organisation.models import Counter, Office, ServiceUnit
from gerbang.payments.models import Bill
from gerbang.visits import actions as visits
from gerbang.visits.codes import booking_code
from gerbang.visits.models import Visit

SLOTS = 2
PLACES = 2
PRIORITY_PLACES = 1
LATEST_WHOLE_HOUR = 23
CANCEL_REASON = "demo: the applicant cannot come"
PARTS = {"am": "morning", "pm": "afternoon"}


@dataclass
class Applicant:
    name: str
    user: User
    application: PassportApplication
    note: str


class Skipped(Exception):
    """This resident takes no part in this run (the reason is printed)."""


def _as_verified(user: User) -> User:
    """The staff member as if signed in with their hardware token (the pages check that; a command cannot)."""
    user.is_verified = lambda: True  # type: ignore[attr-defined]
    return user


def _http_json(url: str, body: dict[str, Any] | None = None, *, timeout: float = 10) -> tuple[int, Any]:
    """GET (or POST ``body`` as JSON) a local sandbox URL: (status, decoded JSON or text). OSError if unreachable."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 (configured local URL)
        url,
        data,
        headers={"Content-Type": "application/json"} if data is not None else {},
        method="GET" if data is None else "POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 (configured local URL)
            status, raw = answer.status, answer.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def _jpeg(title: str, lines: Sequence[str], *, size: tuple[int, int] = (640, 400)) -> bytes:
    """A scan-like JPEG: a frame, a title and a few lines of text."""
    image = Image.new("RGB", size, (250, 250, 245))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, size[0] - 1, size[1] - 1), outline=(20, 20, 20), width=4)
    draw.rectangle((0, 0, size[0] - 1, 44), fill=(11, 79, 108))
    draw.text((20, 16), title, fill="white")
    for n, line in enumerate(lines):
        draw.text((20, 70 + 26 * n), line, fill=(30, 30, 30))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def _desk_photo(name: str) -> bytes:
    """A stand-in for the photo the front desk takes: a face-like drawing on a light background."""
    image = Image.new("RGB", (320, 400), (214, 226, 236))
    draw = ImageDraw.Draw(image)
    draw.ellipse((90, 70, 230, 250), fill=(224, 182, 150), outline=(90, 60, 40), width=3)
    draw.ellipse((125, 135, 140, 150), fill=(40, 30, 20))
    draw.ellipse((180, 135, 195, 150), fill=(40, 30, 20))
    draw.arc((130, 180, 190, 220), start=20, end=160, fill=(120, 40, 40), width=3)
    draw.rectangle((60, 270, 260, 400), fill=(11, 79, 108))
    draw.text((12, 12), f"DEMO desk photo: {name}", fill=(30, 30, 30))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def resident_email(name: str) -> str:
    """The demo account of a registry resident: ``siti.rahayu@demo.gerbang.localhost``."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return f"{re.sub(r'[^a-z0-9]+', '.', ascii_name).strip('.')}@{DEMO_DOMAIN}"


def slot_times(existing: set[dt.time], now_local: dt.datetime, count: int) -> tuple[list[dt.time], bool]:
    """Times for ``count`` new slots today not already used, and whether they are all still ahead.

    The next whole hours (up to 23:00), then the next quarter hours; when the day is nearly over, fixed times
    from 08:00 (already past: check-in works for any slot of today).
    """
    quarters = [dt.time(hour, minute) for hour in range(24) for minute in (0, 15, 30, 45)]
    soon = now_local + dt.timedelta(minutes=5)
    ahead = [t for t in quarters if t > soon.time()] if soon.date() == now_local.date() else []
    preferred = [t for t in ahead if t.minute == 0 and t.hour <= LATEST_WHOLE_HOUR]
    preferred += [t for t in ahead if t not in preferred]
    fixed = [t for t in quarters if t >= dt.time(8)] + [t for t in quarters if t < dt.time(8)]
    picked: list[dt.time] = []
    for at in preferred:
        if at not in existing and len(picked) < count:
            picked.append(at)
    in_future = len(picked) == count
    for at in fixed:
        if at not in existing and at not in picked and len(picked) < count:
            picked.append(at)
    return sorted(picked), in_future


def _part(group: str) -> str:
    return PARTS.get(group.rsplit("/", 1)[-1], group)


def _rupiah(amount: int) -> str:
    return f"Rp {amount:,}".replace(",", ".")


class Command(BaseCommand):
    help = (
        "A lottery day at the demo office against the running `make run` processes: slots, applicants, draw, "
        "bills paid at the sandbox bank, the waiting list, check-in codes (development only)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--window-seconds", type=int, default=20, help="how long the request window stays open")
        parser.add_argument("--people", type=int, default=6, help="how many demo residents apply")
        parser.add_argument(
            "--check-in", action="store_true", help="also check one person in and call the next number to a counter"
        )
        parser.add_argument(
            "--worker-wait",
            type=float,
            default=90,
            help="seconds to wait for the worker's run-draws schedule after the window closed before drawing here",
        )
        parser.add_argument(
            "--payment-wait", type=float, default=30, help="seconds to wait for the bank's notifications"
        )
        parser.add_argument("--base-url", default="", help="Gerbang's address for the printed links")
        parser.add_argument("--bank-url", default="", help="the sandbox bank (default: settings.BANK_SANDBOX_URL)")

    # --- Output ------------------------------------------------------------------------------------

    def say(self, text: str = "") -> None:
        self.stdout.write(text)
        self.stdout.flush()

    def step(self, text: str) -> None:
        self.say("")
        self.say(self.style.MIGRATE_HEADING(f"== {text}"))

    def warn(self, text: str) -> None:
        self.stdout.write(self.style.WARNING(f"   ! {text}"))
        self.stdout.flush()

    # --- The day -----------------------------------------------------------------------------------

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("demo_visit_day refuses to run with GERBANG_ENV=production")
        office = Office.objects.filter(name=DEMO_OFFICE_NAME).first()
        staff = [User.objects.filter(email=demo_email(slug)).first() for slug in ("kakanim", "loket", "verifikator")]
        if office is None or None in staff:
            raise CommandError("run `manage.py seed_demo` first")
        head, desk, verifier = (_as_verified(user) for user in staff if user is not None)
        self.office = office
        self.zone = zoneinfo.ZoneInfo(office.timezone)
        self.base = (options["base_url"] or settings.GERBANG_PUBLIC_URL).rstrip("/")
        self.bank_url = (options["bank_url"] or settings.BANK_SANDBOX_URL).rstrip("/")
        today = visits.office_today(office)
        self.say(f"demo_visit_day at {office.name} ({office.code}), {today.isoformat()} ({office.timezone})")

        self.step("1. Today's slots")
        slots = self.open_slots(head, today)
        self.step(f"2. Applicants: demo residents of the sandbox registry ({settings.REGISTRY_URL})")
        applicants = self.prepare_applicants(max(1, options["people"]))
        self.step("3. Lottery release for today")
        release = self.open_lottery(head, today, max(3, options["window_seconds"]))
        self.enter_lottery(release, applicants, slots)
        self.step("4. The draw")
        draw = self.draw(release, options["worker_wait"])
        allocated = self.report_draw(release, draw)
        self.step("5. Paying the allocated bills at the sandbox bank")
        self.pay([bill for _booking, bill in allocated if bill is not None], options["payment_wait"])
        self.step("6. One applicant cancels: the place goes down the waiting list")
        self.cancel_one(release, options["payment_wait"])
        self.step("7. Check-in and the queue")
        for line in demo_duty_day():
            self.say(f"   {line}")
        counter = self.counter(head, verifier)
        checked_in = None
        if options["check_in"]:
            checked_in = self.check_in_one(desk, release)
            if counter is not None and checked_in is not None:
                self.call_next(counter, verifier)
        self.next_steps(counter, checked_in)
        self.say("")
        self.say(self.style.SUCCESS("demo_visit_day: done."))

    # 1 ---------------------------------------------------------------------------------------------

    def open_slots(self, head: User, today: dt.date) -> list[Slot]:
        now_local = timezone.now().astimezone(self.zone)
        existing = {
            s.astimezone(self.zone).time()
            for s in Slot.objects.filter(office=self.office, day=today).values_list("starts_at", flat=True)
        }
        times, in_future = slot_times(existing, now_local, SLOTS)
        try:
            slots = appointments.create_slots(
                office=self.office,
                day=today,
                times=times,
                capacity=PLACES,
                priority_capacity=PRIORITY_PLACES,
                actor=head,
            )
        except ValidationError as exc:
            raise CommandError(f"cannot open slots today: {' '.join(exc.messages)}") from exc
        for slot in slots:
            self.say(
                f"   {slot.starts_at.astimezone(self.zone):%H:%M} ({_part(slot.group)}): {slot.capacity} places, "
                f"{slot.priority_capacity} of them for priority applicants"
            )
        if existing:
            self.say(f"   (today already had {len(existing)} slot(s) from earlier runs or the office's calendar)")
        if not in_future:
            self.warn(
                "the day is nearly over: some slots start in the past. Check-in works for any slot of today, but "
                f"the worker marks appointments not checked in {settings.GERBANG_NO_SHOW_AFTER_MINUTES} minutes "
                "after their start as missed."
            )
        return slots

    # 2 ---------------------------------------------------------------------------------------------

    def prepare_applicants(self, wanted: int) -> list[Applicant]:
        url = settings.REGISTRY_URL.rstrip("/") + "/v1/demo-residents"
        try:
            status, answer = _http_json(url)
        except OSError as exc:
            raise CommandError(f"the sandbox registry must be running (make run): {url}: {exc}") from exc
        if status != 200 or not isinstance(answer, dict) or not isinstance(answer.get("residents"), list):
            raise CommandError(f"the registry did not list its demo residents ({url}: HTTP {status})")
        adults = [r for r in answer["residents"] if not rules.is_minor(dt.date.fromisoformat(r["birth_date"]))]
        applicants: list[Applicant] = []
        for resident in adults:
            if len(applicants) == wanted:
                break
            try:
                applicant = self.prepare(resident, priority=not applicants)
            except Skipped as exc:
                self.say(f"   {resident['name']}: skipped, {exc}")
                continue
            applicants.append(applicant)
            self.say(
                f"   {applicant.name:<22} NIK {applicant.application.applicant_nik}  {applicant.user.email}  "
                f"application {applicant.application.reference}: {applicant.note}"
            )
        if len(applicants) < wanted:
            self.warn(f"{len(applicants)} of the {wanted} applicants asked for: the registry has no more adults to use")
        if not applicants:
            raise CommandError("no demo resident could apply: nothing to draw")
        return applicants

    def prepare(self, resident: dict[str, Any], *, priority: bool) -> Applicant:
        """The resident's demo account and a submitted application at the demo office, new or reused."""
        nik, name = str(resident["nik"]), str(resident["name"])
        email = resident_email(name)
        user = User.objects.filter(email=email).first()
        today = visits.office_today(self.office)
        application = PassportApplication.objects.filter(applicant_nik=nik, status__in=OPEN_STATUSES).first()
        if application is not None and (user is None or application.filer_id != user.pk):
            raise Skipped("has an open application filed from another account")
        booking = Booking.objects.filter(applicant_nik=nik, status=Booking.Status.ACTIVE).select_related("slot").first()
        if booking is not None:
            raise Skipped(f"already has an appointment ({booking.slot.starts_at.astimezone(self.zone):%Y-%m-%d %H:%M})")
        if Visit.objects.filter(office=self.office, day=today, applicant_nik=nik).exists():
            raise Skipped("already came to the office today")
        if LotteryRequest.objects.filter(
            applicant_nik=nik, outcome=LotteryRequest.Outcome.PENDING, release__status=Release.Status.OPEN
        ).exists():
            raise Skipped("already entered a lottery not drawn yet (an earlier run was interrupted?)")
        notes = []
        if user is None:
            if CitizenIdentity.objects.filter(nik=nik, status=CitizenIdentity.Status.ACTIVE).exists():
                raise Skipped("the NIK is already held by another account (registered in the browser?)")
            user = self.register(resident, email)
            notes.append("new account (NIK confirmed by the registry)")
        elif current_identity(user) is None:
            raise Skipped(f"the demo account {email} holds no verified NIK")
        else:
            notes.append("account reused")
        if application is None:
            application = applications.create_draft(actor=user, applicant_nik=nik, kind="renewal")
        elif application.status != Status.DRAFT:
            if application.office_id != self.office.pk:
                raise Skipped(f"its application {application.reference} is for another office")
            notes.append(f"application reused ({application.status})")
            return Applicant(name, user, application, ", ".join(notes))
        else:
            notes.append("draft reused")
        self.file(application, user, priority=priority)
        application.refresh_from_db()
        notes.append("filed, documented and submitted" + (" (declares a disability: priority)" if priority else ""))
        return Applicant(name, user, application, ", ".join(notes))

    def register(self, resident: dict[str, Any], email: str) -> User:
        try:
            user = register_citizen(
                email=email,
                password=DEMO_PASSWORD,
                nik=str(resident["nik"]),
                kk=str(resident["kk"]),
                full_name=str(resident["name"]),
                birth_date=dt.date.fromisoformat(str(resident["birth_date"])),
            )
        except registry.RegistryUnavailable as exc:
            raise CommandError(f"the sandbox registry must be running (make run): {exc}") from exc
        except ValidationError as exc:
            raise Skipped(f"not registered: {' '.join(exc.messages)}") from exc
        return verify_email(user)

    def file(self, application: PassportApplication, user: User, *, priority: bool) -> None:
        """A renewal at the demo office: answers, generated scans of the ID card and old passport, submitted."""
        nik = application.applicant_nik
        applications.update_draft(
            application,
            actor=user,
            renewal_reason="expired",
            old_passport_number=f"C{nik[-7:]}",
            office=self.office,
            product="electronic",
            validity_years=10,
            declared_disability=priority,
        )
        application.refresh_from_db()
        scans = {
            "ktp": ("REPUBLIK INDONESIA - KARTU TANDA PENDUDUK (DEMO)", [f"NIK  {nik}", application.applicant_name]),
            "old_passport": ("REPUBLIK INDONESIA - PASPOR (DEMO)", [f"No. C{nik[-7:]}", application.applicant_name]),
        }
        for kind in rules.missing_documents(application):
            title, lines = scans.get(kind, (f"DEMO {kind}", [application.applicant_name]))
            applications.upload_document(application, actor=user, kind=kind, stream=_jpeg(title, lines))
        applications.submit(application, actor=user, declaration=True)

    # 3 ---------------------------------------------------------------------------------------------

    def open_lottery(self, head: User, today: dt.date, seconds: int) -> Release:
        now = timezone.now()
        try:
            release = appointments.open_release(
                office=self.office,
                first_day=today,
                last_day=today,
                window_opens_at=now,
                window_closes_at=now + dt.timedelta(seconds=seconds),
                actor=head,
            )
        except WitnessUnavailable as exc:
            raise CommandError(f"the witness must be running (make run): {exc}") from exc
        draw = release.draw
        self.say(
            f"   release {release.pk}: requests until {release.window_closes_at.astimezone(self.zone):%H:%M:%S} "
            f"({seconds} s); commitments: Gerbang {draw.gerbang_commitment[:16]}…, "
            f"witness {draw.witness_commitment[:16]}…"
        )
        self.say(f"   public record: {self.base}/undian/{draw.public_id}/")
        return release

    def enter_lottery(self, release: Release, applicants: list[Applicant], slots: list[Slot]) -> None:
        offered = release_capacity(release)
        ours = sorted({slot.group for slot in slots})
        groups = ours or sorted(g for g, places in offered.items() if places["priority"] + places["general"] > 0)
        if not groups:
            self.warn("no places are left today: every request goes to the waiting list")
            groups = sorted(offered)
        for n, person in enumerate(applicants):
            choices = [groups[n % len(groups)]]
            if len(groups) > 1 and n % 2 == 0:
                choices.append(groups[(n + 1) % len(groups)])
            try:
                request = appointments.request_slot(
                    application=person.application, release=release, choices=choices, actor=person.user
                )
            except ValidationError as exc:
                self.warn(f"{person.name}: not entered: {' '.join(exc.messages)}")
                continue
            self.say(
                f"   {person.name:<22} requests {' then '.join(_part(c) for c in choices)}"
                + (" (priority)" if request.priority else "")
            )
        count = release.requests.count()
        places = sum(p["priority"] + p["general"] for p in release_capacity(release).values())
        self.say(f"   {count} requests for {places} places")

    # 4 ---------------------------------------------------------------------------------------------

    def draw(self, release: Release, worker_wait: float) -> Draw:
        left = (release.window_closes_at - timezone.now()).total_seconds()
        if left > 0:
            self.say(f"   waiting {left:.0f} s for the request window to close")
            time.sleep(left + 0.5)
        if worker_wait > 0:
            self.say(f"   waiting up to {worker_wait:.0f} s for the worker's run-draws schedule")
            deadline = time.monotonic() + worker_wait
            while time.monotonic() < deadline and self._status(release) == Release.Status.OPEN:
                time.sleep(2)
        if self._status(release) == Release.Status.DRAWN:
            self.say("   drawn by the worker")
        else:
            try:
                appointments.run_draw(Release.objects.get(pk=release.pk))
                self.say("   drawn here (the worker had not run it)")
            except WitnessUnavailable as exc:
                raise CommandError(f"the witness must be running (make run): {exc}") from exc
            except ValidationError as exc:
                if self._status(release) != Release.Status.DRAWN:
                    raise CommandError(f"the draw did not run: {' '.join(exc.messages)}") from exc
                self.say("   drawn by the worker meanwhile")
        draw = Draw.objects.get(release=release)
        self.say(f"   public record: {self.base}/undian/{draw.public_id}/")
        self.say(f"   recompute it: .venv/bin/python manage.py verify_draw {draw.public_id}")
        return draw

    @staticmethod
    def _status(release: Release) -> str:
        return str(Release.objects.values_list("status", flat=True).get(pk=release.pk))

    def report_draw(self, release: Release, draw: Draw) -> list[tuple[Booking, Bill | None]]:
        requests = list(release.requests.select_related("application").order_by("rank"))
        bookings = {
            b.request_id: b
            for b in Booking.objects.filter(request__release=release).select_related("slot__office", "application")
        }
        allocated: list[tuple[Booking, Bill | None]] = []
        self.say(f"   {draw.request_count} requests, root {draw.root[:16]}…, result digest {draw.result_digest[:16]}…")
        self.say("   allocated:")
        for request in requests:
            booking = bookings.get(request.pk)
            if request.outcome != LotteryRequest.Outcome.ALLOCATED or booking is None:
                continue
            bill = booking.application.bills.filter(status=Bill.Status.ISSUED).first()
            allocated.append((booking, bill))
            payment = (
                f"bill {bill.billing_code} ({_rupiah(bill.amount)})"
                if bill
                else "fee already paid"
                if booking.application.paid_at
                else "no bill"
            )
            self.say(
                f"     {booking.application.applicant_name:<22} {booking.slot.starts_at.astimezone(self.zone):%H:%M}"
                f"{' priority place' if booking.priority else ''}  (draw rank {request.rank})  {payment}"
            )
        if not allocated:
            self.say("     nobody")
        waiting = [r for r in requests if r.outcome == LotteryRequest.Outcome.WAITING]
        self.say("   waiting list:")
        for place, request in enumerate(waiting, start=1):
            self.say(
                f"     {place}. {request.application.applicant_name:<22} (draw rank {request.rank}; "
                f"chose {', '.join(_part(c) for c in request.choices)})"
            )
        if not waiting:
            self.say("     nobody")
        for request in requests:
            if request.outcome == LotteryRequest.Outcome.FORFEITED:
                self.say(f"   forfeited (no longer needed): {request.application.applicant_name}")
        return allocated

    # 5 ---------------------------------------------------------------------------------------------

    def pay(self, bills: list[Bill], wait: float) -> None:
        if not bills:
            self.say("   no open bills")
            return
        sent = []
        for bill in bills:
            try:
                status, answer = _http_json(f"{self.bank_url}/api/test/pay", {"billing_code": bill.billing_code})
            except OSError as exc:
                self.warn(f"the sandbox bank does not answer at {self.bank_url} ({exc}): pay the codes by hand")
                return
            if status != 201 or not isinstance(answer, dict):
                self.warn(f"the bank refused {bill.billing_code}: HTTP {status} {answer}")
                continue
            sent.append(bill)
            self.say(
                f"   {bill.billing_code} {_rupiah(int(answer.get('amount', bill.amount)))} paid at the bank "
                f"({answer.get('channel')}), NTB {answer.get('ntb')}"
            )
        deadline = time.monotonic() + wait
        pending = {bill.pk: bill for bill in sent}
        while pending:
            paid = Bill.objects.filter(pk__in=list(pending), application__paid_at__isnull=False).values_list(
                "pk", flat=True
            )
            for bill_id in sorted(paid):
                bill = Bill.objects.select_related("application").get(pk=bill_id)
                del pending[bill_id]
                assert bill.application is not None
                self.say(
                    f"   Gerbang received the bank's signed notification: {bill.application.applicant_name} paid "
                    f"(NTPN {bill.ntpn})"
                )
            if pending and time.monotonic() > deadline:
                codes = ", ".join(bill.billing_code for bill in pending.values())
                self.warn(
                    f"no notification from the bank yet for {codes} after {wait:.0f} s; see {self.bank_url}/api/status"
                )
                return
            if pending:
                time.sleep(0.5)

    # 6 ---------------------------------------------------------------------------------------------

    def cancel_one(self, release: Release, wait: float) -> None:
        active = list(
            Booking.objects.filter(request__release=release, status=Booking.Status.ACTIVE, priority=False)
            .select_related("slot__office", "application__filer")
            .order_by("slot__starts_at", "pk")
        )
        wanted = {
            choice
            for request in release.requests.filter(outcome=LotteryRequest.Outcome.WAITING)
            for choice in request.choices
        }
        candidates = [b for b in active if b.slot.group in wanted] or active
        if not candidates:
            self.say("   no allocated booking to cancel")
            return
        booking = candidates[-1]
        name = booking.application.applicant_name
        self.say(f"   {name} cancels the {booking.slot.starts_at.astimezone(self.zone):%H:%M} appointment")
        try:
            offered = appointments.cancel_booking(booking, actor=booking.application.filer, reason=CANCEL_REASON)
        except ValidationError as exc:
            self.warn(f"not cancelled: {' '.join(exc.messages)}")
            return
        if offered is None:
            self.say("   nobody on the waiting list wanted that slot: the place stays free")
            return
        offered = Booking.objects.select_related("slot__office", "application", "request").get(pk=offered.pk)
        bill = offered.application.bills.filter(status=Bill.Status.ISSUED).first()
        rank = offered.request.rank if offered.request else None
        self.say(
            f"   the place went to {offered.application.applicant_name} (draw rank {rank}) from the waiting list: "
            f"{offered.slot.starts_at.astimezone(self.zone):%H:%M}, "
            + (f"new bill {bill.billing_code} ({_rupiah(bill.amount)})" if bill else "fee already paid")
        )
        if bill is not None:
            self.pay([bill], wait)

    # 7 ---------------------------------------------------------------------------------------------

    def counter(self, head: User, verifier: User) -> Counter | None:
        """The counter where the verifier serves today (``demo_duty_day``), else a free active one, or a new one."""
        session = serving_at(verifier, self.office)
        if session is not None:
            return Counter.objects.select_related("unit__office").get(pk=session.counter_id)
        counters = list(
            Counter.objects.filter(unit__office=self.office, is_active=True)
            .select_related("unit__office")
            .order_by("unit", "number")
        )
        free = [c for c in counters if visits.current_call(c) is None]
        if free or counters:
            return (free or counters)[0]
        unit = ServiceUnit.objects.filter(office=self.office).order_by("pk").first()
        if unit is None:
            self.warn("the demo office has no service unit: no counter can be added")
            return None
        number = (Counter.objects.filter(unit=unit).aggregate(top=Max("number"))["top"] or 0) + 1
        counter = add_counter(unit, number=number, label="Loket demo", actor=head)
        self.say(f"   counter {counter.number} added to {unit.name} (by the office head)")
        return Counter.objects.select_related("unit__office").get(pk=counter.pk)

    def check_in_one(self, desk: User, release: Release) -> Visit | None:
        """The front desk checks in the first paid appointment of this draw: registry photo and a desk photo."""
        booking = (
            Booking.objects.filter(
                request__release=release, status=Booking.Status.ACTIVE, application__paid_at__isnull=False
            )
            .select_related("slot__office", "application")
            .order_by("slot__starts_at", "pk")
            .first()
        )
        if booking is None:
            self.warn("no paid appointment of this draw to check in")
            return None
        name = booking.application.applicant_name
        try:
            found = registry.photo(booking.applicant_nik)
            registry_photo = visits.Photo(base64.b64decode(found[1], validate=True), "png") if found else None
        except (registry.RegistryUnavailable, binascii.Error, ValueError) as exc:
            self.warn(f"no registry photo for {name}: {exc}")
            return None
        if registry_photo is None:
            self.warn(f"the registry has no photo of {name}")
            return None
        try:
            desk_photo = visits.Photo.from_checked(check_upload(_desk_photo(name)))
            visit = visits.check_in(
                booking=booking,
                office=self.office,
                actor=desk,
                id_card_nik=booking.applicant_nik,
                face_matches=True,
                registry_photo=registry_photo,
                checkin_photo=desk_photo,
            )
        except (ValidationError, UploadRefused) as exc:
            self.warn(f"{name} not checked in: {exc}")
            return None
        self.say(
            f"   checked in at the front desk (loket): {name}, ID card NIK and face checked, "
            f"registry photo {visit.registry_photo_sha256[:12]}…, desk photo {visit.checkin_photo_sha256[:12]}…: "
            f"number {visit.code}"
        )
        return visit

    def call_next(self, counter: Counter, verifier: User) -> None:
        try:
            called = visits.call_next(counter=counter, actor=verifier)
        except ValidationError as exc:
            self.warn(f"counter {counter.number} did not call: {' '.join(exc.messages)}")
            return
        if called is None:
            self.say(f"   counter {counter.number}: nobody is waiting")
            return
        self.say(
            f"   counter {counter.number} (verifikator) called {called.code}: {called.application.applicant_name}; "
            f"its screen shows both photos: {self.base}/staf/loket/{counter.pk}/antrean/"
        )

    def next_steps(self, counter: Counter | None, checked_in: Visit | None) -> None:
        today = visits.office_today(self.office)
        paid = list(
            Booking.objects.filter(
                slot__office=self.office,
                slot__day=today,
                status=Booking.Status.ACTIVE,
                application__paid_at__isnull=False,
            )
            .select_related("slot__office", "application")
            .order_by("slot__starts_at", "pk")
        )
        if checked_in is not None:
            checked_in.refresh_from_db()
            self.say(f"   {checked_in.application.applicant_name} has number {checked_in.code} ({checked_in.status})")
        self.say("")
        self.say("   Check-in codes of today's paid appointments (what the QR code on the status page holds):")
        for booking in paid:
            self.say(
                f"     {booking_code(booking):<28} {booking.application.applicant_name:<22} "
                f"NIK {booking.applicant_nik}  {booking.slot.starts_at.astimezone(self.zone):%H:%M}"
                f"{'  (priority)' if booking.priority else ''}"
            )
        if not paid:
            self.say("     none")
        staff = f"{self.base}/akun/staf/masuk/"
        code_command = ".venv/bin/python manage.py demo_token_code"
        lines = [
            "",
            f"   Next, in the browser (all demo passwords: {DEMO_PASSWORD}):",
            f"   1. Sign in at {staff} as the front desk, {demo_email('loket')}, with the code of token "
            f"{demo_serial('loket')} ({code_command} {demo_serial('loket')}).",
            f"   2. Open {self.base}/staf/kantor/{self.office.code}/kedatangan/ and paste a check-in code above. The "
            "registry photo is shown: type the NIK from the ID card, upload any photo, tick 'face matches', "
            "and the queue number is given.",
            f"   3. Sign out, sign in as the document verifier, {demo_email('verifikator')} (token "
            f"{demo_serial('verifikator')}), and open "
            + (
                f"{self.base}/staf/loket/{counter.pk}/antrean/ (counter {counter.number}): 'Served' for whoever is "
                "being served, then 'Call the next number': the screen shows the registry photo and the check-in "
                "photo side by side."
                if counter is not None
                else f"{self.base}/staf/kantor/{self.office.code}/antrean/ (the office has no counter yet)."
            ),
            f"   4. The public display: {self.base}/antrean/{self.office.code}/",
            f"   Applicants sign in at {self.base}/akun/masuk/ with the e-mail addresses above to see their status, "
            "bill, receipt and the QR code.",
        ]
        for line in lines:
            self.say(line)
