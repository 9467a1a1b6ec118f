"""Screening of officer-to-applicant messages: what is caught, what passes, and where the findings point."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.utils import translation
from stdnum import damm

from gerbang.applications import references
from gerbang.channel.screening import (
    BANK_ACCOUNT,
    CATEGORIES,
    EMAIL,
    EXTERNAL_LINK,
    MESSAGING_HANDLE,
    PAYMENT_REQUEST,
    PHONE,
    IdentifierCheck,
    explain,
    screen,
)
from gerbang.payments import billing_codes

HOSTS = frozenset({"gerbang.example.id"})

PHONE_TEXT = "Phone numbers cannot be sent. Applicants are reached only through Gerbang; ask them to reply here."
EMAIL_TEXT = "E-mail addresses cannot be sent. Applicants are reached only through Gerbang; ask them to reply here."
LINK_TEXT = "Links to other websites cannot be sent. Link only to Gerbang's own pages."


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def categories(message: str, allowed_identifier: IdentifierCheck | None = None) -> set[str]:
    return {f.category for f in screen(message, allowed_hosts=HOSTS, allowed_identifier=allowed_identifier)}


def billing_code(body: str = "31415926535897") -> str:
    """A billing code as Gerbang issues them: 14 digits, the first not 0, and a Damm check digit."""
    return body + damm.calc_check_digit(body)


def reference(body: str = "27182818284") -> str:
    """An application reference as shown to people: PAS-1234-5678-9012."""
    return references.display(references.PREFIX + body + damm.calc_check_digit(body))


def full_width(ascii_text: str) -> str:
    return "".join(chr(ord(char) + 0xFEE0) if "!" <= char <= "~" else char for char in ascii_text)


# --- Phone numbers -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        "Hubungi saya di +62 812-3456-7890 ya.",
        "Nomor saya 6281234567890.",
        "Call 0812 3456 7890 after five.",
        "Call 0812.3456.7890 after five.",
        "Kantor: (021) 555 1234",
        "0812/3456/7890",
        "0 8 1 2 3 4 5 6 7 8 9 0",
        "0812 3456 7890 0813 1111 2222",
        "Telepon 0274 12345",  # 9 digits: the shortest run that counts
        "nol delapan satu dua tiga empat lima enam tujuh delapan",
        "kosong delapan satu tiga 1234 5678",
        "zero eight one two three four five six seven eight nine",
        "Zero-Eight-One-Two-3456-7890",
        "0812 tiga empat lima enam 7890",
        "O812 3456 789O",
        "0812 o 3456 7890",
        full_width("0812-3456-7890"),
        "\u2460\u2467\u2460\u2461\u2462\u2463\u2464\u2465\u2466",  # circled digits
        "0812\u200b3456\u200b7890",  # zero-width spaces between the groups
        "08\u00ad12 34\u00ad56 78\u00ad90",  # soft hyphens
    ],
)
def test_phone_numbers_and_their_disguises_are_found(message: str) -> None:
    assert categories(message) == {PHONE}


# --- Messaging apps ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        "wa.me/6281234567890",
        "https://wa.me/6281234567890?text=halo",
        "https://api.whatsapp.com/send?phone=6281234567890",
        "Gabung t.me/petugas_imigrasi",
        "line.me/ti/p/abc",
        "Add my line id: petugas99",
        "ID line: petugas99",
        "Follow @petugas_99 for updates",
        "WA saya ya",
        "Hubungi WA-nya saja",
        "japri aja biar cepat",
        "chat me on WhatsApp",
        "chat me on whats app",
        "kirim ke watsap",
        "Telegram saja",
        "DM me",
        "cek IG saya",
        full_width("WA") + " saya",
        "what\u200bsapp saya",
    ],
)
def test_messaging_apps_and_handles_are_found(message: str) -> None:
    assert categories(message) == {MESSAGING_HANDLE}


def test_a_messaging_word_and_a_number_are_two_findings() -> None:
    findings = screen("WA 0812 3456 7890", allowed_hosts=HOSTS)
    assert [(f.category, f.text) for f in findings] == [(MESSAGING_HANDLE, "WA"), (PHONE, "0812 3456 7890")]


# --- E-mail addresses ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        "Kirim ke andi.petugas@gmail.com",
        "andi [at] gmail [dot] com",
        "Email: andi(at)gmail(dot)com",
        "andi @ gmail.com",
        "mailto:andi@gmail.com",
        "andi" + full_width("@") + "yahoo.co.id",
        # Even at Gerbang's own host: the conversation stays in the channel.
        "andi@gerbang.example.id",
    ],
)
def test_email_addresses_are_found(message: str) -> None:
    assert categories(message) == {EMAIL}


# --- Links ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        "See https://evil.com/pay",
        "See http://evil.com",
        "See www.evil.com",
        "See bit.ly/abc123",
        "See EVIL.COM",
        "cek situs-lain.co.id",
        "hxxps://evil.com/form",
        "evil dot com",
        "evil[.]com",
        "folder/evil.online",
    ],
)
def test_links_to_other_hosts_are_found(message: str) -> None:
    assert categories(message) == {EXTERNAL_LINK}


@pytest.mark.parametrize(
    "message",
    [
        "https://gerbang.example.id.evil.com/login",
        "gerbang.example.id.evil.com",
        "https://gerbang-example.id/login",
        "gerbang-example.id",
        "https://evilgerbang.example.id/",
        "https://gerbang.example.co.id/",
        "https://gerbang.example.id@evil.com/",  # user info before the real host
        "https://evil.com\\@gerbang.example.id/",  # a browser ends the host at the backslash
        "https://evil.com/?next=https://gerbang.example.id/",
    ],
)
def test_look_alikes_of_the_allowed_host_are_found(message: str) -> None:
    assert categories(message) == {EXTERNAL_LINK}


@pytest.mark.parametrize(
    "message",
    [
        "Read https://gerbang.example.id/bantuan/ for help.",
        "Read https://gerbang.example.id/bantuan/.",
        "See https://www.gerbang.example.id/jadwal",
        "See jadwal.gerbang.example.id",
        "See HTTPS://GERBANG.EXAMPLE.ID/BANTUAN",
        "See https://gerbang.example.id:443/bantuan",
    ],
)
def test_links_to_the_allowed_host_and_its_subdomains_pass(message: str) -> None:
    assert categories(message) == set()


def test_allowed_hosts_are_the_callers_and_nothing_else() -> None:
    message = "Read https://gerbang.example.id/bantuan/ for help."
    assert screen(message, allowed_hosts=[]) != []
    assert screen(message, allowed_hosts=["Gerbang.Example.ID."]) == []


# --- Bank accounts -------------------------------------------------------------------------------------------------


def altered(code: str) -> str:
    """The code with a wrong last digit: the Damm check catches every single-digit error."""
    return code[:-1] + str((int(code[-1]) + 1) % 10)


@pytest.mark.parametrize(
    "message",
    [
        "No rek BCA 1234567890",
        "norek: 1234567890",
        "transfer ke 1234 5678 9012 3456",
        "Mandiri: 123-456-789-0123",
        "virtual account 8808123456789012",
        "tf ke 0812 3456 7890",  # a phone number with a bank word near: the more specific finding
        "Kirim lewat OVO 081234567890",
        "1234567890123",  # 10-16 digits not shaped like a phone number
        "Silakan bayar kode " + altered(billing_code()),
        "Silakan bayar kode " + billing_code("01234567890123"),  # a billing code never starts with 0
    ],
)
def test_account_numbers_are_found(message: str) -> None:
    assert categories(message) == {BANK_ACCOUNT}


def test_a_bank_word_further_away_leaves_a_phone_number_a_phone_number() -> None:
    message = "Transfer is not needed for this application. Call 0812 3456 7890"
    assert categories(message) == {PHONE}


# --- Requests for cash ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        "Siapkan uang pelicin ya",
        "Uang rokoknya jangan lupa",
        "Bayar tunai saja di loket",
        "Please bring cash to the counter",
        "Ada biaya tambahan untuk percepatan",
        "Titip uang ke saya saja",
        "Bisa bayar di tempat",
        "Tidak usah transfer, tunai saja",  # the negation belongs to another clause
    ],
)
def test_requests_for_cash_are_found(message: str) -> None:
    assert categories(message) == {PAYMENT_REQUEST}


# --- Ordinary messages ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        "Your interview is on 12/03/2026 at 09:30 at counter 3.",
        "Please upload a clearer photo of your KTP.",
        "Jadwal wawancara 2026-03-12 pukul 09.30 WIB di loket 3.",
        "Available dates: 12/03/2026, 13/03/2026 and 14/03/2026.",
        "Tanggal 31/12/2026 - 01/01/2027",
        "Slots: 09:30 10:30 11:30 13:00",
        "Biaya Rp 350.000 atau Rp350,000, dibayar di bank.",
        "Fees range from 350.000 to 1.500.000 rupiah.",
        "Biaya IDR 1.500.000 - Rp 650.000",
        "Please wait in line at counter 2.",
        "Line 3 of the form is empty.",
        "Wa Ode Siti, your passport is ready.",
        "One or two documents are missing.",
        "Terima kasih. Info lebih lanjut ada di halaman bantuan.",
        "Tidak ada biaya tambahan.",
        "Do not bring cash; we never accept it.",
        "Don\u2019t bring cash.",
        "Pembayaran non-tunai melalui bank.",
        "Passport X1234567 was issued on 05.01.2024.",
        "Your account at Gerbang is active.",
    ],
)
def test_ordinary_messages_pass(message: str) -> None:
    assert screen(message, allowed_hosts=HOSTS) == []


@pytest.mark.parametrize(
    "message",
    [
        "The fee is Rp 350.000; pay the billing code {code} at a bank.",
        "Kode billing: {code}. Bayar di BCA, BRI atau Mandiri.",
        "Billing code {grouped}, to pay by transfer.",
    ],
)
def test_the_applications_own_billing_code_passes_any_other_check_digit_number_does_not(message: str) -> None:
    code = billing_code()
    assert billing_codes.is_valid(code)
    own = message.format(code=code, grouped=billing_codes.display(code))
    assert screen(own, allowed_hosts=HOSTS, allowed_identifier=lambda c: c.replace(" ", "") == code) == []
    # A valid check digit alone proves nothing: an officer can append one to any phone number.
    assert categories(own)
    wrong = altered(code)
    assert categories(message.format(code=wrong, grouped=billing_codes.display(wrong))) == {BANK_ACCOUNT}


# --- The caller's own identifiers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "allowed_identifier",
    [references.is_valid, re.compile(r"PAS-\d{4}-\d{4}-\d{4}")],
    ids=["callable", "pattern"],
)
def test_identifiers_the_caller_allows_pass(allowed_identifier: IdentifierCheck) -> None:
    message = f"Your application {reference()} is approved."
    assert categories(message) == {BANK_ACCOUNT}
    assert categories(message, allowed_identifier=allowed_identifier) == set()


def test_an_allowed_identifier_does_not_cover_a_phone_number() -> None:
    message = f"Application {reference()}: call 0812 3456 7890."
    assert categories(message, allowed_identifier=references.is_valid) == {PHONE}


def test_an_invalid_reference_is_not_allowed() -> None:
    wrong = reference()[:-1] + str((int(reference()[-1]) + 1) % 10)
    assert categories(f"Your application {wrong} is approved.", allowed_identifier=references.is_valid) == {
        BANK_ACCOUNT
    }


# --- Offsets and explanations --------------------------------------------------------------------------------------


def test_findings_point_into_the_original_message() -> None:
    message = (
        "Halo, ini +62 812-3456-7890, atau andi.petugas@gmail.com, "
        "lihat https://evil.com/x. Rek BCA 1234567890, WA @petugas_99, uang pelicin."
    )
    findings = screen(message, allowed_hosts=HOSTS)
    assert [(f.category, f.text) for f in findings] == [
        (PHONE, "+62 812-3456-7890"),
        (EMAIL, "andi.petugas@gmail.com"),
        (EXTERNAL_LINK, "https://evil.com/x"),
        (BANK_ACCOUNT, "1234567890"),
        (MESSAGING_HANDLE, "WA"),
        (MESSAGING_HANDLE, "@petugas_99"),
        (PAYMENT_REQUEST, "uang pelicin"),
    ]
    for finding in findings:
        assert message[finding.start : finding.end] == finding.text
    assert findings[0].start == message.index("+62")


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("O\ufb03ce: 0812 3456 7890", "0812 3456 7890"),  # the ligature becomes three letters when normalised
        ("Hubungi\u200b\u200b 0812 3456 7890", "0812 3456 7890"),  # dropped zero-width spaces
        (full_width("Hubungi 0812 3456 7890"), full_width("0812 3456 7890")),
        ("Kontak: 0812\u200b3456\u200b7890!", "0812\u200b3456\u200b7890"),
    ],
)
def test_offsets_survive_normalisation(message: str, expected: str) -> None:
    [finding] = screen(message, allowed_hosts=HOSTS)
    assert finding.text == expected
    assert message[finding.start : finding.end] == expected
    assert finding.start == message.index(expected)


def test_each_finding_carries_its_explanation() -> None:
    [phone] = screen("0812 3456 7890", allowed_hosts=HOSTS)
    [email] = screen("andi@gmail.com", allowed_hosts=HOSTS)
    [link] = screen("https://evil.com", allowed_hosts=HOSTS)
    assert (phone.explanation, email.explanation, link.explanation) == (PHONE_TEXT, EMAIL_TEXT, LINK_TEXT)


def test_every_category_has_its_own_explanation() -> None:
    message = "0812 3456 7890 WA andi@gmail.com https://evil.com rekening 1234567890 uang pelicin"
    findings = screen(message, allowed_hosts=HOSTS)
    assert {f.category for f in findings} == set(CATEGORIES)
    lines = explain(findings)
    assert len(lines) == 6
    assert len(set(lines)) == 6
    assert all(line.endswith(".") for line in lines)


def test_explain_gives_one_sentence_per_category_in_order_of_first_appearance() -> None:
    findings = screen("Call 0812 3456 7890, mail andi@gmail.com or call 0813 1111 2222.", allowed_hosts=HOSTS)
    assert [f.category for f in findings] == [PHONE, EMAIL, PHONE]
    assert explain(findings) == [PHONE_TEXT, EMAIL_TEXT]
    assert explain([]) == []
