"""Fixtures of the casework tests: the Playwright ones and the sandbox bank (a real process), imported by name;
the actions' messages compared in English (the site's default language is Indonesian)."""

from collections.abc import Iterator

import pytest
from django.utils import translation

from gerbang.browser import browser, new_page, site_url  # noqa: F401
from gerbang.payments.tests.conftest import sandbox_bank  # noqa: F401


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield
