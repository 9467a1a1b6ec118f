"""The synthetic population: valid Indonesian numbers, plausible families, deterministic; the photos."""

from __future__ import annotations

import re
import struct
import zlib
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from stdnum.id import nik as stdnum_nik

from services.registry import population
from services.registry.population import (
    ADULT_AGE,
    DEMO_FAMILIES,
    REFERENCE_DATE,
    Resident,
    age_on,
    face_png,
    generate,
    kk_for,
    nik_for,
)

README = Path(__file__).resolve().parents[1] / "README.md"
FAMILIES = generate()
PEOPLE = [person for family in FAMILIES for person in family]


def test_the_same_seed_gives_the_same_population_and_another_seed_another() -> None:
    assert generate() == FAMILIES
    assert generate(population.SEED) == FAMILIES
    other = generate(seed=1)
    assert other[: len(DEMO_FAMILIES)] == FAMILIES[: len(DEMO_FAMILIES)]  # the demo residents are fixed
    assert {p.nik for f in other for p in f} != {p.nik for p in PEOPLE}


def test_size_and_spread() -> None:
    assert len(FAMILIES) == 200
    assert 550 <= len(PEOPLE) <= 750
    assert len({p.province for p in PEOPLE}) >= 10
    assert len({p.nik for p in PEOPLE}) == len(PEOPLE)
    assert len({f[0].kk for f in FAMILIES}) == len(FAMILIES)
    assert Counter(p.sex for p in PEOPLE)["F"] > len(PEOPLE) // 3


def test_every_nik_is_valid_and_encodes_birth_date_sex_and_region() -> None:
    for person in PEOPLE:
        assert stdnum_nik.validate(person.nik) == person.nik, person
        day = int(person.nik[6:8])
        assert (day > 40) == (person.sex == "F"), person
        assert stdnum_nik.get_birth_date(person.nik).replace(year=person.birth_date.year) == person.birth_date
        assert person.nik[10:12] == f"{person.birth_date:%y}"
        assert nik_for(person.nik[:6], person.birth_date, person.sex, int(person.nik[12:])) == person.nik


def test_every_family_card_number_is_well_formed_and_shared_by_the_family() -> None:
    for family in FAMILIES:
        kk = family[0].kk
        assert {p.kk for p in family} == {kk}
        assert re.fullmatch(r"[0-9]{16}", kk)
        issued = date(2000 + int(kk[10:12]), int(kk[8:10]), int(kk[6:8]))  # DDMMYY, all issued after 2000
        assert kk_for(kk[:6], issued, int(kk[12:])) == kk
        assert issued >= max(p.birth_date for p in family), family
        assert all(p.nik[:6] == kk[:6] for p in family), family  # registered where the card was issued


def test_families_are_plausible() -> None:
    for family in FAMILIES:
        roles = Counter(p.relationship for p in family)
        assert family[0].relationship == "head" and roles["head"] == 1 and roles["wife"] <= 1, family
        head = family[0]
        wife = next((p for p in family if p.relationship == "wife"), None)
        for child in (p for p in family if p.relationship == "child"):
            parents = [head] + ([wife] if wife else [])
            assert any(p.name in (child.father_name, child.mother_name) for p in parents), family
            assert all(age_on(p.birth_date, child.birth_date) >= 16 for p in parents), family
        assert age_on(head.birth_date, REFERENCE_DATE) >= 20


@pytest.mark.parametrize("day", [REFERENCE_DATE, date.today()])
def test_families_with_minors_and_adults_exist(day: date) -> None:
    def minor(p: Resident) -> bool:
        return age_on(p.birth_date, day) < ADULT_AGE

    with_minors = [f for f in FAMILIES if any(minor(p) for p in f)]
    assert len(with_minors) >= 50
    assert all(not minor(f[0]) for f in FAMILIES)  # heads are adults
    assert any(any(not minor(p) for p in f if p.relationship == "child") for f in with_minors)  # adult children too
    assert any(len(f) == 1 for f in FAMILIES)  # people living alone


def test_the_demo_residents_are_documented_in_the_readme() -> None:
    rows = re.findall(r"^\| (\d{16}) \| (\d{16}) \| ([^|]+?) \| (\d{4}-\d{2}-\d{2}) \|", README.read_text(), re.M)
    demo = [(p.nik, p.kk, p.name, p.birth_date.isoformat()) for f in DEMO_FAMILIES for p in f]
    assert rows == demo
    assert all(p.demo for f in FAMILIES[: len(DEMO_FAMILIES)] for p in f)
    assert not any(p.demo for f in FAMILIES[len(DEMO_FAMILIES) :] for p in f)
    siti = next(p for p in PEOPLE if p.name == "Siti Rahayu")
    assert siti.relationship == "wife" and any(
        p.mother_name == "Siti Rahayu" and age_on(p.birth_date, date.today()) < ADULT_AGE for p in PEOPLE
    )


def _chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, at = [], 8
    while at < len(png):
        (length,) = struct.unpack(">I", png[at : at + 4])
        kind, data = png[at + 4 : at + 8], png[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", png[at + 8 + length : at + 12 + length])
        assert crc == zlib.crc32(kind + data)
        chunks.append((kind, data))
        at += 12 + length
    return chunks


def test_face_photos_are_valid_small_pngs_the_same_each_time() -> None:
    siti = next(p for p in PEOPLE if p.name == "Siti Rahayu")
    png = face_png(siti.nik, siti.sex, siti.birth_date.year)
    chunks = _chunks(png)
    assert [kind for kind, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"]
    assert struct.unpack(">IIBBBBB", chunks[0][1]) == (120, 160, 8, 2, 0, 0, 0)
    assert len(zlib.decompress(chunks[1][1])) == 160 * (1 + 120 * 3)
    assert len(png) < 10_000
    assert face_png(siti.nik, siti.sex, siti.birth_date.year) == png
    budi = FAMILIES[0][0]
    assert face_png(budi.nik, budi.sex, budi.birth_date.year) != png
