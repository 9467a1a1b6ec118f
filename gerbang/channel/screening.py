"""Screening of the messages an officer writes to an applicant, before they are sent.

Officers reach applicants only through Gerbang's message channel. Anything in a
message that would let the conversation, and a bribe, move somewhere else is a
finding: a phone number, a messaging-app handle or invitation, an e-mail
address, a link to a host outside Gerbang, a bank account number, or a request
for cash. The caller blocks the message, shows the officer
:func:`explain`'s sentences and records the attempt for supervision.

:func:`screen` is a pure function: no database, no models, no network.

How it looks:

* The message is normalised character by character with Unicode NFKC
  (full-width and circled digits become ASCII digits, full-width letters ASCII
  letters) and invisible format characters (zero-width spaces and joiners, soft
  hyphens) are dropped. Every normalised character remembers its offset in the
  original message, so findings point into the text the officer typed.
* Detectors run from the most to the least specific. Each one masks what it
  found, so a later one does not report it again: e-mail addresses (also
  ``name [at] host [dot] com``), then links (``http(s)://``, ``www.`` and bare
  ``name.tld`` with a common TLD; messaging hosts such as ``wa.me`` are
  ``messaging_handle``, other hosts outside ``allowed_hosts`` are
  ``external_link``), then ``@handles``, then messaging-app words, then
  requests for cash, then digit runs.
* A digit run is a sequence of digits, number words (Indonesian and English,
  ``nol``/``kosong``/``zero`` ... ``sembilan``/``nine``) and the letter O in a
  digit run, joined by spaces, dots, dashes, slashes, brackets or plus signs.
  Dates, times and currency amounts are masked first, so they neither count
  nor glue neighbouring numbers together. A run of 9 or more digits is a
  finding unless the caller's ``allowed_identifier`` accepts it (the channel
  allows the application's own reference and billing codes only: a valid check
  digit alone proves nothing, anyone can append one to a phone number). A run of 10-16
  digits with a bank word (rekening, transfer, BCA, VA ...) within 40
  characters is ``bank_account``; otherwise a run shaped like an Indonesian
  phone number (leading 0, 62 or +) is ``phone``; other 10-16 digit runs are
  ``bank_account``, anything else ``phone``.

Deliberately not caught (the screening raises the cost of going around the
channel; supervision of the signals and of the conversations does the rest):

* numbers split across several messages, or chunks of fewer than 9 digits with
  words between them ("0812, then 3456, then 7890");
* anything in images or attachments: only the text is screened;
* compound number words ("dua belas", "twelve", "double eight"), look-alike
  letters other than O (l for 1, S for 5) and homoglyphs from other scripts
  (a Cyrillic letter a in "wa");
* a number dressed as a date or an amount ("Rp 812.345.678");
* bare domains with a TLD outside the list below, and spelled-out links without
  a recognisable dot ("evil titik com");
* requests for money in any wording other than the fixed phrases below; the
  negation check ("tidak ada biaya tambahan", "do not bring cash") only looks
  at the three words before the phrase, in the same clause.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Final, TypeAlias

from django.utils.translation import gettext as _

__all__ = [
    "BANK_ACCOUNT",
    "CATEGORIES",
    "EMAIL",
    "EXTERNAL_LINK",
    "MESSAGING_HANDLE",
    "PAYMENT_REQUEST",
    "PHONE",
    "Finding",
    "IdentifierCheck",
    "explain",
    "screen",
]

PHONE: Final = "phone"
MESSAGING_HANDLE: Final = "messaging_handle"
EMAIL: Final = "email"
EXTERNAL_LINK: Final = "external_link"
BANK_ACCOUNT: Final = "bank_account"
PAYMENT_REQUEST: Final = "payment_request"
CATEGORIES: Final = (PHONE, MESSAGING_HANDLE, EMAIL, EXTERNAL_LINK, BANK_ACCOUNT, PAYMENT_REQUEST)

MIN_DIGITS: Final = 9  # fewer digits in a run is an ordinary number (a date, a counter, a count)
ACCOUNT_DIGITS: Final = range(10, 17)  # Indonesian bank and virtual account numbers
MAX_LOCAL_PHONE_DIGITS: Final = 13  # 0812 3456 78901
MAX_INTERNATIONAL_PHONE_DIGITS: Final = 15  # E.164
BANK_WORD_DISTANCE: Final = 40  # characters either side of a digit run

MASK: Final = "\x00"  # stands in for text a detector has already dealt with; breaks every pattern below

IdentifierCheck: TypeAlias = Callable[[str], bool] | re.Pattern[str]


@dataclass(frozen=True)
class Finding:
    """Something in a message that would take the conversation outside Gerbang.

    ``start`` and ``end`` are offsets in the original message and ``text`` is
    ``message[start:end]``, also when the match was found in the normalised text.
    """

    category: str
    text: str
    start: int
    end: int
    explanation: str


def screen(
    text: str,
    *,
    allowed_hosts: Iterable[str],
    allowed_identifier: IdentifierCheck | None = None,
) -> list[Finding]:
    """Everything in ``text`` that an officer may not send an applicant, in order of appearance.

    ``allowed_hosts`` are Gerbang's own host names (``{"gerbang.example.id"}``);
    links to them and to their subdomains pass. ``allowed_identifier`` accepts
    the caller's own identifiers (application references) so that their digits
    are not taken for a phone or account number: a callable returning True, or
    a compiled pattern that must match the whole candidate. It is asked about
    the digit run as written, its digits alone, and the run with the word
    directly before it (``PAS-1234-5678-9012``).
    """
    hosts = frozenset(h.strip().strip(".").lower() for h in allowed_hosts if h.strip().strip("."))
    norm = _normalise(text)
    work = norm.text
    spans: list[tuple[str, int, int]] = []
    detectors: list[Callable[[str], Iterator[tuple[str, int, int]]]] = [
        _emails,
        lambda s: _links(s, hosts),
        _handles,
        _messaging_words,
        _payment_requests,
        lambda s: _digit_runs(s, allowed_identifier),
    ]
    for detect in detectors:
        found = list(detect(work))
        spans.extend(found)
        work = _mask(work, [(start, end) for _, start, end in found])
    explanations = _explanations()
    findings = []
    for category, start, end in sorted(spans, key=lambda span: span[1]):
        orig_start, orig_end = norm.original_span(start, end)
        findings.append(Finding(category, text[orig_start:orig_end], orig_start, orig_end, explanations[category]))
    return findings


def explain(findings: list[Finding]) -> list[str]:
    """One sentence per category found, in the order the categories first appear."""
    seen: dict[str, str] = {}
    for finding in findings:
        seen.setdefault(finding.category, finding.explanation)
    return list(seen.values())


def _explanations() -> dict[str, str]:
    """The sentence shown to the officer for each category, in the active language."""
    return {
        PHONE: _("Phone numbers cannot be sent. Applicants are reached only through Gerbang; ask them to reply here."),
        MESSAGING_HANDLE: _(
            "Other messaging apps and accounts cannot be mentioned. The conversation stays in Gerbang; "
            "ask the applicant to reply here."
        ),
        EMAIL: _(
            "E-mail addresses cannot be sent. Applicants are reached only through Gerbang; ask them to reply here."
        ),
        EXTERNAL_LINK: _("Links to other websites cannot be sent. Link only to Gerbang's own pages."),
        BANK_ACCOUNT: _("Account numbers cannot be sent. Applicants pay only with a Gerbang billing code."),
        PAYMENT_REQUEST: _(
            "Asking for cash or extra payments is not allowed. Every fee is paid with a Gerbang billing code."
        ),
    }


# --- Normalisation -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Normalised:
    text: str
    origin: tuple[int, ...]  # origin[i]: offset in the original message of normalised character i

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        return self.origin[start], self.origin[end - 1] + 1


def _normalise(message: str) -> _Normalised:
    """NFKC character by character, without invisible format characters, keeping each character's origin."""
    chars: list[str] = []
    origin: list[int] = []
    for offset, char in enumerate(message):
        if unicodedata.category(char) == "Cf":  # zero-width space and joiners, soft hyphen, BOM
            continue
        for out in unicodedata.normalize("NFKC", char):
            chars.append(out)
            origin.append(offset)
    return _Normalised("".join(chars), tuple(origin))


