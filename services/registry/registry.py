"""The registry's data and rules, independent of HTTP serving.

- :class:`Store` keeps residents, the audit of answered requests and used
  request nonces in ``registry.sqlite3`` (one connection per operation, so any
  thread may call). The population is generated once, on first start.
- :func:`parse_verify` / :func:`parse_photo` check request bodies (field errors).
- :meth:`Store.verify` answers a verification: a match only when NIK, KK, name
  and birth date all agree, and then the person and the minors on their card.
"""

from __future__ import annotations

import hmac
import logging
import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from .population import ADULT_AGE, SEED, Resident, age_on, face_png, generate

log = logging.getLogger("registry")

DIGITS16 = re.compile(r"[0-9]{16}")
MAX_NAME = 120
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS residents (
    nik TEXT PRIMARY KEY, kk TEXT NOT NULL, name TEXT NOT NULL, birth_place TEXT NOT NULL,
    birth_date TEXT NOT NULL, sex TEXT NOT NULL CHECK (sex IN ('M', 'F')),
    father_name TEXT NOT NULL, mother_name TEXT NOT NULL,
    relationship TEXT NOT NULL CHECK (relationship IN ('head', 'wife', 'child')),
    province TEXT NOT NULL, demo INTEGER NOT NULL DEFAULT 0, position INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS residents_kk ON residents (kk);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY, time TEXT NOT NULL, key_id TEXT, method TEXT NOT NULL,
    endpoint TEXT NOT NULL, status INTEGER NOT NULL, match INTEGER);
CREATE TABLE IF NOT EXISTS nonces (
    key_id TEXT NOT NULL, nonce TEXT NOT NULL, expires REAL NOT NULL, PRIMARY KEY (key_id, nonce));
