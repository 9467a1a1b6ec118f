"""The Indonesian catalogue is complete, and the site speaks Indonesian by default and English on request.

Bahasa Indonesia is the default language; the source strings in code and
templates are English. These tests fail when a string is added (or changed)
in the code without an Indonesian translation, when a translation is left
fuzzy, and when the language switch stops working.

To fix a failure: `bash scripts/check-translations.sh`, translate what it
reports in locale/id/LC_MESSAGES/django.po, then `make messages`.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

ROOT = Path(settings.BASE_DIR)
ID_PO = ROOT / "locale" / "id" / "LC_MESSAGES" / "django.po"
ID_MO = ID_PO.with_suffix(".mo")

# The options scripts/check-translations.sh gives makemessages (without the locale).
MAKEMESSAGES_OPTIONS = ["--ignore=.venv", "--ignore=var", "--no-obsolete"]
# Not copied into the scratch tree that strings are extracted from.
COPY_IGNORE = shutil.ignore_patterns(
    ".venv", "var", ".git", "node_modules", "locale", "__pycache__", "*.pyc", ".*_cache", "test-results"
)


def _c_locale_env() -> dict[str, str]:
    """The environment, with gettext's messages in English so that its output can be read."""
    env = {k: v for k, v in os.environ.items() if k not in {"LANGUAGE", "LC_MESSAGES", "LANG"}}
    env["LC_ALL"] = "C"
    return env


@dataclass
class Entry:
    msgid: str
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)

    @property
    def key(self) -> tuple[str | None, str]:
        return (self.msgctxt, self.msgid)

    @property
    def translated(self) -> bool:
        return bool(self.msgstr) and all(self.msgstr) and "fuzzy" not in self.flags


