"""A synthetic, deterministic population in Indonesian formats, and its face photos.

Everything is drawn from ``random.Random(seed)`` with birth years relative to
:data:`REFERENCE_DATE` (never "today"), so the same seed always gives the same
residents, NIKs and family cards.

- NIK (16 digits): 6-digit region code (province, regency/city, district),
  birth date DDMMYY with 40 added to the day for women, 4-digit serial.
- KK, the family-card number (16 digits): 6-digit region code, issue date
  DDMMYY, 4-digit serial.
- Families: a head (``head``), possibly a wife (``wife``) and children
  (``child``), living in one region; the children's parents are the head and
  the wife (or the single head).

:data:`DEMO_FAMILIES` are fixed, documented residents (see README.md) placed
before the generated ones; generated numbers never collide with them.
"""

from __future__ import annotations

import hashlib
import random
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

SEED = 20260417
FAMILY_COUNT = 200
REFERENCE_DATE = date(2026, 1, 1)
ADULT_AGE = 17

Sex = Literal["M", "F"]
Relationship = Literal["head", "wife", "child"]
Style = Literal["general", "bali", "batak"]
Parents = tuple[str, str]  # father's and mother's names


@dataclass(frozen=True)
class Resident:
    """One person on a family card."""

    nik: str
    kk: str
    name: str
    birth_place: str
    birth_date: date
    sex: Sex
    father_name: str
    mother_name: str
    relationship: Relationship
    province: str
    demo: bool = False


@dataclass(frozen=True)
class Region:
    """A district: 6-digit code (the first four are a regency/city known to python-stdnum), province, city."""

    code: str
    province: str
    city: str
    style: Style = "general"


# Regency/city codes as in python-stdnum's id/loc table (stdnum.id.nik checks them).
CITIES: list[tuple[str, str, str, Style]] = [
    ("3173", "DKI Jakarta", "Jakarta", "general"),
    ("3273", "Jawa Barat", "Bandung", "general"),
    ("3374", "Jawa Tengah", "Semarang", "general"),
    ("3471", "DI Yogyakarta", "Yogyakarta", "general"),
    ("3578", "Jawa Timur", "Surabaya", "general"),
    ("5171", "Bali", "Denpasar", "bali"),
    ("1275", "Sumatera Utara", "Medan", "batak"),
    ("1371", "Sumatera Barat", "Padang", "general"),
    ("6171", "Kalimantan Barat", "Pontianak", "general"),
    ("6471", "Kalimantan Timur", "Balikpapan", "general"),
    ("7371", "Sulawesi Selatan", "Makassar", "general"),
    ("7171", "Sulawesi Utara", "Manado", "general"),
    ("5271", "Nusa Tenggara Barat", "Mataram", "general"),
    ("9471", "Papua", "Jayapura", "general"),
]
REGIONS = [Region(f"{code}{district:02d}", p, c, s) for code, p, c, s in CITIES for district in (1, 2, 3)]
PROVINCE_OF = {code: province for code, province, _, _ in CITIES}

MALE = [
    "Budi",
    "Agus",
    "Ahmad",
    "Andi",
    "Bambang",
    "Dedi",
    "Eko",
    "Fajar",
    "Hendra",
    "Irfan",
    "Joko",
    "Rudi",
    "Teguh",
    "Wahyu",
    "Yusuf",
    "Rizky",
    "Arif",
    "Dimas",
    "Bayu",
    "Gilang",
    "Hadi",
    "Indra",
    "Rahmat",
    "Taufik",
    "Yoga",
    "Galih",
    "Bagus",
    "Anton",
    "Heru",
    "Aditya",
    "Reza",
    "Ilham",
    "Farhan",
    "Rafi",
    "Daffa",
]
FEMALE = [
    "Siti",
    "Dewi",
    "Sri",
    "Ani",
    "Rina",
    "Wulan",
    "Fitri",
    "Indah",
    "Maya",
    "Nur",
    "Putri",
    "Ratna",
    "Sari",
    "Yuni",
    "Ayu",
    "Dian",
    "Intan",
    "Kartika",
    "Mega",
    "Novi",
    "Lina",
    "Eka",
    "Tuti",
    "Wati",
    "Rini",
    "Citra",
    "Nabila",
    "Aisyah",
    "Zahra",
    "Salsabila",
    "Anisa",
    "Kirana",
    "Laras",
]
SECOND_MALE = [
    "Santoso",
    "Wijaya",
    "Pratama",
    "Saputra",
    "Hidayat",
    "Nugroho",
    "Setiawan",
    "Kusuma",
    "Purnama",
    "Hakim",
    "Gunawan",
    "Firmansyah",
    "Wibowo",
    "Susanto",
    "Ramadhan",
    "Maulana",
    "Permana",
    "Syahputra",
]
SECOND_FEMALE = [
    "Rahayu",
    "Lestari",
    "Wulandari",
    "Anggraini",
    "Puspita",
    "Handayani",
    "Safitri",
    "Permata",
    "Utami",
    "Kusumawati",
    "Oktaviani",
    "Pertiwi",
]
SINGLE_NAMES = ["Slamet", "Sukarni", "Paijo", "Suparmi", "Tukiyem", "Sutrisno", "Sumarni", "Wagiman", "Painem", "Karto"]
SINGLE_MALE = {"Slamet", "Paijo", "Sutrisno", "Wagiman", "Karto"}
BALI_ORDER = ["Wayan", "Made", "Nyoman", "Ketut"]
BALI_MALE = ["Agus", "Adi", "Wirawan", "Suardana", "Artha", "Budiarta", "Darma", "Sudarsana"]
BALI_FEMALE = ["Ayu", "Sari", "Ratih", "Wulandari", "Sukmawati", "Puspa", "Dewi", "Astiti"]
MARGA = [
    "Siregar",
    "Nasution",
    "Harahap",
    "Simanjuntak",
    "Sitompul",
    "Lubis",
    "Hutagalung",
    "Pardede",
    "Sinaga",
    "Tambunan",
]


