"""Playwright fixtures for the browser tests (marked ``browser``).

The tests drive Debian's Chromium at /usr/bin/chromium; Playwright's own
browser downloads are never used. Each test gets a fresh browser context on
pytest-django's ``live_server``, with ``base_url`` set so that
``page.goto("/accounts/login/")`` works, after ``migration_rows`` has put
back the role groups and regions that an earlier flush deleted. A failing
browser test leaves a full-page screenshot in test-artifacts/screenshots/.
"""

import os
import re
from pathlib import Path

import pytest

# Playwright's sync API runs an asyncio event loop in this thread, and Django
# raises SynchronousOnlyOperation for ORM calls made while a loop runs. The
# test code is synchronous, so that check is switched off.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
# pytest-django's live server binds to "localhost" by default; 127.0.0.1
# keeps it on IPv4 loopback whatever /etc/hosts maps localhost to.
os.environ.setdefault("DJANGO_LIVE_TEST_SERVER_ADDRESS", "127.0.0.1")

CHROMIUM_PATH = Path("/usr/bin/chromium")
# Without the networking flags Chromium keeps trying to reach Google's
# services, which a machine with a closed network refuses.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--lang=zh-CN",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT_DIR = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
VIEWPORT = {"width": 1366, "height": 900}
LOCALE = "zh-CN"
# Milliseconds for every Playwright wait. The pages come from a server on
# loopback, so a failing test stops here instead of after Playwright's 30 s.
DEFAULT_TIMEOUT_MS = 10_000


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item, so ``page`` can see a failure at teardown."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def _screenshot_path(name):
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    safe_name = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")
    return SCREENSHOT_DIR / f"{safe_name}.png"


@pytest.fixture(scope="session")
def browser():
    """Launch Debian's Chromium once for the whole session."""
    if not CHROMIUM_PATH.exists():
        pytest.skip(f"{CHROMIUM_PATH} not found: install Debian's chromium to run browser tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM_PATH), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def migration_rows(transactional_db):
    """Reload the role groups and regions that data migrations insert, if a flush removed them.

    Every live-server test is transactional, and Django flushes the database
    after each transactional test, which deletes these rows for the tests
    that follow.
    """
    from django.contrib.auth.models import Group

    from dentalsales.accounts.roles import Role
    from dentalsales.core.models import Region
    from dentalsales.core.regions import load_regions

    for role in Role:
        Group.objects.get_or_create(name=role.value)
    if not Region.objects.exists():
        load_regions(Region)


@pytest.fixture
def page(request, browser, live_server, migration_rows):
    """Open a page in a fresh context (zh-CN, 1366x900) pointed at the live server."""
    context = browser.new_context(locale=LOCALE, viewport=VIEWPORT, base_url=live_server.url)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    new_page = context.new_page()
    yield new_page

    call_report = getattr(request.node, "report_call", None)
    if call_report is not None and call_report.failed:
        new_page.screenshot(path=_screenshot_path(request.node.nodeid), full_page=True)
    context.close()


@pytest.fixture
def screenshot(page, request):
    """Save a full-page screenshot as <test name>-<label>.png and return its path."""

    def take(label):
        path = _screenshot_path(f"{request.node.name}-{label}")
        page.screenshot(path=path, full_page=True)
        return path

    return take
