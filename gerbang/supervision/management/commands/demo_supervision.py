"""``manage.py demo_supervision``: planted abuse for the supervisors to find (development only).

Run by ``scripts/run.sh`` after ``demo_visas``, against the running web process, registry and bank
(``gerbang.supervision.demo`` says what it plants and how). Then it computes the integrity signals and prints
each one with its explanation, the demo supervisor who sees it, and the pages to open.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse
from django.utils import translation

from gerbang.accounts.demo import DEMO_OFFICE_NAME, DEMO_OTHER_OFFICE_NAME, DEMO_PASSWORD, demo_email, demo_serial
from gerbang.duty.demo import demo_duty_day
from gerbang.organisation.models import Office
from gerbang.supervision import demo
from gerbang.supervision.models import Signal
from gerbang.supervision.signals import refresh_signals

# Who the demo supervisors are, for the closing lines.
LEVELS = [
    ("kakanim", f"office head, {DEMO_OFFICE_NAME}"),
    ("kakanim-jaktim", f"office head, {DEMO_OTHER_OFFICE_NAME}"),
    ("kanwil", "regional supervisor, DKI Jakarta division (both offices; the anonymous reports)"),
    ("auditor", "directorate auditor (every office; the audit log's health)"),
]


class Command(BaseCommand):
    help = "Plant abuse among the demo offices' clean work and print the integrity signals found (development only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--base-url", default="", help="Gerbang's address (its pages are used over HTTP)")
        parser.add_argument("--wait", type=float, default=60, help="seconds to wait for the bank's notifications")
        parser.add_argument(
            "--no-audit-check",
            action="store_true",
            help="compute the signals without the audit log's health (sealing lag, witness, verification)",
        )

    def say(self, line: str = "") -> None:
        self.stdout.write(line)
        self.stdout.flush()

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("demo_supervision refuses to run with GERBANG_ENV=production")
        with translation.override("en"):  # the demo log is in English, like the other demos'
            self.run(options)

    def run(self, options: dict[str, Any]) -> None:
        base = (options["base_url"] or settings.GERBANG_PUBLIC_URL).rstrip("/")
        try:
            run = demo.SupervisionDemo(self.say, base=base, bank=settings.BANK_SANDBOX_URL, wait=options["wait"])
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        self.say(f"demo_supervision at {run.office.name} and {run.other.name}")
        for line in demo_duty_day():
            self.say(f"   {line}")
        try:
            run.run()
        except (demo.DemoFailed, ImproperlyConfigured) as exc:
            raise CommandError(str(exc)) from exc

        self.say("")
        found = refresh_signals(audit=not options["no_audit_check"])
        self.say(
            f"6. Integrity signals computed (the worker's compute-integrity-signals schedule does the same): "
            f"{found.found} found, {found.new} new"
        )
        for signal in (
            Signal.objects.filter(present=True)
            .select_related("office", "officer", "counter")
            .order_by("office__name", "kind", "pk")
        ):
            for line in demo.describe(signal, base):
                self.say(line)
        self.say("")
        self.say(
            "   The 'one client address' signal names everyone who filed over HTTP here: from one machine every "
            "request comes from 127.0.0.1. The browsers tell the broker's laptop from the family's phone."
        )
        if Signal.objects.filter(
            present=True, kind="broker", params__channel="terminal", params__key__startswith="CARD-GW"
        ).exists():
            self.say(
                "   The 'one payment device' signal on CARD-GW-01 is the sandbox bank's online card gateway, shared "
                "by every card payment: not a device of one payer (the card itself is the payer signal)."
            )
        self.closing(base)
        self.say(self.style.SUCCESS("demo_supervision: done."))

    def closing(self, base: str) -> None:
        offices = {o.name: o for o in Office.objects.filter(name__in=[DEMO_OFFICE_NAME, DEMO_OTHER_OFFICE_NAME])}
        self.say("")
        self.say(f"   Supervisors, at {base}{reverse('accounts:staff_login')} (password {DEMO_PASSWORD}; token codes:")
        self.say("   .venv/bin/python manage.py demo_token_code DEMO-KAKANIM DEMO-KANWIL DEMO-AUDITOR ...):")
        for slug, what in LEVELS:
            self.say(f"     {demo_email(slug):<40} token {demo_serial(slug):<22} {what}")
        self.say(f"   Dashboards        {base}{reverse('staff:supervision')}")
        for name, office in offices.items():
            self.say(f"     {name}: {base}{reverse('staff:supervision_office', args=[office.code])}")
        self.say(f"   Signals           {base}{reverse('staff:signals')}  (acknowledge, investigate, dismiss)")
        self.say(f"   Reports           {base}{reverse('staff:reports')}  (regional supervisor, auditor)")
        self.say(
            f"   Report anonymously {base}{reverse('public:report_new')}   follow one: "
            f"{base}{reverse('public:report_follow')}"
        )
        self.say(f"   Transparency      {base}{reverse('public:transparency')}")
        self.say("   The planted officers (they sign in the same way):")
        for officer in demo.OFFICERS:
            self.say(f"     {demo_email(officer.slug):<40} token {demo_serial(officer.slug):<22} {officer.note}")
