"""Browser tests: Debian's chromium driven by Playwright, one browser per session.

No browser is ever downloaded: Playwright launches /usr/bin/chromium. Where
it is missing the tests skip, except in CI (CI=true), where that is a failure."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from portal.shipped import SOURCE_TREE as ROOT

CHROMIUM = os.environ.get("PORTAL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = ROOT / "test-artifacts"


def need(program: str, package: str) -> str:
    """The program's path; skip without it, or fail in CI where it must be there."""
    path = program if os.path.isabs(program) and os.access(program, os.X_OK) else shutil.which(program)
    if path:
        return path
    message = (f"{program} is missing: install the Debian package `{package}` "
               "(`make system-deps` does it)")
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def browser() -> Iterator:
    chromium = need(CHROMIUM, "chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def context(browser):
    """A fresh browser profile per test (its own cookies), in Spanish."""
    context = browser.new_context(locale="es-ES", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    yield context
    context.close()


@pytest.fixture
def artifacts() -> Path:
    folder = ARTIFACTS / "browser"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
