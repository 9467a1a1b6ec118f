"""ICAO Doc 9303 machine-readable zones: TD3 (passport booklet) and MRV-A (visa), both 2 lines x 44 characters.

Shared by casework (printing Indonesian passports) and visas (reading foreigners' passports, issuing visas).
Generation and checking are delegated to the PyPI package ``mrz``
(``mrz.generator.td3.TD3CodeGenerator`` / ``mrz.checker.td3.TD3CodeChecker`` and
``mrz.generator.mrva.MRVACodeGenerator`` / ``mrz.checker.mrva.MRVACodeChecker``);
this module adds the project's input rules on top of it:

* the Indonesian passport number format (one letter and 7 digits) for passports
  issued by ``IDN``;
* transliteration of names to A-Z with ``<`` between words;
* truncation of names longer than the 39-character name field (the library
  refuses such names instead of truncating them);
* clear ``ValueError`` messages instead of the library's tuple-shaped errors;
* :func:`parse_td3`: reading a passport's MRZ as typed or scanned back into :class:`PassportData`,
  with the century of each two-digit year chosen (the library only says whether the lines are valid).
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from dataclasses import dataclass
from typing import Final

from mrz.base.countries_ops import is_code
from mrz.checker.mrva import MRVACodeChecker
from mrz.checker.td3 import TD3CodeChecker
from mrz.generator.dictionaries.latin_based import transliteration as _LATIN_BASED
from mrz.generator.mrva import MRVACodeGenerator
from mrz.generator.td3 import TD3CodeGenerator

__all__ = [
    "LINE_LENGTH",
    "NAME_FIELD_LENGTH",
    "PassportData",
    "VisaData",
    "check_mrva",
    "check_td3",
    "is_passport_number",
    "mrva",
    "parse_td3",
    "td3",
    "transliterate",
]

LINE_LENGTH: Final = 44
"""Characters in each of the two TD3 lines."""

NAME_FIELD_LENGTH: Final = 39
"""Characters of line 1 holding the name (positions 6-44)."""

DOCUMENT_TYPE: Final = "P"
"""Document code of an ordinary passport."""

VISA_DOCUMENT_TYPE: Final = "V"
"""Document code of a machine-readable visa."""

EXPIRY_WINDOW_YEARS: Final = 50
"""A TD3's two-digit expiry year is read as the year between this many years ago and this many years ahead."""

INDONESIA: Final = "IDN"

_PASSPORT_NUMBER_RE: Final = re.compile(r"[A-Z][0-9]{7}")
# ICAO document number field: at most 9 characters (longer numbers need the
# overflow convention into the optional data field, which the library lacks).
_ICAO_DOCUMENT_NUMBER_RE: Final = re.compile(r"[A-Z0-9]{1,9}")
_COUNTRY_CODE_RE: Final = re.compile(r"[A-Z]{1,3}")
_OPTIONAL_DATA_RE: Final = re.compile(r"[A-Z0-9<]{0,14}")
# MRV-A: line-2 characters 29-44 are optional data without a check digit.
_VISA_OPTIONAL_DATA_RE: Final = re.compile(r"[A-Z0-9<]{0,16}")
_MRZ_LINE_RE: Final = re.compile(r"[A-Z0-9<]{44}")
_MRZ_CHARACTERS_RE: Final = re.compile(r"[A-Z0-9<]*")
_WHITESPACE_RE: Final = re.compile(r"\s+")
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


@dataclass(frozen=True)
class VisaData:
    """The holder and visa data that the MRV-A machine-readable zone (a visa, 2 lines x 44) encodes.

    ``number`` is the visa's document number (1-9 letters and digits). ``nationality`` is the holder's, as
    an ICAO code. ``valid_until`` is the last day the visa may be used (the MRZ's expiry date).
    ``optional_data`` is line-2 characters 29-44 (16 characters, no check digit). Names and sex follow the
    rules of :class:`PassportData`.
    """

    number: str
    surname: str
    given_names: str
    nationality: str
    birth_date: datetime.date
    sex: str
    valid_until: datetime.date
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


def _holder(surname: str, given_names: str, sex: str) -> tuple[str, str, str]:
    """Return the transliterated, fitted surname and given names and the MRZ sex code, or raise ValueError."""
    primary = transliterate(surname)
    if not primary:
        raise ValueError(f"surname {surname!r} has no Latin letters")
    secondary = transliterate(given_names)
    if not secondary and given_names.strip():
        raise ValueError(f"given names {given_names!r} have no Latin letters")
    primary, secondary = _fit_name(primary, secondary)

    code = _SEX_CODES.get(sex)
    if code is None:
        raise ValueError(f"sex {sex!r} must be 'M', 'F', 'X' or '<'")
    return primary, secondary, code


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

    surname, given_names, sex = _holder(data.surname, data.given_names, data.sex)

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


