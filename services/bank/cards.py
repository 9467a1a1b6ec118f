"""Online card payments (the ``card`` channel): the checks on a card as typed, and what the bank keeps of it.

The bank never keeps a card number. It keeps the last four digits (shown
masked, ``**** **** **** 1234``), the network guessed from the first digit,
and the payer reference: the keyed hash of ``card:<number>`` (see store.py), so
the same card paying for many applicants is recognisable without the number.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

CARD_NUMBER = re.compile(r"[0-9]{12,19}")
LAST4 = re.compile(r"[0-9]{4}")
MASK = "**** **** **** "
NETWORKS = {"4": "Visa", "5": "Mastercard", "3": "Amex/JCB"}  # first digit -> network; anything else: "card"
TEST_CARD = "4111111111111111"  # the well-known Visa test number (Luhn-valid), the test API's default
MAX_YEARS_AHEAD = 20  # no card is issued for longer: a year further ahead is a typo


def _luhn_sum(digits: str) -> int:
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2 == 1:  # every second digit from the right, the check digit being the first
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total


def luhn_valid(number: str) -> bool:
    """Whether ``number`` (ASCII digits only) ends with a valid Luhn check digit."""
    if not number or not number.isascii() or not number.isdigit():
        return False
    return _luhn_sum(number) % 10 == 0


def luhn_check_digit(payload: str) -> str:
    """The Luhn check digit to append to ``payload`` (ASCII digits)."""
    if not payload.isascii() or not payload.isdigit():
        raise ValueError("digits only")
    return str((10 - _luhn_sum(payload + "0") % 10) % 10)


def parse_card_number(text: str) -> tuple[str | None, str]:
    """``(digits, "")`` for a card number as typed (spaces and dashes allowed), or ``(None, what is wrong)``.

    12 to 19 digits, the last one a valid Luhn check digit (it catches every single
    mistyped digit and most swaps of neighbours).
    """
    number = re.sub(r"[\s-]", "", text)
    if not number:
        return None, "Enter the card number. (Masukkan nomor kartu.)"
    if not number.isascii() or not CARD_NUMBER.fullmatch(number):
        return None, "A card number is 12 to 19 digits. (Nomor kartu 12-19 angka.)"
    if not luhn_valid(number):
        return None, (
            "That card number is not valid: check the digits (its check digit does not match)."
            " (Nomor kartu tidak valid: periksa angkanya.)"
        )
    return number, ""


def network(number: str) -> str:
    """The card network guessed from the first digit: Visa, Mastercard, Amex/JCB, or just "card"."""
    return NETWORKS.get(number[:1], "card")


def mask(last4: str) -> str:
    """``**** **** **** 1234``: all the bank ever shows of a card number."""
    if not LAST4.fullmatch(last4):
        raise ValueError("the last four digits of a card")
    return MASK + last4


def parse_expiry(month_text: str, year_text: str, today: dt.date) -> tuple[tuple[int, int] | None, str]:
    """``((year, month), "")`` for a card valid at least until the end of this month; else ``(None, message)``.

    The year may be given with two digits (``28`` is 2028). A card is valid through the
    last day of its expiry month, so this month's cards are still accepted.
    """
    month_text, year_text = month_text.strip(), year_text.strip()
    if not (month_text.isascii() and month_text.isdigit() and 1 <= int(month_text) <= 12):
        return None, "The expiry month is 1 to 12. (Bulan kedaluwarsa 1-12.)"
    if not (year_text.isascii() and year_text.isdigit() and len(year_text) in (2, 4)):
        return None, "The expiry year is 2 or 4 digits, e.g. 2028. (Tahun kedaluwarsa, mis. 2028.)"
    month, year = int(month_text), int(year_text)
    if year < 100:
        year += 2000
    if (year, month) < (today.year, today.month):
        return None, "This card has expired. (Kartu sudah kedaluwarsa.)"
    if year > today.year + MAX_YEARS_AHEAD:
        return None, "Check the expiry year: it is too far ahead. (Periksa tahun kedaluwarsa.)"
    return (year, month), ""


@dataclass(frozen=True)
class Card:
    """What the bank keeps of a card: its payer reference, last four digits and network. Never the number."""

    ref: str
    last4: str
    network: str

    def __post_init__(self) -> None:
        if not LAST4.fullmatch(self.last4):
            raise ValueError("a card keeps only its last four digits")
        if not re.fullmatch(r"[A-Za-z0-9_-]{43}", self.ref):
            raise ValueError("a card's payer reference is a keyed hash (43 base64url characters)")

    @property
    def masked(self) -> str:
        return mask(self.last4)

    def __str__(self) -> str:
        return f"{self.network} {self.masked}"