def _mask(text: str, spans: Iterable[tuple[int, int]]) -> str:
    chars = list(text)
    for start, end in spans:
        chars[start:end] = MASK * (end - start)
    return "".join(chars)


# --- E-mail addresses and links --------------------------------------------------------------------------------------

# A dot in a host name, also written to slip past a filter: "[.]", "(dot)", " dot ".
_DOT = r"(?:\.|\s*[\[(]\s*(?:\.|dot|titik)\s*[\])]\s*|\s+dot\s+)"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
# TLDs that make "name.tld" a link without http:// or www. (co.id is label "co" + TLD "id").
_TLD = r"(?:com|net|org|info|biz|xyz|site|online|store|shop|app|link|io|me|ly|gl|gg|id|co)"
# Bounded, so that a long run of words and " dot "s cannot make the search quadratic. A longer bare host is
# still found: its last labels match (the start may follow a dot), and those decide where a link goes.
_HOST = rf"(?:{_LABEL}{_DOT}){{1,16}}"
_URL_CHARS = rf"[^\s<>\"'{MASK}]"

_EMAIL = re.compile(
    rf"(?<![\w.+\-/])[\w.+-]+\s?(?:@|[\[(]\s*at\s*[\])])\s?{_HOST}[a-z]{{2,}}(?![\w-])",
    re.IGNORECASE,
)
_LINK = re.compile(
    rf"(?P<url>\b(?:h(?:tt|xx)ps?|ftp)://{_URL_CHARS}+)"
    rf"|(?P<www>\bwww\d{{0,3}}\.{_URL_CHARS}+)"
    rf"|(?<![\w@-])(?P<host>{_HOST}{_TLD})(?![\w-])(?:[/:?#]{_URL_CHARS}*)?",
    re.IGNORECASE,
)
_SPELLED_DOT = re.compile(_DOT, re.IGNORECASE)
_TRAILING_PUNCTUATION = ".,;:!?)]}*"

