"""Tests of the TD3 (passport) machine-readable zone: generation, checking, names and input rules."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

import pytest

from gerbang.casework.mrz import PassportData, check_td3, is_passport_number, td3, transliterate

SPECIMEN_LINE1 = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<"
SPECIMEN_LINE2 = "L898902C36UTO7408122F1204159ZE184226B<<<<<10"

# 0-based positions in line 2 covered by a check digit, and the check digits themselves.
DOCUMENT_NUMBER = range(0, 9)
BIRTH_DATE = range(13, 19)
EXPIRY_DATE = range(21, 27)
OPTIONAL_DATA = range(28, 42)
CHECK_DIGITS = (9, 19, 27, 42, 43)
PROTECTED_POSITIONS = sorted({*DOCUMENT_NUMBER, *BIRTH_DATE, *EXPIRY_DATE, *OPTIONAL_DATA, *CHECK_DIGITS})


def specimen() -> PassportData:
    """The ICAO Doc 9303 Part 4 TD3 specimen (issuing state Utopia)."""
    return PassportData(
        number="L898902C3",
        surname="Eriksson",
        given_names="Anna Maria",
        birth_date=datetime.date(1974, 8, 12),
        sex="F",
        expiry_date=datetime.date(2012, 4, 15),
        nationality="UTO",
        issuing_state="UTO",
        optional_data="ZE184226B",
    )


def indonesian(**changes: Any) -> PassportData:
    """An Indonesian passport holder with a single name; ``changes`` override fields."""
    data = PassportData(
        number="C1234567",
        surname="SITI RAHAYU",
        given_names="",
        birth_date=datetime.date(1990, 5, 17),
        sex="F",
        expiry_date=datetime.date(2030, 5, 16),
    )
    return dataclasses.replace(data, **changes)


def icao_check_digit(field: str) -> str:
    """Check digit written independently of the library: weights 7, 3, 1; A-Z = 10-35; '<' = 0; mod 10."""
    weights = (7, 3, 1)
    total = 0
    for index, character in enumerate(field):
        if character == "<":
            value = 0
        elif character.isdigit():
            value = int(character)
        else:
            value = ord(character) - ord("A") + 10
        total += value * weights[index % 3]
    return str(total % 10)


def assert_check_digits(line2: str) -> None:
    """Assert every check digit of line 2 against :func:`icao_check_digit`."""
    assert line2[9] == icao_check_digit(line2[0:9])
    assert line2[19] == icao_check_digit(line2[13:19])
    assert line2[27] == icao_check_digit(line2[21:27])
    assert line2[42] == icao_check_digit(line2[28:42])
    assert line2[43] == icao_check_digit(line2[0:10] + line2[13:20] + line2[21:43])


def flip(character: str) -> str:
    """A different character whose check-digit value differs by 1 (so every weight detects it)."""
    if character.isdigit():
        return str((int(character) + 1) % 10)
    if character == "<":
        return "1"
    return chr(ord(character) + 1) if character != "Z" else "Y"


# --- ICAO specimen -----------------------------------------------------------------------------


def test_specimen_is_generated_exactly_from_its_fields() -> None:
    assert td3(specimen()) == (SPECIMEN_LINE1, SPECIMEN_LINE2)


def test_specimen_passes_the_check() -> None:
    assert check_td3(SPECIMEN_LINE1, SPECIMEN_LINE2) is True


def test_independent_check_digit_agrees_with_the_specimen() -> None:
    # Guards the test helper itself, which then vouches for the Indonesian lines below.
    assert_check_digits(SPECIMEN_LINE2)


@pytest.mark.parametrize("position", PROTECTED_POSITIONS)
def test_changing_a_protected_character_of_line_2_fails_the_check(position: int) -> None:
    changed = SPECIMEN_LINE2[:position] + flip(SPECIMEN_LINE2[position]) + SPECIMEN_LINE2[position + 1 :]
    assert changed != SPECIMEN_LINE2
    assert len(changed) == 44
    assert check_td3(SPECIMEN_LINE1, changed) is False


@pytest.mark.parametrize(
    ("start", "replacement"),
    [(20, "M"), (20, "<"), (10, "IDN")],
    ids=["sex-M", "sex-unspecified", "nationality-IDN"],
)
def test_changing_an_unprotected_field_keeps_the_check_valid(start: int, replacement: str) -> None:
    # Sex and nationality are outside every check digit: the checker must not simply reject any change.
    changed = SPECIMEN_LINE2[:start] + replacement + SPECIMEN_LINE2[start + len(replacement) :]
    assert changed != SPECIMEN_LINE2
    assert check_td3(SPECIMEN_LINE1, changed) is True


def test_a_changed_field_with_recomputed_check_digits_passes() -> None:
    line1, line2 = td3(dataclasses.replace(specimen(), number="L898902C4"))
    assert line2[:10] == "L898902C4" + icao_check_digit("L898902C4")
    assert line2 != SPECIMEN_LINE2
    assert check_td3(line1, line2) is True


@pytest.mark.parametrize(
    ("line1", "line2"),
    [
        (SPECIMEN_LINE1[:-1], SPECIMEN_LINE2),  # 43 characters
        (SPECIMEN_LINE1, SPECIMEN_LINE2 + "<"),  # 45 characters
        (SPECIMEN_LINE1[:-1], SPECIMEN_LINE2 + "<"),  # 43 + 45: right total, wrong split
        (SPECIMEN_LINE1.lower(), SPECIMEN_LINE2),
        (SPECIMEN_LINE1.replace("<<ANNA", "  ANNA"), SPECIMEN_LINE2),
        (SPECIMEN_LINE2, SPECIMEN_LINE1),  # swapped
        ("I" + SPECIMEN_LINE1[1:], SPECIMEN_LINE2),  # not a passport
        (SPECIMEN_LINE1.replace("UTO", "QQQ"), SPECIMEN_LINE2),  # unknown issuing state
        (SPECIMEN_LINE1[:5] + "<" * 39, SPECIMEN_LINE2),  # no name
        ("", ""),
    ],
)
def test_malformed_lines_fail_the_check(line1: str, line2: str) -> None:
    assert check_td3(line1, line2) is False


def test_expiry_before_birth_fails_the_check_even_with_right_check_digits() -> None:
    # Swap the dates with their check digits: all check digits stay right, the dates do not.
    line2 = SPECIMEN_LINE2[:13] + "1204159F7408122" + SPECIMEN_LINE2[28:]
    line2 = line2[:43] + icao_check_digit(line2[0:10] + line2[13:20] + line2[21:43])
    assert check_td3(SPECIMEN_LINE1, line2) is False


# --- Indonesian passports ----------------------------------------------------------------------


def test_indonesian_single_name() -> None:
    line1, line2 = td3(indonesian())
    assert line1 == "P<IDNSITI<RAHAYU" + "<" * 28
    assert line2 == "C1234567<0IDN9005178F3005165" + "<" * 14 + "04"
    assert_check_digits(line2)
    assert check_td3(line1, line2) is True


def test_indonesian_two_part_name_with_accent_and_hyphen() -> None:
    data = indonesian(
        number="B7654321",
        surname="Anggraéni",
        given_names="Dewi Putri-Ayu",
        birth_date=datetime.date(2001, 12, 3),
        sex="X",
        expiry_date=datetime.date(2031, 12, 2),
    )
    line1, line2 = td3(data)
    assert line1 == "P<IDNANGGRAENI<<DEWI<PUTRI<AYU" + "<" * 14
    assert line2.startswith("B7654321<")
    assert line2[10:13] == "IDN"
    assert line2[13:19] == "011203"
    assert line2[20] == "<"  # unspecified sex
    assert line2[21:27] == "311202"
    assert_check_digits(line2)
    assert check_td3(line1, line2) is True


@pytest.mark.parametrize("sex", ["M", "F", "X", "<"])
def test_every_sex_code_gives_a_valid_zone(sex: str) -> None:
    line1, line2 = td3(indonesian(sex=sex))
    assert line2[20] == {"X": "<"}.get(sex, sex)
    assert len(line1) == len(line2) == 44
    assert line1.startswith("P<IDN")
    assert check_td3(line1, line2) is True


def test_long_name_is_truncated_to_the_name_field() -> None:
    data = indonesian(
        number="A0000001",
        surname="Wicaksono",
        given_names="Raden Mas Muhammad Bagus Prasetyo Adinegoro",
        sex="M",
    )
    line1, line2 = td3(data)
    assert line1 == "P<IDNWICAKSONO<<RADEN<MAS<MUHAMMAD<BAGUS<PRA"
    assert check_td3(line1, line2) is True


@pytest.mark.parametrize(
    ("surname", "identifier"),
    [
        ("A" * 38 + " BUDI", "A" * 37),
        ("A" * 36 + " B", "A" * 36),  # the cut falls right after a filler, which is not kept
        ("A" * 37, "A" * 37),
    ],
)
def test_long_single_name_is_truncated_to_37_characters(surname: str, identifier: str) -> None:
    # The library always writes "<<" after the primary identifier, so a single name keeps 37 characters.
    line1, line2 = td3(indonesian(surname=surname))
    assert line1 == "P<IDN" + identifier.ljust(39, "<")
    assert check_td3(line1, line2) is True


def test_long_surname_drops_the_given_names() -> None:
    line1, line2 = td3(indonesian(surname="A" * 38, given_names="Budi"))
    assert line1 == "P<IDN" + "A" * 37 + "<<"
    assert check_td3(line1, line2) is True


# --- Names -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Dewi Anggraéni", "DEWI<ANGGRAENI"),
        ("Anggrae\u0301ni", "ANGGRAENI"),  # decomposed accent
        ("Putri-Ayu", "PUTRI<AYU"),
        ("  siti   rahayu ", "SITI<RAHAYU"),
        ("Putri - Ayu", "PUTRI<AYU"),
        ("Nur'aini", "NURAINI"),
        ("Nur\u2019aini", "NURAINI"),
        ("Moh. Hatta", "MOH<HATTA"),
        ("Jürgen Weiß", "JUERGEN<WEISS"),
        ("", ""),
    ],
)
def test_transliterate(name: str, expected: str) -> None:
    assert transliterate(name) == expected


@pytest.mark.parametrize("name", ["Дмитрий", "王芳", "محمد", "Siti 2", "Siti, Rahayu"])
def test_transliterate_refuses_characters_without_latin_spelling(name: str) -> None:
    with pytest.raises(ValueError, match="no Latin"):
        transliterate(name)


@pytest.mark.parametrize("surname", ["王芳", "Дмитрий", "", "   ", "'"])
def test_surname_without_latin_letters_is_refused(surname: str) -> None:
    with pytest.raises(ValueError, match="Latin"):
        td3(indonesian(surname=surname))


def test_given_names_without_latin_letters_are_refused() -> None:
    with pytest.raises(ValueError, match="Latin"):
        td3(indonesian(surname="Rahayu", given_names="王芳"))


# --- Passport numbers and other input ----------------------------------------------------------


@pytest.mark.parametrize("number", ["C1234567", "A0000001", "Z9999999"])
def test_indonesian_passport_numbers_are_accepted(number: str) -> None:
    assert is_passport_number(number) is True
    assert td3(indonesian(number=number))[1].startswith(number + "<")


@pytest.mark.parametrize(
    "number",
    [
        "c1234567",  # lowercase letter
        "C123456",  # 6 digits
        "C12345678",  # 8 digits
        "12345678",  # no letter
        "CC123456",  # two letters
        "C12345 7",
        "C123456A",
        "C\uff11\uff12\uff13\uff14\uff15\uff16\uff17",  # full-width digits
        "C1234567\n",
        " C1234567",
        "",
        "L898902C3",  # valid for ICAO, not an Indonesian number
    ],
)
def test_invalid_passport_numbers_are_refused(number: str) -> None:
    assert is_passport_number(number) is False
    with pytest.raises(ValueError, match="passport number"):
        td3(indonesian(number=number))


@pytest.mark.parametrize("expiry", [datetime.date(1990, 5, 17), datetime.date(1990, 5, 16), datetime.date(1980, 1, 1)])
def test_expiry_not_after_birth_is_refused(expiry: datetime.date) -> None:
    with pytest.raises(ValueError, match="expiry date"):
        td3(indonesian(expiry_date=expiry))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"sex": "W"}, "sex"),
        ({"sex": "m"}, "sex"),
        ({"sex": ""}, "sex"),
        ({"nationality": "QQQ"}, "nationality"),
        ({"nationality": "idn"}, "nationality"),
        ({"nationality": "Indonesia"}, "nationality"),
        ({"issuing_state": "XYZ1"}, "issuing state"),
        ({"optional_data": "3171234567890001"}, "optional data"),  # a NIK: 16 digits do not fit
        ({"optional_data": "ab12"}, "optional data"),
        ({"expiry_date": datetime.date(2070, 1, 1)}, "does not pass"),  # two-digit year reads as 1970
    ],
)
def test_other_invalid_input_is_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        td3(indonesian(**changes))


def test_other_issuing_states_take_any_icao_document_number() -> None:
    line1, line2 = td3(indonesian(number="X12", issuing_state="UTO", nationality="IDN"))
    assert line1.startswith("P<UTO")
    assert line2.startswith("X12<<<<<<")
    assert check_td3(line1, line2) is True
    with pytest.raises(ValueError, match="document number"):
        td3(indonesian(number="L898902C3X", issuing_state="UTO"))
