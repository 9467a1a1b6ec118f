"""Reference numbers: ``PAS`` + 11 random digits + a Damm check digit, shown as ``PAS-1234-5678-9012``.

The Damm algorithm (python-stdnum's ``stdnum.damm``) detects every single-digit
error and every swap of two adjacent digits, so a mistyped reference is
recognised as such instead of finding somebody else's application. Random, not
sequential: a reference reveals nothing about other applications.
"""

from __future__ import annotations

import secrets

from stdnum import damm

PREFIX = "PAS"


def new_reference(prefix: str = PREFIX) -> str:
    """``prefix`` names the service: ``PAS`` passports, ``VIS`` visas and stay permits (gerbang.visas)."""
    body = f"{secrets.randbelow(10**11):011d}"
    return prefix + body + damm.calc_check_digit(body)


def compact(value: str) -> str:
    return "".join(ch for ch in (value or "").upper() if ch.isalnum())


def is_valid(value: str, prefix: str = PREFIX) -> bool:
    """Well-formed with a correct check digit (whether or not such an application exists)."""
    value = compact(value)
    digits = value[len(prefix) :]
    return value.startswith(prefix) and len(digits) == 12 and digits.isdigit() and damm.is_valid(digits)


def display(reference: str) -> str:
    if not reference:
        return ""
    prefix, digits = reference[:3], reference[3:]
    return f"{prefix}-{digits[:4]}-{digits[4:8]}-{digits[8:]}"
