from __future__ import annotations

import signal
import threading
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError, close_old_connections

from gerbang.audit import sealing


class Command(BaseCommand):
    help = (
        "Run the sealer: every --interval seconds, seal committed audit events in batches. "
        "Several sealers may run; only one seals at a time."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=settings.AUDIT_SEAL_INTERVAL)

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        interval = max(0.05, float(options["interval"]))
        self.stdout.write(f"sealer: sealing every {interval:g} s", ending="\n")
        self.stdout.flush()
        while not stop.is_set():
            started = time.monotonic()
            try:
                sealed = sealing.seal_pending()
                if sealed:
                    self.stdout.write(f"sealer: sealed {sealed} event(s)")
                    self.stdout.flush()
            except (DatabaseError, sealing.SealingConflict) as exc:  # database restarting, or a race: next round
                self.stderr.write(f"sealer: {exc}")
                close_old_connections()
            stop.wait(max(0.0, interval - (time.monotonic() - started)))
        self.stdout.write("sealer: stopped")
