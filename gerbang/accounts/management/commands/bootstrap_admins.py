from __future__ import annotations

import getpass
import os
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from gerbang.accounts import actions


class Command(BaseCommand):
    help = (
        "Install the first two system administrators of a new Gerbang, each approved by the other, "
        "with their hardware tokens. Refused once a system administrator exists. Passwords come from "
        "GERBANG_ADMIN_PASSWORD_1 and _2 or are asked for."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        for n in (1, 2):
            parser.add_argument(f"--email{n}", required=True)
            parser.add_argument(f"--name{n}", required=True)
            parser.add_argument(f"--token{n}", required=True, help="SERIAL:SEED_HEX from the token vendor's file")

    def _password(self, n: int) -> str:
        value = os.environ.get(f"GERBANG_ADMIN_PASSWORD_{n}")
        if value:
            return value
        if not os.isatty(0):
            raise CommandError(f"set GERBANG_ADMIN_PASSWORD_{n} or run interactively")
        return getpass.getpass(f"Password for administrator {n}: ")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            with transaction.atomic():
                installer = actions.installer_account()
                admins = []
                for n in (1, 2):
                    serial, _sep, seed = options[f"token{n}"].partition(":")
                    if not serial or not seed:
                        raise CommandError(f"--token{n} must be SERIAL:SEED_HEX")
                    admin = actions.create_staff(
                        actor=None,
                        email=options[f"email{n}"],
                        full_name=options[f"name{n}"],
                        home_office=None,
                        password=self._password(n),
                    )
                    actions.register_hardware_token(admin, serial=serial, seed_hex=seed, actor=None)
                    admins.append(admin)
                actions.bootstrap_system_admins(admins[0], admins[1], installer=installer)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(self.style.SUCCESS(f"system administrators installed: {admins[0].email}, {admins[1].email}"))
