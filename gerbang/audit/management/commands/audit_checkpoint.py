from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from gerbang.audit import checkpoints, sealing


class Command(BaseCommand):
    help = "Seal pending events, then sign a tree head (size, root, time) and write it under var/checkpoints/."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--force", action="store_true", help="sign even if the log has not grown")
        parser.add_argument("--no-seal", action="store_true", help="do not seal pending events first")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["no_seal"]:
            sealing.seal_pending()
        try:
            head = checkpoints.sign_checkpoint(force=options["force"])
        except checkpoints.KeyMissing as exc:
            raise CommandError(str(exc)) from exc
        if head is None:
            self.stdout.write("the log has not grown since the last checkpoint; nothing signed (--force signs anyway)")
            return
        self.stdout.write(f"checkpoint: size {head.checkpoint.size}, written to {head.path}")
        self.stdout.write(head.note)
