"""Fixtures of the web interface's specifications: the API specifications' demo region
(tests/api/conftest.py: loaded once per module, put back before each test, a frozen
clock) and a client that signs in through the login form like a browser."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import (  # noqa: F401 - fixtures shared with the API specifications
    auth,
    client,
    clock,
    container,
    demo_database,
    settings,
    token_for,
)
from tests.web.browser import CHROMIUM, CHROMIUM_FLAGS
from vks.demo.users import PASSWORD

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def sign_in(browser: TestClient, username: str, password: str = PASSWORD) -> TestClient:
    page = browser.get("/login")
    answer = browser.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return browser


@pytest.fixture
def as_user(client: TestClient) -> Callable[[str], TestClient]:  # noqa: F811
    """`as_user("net20")`: the client, signed in as that demo user."""

    def signed(username: str) -> TestClient:
        client.cookies.clear()
        return sign_in(client, username)

    return signed


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright, one per module of browser journeys (missing:
    the journeys skip, or fail under CI=true — `make test` installs it as root)."""
    if not CHROMIUM.exists():
        missing = f"{CHROMIUM} is missing: apt-get install chromium (make test does as root)"
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield browser
        browser.close()
