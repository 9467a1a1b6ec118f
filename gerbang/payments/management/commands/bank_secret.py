from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from gerbang.payments.models import Bank


class Command(BaseCommand):
    help = (
        "Create a bank's HMAC secret file BANK_SECRETS_DIR/<code>.secrets (kept if present); "
        "--rotate puts a new secret first and keeps the old one until --retire-old."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("code")
        parser.add_argument("--rotate", action="store_true", help="add a new first secret, keep the current one")
        parser.add_argument("--retire-old", action="store_true", help="keep only the first secret")

    def handle(self, *args: Any, **options: Any) -> None:
        code = options["code"]
        if not Bank.objects.filter(code=code).exists():
            raise CommandError(f"no bank with code {code!r}")
        folder = Path(settings.BANK_SECRETS_DIR)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{code}.secrets"
        lines = [line for line in path.read_text().splitlines() if line.strip()] if path.exists() else []
        secrets_now = [line for line in lines if not line.startswith("#")]
        if not secrets_now or options["rotate"]:
            secrets_now.insert(0, secrets.token_hex(32))
        if options["retire_old"]:
            secrets_now = secrets_now[:1]
        text = "# HMAC-SHA256 secrets shared with the bank; the first signs (docs/bank-protocol.md)\n"
        text += "\n".join(secrets_now) + "\n"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(text)
        self.stdout.write(f"{path}: {len(secrets_now)} secret(s)")
