"""A real server and a real headless Chromium for the browser tests.

The app is served by werkzeug on 127.0.0.1 (a free port) in a thread for the whole session;
Playwright drives Debian's /usr/bin/chromium (never a downloaded browser). A missing
chromium is a failure with a message, not a skip: `make test` installs it.
"""

from pathlib import Path

import pytest

from support.serving import served
from server import create_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


@pytest.fixture(scope="session")
def live_server():
    """The base URL of the real app, served for the session."""
    app = create_app({"TESTING": True})
    with served(app) as base:
        yield base


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (`make test` does: "
                    "apt-get install chromium). The browser tests never download a browser.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    """A fresh page that may only talk to the live server: any other request fails the test."""
    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 900},
                                  accept_downloads=True)
    outside = []

    def guard(route):
        if route.request.url.startswith(live_server + "/") or route.request.url.startswith("data:"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()
    assert not outside, f"the page tried to reach the network: {outside}"


@pytest.fixture
def screenshot(page):
    """Save the current page under tests/artifacts/<name>.png."""
    ARTIFACTS.mkdir(exist_ok=True)

    def save(name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save