# --- Reading a TD3 -----------------------------------------------------------------------------

# The library's names for its checks (``checker.report.falses``) -> what to tell the person who typed the
# lines, in the order the problems are reported. Field checks come before the composite check digit,
# which fails too whenever a field is changed.
_TD3_PROBLEMS: Final = (
    ("document type format", "line 1 must start with 'P' (a passport), not {document_type!r}"),
    ("valid country code", "the issuing state {country!r} is not an ICAO country code"),
    ("identifier", "the name field (line 1, characters 6-44) is not SURNAME<<GIVEN<NAMES in letters"),
    ("document number format", "the document number is empty or starts with '<'"),
    ("document number hash", "the document number's check digit is wrong"),
    ("valid nationality code", "the nationality {nationality!r} is not an ICAO country code"),
    ("birth date", "the birth date {birth_date!r} is not a date (YYMMDD)"),
    ("birth date hash", "the birth date's check digit is wrong"),
    ("valid genre format", "the sex {sex!r} must be 'M', 'F' or '<'"),
    ("expiry date", "the expiry date {expiry_date!r} is not a date (YYMMDD)"),
    ("expiry date hash", "the expiry date's check digit is wrong"),
    ("optional data hash", "the optional data's check digit is wrong"),
    ("final hash", "the composite check digit (line 2, last character) is wrong"),
)
_EXPIRY_NOT_AFTER_BIRTH: Final = "the expiry date is not after the birth date"


def _normalise_line(value: str, number: int) -> str:
    """Return one MRZ line without spaces or line breaks, upper-cased; ValueError unless 44 MRZ characters."""
    line = _WHITESPACE_RE.sub("", value).upper()
    if len(line) != LINE_LENGTH:
        raise ValueError(f"line {number} must have {LINE_LENGTH} characters, not {len(line)}")
    if _MRZ_CHARACTERS_RE.fullmatch(line) is None:
        wrong = "".join(sorted({c for c in line if _MRZ_CHARACTERS_RE.fullmatch(c) is None}))
        raise ValueError(f"line {number} may only contain A-Z, 0-9 and '<', not {wrong!r}")
    return line


def _is_yymmdd(value: str) -> bool:
    try:
        datetime.datetime.strptime(value, "%y%m%d")
    except ValueError:
        return False
    return True


def _birth_date(yymmdd: str, today: datetime.date) -> datetime.date:
    """The date ``YYMMDD`` in the latest century that does not put it after ``today``."""
    year, month, day = int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:])
    century = today.year // 100 * 100
    for candidate in (century + year, century - 100 + year):
        try:
            value = datetime.date(candidate, month, day)
        except ValueError:  # 29 February in a year that is not a leap year (1900)
            continue
        if value <= today:
            return value
    raise ValueError(f"the birth date {yymmdd!r} is not a date in the last 100 years")


def _expiry_date(yymmdd: str, today: datetime.date) -> datetime.date:
    """The date ``YYMMDD`` whose year lies from ``EXPIRY_WINDOW_YEARS`` years ago to as many years (minus one) ahead."""
    first = today.year - EXPIRY_WINDOW_YEARS
    year = first + (int(yymmdd[:2]) - first) % 100
    try:
        return datetime.date(year, int(yymmdd[2:4]), int(yymmdd[4:]))
    except ValueError as exc:
        raise ValueError(f"the expiry date {yymmdd!r} is not a date (YYMMDD)") from exc


