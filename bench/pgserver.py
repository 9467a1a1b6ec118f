"""What every bench shares: progress lines, a free port, and a PostgreSQL server with a database of our own.

The server is the one in ``DATABASE_URL`` when that is PostgreSQL (the bench
database is created and dropped again: the role needs CREATEDB), or a
throwaway cluster started with ``scripts/pg-test-cluster.sh``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
CLUSTER_SCRIPT = ROOT / "scripts" / "pg-test-cluster.sh"
POSTGRES_SCHEMES = {"postgres", "postgresql", "pgsql"}
STARTED = time.monotonic()


def log(message: str) -> None:
    print(f"[{time.monotonic() - STARTED:7.1f}s] {message}", file=sys.stderr, flush=True)


# --- The database server and the bench database ---------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Server:
    url: str  # the owner role: creates the database, migrates, checks
    app_url: str  # the application's role (db_grant_app_role), or "" to run the web process as the owner
    source: str


@contextlib.contextmanager
def postgres_server() -> Iterator[Server]:
    """DATABASE_URL when it is PostgreSQL, else a throwaway cluster (with its application role)."""
    url = os.environ.get("DATABASE_URL", "")
    if urlsplit(url).scheme in POSTGRES_SCHEMES:
        log("using the PostgreSQL server in DATABASE_URL")
        yield Server(url, os.environ.get("GERBANG_TEST_APP_DATABASE_URL", ""), "DATABASE_URL")
        return
    folder = tempfile.mkdtemp(prefix="gerbang-bench-pg-")
    env = {**os.environ, "PGTMP": folder, "PGPORT": str(free_port())}

    def cluster(command: str, *, check: bool = True) -> str:
        done = subprocess.run(  # noqa: S603 (our own script, fixed arguments)
            ["/bin/bash", str(CLUSTER_SCRIPT), command],
            env=env,
            check=check,
            stdout=subprocess.PIPE,
            text=True,
        )
        return done.stdout

    log(f"starting a throwaway PostgreSQL cluster in {folder} (port {env['PGPORT']})")
    try:
        for line in cluster("start").splitlines():
            log(line)
        yield Server(cluster("url").strip(), cluster("app-url").strip(), "throwaway cluster")
    finally:
        for line in cluster("stop", check=False).splitlines():
            log(line)
        shutil.rmtree(folder, ignore_errors=True)


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


@contextlib.contextmanager
def bench_database(server_url: str) -> Iterator[str]:
    """Create a database of our own on the server, yield its name, drop it at the end."""
    name = f"gerbang_bench_{os.getpid()}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        force = conn.info.server_version >= 130000
    log(f"created database {name}")
    try:
        yield name
    finally:
        if "django.db" in sys.modules:
            from django.db import connections

            connections.close_all()
        drop = sql.SQL("DROP DATABASE IF EXISTS {}" + (" WITH (FORCE)" if force else "")).format(sql.Identifier(name))
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(drop)
        log(f"dropped database {name}")


# --- Gerbang on the bench database ---------------------------------------------


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(  # noqa: S603 (fixed arguments)
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return done.stdout


@dataclass(frozen=True)
class Gerbang:
    """A migrated bench database: the environment for Django processes, as its owner and as the web role."""

    base_env: dict[str, str]
    owner_url: str
    owner_env: dict[str, str]
    web_url: str  # the application's role (db_grant_app_role), or the owner when the server has none
    web_role: str


def migrated_gerbang(server: Server, database: str, var_dir: Path, **env: str) -> Gerbang:
    """Migrate the bench database as its owner and grant the application's role, as production does."""
    owner_url = with_database(server.url, database)
    var_dir.mkdir(exist_ok=True)
    base_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "GERBANG_ENV": "development",
        "DEBUG": "0",  # as in production: no query log in memory
        "LOG_LEVEL": "WARNING",
        "GERBANG_VAR_DIR": str(var_dir),
        **env,
    }
    owner_env = {**base_env, "DATABASE_URL": owner_url}
    log("migrating")
    manage(owner_env, "migrate", "--noinput")
    if not server.app_url:
        return Gerbang(base_env, owner_url, owner_env, owner_url, "owner")
    app = urlsplit(server.app_url)
    role = unquote(app.username or "")
    log(f"granting the application's role {role!r} (manage.py db_grant_app_role)")
    manage(owner_env, "db_grant_app_role", role)
    owner = urlsplit(owner_url)
    netloc = f"{quote(role, safe='')}:{quote(unquote(app.password or ''), safe='')}@{owner.hostname}"
    web_url = urlunsplit(owner._replace(netloc=netloc + (f":{owner.port}" if owner.port else "")))
    return Gerbang(base_env, owner_url, owner_env, web_url, role)