"""

# Compared against when a NIK is unknown, so a miss costs the same work as a mismatch.
_NOBODY = ("0" * 16, "0" * 16, "", "")


@dataclass(frozen=True)
class VerifyQuery:
    nik: str
    kk: str
    name: str
    birth_date: date


def normalise_name(name: str) -> str:
    """Names compare case- and whitespace-insensitively: ``"  siti   RAHAYU "`` is ``"Siti Rahayu"``."""
    return " ".join(name.split()).casefold()


def _fields(data: Any, allowed: set[str]) -> dict[str, str]:
    if not isinstance(data, dict):
        return {"body": "must be a JSON object"}
    errors = {name: "unexpected field" for name in data if name not in allowed}
    errors.update({name: "required" for name in sorted(allowed) if name not in data})
    return errors


def _digits16(data: dict[str, Any], name: str, errors: dict[str, str]) -> str:
    value = data.get(name)
    if name not in errors and not (isinstance(value, str) and DIGITS16.fullmatch(value)):
        errors[name] = "must be a string of 16 digits"
    return value if isinstance(value, str) else ""


def parse_verify(data: Any) -> tuple[VerifyQuery | None, dict[str, str]]:
    """A verification query from a JSON body, or ``(None, field errors)``."""
    errors = _fields(data, {"nik", "kk", "name", "birth_date"})
    if "body" in errors:
        return None, errors
    nik, kk = _digits16(data, "nik", errors), _digits16(data, "kk", errors)
    name = data.get("name")
    if "name" not in errors and not (isinstance(name, str) and name.strip() and len(name) <= MAX_NAME):
        errors["name"] = f"must be a non-empty string of at most {MAX_NAME} characters"
    birth: date | None = None
    raw = data.get("birth_date")
    if "birth_date" not in errors:
        try:
            if not isinstance(raw, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
                raise ValueError
            birth = date.fromisoformat(raw)
        except ValueError:
            errors["birth_date"] = "must be a date YYYY-MM-DD"
    if errors or birth is None:
        return None, errors
    return VerifyQuery(nik, kk, str(name), birth), {}


def parse_photo(data: Any) -> tuple[str | None, dict[str, str]]:
    """The NIK of a photo request, or ``(None, field errors)``."""
    errors = _fields(data, {"nik"})
    if "body" in errors:
        return None, errors
    nik = _digits16(data, "nik", errors)
    return (None, errors) if errors else (nik, {})


def _person(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "nik": row["nik"],
        "kk": row["kk"],
        "name": row["name"],
        "birth_place": row["birth_place"],
        "birth_date": row["birth_date"],
        "sex": row["sex"],
        "father_name": row["father_name"],
        "mother_name": row["mother_name"],
        "relationship": row["relationship"],
    }


class Store:
    """The registry's SQLite database."""

    def __init__(self, path: Path, seed: int = SEED) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.executescript(SCHEMA)
            found = db.execute("SELECT value FROM meta WHERE key = 'seed'").fetchone()
            if found is None:
                self._populate(db, seed)
            elif int(found[0]) != seed:
                raise ValueError(f"{self.path} was generated with seed {found[0]}, not {seed}")
        self.seed = seed

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=10)) as db, db:  # `with db` commits or rolls back
            db.row_factory = sqlite3.Row
            yield db

    @staticmethod
    def _populate(db: sqlite3.Connection, seed: int) -> None:
        rows = []
        for family in generate(seed):
            for position, p in enumerate(family):
                row = (p.nik, p.kk, p.name, p.birth_place, p.birth_date.isoformat(), p.sex, p.father_name)
                rows.append((*row, p.mother_name, p.relationship, p.province, int(p.demo), position))
        db.executemany(
            "INSERT INTO residents (nik, kk, name, birth_place, birth_date, sex, father_name, mother_name,"
            " relationship, province, demo, position) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        db.executemany(
            "INSERT INTO meta (key, value) VALUES (?, ?)",
            [("seed", str(seed)), ("generated_at", _stamp(datetime.now(UTC))), ("residents", str(len(rows)))],
        )
        log.info("generated %d synthetic residents (seed %d)", len(rows), seed)

    def count(self) -> int:
        with self._db() as db:
            return int(db.execute("SELECT count(*) FROM residents").fetchone()[0])

    def resident(self, nik: str) -> Resident | None:
        with self._db() as db:
            row = db.execute("SELECT * FROM residents WHERE nik = ?", (nik,)).fetchone()
        return None if row is None else _resident(row)

    def verify(self, query: VerifyQuery, today: date | None = None) -> dict[str, Any]:
        """``{"match": false}``, or the matching person and the minors (under 17 on ``today``) on their card."""
        today = today or date.today()
        with self._db() as db:
            row = db.execute("SELECT * FROM residents WHERE nik = ?", (query.nik,)).fetchone()
            stored = _NOBODY if row is None else (row["nik"], row["kk"], row["name"], row["birth_date"])
            asked = (query.nik, query.kk, query.name, query.birth_date.isoformat())
            agree = [
                hmac.compare_digest(stored[0].encode(), asked[0].encode()),
                hmac.compare_digest(stored[1].encode(), asked[1].encode()),
                hmac.compare_digest(normalise_name(stored[2]).encode(), normalise_name(asked[2]).encode()),
                hmac.compare_digest(stored[3].encode(), asked[3].encode()),
            ]
            if row is None or not all(agree):
                return {"match": False}
            family = db.execute(
                "SELECT * FROM residents WHERE kk = ? AND nik != ? ORDER BY position",
                (row["kk"], row["nik"]),
            ).fetchall()
        minors = [
            {k: member[k] for k in ("nik", "name", "birth_date", "sex", "relationship")}
            for member in family
            if age_on(date.fromisoformat(member["birth_date"]), today) < ADULT_AGE
        ]
        return {"match": True, "person": _person(row), "family": minors}

    def photo(self, nik: str) -> bytes | None:
        """The resident's face photo (PNG), generated from the NIK, or ``None`` for an unknown NIK."""
        person = self.resident(nik)
        return None if person is None else face_png(person.nik, person.sex, person.birth_date.year)

    def demo_residents(self) -> list[dict[str, Any]]:
        """The documented demo residents, family by family."""
        with self._db() as db:
            rows = db.execute("SELECT * FROM residents WHERE demo = 1 ORDER BY rowid").fetchall()
        return [_person(row) | {"province": row["province"]} for row in rows]

    # --- Audit and nonces -------------------------------------------------------------------------

    def audit(self, key_id: str | None, method: str, endpoint: str, status: int, match: bool | None) -> None:
        """Record an answered request: when, who (key id), what endpoint, the status and the match; no body."""
        with self._db() as db:
            db.execute(
                "INSERT INTO audit (time, key_id, method, endpoint, status, match) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    _stamp(datetime.now(UTC)),
                    key_id,
                    method,
                    endpoint[:200],
                    status,
                    None if match is None else int(match),
                ),
            )

    def audit_log(self, limit: int = 100) -> list[dict[str, Any]]:
        """The latest audit entries, oldest first."""
        with self._db() as db:
            rows = db.execute(
                "SELECT time, key_id, method, endpoint, status, match FROM audit ORDER BY id DESC LIMIT ?", (limit,)
            ).fetchall()
        return [dict(row) | {"match": None if row["match"] is None else bool(row["match"])} for row in reversed(rows)]

    def use(self, key_id: str, nonce: str, expires: float) -> bool:
        """:class:`signedhttp.NonceStore`: ``False`` if ``nonce`` was already used (kept across restarts)."""
        with self._db() as db:
            db.execute("DELETE FROM nonces WHERE expires < ?", (time.time(),))
            cursor = db.execute(
                "INSERT OR IGNORE INTO nonces (key_id, nonce, expires) VALUES (?, ?, ?)", (key_id, nonce, expires)
            )
            return cursor.rowcount == 1


def _resident(row: sqlite3.Row) -> Resident:
    return Resident(
        nik=row["nik"],
        kk=row["kk"],
        name=row["name"],
        birth_place=row["birth_place"],
        birth_date=date.fromisoformat(row["birth_date"]),
        sex=row["sex"],
        father_name=row["father_name"],
        mother_name=row["mother_name"],
        relationship=row["relationship"],
        province=row["province"],
        demo=bool(row["demo"]),
    )


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
