from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from gerbang.audit import checkpoints


class Command(BaseCommand):
    help = "Create the audit log's Ed25519 signing key if it does not exist, and write its public key."

    def handle(self, *args: Any, **options: Any) -> None:
        path, created = checkpoints.generate_key()
        verb = "created" if created else "kept"
        self.stdout.write(f"audit-log key {verb}: {path}")
        self.stdout.write(f"public key: {checkpoints.public_key_path()} ({checkpoints.log_verifier().to_text()})")
