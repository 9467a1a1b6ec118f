from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Development only: print the links in the newest e-mails written to the mail folder (var/mail/)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, default=1, help="how many of the newest e-mails")

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION or not settings.EMAIL_BACKEND.endswith("filebased.EmailBackend"):
            raise CommandError("demo_mail reads the development mail folder; this site sends real e-mail")
        folder = Path(settings.EMAIL_FILE_PATH)
        files = sorted(folder.glob("*.log"), key=lambda p: p.stat().st_mtime, reverse=True) if folder.exists() else []
        if not files:
            raise CommandError(f"no e-mail in {folder} yet")
        for path in files[: options["count"]]:
            text = path.read_text(errors="replace")
            to = re.search(r"^To: (.+)$", text, re.MULTILINE)
            subject = re.search(r"^Subject: (.+)$", text, re.MULTILINE)
            self.stdout.write(f"{to.group(1) if to else '?'}: {subject.group(1) if subject else ''}")
            for link in dict.fromkeys(re.findall(r"https?://\S+", text)):
                self.stdout.write(f"  {link}")
