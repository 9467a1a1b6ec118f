"""The issued documents as PDFs: the e-visa with its MRV-A zone and the stay-permit card, read back with pypdf.

Permits are plain namespaces: the documents need no database. Until ``public:permit_verify`` is in the
project's URLs, this module is its own URL configuration with that one route.
"""

from __future__ import annotations

import datetime
from io import BytesIO
from types import SimpleNamespace
from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from pypdf import PdfReader

from gerbang.core.mrz import VisaData, mrva
from gerbang.visas.documents import CARD_SIZE, evisa_pdf, permit_card_pdf, verification_url


def _verify(request: HttpRequest) -> HttpResponse:  # pragma: no cover - only reversed, never requested
    return HttpResponse()


urlpatterns = [path("", include(([path("izin/periksa/", _verify, name="permit_verify")], "public")))]

WIB = datetime.timezone(datetime.timedelta(hours=7))


@pytest.fixture(autouse=True)
def _urls_and_public_url(settings: Any) -> None:
    settings.ROOT_URLCONF = __name__
    settings.GERBANG_PUBLIC_URL = "https://gerbang.example/"


def foreigner(**changes: Any) -> SimpleNamespace:
    values: dict[str, Any] = {
        "nationality": "AUS",
        "passport_number": "PA1234567",
        "surname": "O'Brien",
        "given_names": "Siobhán Mary",
        "birth_date": datetime.date(1985, 3, 9),
        "sex": "F",
    }
    return SimpleNamespace(**(values | changes))


def visa(**changes: Any) -> Any:
    """A C1 tourist e-visa as issued: the MRZ is the real MRV-A of the holder."""
    holder = changes.pop("foreigner", None) or foreigner()
    line1, line2 = mrva(
        VisaData(
            number="VA1234567",
            surname=holder.surname,
            given_names=holder.given_names,
            nationality=holder.nationality,
            birth_date=holder.birth_date,
            sex=holder.sex,
            valid_until=datetime.date(2027, 2, 26),
        )
    )
    values: dict[str, Any] = {
        "number": "VA1234567",
        "kind": SimpleNamespace(
            index_code="C1",
            name="Tourist Visit Visa",
            name_id="Visa Kunjungan Wisata",
            name_en="Tourist Visit Visa",
            category="visa",
            multiple_entry=False,
        ),
        "foreigner": holder,
        "sponsor": SimpleNamespace(name="PT Wisata Nusantara Jaya"),
        "issued_at": datetime.datetime(2026, 11, 28, 9, 30, tzinfo=WIB),
        "enter_by": datetime.date(2027, 2, 26),
        "stay_days": 60,
        "valid_from": datetime.date(2026, 11, 28),
        "valid_until": datetime.date(2027, 2, 26),
        "mrz": f"{line1}\n{line2}",
    }
    return SimpleNamespace(**(values | changes))


def stay_permit(**changes: Any) -> Any:
    values: dict[str, Any] = {
        "number": "2C11AB123456",
        "kind": SimpleNamespace(
            index_code="E23",
            name="Limited Stay Permit (worker)",
            name_id="Izin Tinggal Terbatas (pekerja)",
            name_en="Limited Stay Permit (worker)",
            category="stay_permit",
            multiple_entry=True,
        ),
        "enter_by": None,
        "stay_days": 365,
        "valid_from": datetime.date(2026, 12, 1),
        "valid_until": datetime.date(2027, 11, 30),
        "mrz": "",
    }
    return visa(**(values | changes))


def text_of(pdf: bytes) -> tuple[str, PdfReader]:
    reader = PdfReader(BytesIO(pdf))
    assert len(reader.pages) == 1
    return reader.pages[0].extract_text(), reader


# --- The verification URL ----------------------------------------------------------------------


def test_verification_url() -> None:
    assert verification_url("VA1234567", "PA1234567") == (
        "https://gerbang.example/izin/periksa/?nomor=VA1234567&paspor=PA1234567"
    )