# Hosts that open a chat outside Gerbang; a link to them (or a subdomain) is a messaging handle.
_MESSAGING_HOSTS: Final = frozenset(
    {
        "wa.me",
        "whatsapp.com",
        "whatsapp.net",
        "t.me",
        "telegram.me",
        "telegram.org",
        "telegram.dog",
        "line.me",
        "lin.ee",
        "signal.me",
        "signal.group",
        "instagram.com",
        "instagr.am",
        "ig.me",
        "facebook.com",
        "fb.com",
        "fb.me",
        "m.me",
        "messenger.com",
    }
)


def _emails(text: str) -> Iterator[tuple[str, int, int]]:
    for match in _EMAIL.finditer(text):
        yield EMAIL, match.start(), match.end()


def _links(text: str, allowed_hosts: frozenset[str]) -> Iterator[tuple[str, int, int]]:
    for match in _LINK.finditer(text):
        start, end = match.span()
        while end > start and text[end - 1] in _TRAILING_PUNCTUATION:
            end -= 1
        if match.group("host") is not None:
            host = _SPELLED_DOT.sub(".", match.group("host")).lower()
        else:
            host = _host_of(text[start:end])
        if _under(host, _MESSAGING_HOSTS):
            yield MESSAGING_HANDLE, start, end
        elif not _under(host, allowed_hosts):
            yield EXTERNAL_LINK, start, end


def _host_of(url: str) -> str:
    """The host a browser would visit: after any ``user@``, before the port, path, query or fragment.

    Split by hand rather than with urllib: a browser ends the authority at a
    backslash too, so ``https://evil.com\\@gerbang.example.id`` goes to evil.com.
    """
    rest = url.split("://", 1)[1] if "://" in url else url
    authority = re.split(r"[/\\?#]", rest, maxsplit=1)[0]
    host = authority.rpartition("@")[2]
    if not host.startswith("["):  # an IPv6 literal is never an allowed host; leave it whole
        host = host.partition(":")[0]
    return host.strip(".").lower()


def _under(host: str, domains: Iterable[str]) -> bool:
    """``host`` is one of ``domains`` or a subdomain of one (not merely a name that starts the same way)."""
    return any(host == domain or host.endswith("." + domain) for domain in domains)


# --- Handles and messaging apps --------------------------------------------------------------------------------------

# What is left of an "@" after e-mail addresses are masked: an Instagram, Telegram or Line handle.
_HANDLE = re.compile(r"@(?!\d+\b)\w{3,}(?:\.\w+)*")  # not "@0930" (at half past nine)
_MESSAGING_WORDS = re.compile(
    r"\b(?:"
    r"wa(?!\s+ode\b)"  # "Wa Ode" begins many Butonese women's names
    r"|whats\s?app|wh?atsap+|wass?ap+|japri|tele?gram|instagram|insta|ig|facebook|fb|dm"
    r")(?:nya|in)?\b"  # Indonesian suffixes: "WA-nya" is caught by \b, "WAnya" and "DMin" by these
    r"|\bline\s*-?\s*id\b|\bid\s*-?\s*line\b",  # "line" alone is an ordinary English word
    re.IGNORECASE,
)


def _handles(text: str) -> Iterator[tuple[str, int, int]]:
    for match in _HANDLE.finditer(text):
        yield MESSAGING_HANDLE, match.start(), match.end()


