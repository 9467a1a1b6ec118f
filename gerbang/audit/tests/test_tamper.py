"""A database administrator rewrites the audit log: verification and the witness catch it.

Each scenario runs against its own throwaway database (a copy of one built
here by running the migrations), because tampering needs the triggers dropped
and the suite's own database must keep them. Gerbang, the sealer commands and
the witness run as real processes; the "administrator" is a direct database
connection as the owner of the tables (on SQLite, anyone holding the file).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import dj_database_url
import psycopg
import pytest
from django.conf import settings
from django.db import connection

from conftest import OWNER_SETTINGS
from gerbang.audit import sealing
from gerbang.audit.schema import TRIGGER_NAMES
from services.testing import free_port, stop
from services.witness.tests.support import call

# The suite's own database is untouched, but it must exist: its owner creates the copies.
pytestmark = pytest.mark.django_db

ROOT = Path(settings.BASE_DIR)
EVENTS = 30
TARGET = 7  # the sequence number the administrator goes after


def _manage(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "manage.py", *args]
    result = subprocess.run(command, check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"manage.py {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return result


def _wait_for(url: str, process: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the process serving {url} exited with {process.returncode}"
        try:
            if call(url, timeout=2)[0] == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing answered at {url}")


class Databases:
    """Creates, copies and drops the throwaway databases, on the suite's engine."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.postgres = connection.vendor == "postgresql"
        self.created: list[str] = []

    def _admin(self) -> psycopg.Connection[Any]:
        s = OWNER_SETTINGS
        return psycopg.connect(
            host=s["HOST"], port=s["PORT"], user=s["USER"], password=s["PASSWORD"], dbname="postgres", autocommit=True
        )

    def create(self, name: str, template: str | None = None) -> str:
        if not self.postgres:
            path = self.folder / f"{name}.sqlite3"
            if template is not None:
                shutil.copyfile(self.folder / f"{template}.sqlite3", path)
            return name
        db = f"gerbang_tamper_{os.getpid()}_{name}"
        with self._admin() as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {db}".encode())
            source = f" TEMPLATE gerbang_tamper_{os.getpid()}_{template}" if template else ""
            admin.execute(f"CREATE DATABASE {db}{source}".encode())
        self.created.append(db)
        return name

    def url(self, name: str, *, owner: bool) -> str:
        if not self.postgres:
            return f"sqlite:///{self.folder / f'{name}.sqlite3'}"
        s = dict(OWNER_SETTINGS)
        app_url = os.environ.get("GERBANG_TEST_APP_DATABASE_URL", "")
        if not owner and app_url:
            app = dj_database_url.parse(app_url)
            s["USER"], s["PASSWORD"] = app["USER"], app["PASSWORD"]
        db = f"gerbang_tamper_{os.getpid()}_{name}"
        return f"postgresql://{quote(s['USER'])}:{quote(s['PASSWORD'])}@{s['HOST']}:{s['PORT']}/{db}"

    def app_role(self) -> str | None:
        app_url = os.environ.get("GERBANG_TEST_APP_DATABASE_URL", "")
        return dj_database_url.parse(app_url)["USER"] if self.postgres and app_url else None

    def administrator(self, name: str) -> Any:
        """A connection as the owner (the administrator), autocommitting each statement."""
        if not self.postgres:
            return sqlite3.connect(self.folder / f"{name}.sqlite3", isolation_level=None)
        return psycopg.connect(self.url(name, owner=True), autocommit=True)

    def drop_all(self) -> None:
        if self.postgres:
            with self._admin() as admin:
                for db in self.created:
                    admin.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)".encode())


