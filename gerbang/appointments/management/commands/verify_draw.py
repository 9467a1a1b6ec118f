"""``manage.py verify_draw DRAW_ID``: recompute a lottery draw from its public record (docs/lottery.md)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from gerbang.appointments.models import Draw
from gerbang.appointments.verification import verify


class Command(BaseCommand):
    help = "Check a draw: commitments, the witness's signatures, the root of the requests, the result digest."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("draw_id")

    def handle(self, *args: Any, **options: Any) -> None:
        draw = Draw.objects.select_related("release__office").filter(public_id=options["draw_id"]).first()
        if draw is None:
            raise CommandError(f"no draw {options['draw_id']!r}")
        checks = verify(draw)
        for check in checks:
            mark = "ok  " if check.ok else "FAIL"
            self.stdout.write(f"{mark} {check.name}" + ("" if check.ok or not check.detail else f": {check.detail}"))
        if not all(check.ok for check in checks):
            raise CommandError(f"draw {draw.public_id} does not verify")
        self.stdout.write(f"draw {draw.public_id} verifies")
