from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from gerbang.accounts.demo import seed_demo_holiday, seed_demo_people
from gerbang.organisation.actions import load_offices
from gerbang.payments.actions import ensure_bank
from gerbang.tariffs.actions import load_tariffs
from gerbang.visas.catalogue import load_catalogue
from gerbang.visas.demo import seed_demo_foreigners


class Command(BaseCommand):
    help = "Load offices and tariffs from data/ and create the demo people (idempotent; never in production)."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("seed_demo refuses to run with GERBANG_ENV=production")
        data = Path(settings.BASE_DIR) / "data"
        offices = load_offices(data / "immigration_offices.csv")
        tariffs = load_tariffs(data / "tariffs.csv")
        kinds = load_catalogue(data / "visa_kinds.csv")
        people = seed_demo_people()
        foreigners = seed_demo_foreigners()
        holiday = seed_demo_holiday()
        ensure_bank(
            "bank-sandbox",
            "Bank Sandbox (demo)",
            actor=None,
            api_url=settings.BANK_SANDBOX_URL,
            account=settings.BANK_SANDBOX_ACCOUNT,
        )
        self.stdout.write(
            f"seed_demo: offices {offices.created} created / {offices.unchanged} unchanged; "
            f"{tariffs} tariff versions added; {kinds} visa and permit kinds added; "
            f"{len(people) + len(foreigners)} demo accounts created"
            + (f"; example office holiday on {holiday.day.isoformat()}" if holiday else "")
        )
