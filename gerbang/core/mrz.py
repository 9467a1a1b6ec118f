"""ICAO Doc 9303 TD3 machine-readable zone (passport booklet, 2 lines x 44 characters).

Generation and checking are delegated to the PyPI package ``mrz``
(``mrz.generator.td3.TD3CodeGenerator`` and ``mrz.checker.td3.TD3CodeChecker``);
this module adds the project's input rules on top of it:

* the Indonesian passport number format (one letter and 7 digits) for passports
  issued by ``IDN``;
* transliteration of names to A-Z with ``<`` between words;
* truncation of names longer than the 39-character name field (the library
  refuses such names instead of truncating them);
* clear ``ValueError`` messages instead of the library's tuple-shaped errors.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from dataclasses import dataclass
from typing import Final

from mrz.base.countries_ops import is_code
from mrz.checker.td3 import TD3CodeChecker
from mrz.generator.dictionaries.latin_based import transliteration as _LATIN_BASED
from mrz.generator.td3 import TD3CodeGenerator

__all__ = [
    "LINE_LENGTH",
    "NAME_FIELD_LENGTH",
    "PassportData",
    "check_td3",
    "is_passport_number",
    "td3",
    "transliterate",
]

LINE_LENGTH: Final = 44
"""Characters in each of the two TD3 lines."""

NAME_FIELD_LENGTH: Final = 39
"""Characters of line 1 holding the name (positions 6-44)."""

DOCUMENT_TYPE: Final = "P"
"""Document code of an ordinary passport."""

INDONESIA: Final = "IDN"

_PASSPORT_NUMBER_RE: Final = re.compile(r"[A-Z][0-9]{7}")
# ICAO document number field: at most 9 characters (longer numbers need the
# overflow convention into the optional data field, which the library lacks).
_ICAO_DOCUMENT_NUMBER_RE: Final = re.compile(r"[A-Z0-9]{1,9}")
_COUNTRY_CODE_RE: Final = re.compile(r"[A-Z]{1,3}")
_OPTIONAL_DATA_RE: Final = re.compile(r"[A-Z0-9<]{0,14}")
_MRZ_LINE_RE: Final = re.compile(r"[A-Z0-9<]{44}")
_WORD_SEPARATORS_RE: Final = re.compile(r"[\s\-\u2010\u2011]+")

# Apostrophes (in all their typographic forms) and full stops are omitted from
# the MRZ; every other character must transliterate to A-Z.
_DROPPED_CHARACTERS: Final = frozenset("'\u2018\u2019\u02bc\u0060\u00b4.")

# Sex as accepted here -> sex as written in the TD3 (unspecified is "<").
_SEX_CODES: Final = {"M": "M", "F": "F", "X": "<", "<": "<"}


@dataclass(frozen=True)
class PassportData:
    """The holder and document data that the TD3 machine-readable zone encodes.

    ``number`` is the passport number (``C1234567`` for an Indonesian passport).
    ``surname`` is the primary identifier; a holder with a single name has it
    there and an empty ``given_names``. ``sex`` is ``"M"``, ``"F"``, or ``"X"`` /
    ``"<"`` for unspecified. ``optional_data`` is the 14-character personal
    number field; it stays empty for Indonesian passports (the NIK does not go
    there).
    """

    number: str
    surname: str
    given_names: str
    birth_date: datetime.date
    sex: str
    expiry_date: datetime.date
    nationality: str = INDONESIA
    issuing_state: str = INDONESIA
    optional_data: str = ""


def is_passport_number(value: str) -> bool:
    """Return True if ``value`` is an Indonesian passport number: one uppercase letter then 7 digits."""
    return _PASSPORT_NUMBER_RE.fullmatch(value) is not None


def _transliterate_character(character: str) -> str:
    """Return the A-Z spelling of one character, or raise ValueError if it has none."""
    if character in _DROPPED_CHARACTERS:
        return ""
    mapped = _LATIN_BASED.get(character)
    if not isinstance(mapped, str):
        # Not in the library's table: strip diacritics by Unicode decomposition.
        decomposed = unicodedata.normalize("NFKD", character)
        mapped = "".join(c for c in decomposed if not unicodedata.combining(c))
    mapped = mapped.upper()
    if not all("A" <= c <= "Z" for c in mapped):
        raise ValueError(f"character {character!r} has no Latin (A-Z) transliteration")
    return mapped


def transliterate(name: str) -> str:
    """Return ``name`` as written in the MRZ: A-Z letters with ``<`` between words.

    Uses the ``mrz`` library's Latin transliteration table (ICAO Doc 9303 Part 3,
    e.g. ``é`` -> ``E``, ``ä`` -> ``AE``, ``ß`` -> ``SS``) and strips any other
    diacritics. Spaces and hyphens become a single ``<``; apostrophes and full
    stops are dropped. Raises ValueError if a character cannot be written in
    A-Z (digits, non-Latin scripts, other punctuation). Returns ``""`` for a
    blank name.
    """
    words: list[str] = []
    for word in _WORD_SEPARATORS_RE.split(unicodedata.normalize("NFC", name).strip()):
        try:
            latin = "".join(_transliterate_character(c) for c in word)
        except ValueError as exc:
            raise ValueError(f"name {name!r}: {exc}") from exc
        if latin:
            words.append(latin)
    return "<".join(words)


def _fit_name(surname: str, given_names: str) -> tuple[str, str]:
    """Truncate transliterated identifiers so that ``SURNAME<<GIVEN<NAMES`` fits the name field.

    The name is cut at the end of the 39-character field, so the secondary
    identifier is shortened first and the primary one only when it alone is too
    long. Fillers left at the end by a cut are removed. A name without a
    secondary identifier is limited to 37 characters, because the library always
    writes ``<<`` after the primary identifier.
    """
    full = f"{surname}<<{given_names}" if given_names else surname
    if len(full) > NAME_FIELD_LENGTH:
        full = full[:NAME_FIELD_LENGTH].rstrip("<")
    primary, _, secondary = full.partition("<<")
    if not secondary:
        primary = primary[: NAME_FIELD_LENGTH - 2].rstrip("<")
    return primary, secondary


def _country_code(value: str, label: str) -> str:
    if _COUNTRY_CODE_RE.fullmatch(value) is None or not is_code(value):
        raise ValueError(f"{label} {value!r} is not an ICAO country code (3 uppercase letters, e.g. 'IDN')")
    return value


def _yymmdd(value: datetime.date) -> str:
    return value.strftime("%y%m%d")


def td3(data: PassportData) -> tuple[str, str]:
    """Return the two 44-character lines of the TD3 machine-readable zone for ``data``.

    The document type is ``P``. For a passport issued by ``IDN`` the number must
    be an Indonesian passport number (see :func:`is_passport_number`); for other
    issuing states any ICAO document number of 1-9 letters and digits is taken.
    Names longer than the 39-character field are truncated.

    Raises ValueError with a message naming the offending field for invalid input.
    """
    issuing_state = _country_code(data.issuing_state, "issuing state")
    nationality = _country_code(data.nationality, "nationality")

    if issuing_state == INDONESIA:
        if not is_passport_number(data.number):
            raise ValueError(
                f"passport number {data.number!r} is not an Indonesian passport number (one letter and 7 digits)"
            )
    elif _ICAO_DOCUMENT_NUMBER_RE.fullmatch(data.number) is None:
        raise ValueError(f"document number {data.number!r} must be 1 to 9 uppercase letters and digits")

    surname = transliterate(data.surname)
    if not surname:
        raise ValueError(f"surname {data.surname!r} has no Latin letters")
    given_names = transliterate(data.given_names)
    if not given_names and data.given_names.strip():
        raise ValueError(f"given names {data.given_names!r} have no Latin letters")
    surname, given_names = _fit_name(surname, given_names)

    sex = _SEX_CODES.get(data.sex)
    if sex is None:
        raise ValueError(f"sex {data.sex!r} must be 'M', 'F', 'X' or '<'")

    if data.expiry_date <= data.birth_date:
        raise ValueError(f"expiry date {data.expiry_date} is not after birth date {data.birth_date}")

    if _OPTIONAL_DATA_RE.fullmatch(data.optional_data) is None:
        raise ValueError(f"optional data {data.optional_data!r} must be at most 14 uppercase letters, digits or '<'")

    try:
        generator = TD3CodeGenerator(
            DOCUMENT_TYPE,
            issuing_state,
            surname,
            given_names,
            data.number,
            nationality,
            _yymmdd(data.birth_date),
            sex,
            _yymmdd(data.expiry_date),
            data.optional_data,
        )
        line1, line2 = str(generator).split("\n")
    except ValueError as exc:  # the library's errors subclass ValueError
        raise ValueError(f"cannot generate the MRZ: {exc.args}") from exc

    if not check_td3(line1, line2):
        # E.g. a date that the two-digit years of the MRZ cannot represent.
        raise ValueError(f"the generated MRZ does not pass the TD3 check: {line1!r} {line2!r}")
    return line1, line2


def check_td3(line1: str, line2: str) -> bool:
    """Return True only if ``line1`` and ``line2`` form a well-formed TD3 with correct check digits.

    Both lines must be exactly 44 characters of ``A-Z``, ``0-9`` and ``<``.
    The library's checker then verifies the document type (``P...``), the
    country codes, the name field, the dates (expiry after birth), the sex, and
    the check digits of the document number, birth date, expiry date, optional
    data and the composite (line-2 characters 1-10, 14-20, 22-43). Expiry in
    the past and single-name holders are accepted (they are warnings, not
    errors, in the library).
    """
    if _MRZ_LINE_RE.fullmatch(line1) is None or _MRZ_LINE_RE.fullmatch(line2) is None:
        return False
    try:
        checker = TD3CodeChecker(f"{line1}\n{line2}")
    except (ValueError, IndexError):
        return False
    return bool(checker)