def read_po(path: Path) -> dict[tuple[str | None, str], Entry]:
    """A small reader for the .po files makemessages writes (no dependency on polib).

    Skips obsolete (#~) entries and the header. Keys are (msgctxt, msgid).
    """
    entries: dict[tuple[str | None, str], Entry] = {}
    current: Entry | None = None
    flags: set[str] = set()
    target: tuple[str, int] | None = None  # which field a continuation line belongs to

    def finish() -> None:
        nonlocal current, flags
        if current is not None and current.msgid != "":
            entries[current.key] = current
        current, flags = None, set()

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            finish()
            continue
        if line.startswith("#~"):
            continue
        if line.startswith("#,"):
            if current is not None and current.msgstr:
                finish()
            flags |= {f.strip() for f in line[2:].split(",") if f.strip()}
            continue
        if line.startswith("#"):
            continue
        match = re.match(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(".*")$', line)
        if match:
            keyword, index, literal = match.group(1), match.group(2), match.group(3)
            value = ast.literal_eval(literal)
            if keyword in ("msgctxt", "msgid") and current is not None and current.msgstr:
                finish()  # a new entry without a blank line before it
            if current is None:
                current = Entry(msgid="", flags=flags)
            if keyword == "msgctxt":
                current.msgctxt = value
                target = ("msgctxt", 0)
            elif keyword == "msgid":
                current.msgid = value
                target = ("msgid", 0)
            elif keyword == "msgid_plural":
                current.msgid_plural = value
                target = ("msgid_plural", 0)
            else:
                n = int(index) if index is not None else 0
                while len(current.msgstr) <= n:
                    current.msgstr.append("")
                current.msgstr[n] = value
                target = ("msgstr", n)
            continue
        if line.startswith('"') and current is not None and target is not None:
            value = ast.literal_eval(line)
            name, n = target
            if name == "msgstr":
                current.msgstr[n] += value
            else:
                setattr(current, name, (getattr(current, name) or "") + value)
            continue
        raise AssertionError(f"{path}: cannot read line {raw!r}")
    finish()
    return entries


def read_header(path: Path) -> dict[str, str]:
    text = path.read_text(encoding="utf-8")
    match = re.search(r'^msgid ""\nmsgstr ""\n((?:".*"\n)+)', text, re.MULTILINE)
    assert match, f"{path} has no header entry"
    body = "".join(ast.literal_eval(line) for line in match.group(1).splitlines())
    return dict(line.split(": ", 1) for line in body.splitlines() if ": " in line)


def test_indonesian_catalogue_compiles_fully_translated() -> None:
    msgfmt = shutil.which("msgfmt")
    assert msgfmt, "msgfmt not found: install gettext (scripts/ensure-system-packages.sh)"
    result = subprocess.run(
        [msgfmt, "--check", "--statistics", "-o", os.devnull, str(ID_PO)],
        capture_output=True,
        text=True,
        env=_c_locale_env(),
        timeout=60,
        check=False,
    )
    report = result.stderr + result.stdout
    assert result.returncode == 0, report
    assert "fuzzy" not in report, report
    assert "untranslated" not in report, report
    match = re.search(r"(\d+) translated messages?", report)
    assert match, report
    assert int(match.group(1)) > 0, report


def test_indonesian_catalogue_header() -> None:
    header = read_header(ID_PO)
    assert header.get("Language") == "id"
    assert header.get("Plural-Forms") == "nplurals=1; plural=0;"
    assert "charset=UTF-8" in header.get("Content-Type", "")
    assert header.get("Project-Id-Version") == "Gerbang"
    first_entry = ID_PO.read_text(encoding="utf-8").split('msgid ""', 1)[0]
    assert "fuzzy" not in first_entry, "the header is marked fuzzy: msgfmt would drop it"


def test_every_string_in_the_code_has_an_indonesian_translation(tmp_path: Path) -> None:
    """Extract the strings the code uses now (in a scratch copy) and look each one up in the catalogue."""
    tree = tmp_path / "tree"
    shutil.copytree(ROOT, tree, ignore=COPY_IGNORE, symlinks=True)
    (tree / "locale").mkdir()
    env = _c_locale_env()
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    env["GERBANG_VAR_DIR"] = str(tmp_path / "var")
    result = subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "id", "--no-location", *MAKEMESSAGES_OPTIONS],
        cwd=tree,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    extracted = read_po(tree / "locale" / "id" / "LC_MESSAGES" / "django.po")
    assert extracted, "makemessages found no strings at all"

    catalogue = read_po(ID_PO)
    missing = [key for key in extracted if key not in catalogue]
    untranslated = [key for key in extracted if key in catalogue and not catalogue[key].translated]
    plural_mismatch = [
        key
        for key, entry in extracted.items()
        if key in catalogue and catalogue[key].msgid_plural != entry.msgid_plural
    ]

    def show(keys: list[tuple[str | None, str]]) -> str:
        return "\n".join(f"  {msgid!r}" + (f" (context {ctx!r})" if ctx else "") for ctx, msgid in keys)

    problems = []
    if missing:
        problems.append(
            f"{len(missing)} string(s) used in the code are not in {ID_PO.relative_to(ROOT)}:\n{show(missing)}"
        )
    if untranslated:
        problems.append(f"{len(untranslated)} string(s) have no (or only a fuzzy) translation:\n{show(untranslated)}")
    if plural_mismatch:
        problems.append(f"{len(plural_mismatch)} plural form(s) differ from the code:\n{show(plural_mismatch)}")
    assert not problems, "\n".join(problems) + "\nRun: bash scripts/check-translations.sh"


@pytest.mark.django_db
def test_site_is_indonesian_by_default_and_english_when_chosen() -> None:
    assert ID_MO.exists(), "the Indonesian catalogue is not compiled: run `make messages`"
    client = Client()

    response = client.get("/")
    assert response.status_code == 200
    page = response.content.decode()
    assert '<html lang="id">' in page
    assert "Layanan dan tarif" in page
    assert "Services and fees" not in page

    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain and response.redirect_chain[-1][0] == "/"
    page = response.content.decode()
    assert '<html lang="en">' in page
    assert "Services and fees" in page
    assert "Layanan dan tarif" not in page

    response = client.post("/i18n/setlang/", {"language": "id", "next": "/"}, follow=True)
    assert "Layanan dan tarif" in response.content.decode()