def parse_td3(line1: str, line2: str, *, today: datetime.date | None = None) -> PassportData:
    """Read a passport's TD3 machine-readable zone, as typed or scanned, into :class:`PassportData`.

    Spaces and line breaks inside each line are removed and letters upper-cased; each line must then be 44
    characters of ``A-Z``, ``0-9`` and ``<``. The library's checker verifies the document type (``P``),
    the country codes, the name field, the sex and every check digit (document number, birth date, expiry
    date, optional data, composite). The returned data has the document number and optional data without
    their ``<`` fillers, names with ``<`` turned back into spaces, sex ``"X"`` for unspecified (``<``), and
    the country codes as written without fillers (Germany's is ``"D"``, as ICAO assigns it).

    Two-digit years: a birth date is the latest one that is not after ``today``; an expiry date lies within
    ``EXPIRY_WINDOW_YEARS`` years of ``today`` either way (an expired passport is read, not refused). The
    expiry must follow the birth date. ``today`` defaults to the system date.

    Raises ValueError naming every problem found, e.g. "the birth date's check digit is wrong".
    """
    today = today or datetime.date.today()
    line1 = _normalise_line(line1, 1)
    line2 = _normalise_line(line2, 2)

    try:
        checker = TD3CodeChecker(f"{line1}\n{line2}")
    except (ValueError, IndexError) as exc:  # pragma: no cover - the lines were checked above
        raise ValueError(f"the lines are not a TD3 machine-readable zone: {exc.args}") from exc

    values = {
        "document_type": line1[0:2],
        "country": line1[2:5],
        "nationality": line2[10:13],
        "birth_date": line2[13:19],
        "sex": line2[20],
        "expiry_date": line2[21:27],
    }
    if not checker:
        failed = {name for name, ok in checker.report.falses if not ok}
        problems: list[str] = []
        for name, template in _TD3_PROBLEMS:
            if name not in failed:
                continue
            if name in {"birth date", "expiry date"} and _is_yymmdd(values[name.replace(" ", "_")]):
                # The library marks both dates when the expiry is not after the birth date.
                template = _EXPIRY_NOT_AFTER_BIRTH  # noqa: PLW2901
            message = template.format(**values)
            if message not in problems:
                problems.append(message)
        raise ValueError("; ".join(problems) or "the lines are not a valid TD3 machine-readable zone")

    issuing_state = _country_code(line1[2:5].rstrip("<"), "issuing state")
    nationality = _country_code(line2[10:13].rstrip("<"), "nationality")
    number = line2[0:9].rstrip("<")
    if _ICAO_DOCUMENT_NUMBER_RE.fullmatch(number) is None:
        raise ValueError(f"the document number {line2[0:9]!r} must be letters and digits followed by '<' fillers")

    birth_date = _birth_date(line2[13:19], today)
    expiry_date = _expiry_date(line2[21:27], today)
    if expiry_date <= birth_date:
        raise ValueError(_EXPIRY_NOT_AFTER_BIRTH)

    fields = checker.fields()
    return PassportData(
        number=number,
        surname=fields.surname,
        given_names=fields.name,
        birth_date=birth_date,
        sex="X" if line2[20] == "<" else line2[20],
        expiry_date=expiry_date,
        nationality=nationality,
        issuing_state=issuing_state,
        optional_data=line2[28:42].rstrip("<"),
    )


# --- MRV-A (visa) ------------------------------------------------------------------------------


def mrva(data: VisaData) -> tuple[str, str]:
    """Return the two 44-character lines of the MRV-A machine-readable zone (a visa) for ``data``.

    The document type is ``V``; the number is any ICAO document number of 1-9 letters and digits; names
    are transliterated and truncated as for :func:`td3`; optional data is at most 16 characters. Line 2
    has check digits for the number, birth date and expiry (``valid_until``) only.

    Raises ValueError with a message naming the offending field for invalid input.
    """
    issuing_state = _country_code(data.issuing_state, "issuing state")
    nationality = _country_code(data.nationality, "nationality")
    if _ICAO_DOCUMENT_NUMBER_RE.fullmatch(data.number) is None:
        raise ValueError(f"visa number {data.number!r} must be 1 to 9 uppercase letters and digits")

    surname, given_names, sex = _holder(data.surname, data.given_names, data.sex)

    if data.valid_until <= data.birth_date:
        raise ValueError(f"valid-until date {data.valid_until} is not after birth date {data.birth_date}")

    if _VISA_OPTIONAL_DATA_RE.fullmatch(data.optional_data) is None:
        raise ValueError(f"optional data {data.optional_data!r} must be at most 16 uppercase letters, digits or '<'")

    try:
        generator = MRVACodeGenerator(
            VISA_DOCUMENT_TYPE,
            issuing_state,
            surname,
            given_names,
            data.number,
            nationality,
            _yymmdd(data.birth_date),
            sex,
            _yymmdd(data.valid_until),
            data.optional_data,
        )
        line1, line2 = str(generator).split("\n")
    except ValueError as exc:  # the library's errors subclass ValueError
        raise ValueError(f"cannot generate the MRZ: {exc.args}") from exc

    if not check_mrva(line1, line2):
        # E.g. a date that the two-digit years of the MRZ cannot represent.
        raise ValueError(f"the generated MRZ does not pass the MRV-A check: {line1!r} {line2!r}")
    return line1, line2


def check_mrva(line1: str, line2: str) -> bool:
    """Return True only if ``line1`` and ``line2`` form a well-formed MRV-A with correct check digits.

    Both lines must be exactly 44 characters of ``A-Z``, ``0-9`` and ``<``. The library's checker then
    verifies the document type (``V...``), the country codes, the name field, the dates (expiry after
    birth), the sex, and the check digits of the document number, birth date and expiry date. Optional
    data (line-2 characters 29-44) has no check digit.
    """
    if _MRZ_LINE_RE.fullmatch(line1) is None or _MRZ_LINE_RE.fullmatch(line2) is None:
        return False
    try:
        checker = MRVACodeChecker(f"{line1}\n{line2}")
    except (ValueError, IndexError):
        return False
    return bool(checker)
