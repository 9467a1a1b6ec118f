"""``manage.py load_holidays <file.csv>``: national holidays (columns ``date`` as YYYY-MM-DD, ``name``).

Idempotent and audited (``organisation.holiday_declared`` / ``holiday_renamed``). The whole file is one
transaction: a refused line (a day with booked appointments somewhere) loads nothing. Gerbang ships no list:
load the government's decree (national holidays and collective leave, "cuti bersama") for the year.
An office's own holidays are declared by its head on the office calendar (/staf/kantor/<code>/jadwal/).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from gerbang.organisation.actions import load_national_holidays


class Command(BaseCommand):
    help = "Declare national holidays from a CSV file with the columns date (YYYY-MM-DD) and name (audited)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["path"])
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        try:
            result = load_national_holidays(path)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(
            f"national holidays: {result.created} declared, {result.updated} renamed, {result.unchanged} unchanged"
        )
