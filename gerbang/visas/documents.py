"""The issued documents as PDFs: the e-visa (A4, with its MRV-A zone) and the stay-permit card (ID-1).

Pure functions of plain values: a :class:`~gerbang.visas.models.Permit` or anything shaped like one (see
:class:`PermitLike`), so they need no database. Labels are bilingual static text (Indonesian / English); the
PDF is not translated through gettext. The QR code points at the public verification page, which asks for
the permit's number and the holder's passport number (:func:`verification_url`).

Drawn with reportlab on a canvas in ``invariant`` mode, so the same permit gives the same bytes. Text is set in
DejaVu Sans when the system has it (names with letters beyond Western European ones, e.g. ``Ł``, need it) and
in Helvetica otherwise; the machine-readable zone in Courier (OCR-B is not available), at 12 pt, which is the
ICAO pitch of 10 characters per inch.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Final, Protocol
from urllib.parse import urlencode

import segno
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from mrz.base.countries_ops import get_country
from reportlab.lib.colors import Color, black, white
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

__all__ = ["CARD_SIZE", "evisa_pdf", "permit_card_pdf", "verification_url"]

CARD_SIZE: Final = (85.60 * mm, 53.98 * mm)
"""ISO/IEC 7810 ID-1 (a bank card), the stay-permit card's page size, in points."""

ISSUER: Final = "Direktorat Jenderal Imigrasi / Directorate General of Immigration"

_GREY: Final = Color(0.35, 0.35, 0.35)
_MRZ_FONT: Final = "Courier"
_MRZ_SIZE: Final = 12  # Courier's advance is 0.6 em: 7.2 pt = 2.54 mm, ICAO's 10 characters per inch

# DejaVu Sans where Debian and most distributions install it; Helvetica (Western European only) otherwise.
_FONT_DIRECTORIES: Final = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))

_SEX: Final = {"M": "Laki-laki / Male", "F": "Perempuan / Female", "X": "Tidak disebutkan / Unspecified"}
_MONTHS_ID: Final = ("JAN", "FEB", "MAR", "APR", "MEI", "JUN", "JUL", "AGU", "SEP", "OKT", "NOV", "DES")
_MONTHS_EN: Final = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