@dataclass
class Log:
    """One throwaway Gerbang: its database, its settings, a witness that cosigned its head."""

    name: str
    dbs: Databases
    folder: Path
    witness_dir: Path
    env: dict[str, str]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    witness_url: str = ""

    def manage(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return _manage(self.env, *args, check=check)

    def start_witness(self, gerbang_url: str = "http://127.0.0.1:9") -> None:
        port = free_port()
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "services.witness", "--gerbang", gerbang_url, "--port", str(port)),
                *("--log-key", str(self.folder / "var" / "keys" / "audit-log.vkey"), "--data", str(self.witness_dir)),
                *("--interval", "3600"),
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.processes.append(process)
        self.witness_url = f"http://127.0.0.1:{port}"
        self.env["GERBANG_WITNESS_URL"] = self.witness_url
        _wait_for(self.witness_url + "/healthz", process)

    def start_gerbang(self) -> str:
        port = free_port()
        process = subprocess.Popen(
            [
                *(str(Path(sys.executable).parent / "gunicorn"), "config.wsgi:application"),
                *("--bind", f"127.0.0.1:{port}", "--workers", "1"),
            ],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.processes.append(process)
        url = f"http://127.0.0.1:{port}"
        _wait_for(url + "/api/v1/audit/status", process)
        return url

    def poll(self) -> dict[str, Any]:
        status, _, body = call(self.witness_url + "/v1/poll", method="POST")
        assert status == 200, body
        result: dict[str, Any] = json.loads(body)
        return result

    def cosigned_size(self) -> int:
        status, _, body = call(self.witness_url + "/v1/cosigned")
        assert status == 200, body
        return int(body.split("\n")[1])

    def administrator_drops_the_triggers(self, db: Any) -> None:
        vendor = "postgresql" if self.dbs.postgres else "sqlite"
        for table, names in TRIGGER_NAMES[vendor].items():
            for trigger in names:
                db.execute(f"DROP TRIGGER {trigger} ON {table}" if self.dbs.postgres else f"DROP TRIGGER {trigger}")

    def stop(self) -> None:
        for process in self.processes:
            stop(process)
        self.processes.clear()


@pytest.fixture(scope="module")
def dbs(tmp_path_factory: pytest.TempPathFactory, django_db_setup: None) -> Iterator[Databases]:
    dbs = Databases(tmp_path_factory.mktemp("tamper"))
    yield dbs
    dbs.drop_all()


def _env(dbs: Databases, name: str, folder: Path, *, owner: bool) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": dbs.url(name, owner=owner),
        "GERBANG_VAR_DIR": str(folder / "var"),
        "GERBANG_CHECKPOINT_DIR": str(folder / "checkpoints"),
        "GERBANG_WITNESS_KEY": str(folder / "witness" / "witness.vkey"),
        "GERBANG_WITNESS_URL": "http://127.0.0.1:9",
    }


@pytest.fixture(scope="module")
def base(dbs: Databases) -> Path:
    """A migrated database with sealed events, a signed head and a witness that cosigned it."""
    folder = dbs.folder / "base"
    dbs.create("base")
    _manage(_env(dbs, "base", folder, owner=True), "migrate", "--noinput")
    role = dbs.app_role()
    if role:
        _manage(_env(dbs, "base", folder, owner=True), "db_grant_app_role", role)
    log = Log("base", dbs, folder, folder / "witness", _env(dbs, "base", folder, owner=False))
    log.manage(
        "shell",
        "-c",
        "from django.db import transaction\n"
        "from gerbang.audit.actions import record\n"
        "with transaction.atomic():\n"
        f"    for i in range({EVENTS}):\n"
        "        record('test.tamper', actor=None, details={'i': i, 'reason': 'kode-%d' % i})\n",
    )
    log.manage("audit_keygen")
    log.manage("audit_checkpoint")
    try:
        log.start_witness(log.start_gerbang())
        assert log.poll()["outcome"] == "cosigned"
    finally:
        log.stop()
    return folder


@pytest.fixture
def log(dbs: Databases, base: Path, request: pytest.FixtureRequest) -> Iterator[Log]:
    name = request.node.name.replace("[", "_").replace("]", "").replace("-", "_")[-40:]
    folder = dbs.folder / name
    shutil.copytree(base, folder)
    dbs.create(name, template="base")
    log = Log(name, dbs, folder, folder / "witness", _env(dbs, name, folder, owner=False))
    log.start_witness()
    yield log
    log.stop()


def _verify(log: Log) -> subprocess.CompletedProcess[str]:
    return log.manage("audit_verify", check=False)


def _run(db: Any, sql: str, params: tuple[Any, ...] = ()) -> Any:
    """Execute with ``%s`` placeholders on either database."""
    if isinstance(db, sqlite3.Connection):
        sql = sql.replace("%s", "?")
    return db.execute(sql, params)