def _messaging_words(text: str) -> Iterator[tuple[str, int, int]]:
    for match in _MESSAGING_WORDS.finditer(text):
        yield MESSAGING_HANDLE, match.start(), match.end()


# --- Requests for cash ---------------------------------------------------------------------------------------------

_PAYMENT_PHRASES = re.compile(
    r"\b(?:"
    r"uang\s+(?:pelicin|rokok|kopi|lelah|terima\s+kasih|titipan)|pelicin"
    r"|biaya\s+(?:tambahan|percepatan|pelicin)|titip(?:an)?\s+uang"
    r"|bayar\s+di\s+tempat|cash|tunai"
    r"|grease\s+money|speed\s+money|extra\s+(?:fee|payment)|under\s+the\s+table"
    r")(?:nya)?\b",  # "uang rokoknya"
    re.IGNORECASE,
)
_NEGATION_REACH = 60  # characters before a phrase that may hold its negation
_CLAUSE_END = re.compile(r"[.,;:!?\n]")
_WORD = re.compile("[^\\W\\d_]+(?:['\u2019][^\\W\\d_]+)?")  # "don't", also with a typographic apostrophe
_NEGATIONS: Final = frozenset(
    {
        "no",
        "not",
        "never",
        "without",
        "don't",
        "don\u2019t",
        "dont",
        "tidak",
        "tak",
        "jangan",
        "bukan",
        "tanpa",
        "non",
        "nggak",
        "gak",
        "enggak",
    }
)


def _payment_requests(text: str) -> Iterator[tuple[str, int, int]]:
    for match in _PAYMENT_PHRASES.finditer(text):
        if not _negated(text[max(0, match.start() - _NEGATION_REACH) : match.start()]):
            yield PAYMENT_REQUEST, match.start(), match.end()


def _negated(before: str) -> bool:
    """One of the three words before a phrase, in its clause, negates it: "tidak ada biaya tambahan", "non-tunai"."""
    clause = _CLAUSE_END.split(before)[-1]
    return any(word.lower() in _NEGATIONS for word in _WORD.findall(clause)[-3:])


# --- Digit runs: phone and account numbers -------------------------------------------------------------------------

_DAY = r"(?:0?[1-9]|[12]\d|3[01])"
_MONTH = r"(?:0?[1-9]|1[0-2])"
_YEAR = r"(?:19|20)\d\d"
_TIME = r"(?:[01]?\d|2[0-3])[.:][0-5]\d"
_AMOUNT = r"[1-9]\d{0,2}(?:[.,]\d{3}){1,2}(?:[.,]\d{1,2})?|[1-9]\d{0,8}(?:[.,]\d{1,2})?"
# Ordinary numbers that must neither count as digits nor glue their neighbours into one run.
_NOT_CONTACT_NUMBERS = re.compile(
    # Dates: 12/03/2026, 12-03-2026, 12.03.2026, 2026-03-12.
    rf"(?<!\d)(?:{_DAY}[/.-]{_DAY}[/.-]{_YEAR}|{_YEAR}[/.-]{_MONTH}[/.-]{_DAY})(?!\d)"
    # Times with a dot, only as "pukul 09.30" or "09.30 WIB": a dot also separates phone digits.
    # (A colon ends a run anyway, so 09:30 needs nothing.)
    rf"|\b(?:pukul|pkl|jam|at)\.?\s*{_TIME}(?!\d)|(?<!\d){_TIME}(?=\s?(?:WIB|WITA|WIT)\b)"
    # Amounts: Rp 350.000, Rp350,000, IDR 1.500.000, 350.000 rupiah, and 350.000 on its own
    # (but not a group of a longer number: "0812 345.678").
    rf"|(?:\bRp\.?|\bIDR|\bUSD|US\$|\$|€)\s?(?:{_AMOUNT})(?![.,]?\d)"
    rf"|(?<![\d.,])(?<!\d[\s/-])(?:{_AMOUNT})\s?(?:rupiah|ribu|rb|juta|jt|IDR)\b"
    rf"|(?<![\d.,])(?<!\d[\s/-])[1-9]\d{{0,2}}(?:\.\d{{3}}){{1,2}}(?![.,]?\d)",
    re.IGNORECASE,
)
# Digits (a letter O among them stands for 0), words, separators that keep a run going, anything else.
_TOKEN = re.compile(
    r"(?P<digits>[\dOo]*\d[\dOo]*)|(?P<word>[^\W\d_]+)|(?P<separator>[\s.\-/()+_*~|\u2010-\u2015\u2212]+)|(?P<other>.)",
    re.DOTALL,
)
_NUMBER_WORDS: Final = {
    **dict.fromkeys(("nol", "kosong", "zero"), "0"),
    **dict.fromkeys(("satu", "one"), "1"),
    **dict.fromkeys(("dua", "two"), "2"),
    **dict.fromkeys(("tiga", "three"), "3"),
    **dict.fromkeys(("empat", "four"), "4"),
    **dict.fromkeys(("lima", "five"), "5"),
    **dict.fromkeys(("enam", "six"), "6"),
    **dict.fromkeys(("tujuh", "seven"), "7"),
    **dict.fromkeys(("delapan", "eight"), "8"),
    **dict.fromkeys(("sembilan", "nine"), "9"),
}
_BANK_WORDS = re.compile(
    r"\b(?:rekening|rek|norek|account|acct|a/c|transfer|trf|tf|va|"
    r"bca|bri|bni|mandiri|bsi|btn|cimb|permata|danamon|ovo|gopay|dana|shopeepay|linkaja|e-?wallet)\b",
    re.IGNORECASE,
)
_WORD_BEFORE = re.compile(r"[^\W\d_]+[\s./-]?$")


