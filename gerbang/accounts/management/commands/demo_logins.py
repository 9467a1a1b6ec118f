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

# From services/registry/README.md (the registry's fixed demo residents).
DEMO_RESIDENTS = [
    ("Siti Rahayu", "3173015708870001", "3173011001200001", "1987-08-17", "mother of two minors: files for them too"),
    ("I Made Wirawan", "5171012506780001", "5171010503120001", "1978-06-25", "one minor child"),
    ("Andi Wijaya", "3578010112920001", "3578012010200001", "1992-12-01", "lives alone"),
]


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
        w(f"  applicant                 {DEMO_APPLICANT_EMAIL}   (no NIK yet: verifies one on first use)")
        from gerbang.visas import demo as visa_demo

        w(f"  sponsor (company)         {visa_demo.SPONSOR_EMAIL}   ({visa_demo.SPONSOR_COMPANY}: visas, stay permits)")
        for person in visa_demo.FOREIGNERS[1:]:
            w(f"  foreign national          {visa_demo.email(person):<40} {person.note}")
        for demo in DEMO_STAFF:
            w(f"  {demo.role.value:<25} {demo_email(demo.slug):<40} token {demo_serial(demo.slug)}")
        w("")
        w("Staff sign in with a hardware-token code. The demo tokens' current codes:")
        w("  .venv/bin/python manage.py demo_token_code           (all)")
        w(f"  .venv/bin/python manage.py demo_token_code {demo_serial('loket')}")
        w(f"  e.g. now: {demo_serial('admin1')} -> {demo_code(demo_serial('admin1'))}")
        w("")
        w(f"Demo residents of the sandbox population registry: register at {base}/akun/daftar/ with")
        for name, nik, kk, born, note in DEMO_RESIDENTS:
            w(f"  {name:<16} NIK {nik}  KK {kk}  born {born}  {note}")
        w("  (the full list: services/registry/README.md). A NIK alone is not enough: all four must match.")
        w("Confirmation e-mails are written to var/mail/; the newest link:")
        w("  .venv/bin/python manage.py demo_mail")