class KindLike(Protocol):
    @property
    def index_code(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def multiple_entry(self) -> bool: ...


class ForeignerLike(Protocol):
    @property
    def nationality(self) -> str: ...
    @property
    def passport_number(self) -> str: ...
    @property
    def surname(self) -> str: ...
    @property
    def given_names(self) -> str: ...
    @property
    def birth_date(self) -> datetime.date: ...
    @property
    def sex(self) -> str: ...


class SponsorLike(Protocol):
    @property
    def name(self) -> str: ...


class PermitLike(Protocol):
    """What the documents read from a permit; :class:`gerbang.visas.models.Permit` has it all."""

    @property
    def number(self) -> str: ...
    @property
    def kind(self) -> KindLike: ...
    @property
    def foreigner(self) -> ForeignerLike: ...
    @property
    def sponsor(self) -> SponsorLike | None: ...
    @property
    def issued_at(self) -> datetime.datetime: ...
    @property
    def enter_by(self) -> datetime.date | None: ...
    @property
    def stay_days(self) -> int: ...
    @property
    def valid_from(self) -> datetime.date: ...
    @property
    def valid_until(self) -> datetime.date: ...
    @property
    def mrz(self) -> str: ...


# --- Values as printed -------------------------------------------------------------------------


def verification_url(number: str, passport_number: str) -> str:
    """The public page that confirms a permit: ``GERBANG_PUBLIC_URL/izin/periksa/?nomor=...&paspor=...``."""
    query = urlencode({"nomor": number, "paspor": passport_number})
    return f"{settings.GERBANG_PUBLIC_URL.rstrip('/')}{reverse('public:permit_verify')}?{query}"


def _date(value: datetime.date | datetime.datetime | None) -> str:
    """``10 DES/DEC 2026``: the day, the month in Indonesian and (where it differs) English, the year."""
    if value is None:
        return "-"
    if isinstance(value, datetime.datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    month_id, month_en = _MONTHS_ID[value.month - 1], _MONTHS_EN[value.month - 1]
    month = month_id if month_id == month_en else f"{month_id}/{month_en}"
    return f"{value.day:02d} {month} {value.year}"


def _holder(foreigner: ForeignerLike) -> str:
    """``ERIKSSON, Anna Maria``: the surname (primary identifier) first, as in the passport."""
    surname = foreigner.surname.strip().upper()
    given = foreigner.given_names.strip()
    return f"{surname}, {given}" if given else surname


def _nationality(code: str) -> str:
    country = get_country(code) if code else None
    return f"{code} ({country})" if country else code


def _kind(kind: KindLike) -> str:
    """``C1 Visa Kunjungan Wisata / Tourist Visit Visa``: the index and the name in both languages when known."""
    # A VisaKind has both names; anything else shaped like one may have only ``name``.
    names = [getattr(kind, field, "") for field in ("name_id", "name_en")]
    name = " / ".join(dict.fromkeys(n for n in names if n)) or kind.name
    return f"{kind.index_code} {name}".strip()


def _mrz_lines(permit: PermitLike) -> tuple[str, str]:
    lines = permit.mrz.split("\n")
    if len(lines) != 2 or any(len(line) != 44 for line in lines):
        raise ValueError(f"permit {permit.number}: the machine-readable zone must be two lines of 44 characters")
    return lines[0], lines[1]


# --- Drawing -----------------------------------------------------------------------------------


@cache
def _fonts() -> tuple[str, str]:
    """Register DejaVu Sans (regular, bold) when the system has it; return the regular and bold font names."""
    for directory in _FONT_DIRECTORIES:
        regular, bold = directory / "DejaVuSans.ttf", directory / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            pdfmetrics.registerFont(TTFont("GerbangSans", str(regular)))
            pdfmetrics.registerFont(TTFont("GerbangSans-Bold", str(bold)))
            return "GerbangSans", "GerbangSans-Bold"
    return "Helvetica", "Helvetica-Bold"


def _canvas(out: BytesIO, size: tuple[float, float], title: str) -> Canvas:
    canvas = Canvas(out, pagesize=size, invariant=True, pageCompression=1)
    canvas.setTitle(title)
    canvas.setAuthor(ISSUER)
    canvas.setCreator("Gerbang")
    return canvas


def _fitted(text: str, font: str, size: float, width: float, smallest: float) -> tuple[str, float]:
    """Shrink ``text`` down to ``smallest`` points to fit ``width``; then cut it with an ellipsis."""
    while size > smallest and pdfmetrics.stringWidth(text, font, size) > width:
        size -= 0.25
    if pdfmetrics.stringWidth(text, font, size) <= width:
        return text, size
    while text and pdfmetrics.stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text.rstrip() + "…", size


def _text(
    canvas: Canvas, x: float, y: float, text: str, *, font: str, size: float, width: float, shrink: float = 0.7
) -> None:
    """Draw ``text`` on one line, shrunk to ``shrink`` of its size at most, then cut with an ellipsis."""
    text, size = _fitted(text, font, size, width, smallest=size * shrink)
    canvas.setFont(font, size)
    canvas.drawString(x, y, text)


def _lines(text: str, font: str, size: float, width: float) -> list[str]:
    """Break ``text`` at spaces into lines no wider than ``width`` (a word wider than that keeps its own line)."""
    lines: list[str] = []
    for word in text.split():
        if lines and pdfmetrics.stringWidth(f"{lines[-1]} {word}", font, size) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines or [""]


def _value(canvas: Canvas, x: float, y: float, text: str, *, font: str, size: float, width: float) -> float:
    """Draw a value from baseline ``y``: shrunk a little to stay on one line, else wrapped onto at most three.

    A name is never cut short when it can be wrapped. Returns the height taken below ``y`` by lines after the first.
    """
    smallest = size * 0.85
    if pdfmetrics.stringWidth(text, font, smallest) <= width:
        _text(canvas, x, y, text, font=font, size=size, width=width, shrink=0.85)
        return 0.0
    size = smallest
    lines = _lines(text, font, size, width)
    if len(lines) > 3:
        lines = [*lines[:2], " ".join(lines[2:])]  # the third is cut with an ellipsis
    leading = size * 1.15
    for index, line in enumerate(lines):
        _text(canvas, x, y - index * leading, line, font=font, size=size, width=width)
    return (len(lines) - 1) * leading


def _qr(canvas: Canvas, url: str, x: float, y: float, side: float) -> None:
    """Draw the QR code of ``url`` as vector squares, ``side`` points wide (quiet zone included), from (x, y)."""
    code = segno.make(url, error="m")
    rows = [list(row) for row in code.matrix_iter(scale=1, border=4)]
    module = side / len(rows)
    canvas.saveState()
    canvas.setFillColor(white)
    canvas.rect(x, y, side, side, stroke=0, fill=1)
    canvas.setFillColor(black)
    for r, row in enumerate(rows):
        top = y + side - (r + 1) * module
        c = 0
        while c < len(row):  # one rectangle per run of dark modules
            if not row[c]:
                c += 1
                continue
            start = c
            while c < len(row) and row[c]:
                c += 1
            canvas.rect(x + start * module, top, (c - start) * module, module, stroke=0, fill=1)
    canvas.restoreState()


def _rows(permit: PermitLike, rows: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    sponsor = permit.sponsor
    extra = [("Penjamin / Sponsor", sponsor.name)] if sponsor is not None and sponsor.name else []
    return [*rows, *extra]


# --- The documents -----------------------------------------------------------------------------


def evisa_pdf(permit: PermitLike) -> bytes:
    """An A4 e-visa: the visa's particulars, the QR code of its verification page, and its MRV-A zone.

    The two MRZ lines are printed exactly as stored in ``permit.mrz`` (joined by a line break); raises
    ValueError if it is not two lines of 44 characters.
    """
    line1, line2 = _mrz_lines(permit)
    regular, bold = _fonts()
    foreigner = permit.foreigner
    url = verification_url(permit.number, foreigner.passport_number)
    width, height = A4
    margin = 20 * mm

    out = BytesIO()
    canvas = _canvas(out, A4, f"e-Visa {permit.number}")

    title = "e-Visa Republik Indonesia / Republic of Indonesia e-Visa"
    _text(canvas, margin, height - 25 * mm, title, font=bold, size=16, width=width - 2 * margin)
    canvas.setFillColor(_GREY)
    canvas.setFont(regular, 9)
    canvas.drawString(margin, height - 31 * mm, ISSUER)
    canvas.setFillColor(black)
    canvas.setLineWidth(0.8)
    canvas.line(margin, height - 35 * mm, width - margin, height - 35 * mm)

    qr_side = 45 * mm
    qr_x = width - margin - qr_side
    text_width = qr_x - margin - 8 * mm
    _text(canvas, margin, height - 46 * mm, _kind(permit.kind), font=bold, size=13, width=width - 2 * margin)

    entries = "Beberapa kali / Multiple entry" if permit.kind.multiple_entry else "Sekali / Single entry"
    rows = _rows(
        permit,
        [
            ("Nomor visa / Visa number", permit.number),
            ("Nama / Name", _holder(foreigner)),
            ("Kewarganegaraan / Nationality", _nationality(foreigner.nationality)),
            ("Nomor paspor / Passport number", foreigner.passport_number),
            ("Tanggal lahir / Date of birth", _date(foreigner.birth_date)),
            ("Jenis kelamin / Sex", _SEX.get(foreigner.sex, foreigner.sex)),
            ("Tanggal terbit / Issued on", _date(permit.issued_at)),
            ("Masuk paling lambat / Enter by", _date(permit.enter_by)),
            ("Lama tinggal per kedatangan / Stay per entry", f"{permit.stay_days} hari / days"),
            ("Jenis perjalanan / Entries", entries),
        ],
    )
    y = height - 57 * mm
    for label, value in rows:
        canvas.setFillColor(_GREY)
        canvas.setFont(regular, 7.5)
        canvas.drawString(margin, y, label)
        canvas.setFillColor(black)
        y -= _value(canvas, margin, y - 5 * mm, value, font=bold, size=11.5, width=text_width)
        y -= 12 * mm

    qr_y = height - 42 * mm - qr_side
    _qr(canvas, url, qr_x, qr_y, qr_side)
    canvas.setFont(regular, 7.5)
    canvas.drawCentredString(qr_x + qr_side / 2, qr_y - 4 * mm, "Pindai untuk memeriksa keaslian")
    canvas.drawCentredString(qr_x + qr_side / 2, qr_y - 7.5 * mm, "Scan to verify")

    notes_y = 62 * mm
    canvas.setFont(regular, 8)
    canvas.drawString(
        margin, notes_y, "Visa elektronik ini sah tanpa tanda tangan dan cap. Periksa keaslian dengan kode QR atau di:"
    )
    canvas.drawString(
        margin,
        notes_y - 4 * mm,
        "This electronic visa is valid without signature or stamp. Verify it with the QR code or at:",
    )
    _text(canvas, margin, notes_y - 9 * mm, url, font=regular, size=8, width=width - 2 * margin)
    canvas.drawString(
        margin,
        notes_y - 15 * mm,
        "Tunjukkan bersama paspor yang sama saat masuk. / Present it with the same passport on entry.",
    )

    # The machine-readable zone, in a clear band at the bottom of the page.
    mrz_width = pdfmetrics.stringWidth(line1, _MRZ_FONT, _MRZ_SIZE)
    mrz_x = (width - mrz_width) / 2
    canvas.setLineWidth(0.4)
    canvas.setStrokeColor(_GREY)
    canvas.rect(mrz_x - 4 * mm, 17 * mm, mrz_width + 8 * mm, 19 * mm, stroke=1, fill=0)
    canvas.setFont(_MRZ_FONT, _MRZ_SIZE)
    canvas.drawString(mrz_x, 28 * mm, line1)
    canvas.drawString(mrz_x, 22 * mm, line2)

    canvas.showPage()
    canvas.save()
    return out.getvalue()


def permit_card_pdf(permit: PermitLike) -> bytes:
    """A stay-permit card (ITAS, ITK, ITAP) on one ID-1 page (85.60 x 53.98 mm): particulars and the QR code."""
    regular, bold = _fonts()
    foreigner = permit.foreigner
    url = verification_url(permit.number, foreigner.passport_number)
    width, height = CARD_SIZE
    margin = 3 * mm

    out = BytesIO()
    canvas = _canvas(out, CARD_SIZE, f"{permit.kind.index_code} {permit.number}")

    canvas.setFillColor(_GREY)
    canvas.setFont(regular, 4.5)
    canvas.drawString(margin, height - margin - 4.5, "REPUBLIK INDONESIA / REPUBLIC OF INDONESIA")
    canvas.setFillColor(black)
    canvas.setFont(bold, 7)
    canvas.drawString(margin, height - margin - 12, "IZIN TINGGAL / STAY PERMIT")
    _text(canvas, margin, height - margin - 19.5, _kind(permit.kind), font=bold, size=6, width=width - 2 * margin)
    canvas.setLineWidth(0.4)
    canvas.line(margin, height - margin - 22.5, width - margin, height - margin - 22.5)

    qr_side = 21 * mm
    qr_x = width - margin - qr_side
    text_width = qr_x - margin - 1.5 * mm
    sponsor = permit.sponsor
    rows = [
        ("Nomor / Number", permit.number),
        ("Nama / Name", _holder(foreigner)),
        ("Kewarganegaraan / Nationality", _nationality(foreigner.nationality)),
        ("Nomor paspor / Passport number", foreigner.passport_number),
        ("Berlaku / Valid", f"{_date(permit.valid_from)} - {_date(permit.valid_until)}"),
        ("Penjamin / Sponsor", sponsor.name if sponsor is not None and sponsor.name else "-"),
    ]
    y = height - margin - 29
    for label, value in rows:
        canvas.setFillColor(_GREY)
        canvas.setFont(regular, 4)
        canvas.drawString(margin, y, label)
        canvas.setFillColor(black)
        y -= _value(canvas, margin, y - 5.5, value, font=bold, size=6, width=text_width)
        y -= 12.5

    qr_y = height - margin - 25 - qr_side
    _qr(canvas, url, qr_x, qr_y, qr_side)
    canvas.setFont(regular, 4)
    canvas.drawCentredString(qr_x + qr_side / 2, qr_y - 4, "Pindai untuk memeriksa")
    canvas.drawCentredString(qr_x + qr_side / 2, qr_y - 9, "Scan to verify")

    canvas.showPage()
    canvas.save()
    return out.getvalue()