@dataclass(frozen=True)
class _Run:
    start: int
    end: int
    digits: str


def _digit_runs(text: str, allowed_identifier: IdentifierCheck | None) -> Iterator[tuple[str, int, int]]:
    scan = _mask(text, (m.span() for m in _NOT_CONTACT_NUMBERS.finditer(text)))
    for run in _runs(scan):
        category = _classify(run, scan, allowed_identifier)
        if category is not None:
            yield category, run.start, run.end


def _runs(text: str) -> Iterator[_Run]:
    """Maximal runs of digits and number words joined only by separators."""
    start = end = 0
    digits = ""
    for token in _TOKEN.finditer(text):
        if token.lastgroup == "separator":
            continue
        value = _token_digits(token, in_run=bool(digits))
        if value is None:
            if digits:
                yield _run(text, start, end, digits)
            digits = ""
            continue
        if not digits:
            start = token.start()
        digits += value
        end = token.end()
    if digits:
        yield _run(text, start, end, digits)


def _run(text: str, start: int, end: int, digits: str) -> _Run:
    if start > 0 and text[start - 1] in "+(":  # +62 812 ..., (021) 555 ...
        start -= 1
    return _Run(start, end, digits)


def _token_digits(token: re.Match[str], *, in_run: bool) -> str | None:
    """The digits a token stands for, or None if it ends a run."""
    value = token.group()
    if token.lastgroup == "digits":
        return "".join("0" if char in "Oo" else str(unicodedata.decimal(char)) for char in value)
    if token.lastgroup == "word":
        word = value.lower()
        if word == "o" and in_run:
            return "0"
        return _NUMBER_WORDS.get(word)
    return None


def _classify(run: _Run, text: str, allowed_identifier: IdentifierCheck | None) -> str | None:
    count = len(run.digits)
    # Gerbang's own identifiers pass only when the caller names them (this application's reference and bills):
    # any number with a valid check digit would otherwise carry a phone number past the screen.
    if count < MIN_DIGITS:
        return None
    if allowed_identifier is not None and any(_allowed(allowed_identifier, c) for c in _candidates(run, text)):
        return None
    if count in ACCOUNT_DIGITS and _near_bank_words(run, text):
        return BANK_ACCOUNT
    international = text[run.start] == "+" or run.digits.startswith("62")
    if (international and count <= MAX_INTERNATIONAL_PHONE_DIGITS) or (
        run.digits.startswith("0") and count <= MAX_LOCAL_PHONE_DIGITS
    ):
        return PHONE
    return BANK_ACCOUNT if count in ACCOUNT_DIGITS else PHONE


def _candidates(run: _Run, text: str) -> list[str]:
    """What the caller's identifier check is asked about: the run, its digits, the run with the word before it."""
    written = text[run.start : run.end]
    candidates = [written, run.digits]
    word = _WORD_BEFORE.search(text[max(0, run.start - 40) : run.start])
    if word is not None:
        candidates.append(word.group() + written)
    return candidates


def _allowed(check: IdentifierCheck, candidate: str) -> bool:
    if isinstance(check, re.Pattern):
        return check.fullmatch(candidate) is not None
    return bool(check(candidate))


def _near_bank_words(run: _Run, text: str) -> bool:
    before = text[max(0, run.start - BANK_WORD_DISTANCE) : run.start]
    after = text[run.end : run.end + BANK_WORD_DISTANCE]
    return _BANK_WORDS.search(before) is not None or _BANK_WORDS.search(after) is not None
