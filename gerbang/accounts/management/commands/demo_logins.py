from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from gerbang.accounts.demo import (
    DEMO_APPLICANT_EMAIL,
    DEMO_PASSWORD,
    DEMO_STAFF,
    demo_code,
    demo_email,
    demo_serial,
)


class Command(BaseCommand):
    help = "Print the demo log-ins (one per role) and the URLs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--base-url", default="http://localhost:8000")

    def handle(self, *args: Any, **options: Any) -> None:
        base = options["base_url"].rstrip("/")
        w = self.stdout.write
        w(f"Gerbang          {base}/")
        w(f"Staff sign-in    {base}/akun/staf/masuk/")
        w(f"API (OpenAPI)    {base}/api/v1/openapi.json   docs: {base}/api/v1/docs")
        w(f"Health           {base}/api/v1/health")
        w("")
        w(f"All demo passwords: {DEMO_PASSWORD}")
        w(f"  applicant                 {DEMO_APPLICANT_EMAIL}")
        for demo in DEMO_STAFF:
            w(f"  {demo.role.value:<25} {demo_email(demo.slug):<40} token {demo_serial(demo.slug)}")
        w("")
        w("Staff sign in with a hardware-token code. The demo tokens' current codes:")
        w("  .venv/bin/python manage.py demo_token_code           (all)")
        w(f"  .venv/bin/python manage.py demo_token_code {demo_serial('loket')}")
        w(f"  e.g. now: {demo_serial('admin1')} -> {demo_code(demo_serial('admin1'))}")
