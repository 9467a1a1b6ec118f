"""Tests of the machine-readable zones: TD3 (passport) generation, checking and reading, MRV-A (visa), names, input."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

import pytest

from gerbang.core.mrz import (
    PassportData,
    VisaData,
    check_mrva,
    check_td3,
    is_passport_number,
    mrva,
    parse_td3,
    td3,
    transliterate,
)

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


# --- Reading a TD3 (parse_td3) -----------------------------------------------------------------

TODAY = datetime.date(2026, 11, 28)


def test_parse_the_specimen() -> None:
    assert parse_td3(SPECIMEN_LINE1, SPECIMEN_LINE2, today=TODAY) == dataclasses.replace(
        specimen(), surname="ERIKSSON", given_names="ANNA MARIA"
    )


def test_parse_without_today_uses_the_system_date() -> None:
    assert parse_td3(SPECIMEN_LINE1, SPECIMEN_LINE2).birth_date == datetime.date(1974, 8, 12)


@pytest.mark.parametrize(
    ("line1", "line2"),
    [
        ("p<utoeriksson<<anna<maria<<<<<<<<<<<<<<<<<<<", "l898902c36uto7408122f1204159ze184226b<<<<<10"),
        ("P<UTO ERIKSSON<<ANNA<MARIA <<<<<<<<<<<<<<<<<<<", "L898902C3 6 UTO 740812 2 F 120415 9 ZE184226B<<<<< 1 0"),
        (f"  {SPECIMEN_LINE1}\n", f"\t{SPECIMEN_LINE2}\r\n"),
    ],
    ids=["lower-case", "spaces", "surrounding-whitespace"],
)
def test_parse_accepts_lines_as_typed_or_scanned(line1: str, line2: str) -> None:
    assert parse_td3(line1, line2, today=TODAY) == parse_td3(SPECIMEN_LINE1, SPECIMEN_LINE2, today=TODAY)


@pytest.mark.parametrize(
    "data",
    [
        specimen(),
        indonesian(),
        indonesian(sex="X", given_names="Dewi Putri"),
        indonesian(surname="Wicaksono", given_names="Raden Mas Muhammad Bagus Prasetyo Adinegoro", sex="M"),
        indonesian(number="X12", issuing_state="D", nationality="D", optional_data="AB<12"),
        indonesian(number="L898902C3", issuing_state="UTO", nationality="XXA", birth_date=datetime.date(2026, 11, 28)),
        indonesian(
            number="P1",
            issuing_state="GBR",
            nationality="GBR",
            birth_date=datetime.date(1950, 1, 1),
            expiry_date=datetime.date(2070, 1, 1),
        ),
    ],
    ids=["specimen", "single-name", "unspecified-sex", "truncated-name", "germany", "born-today", "expiry-2070"],
)
def test_round_trip_through_td3(data: PassportData) -> None:
    lines = td3(data)
    parsed = parse_td3(*lines, today=TODAY)
    assert td3(parsed) == lines
    assert parsed.number == data.number
    assert parsed.birth_date == data.birth_date
    assert parsed.expiry_date == data.expiry_date
    assert parsed.nationality == data.nationality
    assert parsed.issuing_state == data.issuing_state
    assert parsed.optional_data == data.optional_data
    assert parsed.sex == {"<": "X"}.get(data.sex, data.sex)


def test_parse_gives_names_with_spaces() -> None:
    parsed = parse_td3(*td3(indonesian(surname="Anggraéni", given_names="Dewi Putri-Ayu")), today=TODAY)
    assert (parsed.surname, parsed.given_names) == ("ANGGRAENI", "DEWI PUTRI AYU")
    parsed = parse_td3(*td3(indonesian()), today=TODAY)
    assert (parsed.surname, parsed.given_names) == ("SITI RAHAYU", "")


@pytest.mark.parametrize(
    ("birth", "expiry", "born", "expires"),
    [
        ("261128", "361127", datetime.date(2026, 11, 28), datetime.date(2036, 11, 27)),  # born today
        ("261129", "361127", datetime.date(1926, 11, 29), datetime.date(2036, 11, 27)),  # tomorrow: a century ago
        ("000229", "100228", datetime.date(2000, 2, 29), datetime.date(2010, 2, 28)),  # an expired passport
        ("500101", "750101", datetime.date(1950, 1, 1), datetime.date(2075, 1, 1)),  # last year of the window
        ("500101", "760101", datetime.date(1950, 1, 1), datetime.date(1976, 1, 1)),  # first year of the window
    ],
)
def test_parse_chooses_the_century(birth: str, expiry: str, born: datetime.date, expires: datetime.date) -> None:
    line2 = SPECIMEN_LINE2[:13] + birth + icao_check_digit(birth) + "F" + expiry + icao_check_digit(expiry)
    line2 += SPECIMEN_LINE2[28:43]
    line2 += icao_check_digit(line2[0:10] + line2[13:20] + line2[21:43])
    parsed = parse_td3(SPECIMEN_LINE1, line2, today=TODAY)
    assert (parsed.birth_date, parsed.expiry_date) == (born, expires)


def _expected_problem(position: int) -> str:
    if position in DOCUMENT_NUMBER or position == 9:
        return "the document number's check digit is wrong"
    if position in BIRTH_DATE or position == 19:
        return "the birth date"
    if position in EXPIRY_DATE or position == 27:
        return "the expiry date"
    if position in OPTIONAL_DATA or position == 42:
        return "the optional data's check digit is wrong"
    return "the composite check digit"


@pytest.mark.parametrize("position", PROTECTED_POSITIONS)
def test_parse_refuses_a_changed_protected_character_naming_the_field(position: int) -> None:
    changed = SPECIMEN_LINE2[:position] + flip(SPECIMEN_LINE2[position]) + SPECIMEN_LINE2[position + 1 :]
    with pytest.raises(ValueError, match=_expected_problem(position)) as error:
        parse_td3(SPECIMEN_LINE1, changed, today=TODAY)
    if position in {*BIRTH_DATE, 19} and _is_date(changed[13:19]):
        assert "the birth date's check digit is wrong" in str(error.value)


def _is_date(yymmdd: str) -> bool:
    try:
        datetime.datetime.strptime(yymmdd, "%y%m%d")
    except ValueError:
        return False
    return True


def test_parse_names_every_problem_of_a_line() -> None:
    changed = SPECIMEN_LINE2.replace("7408122", "7408123")
    with pytest.raises(ValueError) as error:
        parse_td3(SPECIMEN_LINE1, changed, today=TODAY)
    assert str(error.value) == (
        "the birth date's check digit is wrong; the composite check digit (line 2, last character) is wrong"
    )


def test_parse_reads_an_unprotected_change() -> None:
    changed = SPECIMEN_LINE2[:20] + "M" + SPECIMEN_LINE2[21:]
    assert parse_td3(SPECIMEN_LINE1, changed, today=TODAY).sex == "M"


@pytest.mark.parametrize(
    ("line1", "line2", "message"),
    [
        (SPECIMEN_LINE1, SPECIMEN_LINE2[:-1], "line 2 must have 44 characters, not 43"),
        (SPECIMEN_LINE1 + "<", SPECIMEN_LINE2, "line 1 must have 44 characters, not 45"),
        ("", "", "line 1 must have 44 characters, not 0"),
        (SPECIMEN_LINE1[:-1] + "«", SPECIMEN_LINE2, "line 1 may only contain A-Z, 0-9 and '<', not '«'"),
        (SPECIMEN_LINE1, SPECIMEN_LINE2.replace("ZE", "Z-"), "line 2 may only contain"),
        ("V" + SPECIMEN_LINE1[1:], SPECIMEN_LINE2, "line 1 must start with 'P' \\(a passport\\), not 'V<'"),
        (SPECIMEN_LINE1.replace("UTO", "QQQ"), SPECIMEN_LINE2, "the issuing state 'QQQ' is not an ICAO country code"),
        (SPECIMEN_LINE1, SPECIMEN_LINE2.replace("UTO", "QQQ"), "the nationality 'QQQ' is not an ICAO country code"),
        (SPECIMEN_LINE1[:5] + "<" * 39, SPECIMEN_LINE2, "the name field"),
        (SPECIMEN_LINE1.replace("ANNA", "ANN4"), SPECIMEN_LINE2, "the name field"),
        (SPECIMEN_LINE1, SPECIMEN_LINE2[:20] + "X" + SPECIMEN_LINE2[21:], "the sex 'X' must be"),
        (SPECIMEN_LINE2, SPECIMEN_LINE1, "line 1 must start with 'P'"),  # swapped
    ],
)
def test_parse_refuses_malformed_lines(line1: str, line2: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_td3(line1, line2, today=TODAY)


def test_parse_refuses_expiry_before_birth_even_with_right_check_digits() -> None:
    line2 = SPECIMEN_LINE2[:13] + "1204159F7408122" + SPECIMEN_LINE2[28:]
    line2 = line2[:43] + icao_check_digit(line2[0:10] + line2[13:20] + line2[21:43])
    with pytest.raises(ValueError, match="the expiry date is not after the birth date"):
        parse_td3(SPECIMEN_LINE1, line2, today=TODAY)


def test_parse_refuses_an_impossible_date_with_a_right_check_digit() -> None:
    line2 = SPECIMEN_LINE2[:13] + "740230" + icao_check_digit("740230") + SPECIMEN_LINE2[20:]
    line2 = line2[:43] + icao_check_digit(line2[0:10] + line2[13:20] + line2[21:43])
    with pytest.raises(ValueError, match="the birth date '740230' is not a date"):
        parse_td3(SPECIMEN_LINE1, line2, today=TODAY)


def test_parse_refuses_fillers_inside_the_document_number() -> None:
    line2 = "L89<902C3" + icao_check_digit("L89<902C3") + SPECIMEN_LINE2[10:]
    line2 = line2[:43] + icao_check_digit(line2[0:10] + line2[13:20] + line2[21:43])
    with pytest.raises(ValueError, match="document number 'L89<902C3' must be letters and digits"):
        parse_td3(SPECIMEN_LINE1, line2, today=TODAY)


# --- MRV-A (visa) ------------------------------------------------------------------------------

VISA_LINE1 = "V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<"
VISA_LINE2 = "L8988901C4XXX4009078F96121096ZE184226B<<<<<<"
VISA_PROTECTED_POSITIONS = sorted({*DOCUMENT_NUMBER, *BIRTH_DATE, *EXPIRY_DATE, 9, 19, 27})


def visa_specimen() -> VisaData:
    """The ICAO Doc 9303 Part 7 MRV-A specimen. Its optional data is ``6ZE184226B`` (the ``9`` before it is the
    expiry date's check digit)."""
    return VisaData(
        number="L8988901C",
        surname="Eriksson",
        given_names="Anna Maria",
        nationality="XXX",
        birth_date=datetime.date(1940, 9, 7),
        sex="F",
        valid_until=datetime.date(1996, 12, 10),
        issuing_state="UTO",
        optional_data="6ZE184226B",
    )


def evisa(**changes: Any) -> VisaData:
    """An Indonesian e-visa for an Australian; ``changes`` override fields."""
    return dataclasses.replace(
        VisaData(
            number="VA1234567",
            surname="O'Brien",
            given_names="Siobhán Mary",
            nationality="AUS",
            birth_date=datetime.date(1985, 3, 9),
            sex="F",
            valid_until=datetime.date(2027, 2, 26),
        ),
        **changes,
    )


def test_visa_specimen_is_generated_exactly_from_its_fields() -> None:
    assert mrva(visa_specimen()) == (VISA_LINE1, VISA_LINE2)


def test_visa_specimen_passes_the_check() -> None:
    assert check_mrva(VISA_LINE1, VISA_LINE2) is True
    assert VISA_LINE2[9] == icao_check_digit(VISA_LINE2[0:9])
    assert VISA_LINE2[19] == icao_check_digit(VISA_LINE2[13:19])
    assert VISA_LINE2[27] == icao_check_digit(VISA_LINE2[21:27])


@pytest.mark.parametrize("position", VISA_PROTECTED_POSITIONS)
def test_changing_a_protected_character_of_the_visa_fails_the_check(position: int) -> None:
    changed = VISA_LINE2[:position] + flip(VISA_LINE2[position]) + VISA_LINE2[position + 1 :]
    assert check_mrva(VISA_LINE1, changed) is False


@pytest.mark.parametrize("position", [20, 28, 35, 43])
def test_changing_sex_or_optional_data_of_the_visa_keeps_the_check_valid(position: int) -> None:
    # Sex and the optional data have no check digit in an MRV-A.
    replacement = "M" if position == 20 else flip(VISA_LINE2[position])
    changed = VISA_LINE2[:position] + replacement + VISA_LINE2[position + 1 :]
    assert check_mrva(VISA_LINE1, changed) is True


@pytest.mark.parametrize(
    ("line1", "line2"),
    [
        (VISA_LINE1[:-1], VISA_LINE2),
        (VISA_LINE1, VISA_LINE2 + "<"),
        (VISA_LINE1.lower(), VISA_LINE2),
        (VISA_LINE2, VISA_LINE1),
        (VISA_LINE1.replace("UTO", "QQQ"), VISA_LINE2),
        (VISA_LINE1[:5] + "<" * 39, VISA_LINE2),
        (SPECIMEN_LINE1, SPECIMEN_LINE2),  # a passport is not a visa
        ("", ""),
    ],
)
def test_malformed_visa_lines_fail_the_check(line1: str, line2: str) -> None:
    assert check_mrva(line1, line2) is False


def test_a_visa_is_not_a_passport() -> None:
    assert check_td3(VISA_LINE1, VISA_LINE2) is False


def test_indonesian_evisa() -> None:
    line1, line2 = mrva(evisa())
    assert line1 == "V<IDNOBRIEN<<SIOBHAN<MARY" + "<" * 19
    assert line2[:21] == "VA1234567" + icao_check_digit("VA1234567") + "AUS850309" + icao_check_digit("850309") + "F"
    assert line2[21:] == "270226" + icao_check_digit("270226") + "<" * 16
    assert check_mrva(line1, line2) is True


def test_visa_names_are_fitted_like_passport_names() -> None:
    names = {"surname": "Wicaksono", "given_names": "Raden Mas Muhammad Bagus Prasetyo Adinegoro"}
    visa_line1, _ = mrva(evisa(**names))
    passport_line1, _ = td3(indonesian(**names))
    assert visa_line1[5:] == passport_line1[5:] == "WICAKSONO<<RADEN<MAS<MUHAMMAD<BAGUS<PRA"


@pytest.mark.parametrize("sex", ["M", "F", "X", "<"])
def test_every_sex_code_gives_a_valid_visa(sex: str) -> None:
    line1, line2 = mrva(evisa(sex=sex))
    assert line2[20] == {"X": "<"}.get(sex, sex)
    assert check_mrva(line1, line2) is True


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"number": "VA12345678"}, "visa number"),
        ({"number": ""}, "visa number"),
        ({"number": "va1234567"}, "visa number"),
        ({"nationality": "QQQ"}, "nationality"),
        ({"issuing_state": "idn"}, "issuing state"),
        ({"surname": "王芳"}, "Latin"),
        ({"given_names": "Дмитрий"}, "Latin"),
        ({"sex": "W"}, "sex"),
        ({"valid_until": datetime.date(1985, 3, 9)}, "valid-until date"),
        ({"optional_data": "A" * 17}, "optional data"),
        ({"optional_data": "ab"}, "optional data"),
        ({"valid_until": datetime.date(2070, 1, 1)}, "does not pass"),  # two-digit year reads as 1970
    ],
)
def test_invalid_visa_input_is_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        mrva(evisa(**changes))


def test_visa_optional_data_takes_16_characters() -> None:
    line1, line2 = mrva(evisa(optional_data="A" * 16))
    assert line2[28:] == "A" * 16
    assert check_mrva(line1, line2) is True