DEMO_FAMILIES: list[list[Resident]] = [
    [
        Resident(
            "3173011203840001", "3173011001200001", "Budi Santoso", "Jakarta", date(1984, 3, 12), "M",
            "Sutrisno", "Sumarni", "head", "DKI Jakarta", True,
        ),
        Resident(
            "3173015708870001", "3173011001200001", "Siti Rahayu", "Bandung", date(1987, 8, 17), "F",
            "Ahmad Hidayat", "Nur Aini", "wife", "DKI Jakarta", True,
        ),
        Resident(
            "3173016005150001", "3173011001200001", "Putri Ayu Lestari", "Jakarta", date(2015, 5, 20), "F",
            "Budi Santoso", "Siti Rahayu", "child", "DKI Jakarta", True,
        ),
        Resident(
            "3173010211190001", "3173011001200001", "Rizky Pratama Santoso", "Jakarta", date(2019, 11, 2), "M",
            "Budi Santoso", "Siti Rahayu", "child", "DKI Jakarta", True,
        ),
    ],
    [
        Resident(
            "5171012506780001", "5171010503120001", "I Made Wirawan", "Denpasar", date(1978, 6, 25), "M",
            "I Wayan Sudarsana", "Ni Nyoman Sukmawati", "head", "Bali", True,
        ),
        Resident(
            "5171015402800001", "5171010503120001", "Ni Luh Ketut Sari", "Gianyar", date(1980, 2, 14), "F",
            "I Ketut Darma", "Ni Made Astiti", "wife", "Bali", True,
        ),
        Resident(
            "5171017009040001", "5171010503120001", "Ni Putu Ayu Lestari", "Denpasar", date(2004, 9, 30), "F",
            "I Made Wirawan", "Ni Luh Ketut Sari", "child", "Bali", True,
        ),
        Resident(
            "5171010801120001", "5171010503120001", "I Kadek Dwi Putra", "Denpasar", date(2012, 1, 8), "M",
            "I Made Wirawan", "Ni Luh Ketut Sari", "child", "Bali", True,
        ),
    ],
    [
        Resident(
            "3578010112920001", "3578012010200001", "Andi Wijaya", "Surabaya", date(1992, 12, 1), "M",
            "Hendra Wijaya", "Lina Kusumawati", "head", "Jawa Timur", True,
        ),
    ],
    [
        Resident(
            "3471014304950001", "3471010508230001", "Dewi Kartika", "Yogyakarta", date(1995, 4, 3), "F",
            "Bambang Susanto", "Tuti Handayani", "head", "DI Yogyakarta", True,
        ),
        Resident(
            "3471011907230001", "3471010508230001", "Arka Pratama", "Yogyakarta", date(2023, 7, 19), "M",
            "Fajar Pratama", "Dewi Kartika", "child", "DI Yogyakarta", True,
        ),
    ],
]  # fmt: skip


def nik_for(region: str, birth: date, sex: Sex, serial: int) -> str:
    """The NIK of a person registered in ``region`` (6 digits) with this birth date, sex and serial."""
    day = birth.day + (40 if sex == "F" else 0)
    return f"{region}{day:02d}{birth:%m%y}{serial:04d}"


def kk_for(region: str, issued: date, serial: int) -> str:
    """The family-card number issued in ``region`` on ``issued`` with this serial."""
    return f"{region}{issued:%d%m%y}{serial:04d}"