def test_verification_url_encodes_its_values() -> None:
    assert verification_url("A B", "X&Y=1").endswith("/izin/periksa/?nomor=A+B&paspor=X%26Y%3D1")


# --- The e-visa --------------------------------------------------------------------------------


def test_evisa_has_the_number_the_passport_and_both_mrz_lines() -> None:
    permit = visa()
    line1, line2 = permit.mrz.split("\n")
    text, reader = text_of(evisa_pdf(permit))
    assert "e-Visa Republik Indonesia / Republic of Indonesia e-Visa" in text
    assert "VA1234567" in text
    assert "PA1234567" in text
    assert line1 in text
    assert line2 in text
    assert line1 == "V<IDNOBRIEN<<SIOBHAN<MARY" + "<" * 19
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4


def test_evisa_shows_the_particulars_in_both_languages() -> None:
    text, _ = text_of(evisa_pdf(visa()))
    for expected in [
        "C1 Visa Kunjungan Wisata / Tourist Visit Visa",
        "O'BRIEN, Siobhán Mary",
        "AUS (Australia)",
        "09 MAR 1985",
        "Perempuan / Female",
        "28 NOV 2026",
        "26 FEB 2027",
        "60 hari / days",
        "Sekali / Single entry",
        "PT Wisata Nusantara Jaya",
        "https://gerbang.example/izin/periksa/?nomor=VA1234567&paspor=PA1234567",
    ]:
        assert expected in text


def test_evisa_without_sponsor_and_multiple_entry() -> None:
    permit = visa(sponsor=None)
    permit.kind.multiple_entry = True
    text, _ = text_of(evisa_pdf(permit))
    assert "Penjamin / Sponsor" not in text
    assert "Beberapa kali / Multiple entry" in text


def test_evisa_fits_a_long_name_and_letters_beyond_western_european() -> None:
    holder = foreigner(surname="Wałęsa-Brzęczyszczykiewicz", given_names="Łukasz Grzegorz Aleksander Maximilian")
    text, _ = text_of(evisa_pdf(visa(foreigner=holder)))
    assert "VA1234567" in text and "PA1234567" in text


def test_the_same_permit_gives_the_same_bytes() -> None:
    assert evisa_pdf(visa()) == evisa_pdf(visa())


@pytest.mark.parametrize("mrz", ["", "V<IDN", "V<IDN\nVA1234567", "A" * 44 + "\n" + "B" * 44 + "\n" + "C" * 44])
def test_evisa_needs_two_mrz_lines(mrz: str) -> None:
    with pytest.raises(ValueError, match="machine-readable zone"):
        evisa_pdf(visa(mrz=mrz))


# --- The stay-permit card ----------------------------------------------------------------------


def test_permit_card_has_the_number_and_the_passport_on_an_id1_page() -> None:
    text, reader = text_of(permit_card_pdf(stay_permit()))
    assert "2C11AB123456" in text
    assert "PA1234567" in text
    box = reader.pages[0].mediabox
    assert (float(box.width), float(box.height)) == pytest.approx(CARD_SIZE, abs=0.01)
    assert (float(box.width), float(box.height)) == pytest.approx((242.65, 153.01), abs=0.01)  # 85.60 x 53.98 mm


def test_permit_card_shows_the_particulars() -> None:
    text, _ = text_of(permit_card_pdf(stay_permit()))
    for expected in [
        "E23 Izin Tinggal Terbatas (pekerja) / Limited Stay Permit (worker)",
        "O'BRIEN, Siobhán Mary",
        "AUS (Australia)",
        "01 DES/DEC 2026 - 30 NOV 2027",
        "PT Wisata Nusantara Jaya",
    ]:
        assert expected in text


def test_permit_card_without_sponsor() -> None:
    text, _ = text_of(permit_card_pdf(stay_permit(sponsor=None)))
    assert "Penjamin / Sponsor" in text and "2C11AB123456" in text
