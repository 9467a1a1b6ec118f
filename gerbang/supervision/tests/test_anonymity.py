"""The whistle-blowing pages keep nothing of who reported: not in the database, not in the logs, no cookie.

A reporter with a unique address, proxy header, browser and cookies files a report and follows it; then every
text of every table (sessions decoded), the audit log, the rate limiter's counters and everything logged at
DEBUG are searched for the address, the browser and the keyed hashes the rate limiter would have made of
them. A real gunicorn is started with config/gunicorn.py to check its access log the same way.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from django.conf import settings as django_settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client

from config import gunicorn_logging
from gerbang.audit.models import AuditEvent
from gerbang.conftest import build_office, build_user, last_audit_id, test_database_url
from gerbang.core import ratelimit
from gerbang.core.models import RateLimitCounter
from gerbang.supervision import anonymous, reports
from gerbang.supervision.models import Report
from services.testing import free_port

ADDRESS = "198.51.100.77"
FORWARDED = "203.0.113.199"
AGENT = "Mozilla/5.0 (Whistle; rv:77) Pelapor-Unik/9.8.7-b1b2c3"
TEXT = "Petugas di loket 2 meminta uang tambahan untuk mempercepat paspor saya."
CODE_RE = re.compile(r'id="tracking-code">([0-9A-Z-]{19})<')


def reporter_headers() -> dict[str, Any]:
    return {
        "REMOTE_ADDR": ADDRESS,
        "HTTP_USER_AGENT": AGENT,
        "HTTP_X_FORWARDED_FOR": f"{FORWARDED}, {ADDRESS}",
        "HTTP_X_REAL_IP": ADDRESS,
        "HTTP_REFERER": f"http://{ADDRESS}/from-here",
        "HTTP_SEC_CH_UA": f'"{AGENT}"',
        "HTTP_ACCEPT_LANGUAGE": "en",
    }


def needles() -> dict[str, str]:
    """What must not be found: the address, the browser, and every form the rate limiter would store."""
    found = {"address": ADDRESS, "forwarded address": FORWARDED, "user agent": AGENT, "agent part": "Pelapor-Unik"}
    for value in (ADDRESS, FORWARDED, AGENT):
        found[f"sha256 {value}"] = hashlib.sha256(value.encode()).hexdigest()
    for limit_class in ratelimit.CLASSES:
        for value in (ADDRESS, FORWARDED):
            bucket = ratelimit.bucket(limit_class, "address", ratelimit.address_key(value))
            found[f"bucket {limit_class} {value}"] = bucket.rsplit(":", 1)[1]
    return found


def _text(value: object) -> str:
    if isinstance(value, memoryview):
        value = bytes(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def database_text() -> str:
    """Every row of every table as text, and every session decoded."""
    parts = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 (table names)
            for row in cursor.fetchall():
                parts.append(" ".join(_text(v) for v in row))
    for session in Session.objects.all():
        parts.append(str(session.get_decoded()))
    for event in AuditEvent.objects.all():
        parts.append(f"{event.action} {event.object_id} {event.details}")
    return "\n".join(parts)


def leaks(text: str) -> list[str]:
    return [name for name, needle in needles().items() if needle in text]


@pytest.fixture
def everything_logged(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    for name in list(logging.root.manager.loggerDict):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


@pytest.mark.django_db
def test_a_reporter_leaves_no_address_browser_or_cookie(
    settings: Any, everything_logged: pytest.LogCaptureFixture
) -> None:
    # Behind one trusted proxy the rate limiter would count X-Forwarded-For's address: it must not either.
    settings.TRUSTED_PROXY_COUNT = 1
    office = build_office()
    applicant = build_user()
    client = Client(**reporter_headers())
    client.force_login(applicant)  # signed in elsewhere on Gerbang: the report must not know
    session_cookie = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    client.cookies["csrftoken"] = "a" * 32
    sessions_before = Session.objects.count()
    start = last_audit_id()

    page = client.get("/lapor/")
    assert page.status_code == 200 and "Set-Cookie" not in page.headers and not page.cookies
    assert "Cookie" not in page.headers.get("Vary", "")
    response = client.post("/lapor/", {"office": office.pk, "category": "levy", "text": TEXT})
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers and not response.cookies
    code = CODE_RE.search(response.content.decode()).group(1)  # type: ignore[union-attr]
    followed = client.post("/lapor/lacak/", {"code": code, "action": "message", "message": "Hari Selasa, pukul 9."})
    assert followed.status_code == 200 and "Your message was added" in followed.content.decode()
    assert "Set-Cookie" not in followed.headers and not followed.cookies
    wrong = client.post("/lapor/lacak/", {"code": "ZZZZ"})
    assert "Set-Cookie" not in wrong.headers

    report = Report.objects.get()
    assert report.text == TEXT
    # Nobody is linked to it, and the applicant's own session was neither read nor touched.
    filed = AuditEvent.objects.filter(id__gt=start, action__startswith="supervision.report_")
    assert {e.action for e in filed} == {"supervision.report_filed", "supervision.report_reporter_wrote"}
    assert all(e.actor_id is None for e in filed)
    assert Session.objects.count() == sessions_before
    assert Session.objects.filter(session_key=session_cookie).exists()
    # Only the global counters of the reports, under their fixed names, were counted.
    assert set(RateLimitCounter.objects.values_list("bucket", flat=True)) <= {
        reports.FILING_BUCKET,
        reports.LOOKUP_BUCKET,
    }

    assert leaks(database_text()) == []
    assert leaks(everything_logged.text) == []
    for record in everything_logged.records:
        assert leaks(repr(record.__dict__)) == [], record


@pytest.mark.django_db
def test_the_same_search_finds_the_address_of_a_request_elsewhere(settings: Any) -> None:
    """The control: outside /lapor/ the rate limiter counts the address (hashed), and the search sees it."""
    settings.TRUSTED_PROXY_COUNT = 1
    assert leaks(database_text()) == []
    Client(**reporter_headers()).get("/")
    assert f"bucket page-read {ADDRESS}" in leaks(database_text())  # X-Forwarded-For's last entry


def test_the_middleware_removes_whatever_tells_who_sent_a_request() -> None:
    meta: dict[str, object] = {
        "REMOTE_ADDR": ADDRESS,
        "REMOTE_PORT": "50123",
        "HTTP_USER_AGENT": AGENT,
        "HTTP_X_FORWARDED_FOR": ADDRESS,
        "HTTP_X_REAL_IP": ADDRESS,
        "HTTP_FORWARDED": f"for={ADDRESS}",
        "HTTP_COOKIE": "sessionid=abc",
        "HTTP_REFERER": "https://example.test/",
        "HTTP_SEC_CH_UA_PLATFORM": '"Linux"',
        "HTTP_HOST": "gerbang.test",
        "HTTP_ORIGIN": "https://gerbang.test",
        "HTTP_SEC_FETCH_SITE": "same-origin",
        "PATH_INFO": "/lapor/",
    }
    anonymous.scrub(meta)
    assert meta == {
        "REMOTE_ADDR": "0.0.0.0",  # noqa: S104
        "HTTP_HOST": "gerbang.test",
        "HTTP_ORIGIN": "https://gerbang.test",
        "HTTP_SEC_FETCH_SITE": "same-origin",
        "PATH_INFO": "/lapor/",
        anonymous.ENVIRON_FLAG: True,
    }
    for path in ("/lapor/", "/lapor", "/lapor/lacak/", "/lapor/anything"):
        assert anonymous.is_anonymous_path(path) and gunicorn_logging.is_anonymous(path)
    for path in ("/", "/laporan/", "/staf/pengawasan/laporan/", "/x/lapor/"):
        assert not anonymous.is_anonymous_path(path) and not gunicorn_logging.is_anonymous(path)


def test_gunicorn_and_django_share_one_list_of_anonymous_paths() -> None:
    assert list(gunicorn_logging.ANONYMOUS_PATHS) == list(django_settings.ANONYMOUS_PATHS)
    procfile = (Path(django_settings.BASE_DIR) / "Procfile").read_text()
    web = next(line for line in procfile.splitlines() if line.startswith("web:"))
    assert "-c config/gunicorn.py" in web


def _request(
    port: int, method: str, path: str, agent: str, body: dict[str, str] | None = None, *, referer: str = ""
) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {"User-Agent": agent, "X-Forwarded-For": ADDRESS, "Accept-Language": "en"}
        if referer:
            headers["Referer"] = referer
        data = None
        if body is not None:
            data = urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=data, headers=headers)
        answer = conn.getresponse()
        return answer.status, answer.read().decode()
    finally:
        conn.close()


@pytest.mark.django_db
def test_the_anonymous_pages_send_only_their_origin_as_referer() -> None:
    """Their stylesheet and links are requests to logged paths: the Referer must not name /lapor/."""
    for path in ("/lapor/", "/lapor/lacak/"):
        response = Client().get(path)
        assert response["Referrer-Policy"] == "strict-origin"
        assert '<meta name="referrer" content="strict-origin">' in response.content.decode()
    assert Client().get("/")["Referrer-Policy"] == "same-origin"


@pytest.mark.django_db(transaction=True)
def test_gunicorn_writes_no_access_line_for_a_report(tmp_path: Path) -> None:
    access_log = tmp_path / "access.log"
    error_log = tmp_path / "error.log"
    port = free_port()
    other_agent = "Kontrol-Agen/1.0-zz9"
    stderr = tmp_path / "stderr.log"
    with open(stderr, "wb") as output:
        process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                *("-c", "config/gunicorn.py", "config.wsgi:application"),
                *("--bind", f"127.0.0.1:{port}", "--workers", "1"),
                *("--access-logfile", str(access_log), "--error-logfile", str(error_log)),
            ],
            cwd=django_settings.BASE_DIR,
            env={**os.environ, "DATABASE_URL": test_database_url(), "LOG_LEVEL": "DEBUG"},
            stdout=subprocess.DEVNULL,
            stderr=output,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _request(port, "GET", "/api/v1/health", other_agent)[0] in (200, 503):
                    break
            except OSError:
                pass
            assert process.poll() is None, stderr.read_text() + error_log.read_text()
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)
        status, html = _request(
            port, "POST", "/lapor/", AGENT, {"office": "", "category": "other", "text": TEXT, "lang": "en"}
        )
        assert status == 200, html
        assert CODE_RE.search(html), html
        assert _request(port, "GET", "/lapor/lacak/?lang=en", AGENT)[0] == 200
        assert _request(port, "GET", "/lapor", AGENT)[0] in (200, 301)
        # The page's stylesheet, fetched by a browser that ignores the page's strict-origin policy.
        _request(port, "GET", "/static/css/gerbang.css", AGENT, referer=f"http://127.0.0.1:{port}/lapor/lacak/")
        assert _request(port, "GET", "/", other_agent)[0] == 200
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)

    assert Report.objects.filter(text=TEXT).count() == 1
    lines = access_log.read_text().splitlines()
    assert not [line for line in lines if "/lapor" in line or AGENT in line or "Pelapor-Unik" in line], lines
    # The log works, with addresses and browsers, for every other path: this test can fail.
    assert any('"GET / HTTP/1.1" 200' in line and other_agent in line and "127.0.0.1" in line for line in lines), lines
    for log in (error_log, stderr):
        text = log.read_text()
        assert AGENT not in text and "Pelapor-Unik" not in text, text
