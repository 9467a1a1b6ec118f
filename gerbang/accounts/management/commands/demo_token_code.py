from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from gerbang.accounts.demo import DEMO_STAFF, demo_code, demo_serial


class Command(BaseCommand):
    help = "Show the current code of a demo hardware token (not available in production)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("serial", nargs="*")

    def handle(self, *args: Any, **options: Any) -> None:
        serials = options["serial"] or [demo_serial(d.slug) for d in DEMO_STAFF]
        for serial in serials:
            self.stdout.write(f"{serial.upper():<20} {demo_code(serial.upper())}")
