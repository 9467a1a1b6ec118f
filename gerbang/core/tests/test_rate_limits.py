"""Rate limits per account and per client address (docs/adr/0007-rate-limits.md), over HTTP.

Every test sets low limits of its own (gerbang/conftest.py keeps them far out of reach for the rest of the
suite) and stops the clock 10 s into a one-minute window, so that Retry-After is known (50) and the window
moves only when a test moves it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from importlib import import_module
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.conf import settings as django_settings
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path
from django_q.models import Schedule

from config.urls import urlpatterns as site_urlpatterns
from gerbang.accounts.models import User
from gerbang.conftest import PASSWORD, build_user
from gerbang.core import ratelimit, tasks
from gerbang.core.models import RateLimitCounter
from gerbang.core.schedules import SCHEDULES

pytestmark = pytest.mark.django_db

WINDOW = 60
T0 = 1_800_000_000.0 + 10  # 1_800_000_000 is a window's start
BUCKET = re.compile(r"^(page|api)-(read|write):(account|address):[0-9a-f]{32}$")
ID_PAGE = "Terlalu banyak permintaan"
EN_PAGE = "Too many requests"


@ratelimit.exempt("address")
def tip_off(request: HttpRequest) -> HttpResponse:
    """Stands in for the later anonymous whistleblowing form."""
    return HttpResponse("received")


# For the tests marked @pytest.mark.urls(__name__): the site plus the exempt view.
urlpatterns = [path("uji-dikecualikan/", tip_off), *site_urlpatterns]


class Clock:
    def __init__(self) -> None:
        self.t = T0

    def advance(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(ratelimit, "now", lambda: clock.t)
    return clock


Limits = Callable[..., None]


@pytest.fixture
def limits(settings: Any, clock: Clock) -> Limits:
    """``limits(page_write={"account": 3})``: only the named classes and keys are limited."""
    settings.RATE_LIMIT_WINDOW = WINDOW
    settings.TRUSTED_PROXY_COUNT = 0

    def set_limits(**classes: dict[str, int | None]) -> None:
        chosen = {name.replace("_", "-"): keys for name, keys in classes.items()}
        assert set(chosen) <= set(ratelimit.CLASSES)
        settings.RATE_LIMITS = {
            name: {"account": None, "address": None} | chosen.get(name, {}) for name in ratelimit.CLASSES
        }

    return set_limits


def client_from(
    address: str, user: User | None = None, *, language: str = "id", headers: dict[str, str] | None = None
) -> Client:
    client = Client(REMOTE_ADDR=address, headers={"Accept-Language": language, **(headers or {})})
    if user is not None:
        client.force_login(user)
    return client


def change_language(client: Client) -> Any:
    """A page write that changes nothing on the server: the language switch."""
    return client.post("/i18n/setlang/", {"language": "id", "next": "/"})


def assert_refused(response: Any, retry_after: int = 50) -> None:
    assert response.status_code == 429, response.content[:500]
    assert response["Retry-After"] == str(retry_after)
    assert "no-store" in response["Cache-Control"]


def test_an_account_is_limited_across_its_addresses(limits: Limits) -> None:
    limits(page_write={"account": 3, "address": 100})
    siti = build_user()
    at_home, on_the_phone = client_from("198.51.100.1", siti), client_from("203.0.113.9", siti)
    assert [change_language(c).status_code for c in (at_home, on_the_phone, at_home)] == [302, 302, 302]

    refused = change_language(on_the_phone)
    assert_refused(refused)
    assert ID_PAGE in refused.content.decode()
    assert_refused(change_language(at_home))
    # Another account at the same address goes on; reading is another class, not limited here.
    assert change_language(client_from("203.0.113.9", build_user())).status_code == 302
    assert at_home.get("/").status_code == 200


def test_an_address_is_limited_across_its_accounts(limits: Limits) -> None:
    limits(page_write={"account": 100, "address": 3})
    office = "198.51.100.7"
    budi, andi = client_from(office, build_user()), client_from(office, build_user())
    assert [change_language(c).status_code for c in (budi, andi, budi)] == [302, 302, 302]

    assert_refused(change_language(andi))
    assert_refused(change_language(client_from(office)))  # nobody signed in: the address alone
    assert change_language(client_from("198.51.100.8", build_user())).status_code == 302


def test_a_bearer_token_counts_for_its_account_on_every_address(limits: Limits) -> None:
    limits(api_read={"account": 2})
    user = build_user(email="pemohon.seluler@example.com")  # the API refuses the reserved .test domain
    issued = client_from("198.51.100.1").post(
        "/api/v1/auth/token", {"email": user.email, "password": PASSWORD}, "application/json"
    )
    assert issued.status_code == 201, issued.content
    bearer = f"Bearer {issued.json()['token']}"
    wifi, mobile = (client_from(a, headers={"Authorization": bearer}) for a in ("198.51.100.1", "203.0.113.9"))
    assert [wifi.get("/api/v1/me").status_code, mobile.get("/api/v1/me").status_code] == [200, 200]
    assert_refused(mobile.get("/api/v1/me"))
    # Without the token, from the same address, it is another caller (here: an unlimited anonymous one).
    assert client_from("203.0.113.9").get("/api/v1/me").status_code == 401


def test_the_limit_resets_when_the_window_ends(limits: Limits, clock: Clock) -> None:
    limits(api_write={"address": 2})
    caller = client_from("198.51.100.1")

    def send() -> Any:
        return caller.post("/api/v1/auth/token", {}, "application/json")

    assert [send().status_code, send().status_code] == [422, 422]
    assert_refused(send(), retry_after=50)
    clock.advance(49.5)
    assert_refused(send(), retry_after=1)
    clock.advance(0.5)  # the next window starts
    assert [send().status_code, send().status_code] == [422, 422]
    assert_refused(send(), retry_after=60)


@pytest.mark.parametrize(
    ("language", "api_message", "page_text", "page_advice"),
    [
        (
            "id",
            "Terlalu banyak permintaan. Coba lagi dalam 50 detik.",
            ID_PAGE,
            "Mohon tunggu 50 detik, lalu coba lagi.",
        ),
        ("en", "Too many requests. Try again in 50 seconds.", EN_PAGE, "Please wait 50 seconds and try again."),
    ],
)
def test_the_api_answers_json_and_the_pages_a_page_in_the_users_language(
    limits: Limits, language: str, api_message: str, page_text: str, page_advice: str
) -> None:
    limits(api_read={"address": 1}, page_read={"address": 1})
    client = client_from("198.51.100.1", language=language)
    assert client.get("/api/v1/tariffs").status_code == 200
    refused = client.get("/api/v1/tariffs")
    assert_refused(refused)
    assert refused["Content-Type"] == "application/json"
    assert refused.json() == {"detail": api_message}  # the API's error shape

    assert client.get("/").status_code == 200
    page = client.get("/")
    assert_refused(page)
    assert page["Content-Type"].startswith("text/html")
    html = page.content.decode()
    assert f'<html lang="{language}">' in html
    assert f"<h1>{page_text}</h1>" in html and page_advice in html
    assert (ID_PAGE in html) == (language == "id")


def test_the_banks_api_health_metrics_and_static_files_are_never_limited(limits: Limits) -> None:
    limits(**{name.replace("-", "_"): {"account": 1, "address": 1} for name in ratelimit.CLASSES})
    client = client_from("127.0.0.1", build_user())  # /metrics answers only the monitoring addresses
    for _ in range(3):
        assert client.get("/api/v1/health").status_code in {200, 503}
        assert client.get("/metrics").status_code == 200
        assert client.post("/api/bank/v1/notifications", {}, "application/json").status_code not in {429, 500}
        assert client.get("/api/bank/v1/bills/123456789012345").status_code not in {429, 500}
        assert client.get(f"{django_settings.STATIC_URL}css/gerbang.css").status_code != 429
    assert not RateLimitCounter.objects.exists()
    # The limits themselves are real.
    assert client.get("/").status_code == 200
    assert_refused(client.get("/"))


@pytest.mark.urls(__name__)
def test_a_view_can_be_exempt_from_the_address_limit(limits: Limits) -> None:
    limits(page_write={"account": 2, "address": 1})
    anonymous = client_from("198.51.100.1")
    assert [anonymous.post("/uji-dikecualikan/").status_code for _ in range(5)] == [200] * 5
    assert not RateLimitCounter.objects.exists()  # not even a hashed trace of the sender's address
    # The account limit still applies to a signed-in caller, and every other page still has the address limit.
    signed_in = client_from("198.51.100.1", build_user())
    assert [signed_in.post("/uji-dikecualikan/").status_code for _ in range(2)] == [200, 200]
    assert_refused(signed_in.post("/uji-dikecualikan/"))
    assert change_language(anonymous).status_code == 302
    assert_refused(change_language(anonymous))


def test_x_forwarded_for_is_believed_only_from_trusted_proxies(limits: Limits, settings: Any, clock: Clock) -> None:
    limits(page_read={"address": 1})
    proxy = "10.0.0.5"

    def visit(forwarded_for: str | None) -> int:
        client = client_from(proxy, headers=None if forwarded_for is None else {"X-Forwarded-For": forwarded_for})
        status: int = client.get("/").status_code
        return status

    # No trusted proxy: the header is the client's own writing; everyone behind 10.0.0.5 is one address.
    assert [visit("198.51.100.1"), visit("198.51.100.2")] == [200, 429]

    clock.advance(WINDOW)
    settings.TRUSTED_PROXY_COUNT = 1
    assert [visit("198.51.100.1"), visit("198.51.100.2")] == [200, 200]
    # Only the entry the proxy appended counts: what the client wrote to its left changes nothing.
    assert visit("203.0.113.66, 198.51.100.1") == 429
    # Without the header the request did not come through the proxy: REMOTE_ADDR it is.
    assert [visit(None), visit(None)] == [200, 429]

    clock.advance(WINDOW)
    settings.TRUSTED_PROXY_COUNT = 2
    assert [visit("203.0.113.66, 198.51.100.1, 10.0.0.4"), visit("203.0.113.77, 198.51.100.1, 10.0.0.4")] == [
        200,
        429,
    ]


def test_ipv6_clients_are_counted_per_64(limits: Limits) -> None:
    limits(page_read={"address": 1})
    assert client_from("2001:db8:1:2::1").get("/").status_code == 200
    assert client_from("2001:db8:1:2:ffff::9").get("/").status_code == 429  # the same /64
    assert client_from("2001:db8:1:3::1").get("/").status_code == 200


def test_buckets_and_the_log_hold_hashes_not_addresses_or_accounts(
    limits: Limits, caplog: pytest.LogCaptureFixture
) -> None:
    limits(page_write={"account": 1, "address": 100})
    address = "198.51.100.77"
    user = build_user(email="pemilik.akun@example.test")
    client = client_from(address, user)
    with caplog.at_level(logging.WARNING, logger="gerbang.security"):
        statuses = [change_language(client).status_code for _ in range(4)]
    assert statuses == [302, 429, 429, 429]

    window_start = int(T0 // WINDOW) * WINDOW
    account_bucket = ratelimit.bucket("page-write", "account", str(user.pk))
    assert set(RateLimitCounter.objects.values_list("bucket", "window_start", "hits")) == {
        (account_bucket, window_start, 4),
        (ratelimit.bucket("page-write", "address", address), window_start, 4),
    }
    assert all(BUCKET.match(b) for b in RateLimitCounter.objects.values_list("bucket", flat=True))

    # One warning per bucket and window, naming the hashed bucket only.
    logged = [r.getMessage() for r in caplog.records if r.name == "gerbang.security"]
    assert len(logged) == 1
    assert account_bucket in logged[0] and address not in logged[0] and "pemilik" not in logged[0]


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_are_counted_exactly(limits: Limits, live_server: Any) -> None:
    """The upsert is atomic: of 24 requests sent at once from one address, exactly the limit (10) pass."""
    limits(api_read={"address": 10})
    senders = 24
    start = threading.Barrier(senders)
    statuses: list[int] = []
    lock = threading.Lock()

    def send() -> None:
        start.wait()
        try:
            with urllib.request.urlopen(live_server.url + "/api/v1/tariffs", timeout=30) as answer:  # noqa: S310
                status = answer.status
        except urllib.error.HTTPError as refused:
            status = refused.code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=send) for _ in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Counter(statuses) == {200: 10, 429: 14}
    assert list(RateLimitCounter.objects.values_list("hits", flat=True)) == [senders]


def test_windows_that_are_over_are_purged_by_a_schedule(limits: Limits, clock: Clock) -> None:
    limits(page_read={"address": 10})
    client = client_from("198.51.100.1")
    for _ in range(3):
        assert client.get("/").status_code == 200
        clock.advance(WINDOW)
    clock.advance(-WINDOW)  # back in the third window
    assert RateLimitCounter.objects.count() == 3
    assert tasks.purge_rate_limit_windows() == 1
    current = int(clock.t // WINDOW) * WINDOW
    assert sorted(RateLimitCounter.objects.values_list("window_start", flat=True)) == [current - WINDOW, current]
    # Migration core.0008 installs the schedule (called here: a transactional test empties the table).
    Schedule.objects.filter(name="purge-rate-limits").delete()
    import_module("gerbang.core.migrations.0008_rate_limits").create_schedule(django_apps, None)
    assert ("purge-rate-limits", "gerbang.core.tasks.purge_rate_limit_windows", "I", 5) in SCHEDULES
    schedule = Schedule.objects.get(name="purge-rate-limits")
    assert (schedule.func, schedule.schedule_type, schedule.minutes) == (
        "gerbang.core.tasks.purge_rate_limit_windows",
        Schedule.MINUTES,
        5,
    )


def _rate_limits_from_environment(value: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GERBANG_RATE_LIMIT")}
    env["GERBANG_RATE_LIMITS"] = value
    return subprocess.run(
        [sys.executable, "-c", "import json, config.settings as s; print(json.dumps(s.RATE_LIMITS))"],
        check=False,
        cwd=django_settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_environment_can_raise_or_switch_off_the_limits() -> None:
    """What the benches use: GERBANG_RATE_LIMITS=off, or JSON raising some numbers; a typo stops the start."""
    off = _rate_limits_from_environment("off")
    assert off.returncode == 0, off.stderr
    assert json.loads(off.stdout) == {}

    raised = _rate_limits_from_environment('{"page-write": {"address": 100000, "account": null}}')
    assert raised.returncode == 0, raised.stderr
    assert json.loads(raised.stdout)["page-write"] == {"account": None, "address": 100000}
    assert json.loads(raised.stdout)["page-read"] == django_settings.RATE_LIMIT_DEFAULTS["page-read"]

    for wrong in ('{"page-writes": {"address": 5}}', '{"page-write": {"address": 0}}', "nonsense"):
        refused = _rate_limits_from_environment(wrong)
        assert refused.returncode != 0 and "GERBANG_RATE_LIMITS" in refused.stderr, wrong
