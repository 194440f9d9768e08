"""Playwright driving the system Chromium against pytest-django's live server.

Browser tests are marked `browser` (select with `-m browser`). Without Chromium they skip,
unless REQUIRE_BROWSER=1 (CI), where a missing browser fails the run.
"""

import os
import re
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.factories import PASSWORD, ensure_default_channels, make_marketer

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
# CI machines are small and busy: give assertions time before calling a page broken.
expect.set_options(timeout=15_000)
CSP_MESSAGE = re.compile(r"Content.Security.Policy", re.IGNORECASE)


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        message = f"Chromium not found at {CHROMIUM} (install Debian's chromium package)."
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


class PageProblems:
    """What a page did that a user would call broken: CSP violations, script errors, dialogs."""

    def __init__(self):
        self.csp_violations: list[str] = []
        self.script_errors: list[str] = []
        self.dialogs: list[str] = []


@pytest.fixture
def page_problems():
    return PageProblems()


@contextmanager
def checked_page(browser, base_url: str, problems: PageProblems):
    """A page in a browser context of its own (one person), failing the test on any CSP
    violation or script error it met."""
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()

    def on_console(message):
        if CSP_MESSAGE.search(message.text):
            problems.csp_violations.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.script_errors.append(str(error)))
    yield page
    context.close()
    assert not problems.csp_violations, problems.csp_violations
    assert not problems.script_errors, problems.script_errors


@pytest.fixture
def page(browser, live_server, page_problems):
    with checked_page(browser, live_server.url, page_problems) as page:
        yield page


@pytest.fixture
def accept_dialogs(page, page_problems):
    """Answer every confirm() with OK, recording its text."""

    def on_dialog(dialog):
        page_problems.dialogs.append(dialog.message)
        dialog.accept()

    page.on("dialog", on_dialog)
    return page_problems.dialogs


@pytest.fixture
def browser_channels(transactional_db):
    return ensure_default_channels()


@pytest.fixture
def browser_marketer(transactional_db):
    return make_marketer("browser-marketer")


def wait_for_htmx(page) -> None:
    """Wait until htmx has no request in flight and has settled what it swapped in (a swapped-in
    element reacts to events only once htmx has processed it)."""
    page.wait_for_function(
        "() => window.htmx && !document.querySelector("
        "'.htmx-request, .htmx-settling, .htmx-swapping, .htmx-added')"
    )


def log_in(page, username: str, password: str = PASSWORD) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r".*/$"))


@pytest.fixture
def marketer_page(page, browser_channels, browser_marketer):
    """A page logged in as a Marketer, on the home page."""
    log_in(page, browser_marketer.username)
    return page