def age_on(birth: date, day: date) -> int:
    """Completed years of age on ``day``."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


class _Numbers:
    """Hands out the lowest free serial for a NIK or KK prefix."""

    def __init__(self, taken: set[str]) -> None:
        self.taken = set(taken)

    def take(self, prefix: str) -> str:
        for serial in range(1, 10_000):
            number = f"{prefix}{serial:04d}"
            if number not in self.taken:
                self.taken.add(number)
                return number
        raise RuntimeError(f"no serial left for {prefix}")


class _Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        demo = [person for family in DEMO_FAMILIES for person in family]
        self.niks = _Numbers({p.nik for p in demo})
        self.kks = _Numbers({p.kk for p in demo})

    def day_in(self, first: date, last: date) -> date:
        return first + timedelta(days=self.rng.randrange((last - first).days + 1))

    def year_day(self, year: int) -> date:
        return self.day_in(date(year, 1, 1), min(date(year, 12, 31), REFERENCE_DATE - timedelta(days=30)))

    def name(self, region: Region, sex: Sex, *, family: str | None = None, order: int = 0, adult: bool) -> str:
        rng = self.rng
        if region.style == "bali":
            prefix = "I" if sex == "M" else "Ni"
            given = rng.choice(BALI_MALE if sex == "M" else BALI_FEMALE)
            position = order or rng.randint(1, 4)  # Balinese birth-order name; the fourth and later: Ketut
            return f"{prefix} {BALI_ORDER[min(position, 4) - 1]} {given}"
        first = rng.choice(MALE if sex == "M" else FEMALE)
        if region.style == "batak":
            return f"{first} {family or rng.choice(MARGA)}"
        if adult and rng.random() < 0.1:
            return rng.choice([n for n in SINGLE_NAMES if (n in SINGLE_MALE) == (sex == "M")])
        if family and sex == "M" and rng.random() < 0.5:
            return f"{first} {family}"
        return f"{first} {rng.choice(SECOND_MALE if sex == 'M' else SECOND_FEMALE)}"

    def parent_names(self, region: Region) -> Parents:
        """Names of an adult's parents (not residents here)."""
        return self.name(region, "M", adult=True), self.name(region, "F", adult=True)

    def family(self) -> list[Resident]:
        rng = self.rng
        region = rng.choice(REGIONS)
        kind = rng.choices(["parents+children", "couple", "single", "single parent"], weights=[62, 12, 14, 12])[0]
        head_sex: Sex = "F" if kind == "single parent" and rng.random() < 0.7 else rng.choice(["M", "F"])
        if kind in ("parents+children", "couple"):
            head_sex = "M"
        head_year = rng.randint(1955, 2000)
        marga = rng.choice(MARGA) if region.style == "batak" else None
        surname = rng.choice(SECOND_MALE)
        people: list[tuple[str, Sex, date, Relationship, str, str, str]] = []

        def add(name: str, sex: Sex, birth: date, *, relationship: Relationship, place: str, parents: Parents) -> None:
            people.append((name, sex, birth, relationship, place, *parents))

        head_name = self.name(region, head_sex, family=marga or surname, adult=True)
        head_birth = self.year_day(head_year)
        add(
            head_name,
            head_sex,
            head_birth,
            relationship="head",
            place=self.birth_place(region),
            parents=self.parent_names(region),
        )
        father, mother = (head_name, "") if head_sex == "M" else ("", head_name)
        if kind in ("parents+children", "couple"):
            wife_birth = self.year_day(min(head_year + rng.randint(-2, 8), 2002))
            wife_name = self.name(region, "F", adult=True)
            add(
                wife_name,
                "F",
                wife_birth,
                relationship="wife",
                place=self.birth_place(region),
                parents=self.parent_names(region),
            )
            mother = wife_name
        if kind in ("parents+children", "single parent"):
            if not father:
                father = self.name(region, "M", family=marga or surname, adult=True)
            if not mother:
                mother = self.name(region, "F", adult=True)
            youngest_parent = max(p[2] for p in people)
            first_year = youngest_parent.year + 20
            last_year = min(youngest_parent.year + 42, REFERENCE_DATE.year - 1)
            if first_year <= last_year:
                births = sorted(self.year_day(rng.randint(first_year, last_year)) for _ in range(rng.randint(1, 3)))
                for order, birth in enumerate(births, start=1):
                    sex: Sex = rng.choice(["M", "F"])
                    adult = age_on(birth, REFERENCE_DATE) >= ADULT_AGE
                    name = self.name(region, sex, family=marga or surname, order=order, adult=adult)
                    add(name, sex, birth, relationship="child", place=region.city, parents=(father, mother))
        latest = max(p[2] for p in people) + timedelta(days=30)
        earliest = max(latest, head_birth + timedelta(days=365 * 20 + 5))
        last_day = REFERENCE_DATE - timedelta(days=1)
        issued = self.day_in(earliest, last_day) if earliest < last_day else last_day
        kk = self.kks.take(f"{region.code}{issued:%d%m%y}")
        return [
            Resident(
                nik=self.niks.take(nik_for(region.code, birth, sex, 0)[:12]),
                kk=kk,
                name=name,
                birth_place=place,
                birth_date=birth,
                sex=sex,
                father_name=father_name,
                mother_name=mother_name,
                relationship=relationship,
                province=region.province,
            )
            for name, sex, birth, relationship, place, father_name, mother_name in people
        ]

    def birth_place(self, region: Region) -> str:
        """Adults were mostly born where they live, some elsewhere."""
        if self.rng.random() < 0.7:
            return region.city
        return self.rng.choice(CITIES)[2]


