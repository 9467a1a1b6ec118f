"""Gerbang's client of the population registry (signed HTTP; services/registry is the sandbox).

The registry is asked whether a NIK, family-card number, name and birth date
belong together. Requests are signed with Gerbang's client key; an answer is
believed only when it is signed by the registry's key and bound to the request
(``signedhttp``). Anything else, including a registry that cannot be reached,
is :class:`RegistryUnavailable`: the caller tells the person to try again
later and saves nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from signedhttp import KeyFileError, Keyring, RemoteError, SignatureError, load_keypair, post_json

logger = logging.getLogger(__name__)


class RegistryUnavailable(Exception):
    """The registry did not give a trustworthy answer (unreachable, unsigned, malformed)."""


@dataclass(frozen=True)
class Resident:
    nik: str
    name: str
    birth_date: dt.date
    sex: str
    relationship: str
    kk: str = ""
    birth_place: str = ""
    father_name: str = ""
    mother_name: str = ""


@dataclass(frozen=True)
class Match:
    person: Resident
    minors: list[Resident]


def _call(path: str, payload: dict[str, str]) -> tuple[int, Any]:
    try:
        pair = load_keypair(settings.REGISTRY_CLIENT_KEY_FILE)
        keyring = Keyring.from_files([settings.REGISTRY_PUBLIC_KEY_FILE])
    except KeyFileError as exc:
        logger.error("registry keys: %s", exc)
        raise RegistryUnavailable(str(exc)) from exc
    url = settings.REGISTRY_URL.rstrip("/") + path
    try:
        return post_json(
            url,
            payload,
            key_id=pair.key_id,
            private_key=pair.private_key,
            keyring=keyring,
            timeout=settings.REGISTRY_TIMEOUT,
        )
    except (RemoteError, SignatureError) as exc:
        logger.warning("registry %s: %s", path, exc)
        raise RegistryUnavailable(str(exc)) from exc


def _resident(data: Any) -> Resident:
    try:
        return Resident(
            nik=str(data["nik"]),
            name=str(data["name"]),
            birth_date=dt.date.fromisoformat(str(data["birth_date"])),
            sex=str(data["sex"]),
            relationship=str(data.get("relationship", "")),
            kk=str(data.get("kk", "")),
            birth_place=str(data.get("birth_place", "")),
            father_name=str(data.get("father_name", "")),
            mother_name=str(data.get("mother_name", "")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise RegistryUnavailable(f"malformed resident in the registry's answer: {exc}") from exc


def verify(*, nik: str, kk: str, name: str, birth_date: dt.date) -> Match | None:
    """The registry's person and the minors on their card if all four agree; ``None`` if they do not."""
    status, answer = _call("/v1/verify", {"nik": nik, "kk": kk, "name": name, "birth_date": birth_date.isoformat()})
    if status != 200 or not isinstance(answer, dict) or not isinstance(answer.get("match"), bool):
        raise RegistryUnavailable(f"unexpected answer from the registry: HTTP {status}")
    if not answer["match"]:
        return None
    person = _resident(answer.get("person"))
    if person.nik != nik:
        raise RegistryUnavailable("the registry answered about another NIK")
    family = answer.get("family") or []
    if not isinstance(family, list):
        raise RegistryUnavailable("malformed family in the registry's answer")
    return Match(person=person, minors=[_resident(item) for item in family])


def photo(nik: str) -> tuple[str, str] | None:
    """``(content_type, base64 photo)`` of a resident's face photo, or ``None`` for an unknown NIK."""
    status, answer = _call("/v1/photo", {"nik": nik})
    if status == 404:
        return None
    if status != 200 or not isinstance(answer, dict) or answer.get("content_type") != "image/png":
        raise RegistryUnavailable(f"unexpected answer from the registry: HTTP {status}")
    return "image/png", str(answer.get("photo", ""))