def _seal_columns(db: Any, seq: int) -> tuple[Any, ...]:
    row = _run(
        db,
        "SELECT id, occurred_at, actor_id, office_id, action, object_type, object_id, details, prev_hash, entry_hash "
        "FROM audit_auditevent WHERE seq = %s",
        (seq,),
    ).fetchone()
    assert row is not None
    return tuple(row)


def test_an_untouched_log_verifies_against_the_witness(log: Log) -> None:
    result = _verify(log)
    assert result.returncode == 0, result.stderr
    assert "matches the head witness.localhost cosigned" in result.stdout
    assert "intact" in result.stdout


def _edit(db: Any) -> None:
    _run(db, "UPDATE audit_auditevent SET action = 'test.nothing_to_see' WHERE seq = %s", (TARGET,))


def _delete(db: Any) -> None:
    _run(db, "DELETE FROM audit_auditevent WHERE seq = %s", (TARGET,))


def _reorder(db: Any) -> None:
    _run(db, "UPDATE audit_auditevent SET seq = -1 WHERE seq = %s", (TARGET,))
    _run(db, "UPDATE audit_auditevent SET seq = %s WHERE seq = %s", (TARGET, TARGET + 1))
    _run(db, "UPDATE audit_auditevent SET seq = %s WHERE seq = -1", (TARGET + 1,))


def _insert(db: Any, postgres: bool) -> None:
    """Slip a forged event in at TARGET, chained correctly onto its predecessor."""
    _run(db, "UPDATE audit_auditevent SET seq = -seq WHERE seq >= %s", (TARGET,))
    _run(db, "UPDATE audit_auditevent SET seq = 1 - seq WHERE seq < 0")
    before = _seal_columns(db, TARGET - 1)
    moment = datetime.fromisoformat(str(before[1])) if not postgres else before[1]
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    forged = {
        "occurred_at": moment,
        "actor_id": None,
        "office_id": None,
        "action": "test.tamper",
        "object_type": "",
        "object_id": "",
        "details": {"i": 999, "reason": "forged"},
    }
    prev = before[9]
    digest = sealing.entry_hash(sealing.canonical_entry(TARGET, prev, forged))
    _run(
        db,
        "INSERT INTO audit_auditevent (occurred_at, action, object_type, object_id, details, seq, prev_hash, "
        "entry_hash, sealed_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            moment.isoformat() if not postgres else moment,
            "test.tamper",
            "",
            "",
            json.dumps(forged["details"]),
            TARGET,
            prev,
            digest,
            moment.isoformat() if not postgres else moment,
        ),
    )


@pytest.mark.parametrize("tamper", ["edit", "delete", "insert", "reorder"])
def test_tampering_is_caught_and_the_first_wrong_sequence_number_named(log: Log, tamper: str) -> None:
    with log.dbs.administrator(log.name) as db:
        log.administrator_drops_the_triggers(db)
        if tamper == "edit":
            _edit(db)
        elif tamper == "delete":
            _delete(db)
        elif tamper == "reorder":
            _reorder(db)
        else:
            _insert(db, log.dbs.postgres)
    result = _verify(log)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"first wrong sequence number: {TARGET}\n" in result.stderr, result.stderr


@pytest.mark.parametrize("tamper", ["edit", "delete"])
def test_a_rewritten_and_re_signed_log_fails_verification_and_the_witness_refuses(log: Log, tamper: str) -> None:
    cosigned = log.cosigned_size()
    with log.dbs.administrator(log.name) as db:
        log.administrator_drops_the_triggers(db)
        if tamper == "edit":
            _edit(db)
        else:
            _delete(db)
        # Cover it up: unseal everything, forget the tree, then let Gerbang's own
        # sealer and key rebuild a chain, a tree and a signed head that agree.
        db.execute("UPDATE audit_auditevent SET seq = NULL, prev_hash = '', entry_hash = '', sealed_at = NULL")
        db.execute("DELETE FROM audit_treenode")
    log.manage("audit_checkpoint", "--force")  # seals, then signs with the server's own key
    result = _verify(log)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "no longer match the head witness.localhost cosigned" in result.stderr, result.stderr

    log.stop()
    log.start_witness(log.start_gerbang())
    answer = log.poll()
    assert answer["outcome"] == "refused", answer
    assert log.cosigned_size() == cosigned