def generate(seed: int = SEED, families: int = FAMILY_COUNT) -> list[list[Resident]]:
    """The demo families followed by generated ones, ``families`` in all; the same for the same seed."""
    generator = _Generator(seed)
    generated = [generator.family() for _ in range(max(0, families - len(DEMO_FAMILIES)))]
    return [list(family) for family in DEMO_FAMILIES] + generated


def residents(seed: int = SEED, families: int = FAMILY_COUNT) -> Iterator[Resident]:
    """Every resident of :func:`generate`, family by family."""
    for family in generate(seed, families):
        yield from family


# --- Face photos -------------------------------------------------------------------------------

PHOTO_WIDTH, PHOTO_HEIGHT = 120, 160
SKIN = [(241, 200, 160), (224, 172, 128), (198, 140, 96), (160, 106, 66), (120, 78, 50)]
HAIR = [(20, 16, 14), (40, 28, 20), (60, 42, 30), (90, 60, 40)]
CLOTHES = [(250, 250, 250), (30, 40, 70), (120, 20, 30), (20, 90, 60), (60, 60, 60)]
HIJAB = [(30, 30, 40), (200, 190, 170), (110, 40, 70), (40, 80, 120), (230, 225, 215)]
BACKGROUND = {0: (40, 80, 160), 1: (180, 30, 40)}  # blue for even birth years, red for odd (as on KTP photos)


def _in_ellipse(x: int, y: int, shape: tuple[float, float, float, float]) -> bool:
    cx, cy, rx, ry = shape
    return ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1.0


def face_png(nik: str, sex: Sex, birth_year: int) -> bytes:
    """A 120x160 stylised passport-style face (PNG), the same every time for the same person."""
    rng = random.Random(hashlib.sha256(nik.encode()).digest())
    skin, hair, clothes = rng.choice(SKIN), rng.choice(HAIR), rng.choice(CLOTHES)
    hijab = rng.choice(HIJAB) if sex == "F" and rng.random() < 0.6 else None
    long_hair = sex == "F" and hijab is None
    background = BACKGROUND[birth_year % 2]
    eye, lips = (25, 20, 20), (max(skin[0] - 70, 0), max(skin[1] - 80, 0), max(skin[2] - 70, 0))
    rows = bytearray()
    for y in range(PHOTO_HEIGHT):
        rows.append(0)  # PNG filter type: none
        for x in range(PHOTO_WIDTH):
            color = background
            if long_hair and 26 <= x <= 94 and 50 <= y <= 120:
                color = hair
            if _in_ellipse(x, y, (60, 178, 58, 50)):
                color = clothes
            if 50 <= x <= 70 and 100 <= y <= 132:
                color = skin
            if hijab is not None and (_in_ellipse(x, y, (60, 80, 42, 54)) or _in_ellipse(x, y, (60, 140, 50, 26))):
                color = hijab
            elif hijab is None and _in_ellipse(x, y, (60, 68, 36, 40)):
                color = hair
            if _in_ellipse(x, y, (60, 80, 29, 37)):
                color = skin
                if hijab is None and y < 54:
                    color = hair
                elif _in_ellipse(x, y, (48, 76, 3.2, 2.4)) or _in_ellipse(x, y, (72, 76, 3.2, 2.4)):
                    color = eye
                elif 69 <= y <= 70 and (43 <= x <= 53 or 67 <= x <= 77):
                    color = hair
                elif 97 <= y <= 99 and 52 <= x <= 68:
                    color = lips
            rows += bytes(color)
    return _png(PHOTO_WIDTH, PHOTO_HEIGHT, bytes(rows))


def _png(width: int, height: int, raw_rows: bytes) -> bytes:
    """A truecolour PNG from unfiltered RGB rows (each row starts with its filter byte)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw_rows, 9)) + chunk(b"IEND", b"")
    )
