"""Fixtures of the visas tests: the Playwright ones and the sandbox bank (a real process), imported by name."""

from gerbang.browser import browser, new_page, site_url  # noqa: F401
from gerbang.payments.tests.conftest import sandbox_bank  # noqa: F401
