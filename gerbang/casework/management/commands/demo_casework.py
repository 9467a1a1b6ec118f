"""``manage.py demo_casework``: the demo office's checked-in applicant taken from paid to handover (development only).

Run after ``demo_visit_day --check-in`` (``scripts/run.sh`` runs both in the
background). The demo staff go on today's roster (``gerbang.duty.demo``): the
locker attendant confirms the counter officers' devices, they open their
counter sessions; then each step is taken by the officer Gerbang drew for it,
through the same actions as the case page: documents verified, photo and
fingerprints, interview, the decision by an adjudicator of Kantor Imigrasi
Jakarta Timur (another office of the division), the passport printed on a
booklet of the office's stock (one booklet spoiled and accounted for), and the
handover with the ID card checked.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone, translation

from gerbang.accounts.demo import DEMO_OFFICE_NAME, DEMO_PASSWORD, demo_email, demo_serial
from gerbang.applications.models import PassportApplication, Status
from gerbang.applications.uploads import check_upload
from gerbang.casework import actions, flow, rules
from gerbang.casework.models import Booklet, Duty
from gerbang.duty.demo import demo_duty_day, person, verified
from gerbang.organisation.models import Office
from gerbang.visits.actions import Photo, office_today
from gerbang.visits.management.commands.demo_visit_day import _desk_photo


class Command(BaseCommand):
    help = "Take the demo office's checked-in applicant through every casework step to handover (development only)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--base-url", default="", help="Gerbang's address, for the links printed")
        parser.add_argument("--stop-before", default="", help="stop before this status (e.g. approved), for a human")

    def say(self, line: str) -> None:
        self.stdout.write(line)

    def handle(self, *args: Any, **options: Any) -> None:
        with translation.override("en"):  # the demo log is in English, like demo_visit_day's
            self.run(options)

    def run(self, options: dict[str, Any]) -> None:
        if settings.PRODUCTION:
            raise CommandError("demo_casework refuses to run with GERBANG_ENV=production")
        office = Office.objects.filter(name=DEMO_OFFICE_NAME).first()
        if office is None:
            raise CommandError("run `manage.py seed_demo` first")
        base = (options["base_url"] or settings.GERBANG_PUBLIC_URL).rstrip("/")
        self.say(f"demo_casework at {office.name}")
        for line in demo_duty_day():
            self.say(f"   {line}")
        application = (
            PassportApplication.objects.filter(
                office=office, visits__day=office_today(office), status__in=[Status.PAID, *rules.NEXT_DUTY]
            )
            .exclude(status__in=[Status.REFUSAL_PROPOSED, Status.APPEALED])
            .order_by("-visits__checked_in_at")
            .first()
        )
        if application is None:
            raise CommandError("nobody is checked in today with a paid application: run demo_visit_day --check-in")
        assigned = flow.assign_waiting()
        self.say(f"   {assigned} waiting case step(s) drawn for the officers now on duty")
        stop = options["stop_before"]
        while application.status not in (Status.HANDED_OVER, Status.POSTED) and application.status != stop:
            before = application.status
            self.step(application)
            application.refresh_from_db()
            if application.status == before:
                raise CommandError(f"the case did not move on from {before}")
        self.say("")
        self.say(f"   {application.applicant_name} ({application.reference}): {application.get_status_display()}.")
        self.say(f"   The case page, for the office head {demo_email('kakanim')} (token {demo_serial('kakanim')}):")
        self.say(f"   {base}/staf/kasus/{application.reference}/  (password {DEMO_PASSWORD})")
        self.say(self.style.SUCCESS("demo_casework: done."))

    def holder(self, application: PassportApplication, duty: str) -> Any:
        assignment = rules.open_assignment(application, duty)
        if assignment is None:
            raise CommandError(f"nobody eligible is on duty for {duty}")
        officer = verified(assignment.officer)
        where = "" if assignment.office_id == application.office_id else f" at {assignment.office.name} (remote)"
        self.say(f"   {duty}: drawn among {assignment.pool_size} eligible: {officer.full_name}{where}")
        return officer

    def step(self, application: PassportApplication) -> None:
        status = application.status
        if status == Status.PAID:
            officer = self.holder(application, Duty.VERIFICATION)
            verdicts = {d.pk: "accepted" for d in application.documents.filter(superseded_at__isnull=True)}
            actions.review_documents(application, actor=officer, verdicts=verdicts)
            self.say(f"      {len(verdicts)} documents accepted")
        elif status == Status.VERIFIED:
            officer = self.holder(application, Duty.INTERVIEW)
            photo = Photo.from_checked(check_upload(_desk_photo(application.applicant_name)))
            actions.take_biometrics(
                application,
                actor=officer,
                photo=photo,
                capture_station="CAP-DEMO-1",
                fingerprint_device="FP-DEMO-1",
                fingers=10,
                fingerprint_template=secrets.token_bytes(512),
            )
            self.say(f"      photo {photo.sha256[:12]}… and 10 fingers (FP-DEMO-1) at the counter")
        elif status == Status.BIOMETRICS_TAKEN:
            officer = self.holder(application, Duty.INTERVIEW)
            actions.record_interview(
                application,
                actor=officer,
                purpose_of_travel="Family visit",
                identity_consistent=True,
                originals_seen=True,
                outcome="consistent",
            )
            self.say("      interviewed: consistent")
        elif status == Status.INTERVIEWED:
            officer = self.holder(application, Duty.DECISION)
            actions.decide(
                application, actor=officer, outcome="approve", note="Documents, biometrics and interview consistent."
            )
            self.say("      approved")
        elif status == Status.APPROVED:
            officer = self.holder(application, Duty.ISSUING)
            self.booklets(application.office)  # type: ignore[arg-type]
            passport = actions.print_passport(application, actor=officer)
            self.say(f"      printed passport {passport.number}; MRZ:")
            self.say(f"        {passport.mrz_line1}")
            self.say(f"        {passport.mrz_line2}")
        elif status == Status.PRINTED:
            officer = self.holder(application, Duty.ISSUING)
            actions.hand_over(application, actor=officer, id_card_nik=application.applicant_nik, face_matches=True)
            self.say("      handed over at the counter after the ID card and the face were checked")
        else:
            raise CommandError(f"demo_casework does not take a case on from {status}")

    def booklets(self, office: Office) -> None:
        if Booklet.objects.filter(office=office, status=Booklet.Status.IN_STOCK).exists():
            return
        stamp = timezone.now().strftime("%y%m%d%H%M")
        rows = []
        for n in range(1, 6):
            number = f"X{secrets.randbelow(10**7):07d}"
            rows.append((f"DEMO{stamp}{n:02d}", number))
        actions.receive_booklets(office=office, booklets=rows, actor=person("kakanim"))
        self.say(f"      5 blank booklets received into the stock by the office head ({rows[0][0]}…)")
