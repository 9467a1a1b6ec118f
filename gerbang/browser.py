"""Playwright helpers and fixtures for browser tests (``@pytest.mark.browser``).

Tests drive Debian's Chromium (``/usr/bin/chromium``; ``playwright install`` is
not used) against pytest-django's ``live_server``, reached as
``http://localhost:PORT`` because the WebAuthn relying party id is "localhost".
A test directory makes the fixtures available by importing them in its
``conftest.py``::

    from gerbang.browser import browser, new_page, site_url  # noqa: F401

Playwright's sync API keeps an asyncio loop running in the test's thread, which
makes Django refuse ORM calls there; the ``browser`` fixture allows them
(``DJANGO_ALLOW_ASYNC_UNSAFE``) for as long as Playwright runs, and no longer.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, CDPSession, ConsoleMessage, Page, expect, sync_playwright

CHROMIUM = os.environ.get("GERBANG_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Per action and per expectation; a healthy page answers well within this.
TIMEOUT_MS = 10_000


@pytest.fixture
def site_url(live_server: Any) -> str:
    """The live server's address with the host name "localhost" (no trailing slash)."""
    return str(live_server.url).replace("://127.0.0.1:", "://localhost:")


@pytest.fixture
def browser(live_server: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Browser]:
    """A headless Chromium, started for one test and closed after it."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def new_page(browser: Browser, site_url: str) -> Iterator[Callable[[], Page]]:
    """Make a page in a fresh browser context (its own cookies), with relative URLs on the live server.

    Pages ask for English, the source language of the interface.
    """
    contexts: list[BrowserContext] = []

    def make() -> Page:
        context = browser.new_context(base_url=site_url, locale="en-GB")
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def watch_errors(page: Page) -> list[str]:
    """Collect the page's console errors and uncaught exceptions (a CSP violation is one) from now on.

    The browser's own request for /favicon.ico (there is none) does not count.
    """
    errors: list[str] = []

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type == "error" and not msg.location.get("url", "").endswith("/favicon.ico"):
            errors.append(f"{msg.text} ({msg.location.get('url', '')})")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


@dataclass
class VirtualAuthenticator:
    """A security key simulated by Chromium (DevTools WebAuthn domain) for one page.

    It answers every request at once, as if touched; it lives as long as the page.
    """

    cdp: CDPSession
    authenticator_id: str

    @classmethod
    def attach(cls, page: Page) -> VirtualAuthenticator:
        cdp = page.context.new_cdp_session(page)
        cdp.send("WebAuthn.enable", {"enableUI": False})
        result = cdp.send(
            "WebAuthn.addVirtualAuthenticator",
            {
                "options": {
                    "protocol": "ctap2",
                    "transport": "usb",
                    "hasResidentKey": True,
                    "hasUserVerification": True,
                    "isUserVerified": True,
                    "automaticPresenceSimulation": True,
                }
            },
        )
        return cls(cdp=cdp, authenticator_id=result["authenticatorId"])

    def credentials(self) -> list[dict[str, Any]]:
        result = self.cdp.send("WebAuthn.getCredentials", {"authenticatorId": self.authenticator_id})
        return list(result["credentials"])

    def clear(self) -> None:
        """Forget every credential, as if the key were reset."""
        self.cdp.send("WebAuthn.clearCredentials", {"authenticatorId": self.authenticator_id})


def wait_for_webauthn_button(page: Page, button_id: str) -> None:
    """Wait until django-otp-webauthn's script has shown its button and its message catalogue has loaded.

    The catalogue is an ``async`` script; a click before it has run would fail on ``gettext``.
    """
    expect(page.locator(f"#{button_id}")).to_be_enabled()
    page.wait_for_function("typeof window.gettext === 'function'")


def sign_in_staff_password(page: Page, email: str, password: str) -> None:
    """Step 1 of the staff sign-in, through the page: e-mail address and password."""
    page.goto("/akun/staf/masuk/")
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/akun/staf/verifikasi/**")
