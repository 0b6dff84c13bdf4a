"""Browser tests: Playwright drives the system Chromium against pytest-django's live server.

Never `playwright install`: the browser is Debian's (`apt-get install -y chromium`).
"""

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/lib/chromium/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Playwright waits for what it is told to, up to these limits (the machine is shared).
EXPECT_TIMEOUT_MS = 10_000
TIMEOUT_MS = 15_000


def pytest_collection_modifyitems(config, items):
    """No Chromium: skip the browser tests, except under CI, which must never skip them."""
    browser_tests = [item for item in items if item.get_closest_marker("e2e")]
    if not browser_tests or os.access(CHROMIUM, os.X_OK):
        return
    if os.environ.get("CI", "").lower() == "true":
        raise pytest.UsageError(f"CI=true, but {CHROMIUM} is missing: apt-get install -y chromium")
    for item in browser_tests:
        item.add_marker(pytest.mark.skip(reason=f"needs Chromium at {CHROMIUM}"))


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        # Playwright's sync API leaves its event loop marked as running on this thread, so
        # Django would refuse every ORM call made by the tests. Nothing runs on that loop
        # while test code does, so the calls are safe.
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Pages:
    """Browser pages for one test, each in its own context (its own cookies, its own user).

    `problems` collects what a person would not see but must not happen: console errors,
    script errors, and styles, scripts or other subresources that failed to load.
    """

    def __init__(self, browser, base_url: str) -> None:
        self.browser = browser
        self.base_url = base_url
        self.contexts = []
        self.problems: list[str] = []

    def open(self, *, width: int = 1280, height: int = 800):
        context = self.browser.new_context(
            base_url=self.base_url, viewport={"width": width, "height": height}
        )
        context.set_default_timeout(TIMEOUT_MS)
        self.contexts.append(context)
        page = context.new_page()
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))
        page.on("requestfailed", self._failed)
        page.on("response", self._response)
        return page

    def _console(self, message) -> None:
        # Failed loads are judged from the responses below; a page's own status, the tests check.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.problems.append(f"console error: {message.text} at {message.location.get('url')}")

    def _response(self, response) -> None:
        # The site has no favicon, and Chromium asks for one anyway.
        if response.request.resource_type == "document" or response.url.endswith("/favicon.ico"):
            return
        if response.status >= 400:
            self.problems.append(f"{response.status} for {response.url}")

    def _failed(self, request) -> None:
        # Leaving a page aborts what it was still loading; that is not a fault.
        if request.failure != "net::ERR_ABORTED":
            self.problems.append(f"request failed: {request.url} ({request.failure})")

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def pages(browser, live_server):
    opened = Pages(browser, live_server.url)
    yield opened
    opened.close()
