"""``manage.py demo_lottery [--minutes 5]``: demo slots and a lottery release at the demo office (not in production).

Run it once `make run` is up (the witness must answer). Applicants with a
submitted application at the demo office enter the draw on their status page;
the worker draws it a minute after the window closes (the ``run-draws``
schedule), and the public record is at ``/undian/<draw id>/``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from gerbang.accounts.demo import DEMO_OFFICE_NAME, demo_email
from gerbang.accounts.models import User
from gerbang.appointments import actions
from gerbang.audit.witness_client import WitnessUnavailable
from gerbang.organisation.models import Office


class Command(BaseCommand):
    help = "Open demo slots and a lottery release at the demo office (development only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--minutes", type=int, default=5, help="how long the request window stays open")
        parser.add_argument("--days-ahead", type=int, default=7, help="the slots' day, counted from today")

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("demo_lottery refuses to run with GERBANG_ENV=production")
        office = Office.objects.filter(name=DEMO_OFFICE_NAME).first()
        head = User.objects.filter(email=demo_email("kakanim")).first()
        if office is None or head is None:
            raise CommandError("run `manage.py seed_demo` first")
        # The demo office head, as if signed in with their hardware token (the pages check that; a command cannot).
        head.is_verified = lambda: True  # type: ignore[attr-defined]
        day = timezone.localdate() + dt.timedelta(days=options["days_ahead"])
        times = [dt.time(9), dt.time(10), dt.time(13), dt.time(14)]
        actions.create_slots(office=office, day=day, times=times, capacity=2, priority_capacity=1, actor=head)
        now = timezone.now()
        try:
            release = actions.open_release(
                office=office,
                first_day=day,
                last_day=day,
                window_opens_at=now,
                window_closes_at=now + dt.timedelta(minutes=max(1, options["minutes"])),
                actor=head,
            )
        except WitnessUnavailable as exc:
            raise CommandError(f"the witness must be running (make run): {exc}") from exc
        draw = release.draw
        self.stdout.write(
            f"lottery open at {office.name} for {day} until {release.window_closes_at:%H:%M:%S %Z}; "
            f"public record: {settings.GERBANG_PUBLIC_URL.rstrip('/')}/undian/{draw.public_id}/"
        )
