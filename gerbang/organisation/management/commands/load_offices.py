from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from gerbang.organisation.actions import load_offices


class Command(BaseCommand):
    help = "Create or update divisions and immigration offices from a CSV file (idempotent, audited)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "path", nargs="?", default=str(Path(settings.BASE_DIR) / "data" / "immigration_offices.csv")
        )

    def handle(self, *args: Any, **options: Any) -> None:
        result = load_offices(Path(options["path"]))
        self.stdout.write(f"offices: {result.created} created, {result.updated} updated, {result.unchanged} unchanged")
