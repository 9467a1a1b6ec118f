"""SMS gateways, chosen by ``settings.GERBANG_SMS_BACKEND`` (a dotted path), like Django's e-mail backends.

The demo and the tests use :class:`FileBackend` (one file per message under
``var/sms/``); a production gateway is another class with the same ``send``.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string


class SmsBackend(Protocol):
    def send(self, number: str, text: str) -> str:
        """Send ``text`` to ``number``; returns the gateway's message id. Raises on failure."""
        ...


class FileBackend:
    def __init__(self, folder: Path | None = None) -> None:
        self.folder = Path(folder or settings.GERBANG_SMS_FILE_PATH)

    def send(self, number: str, text: str) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        message_id = f"{timezone.now():%Y%m%d%H%M%S}-{secrets.token_hex(4)}"
        body = json.dumps({"to": number, "text": text, "id": message_id}, ensure_ascii=False)
        (self.folder / f"{message_id}.json").write_text(body + "\n", encoding="utf-8")
        return message_id


def backend() -> SmsBackend:
    cls = import_string(settings.GERBANG_SMS_BACKEND)
    instance: SmsBackend = cls()
    return instance
