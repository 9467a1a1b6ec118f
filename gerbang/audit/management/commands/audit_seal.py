from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from gerbang.audit import sealing


class Command(BaseCommand):
    help = "Seal every committed audit event now (one pass; the sealer process does this continuously)."

    def handle(self, *args: Any, **options: Any) -> None:
        sealed = sealing.seal_pending()
        self.stdout.write(f"sealed {sealed} event(s); log size {sealing.chain_head().size}")
