"""Browser fixtures: the demo served by a live server, and Debian's Chromium driven by Playwright.

Playwright's own browser downloads are never used: Chromium comes from ``apt-get install
chromium``. Without it the browser tests are skipped locally, and fail where they must run
(``CI=true`` or ``PARVIS_REQUIRE_BROWSER=1``, as ``make test`` sets).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, sync_playwright

from tests import factories
from tests.browser.live_server import serve
from tests.conftest import app_settings
from tests.fixtures.browser import capture

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

# Runs in every document before its own scripts: a CSP violation becomes a console error.
REPORT_CSP = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"}`);
});
"""


@dataclass(frozen=True)
class LiveServer:
    url: str
    owner_email: str
    owner_password: str
    # What the server's app was built from: a child process can set up data in its database.
    settings: dict = field(default_factory=dict, hash=False, compare=False)


# The processes a browser test starts (the live server; data seeded, or swept with the clock
# moved, in its database) fork from a server process that has imported the application once,
# with the tests' cheap password hasher: a spawned interpreter took 1.3 s (idle machine) to
# import it each time, and a journey starts up to five.
CHILDREN = multiprocessing.get_context("forkserver")
CHILDREN.set_forkserver_preload(["tests.fixtures.hashing", "webapp.app", "tenants.api",
                                 "tests.factories", "tests.browser.conftest"])


def _required() -> bool:
    return (os.environ.get("CI", "").lower() in {"1", "true", "yes"}
            or os.environ.get("PARVIS_REQUIRE_BROWSER") == "1")


def in_child(target: Callable[..., object], *args: object) -> None:
    """Run ``target(*args)`` in a fresh process (seeding data, running jobs with the clock
    moved): the live server's database is then written by a process that owns its engines."""
    process = CHILDREN.Process(target=target, args=args)
    process.start()
    process.join(120)
    assert process.exitcode == 0, f"{target.__name__} failed (see the captured stderr)"


def from_child(target: Callable[..., object], *args: object) -> object:
    """``in_child(target, *args, pipe)``, then what ``target`` sent on ``pipe`` (the ids of
    what it seeded)."""
    ours, theirs = CHILDREN.Pipe()
    in_child(target, *args, theirs)
    assert ours.poll(0), f"{target.__name__} sent nothing"
    return ours.recv()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The demo (``flask demo``) with real CSRF, on its own database, at an HTTP address."""
    instance = tmp_path_factory.mktemp("browser-instance")
    with contextlib.ExitStack() as stack:
        if server := os.environ.get("PARVIS_TEST_DATABASE_URL"):
            database = stack.enter_context(factories.throwaway_database(server, "parvis_browser"))
        elif os.environ.get("PARVIS_REQUIRE_POSTGRES") == "1":
            pytest.exit("PARVIS_REQUIRE_POSTGRES=1 but PARVIS_TEST_DATABASE_URL is not set", 3)
        else:
            database = f"sqlite:///{instance / 'control.db'}"
        # No shedding (QUEUE_TIMEOUT 0): a journey checks pages, not admission control (its
        # own tests); on a loaded CI host a request queued past 0.5 s answered 503.
        settings = app_settings(instance, database, WTF_CSRF_ENABLED=True, TESTING=False,
                                QUEUE_TIMEOUT=0)
        ours, theirs = CHILDREN.Pipe()
        process = CHILDREN.Process(target=serve, args=(settings, theirs), daemon=True)
        process.start()
        if not ours.poll(120):
            process.kill()
            pytest.fail("the live server did not start within 120 s")
        message = ours.recv()
        if message[0] != "ready":
            process.join(10)
            pytest.fail(message[1])
        _, port, email, password = message
        try:
            yield LiveServer(f"http://127.0.0.1:{port}", email, password, settings)
        finally:
            ours.send("stop")
            process.join(20)
            if process.is_alive():
                process.kill()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing: apt-get install chromium"
        if _required():
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh browser profile with the page's CSP enforced."""
    ctx = browser.new_context()
    ctx.add_init_script(REPORT_CSP)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    """A page that fails the test on a CSP violation or an uncaught script error."""
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and ("CSP violation" in message.text
                                         or "Content Security Policy" in message.text):
            problems.append(message.text)

    new_page = context.new_page()
    new_page.on("console", on_console)
    new_page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    yield new_page
    assert problems == [], "the browser reported problems"


def screenshot(page: Page, name: str) -> Path:
    """A full-page screenshot in test-artifacts/ (gitignored), for a person to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    capture(page, path)
    return path


@dataclass
class Pages:
    """Browser profiles for the journey's people, each reporting CSP violations and script
    errors into ``problems``."""

    browser: Browser
    problems: list[str] = field(default_factory=list)
    closers: list[Callable[[], None]] = field(default_factory=list)

    def open(self) -> Page:
        context = self.browser.new_context()
        context.add_init_script(REPORT_CSP)
        self.closers.append(context.close)
        page = context.new_page()

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error" and ("CSP violation" in message.text
                                             or "Content Security Policy" in message.text):
                self.problems.append(f"{page.url}: {message.text}")

        page.on("console", on_console)
        page.on("pageerror", lambda error: self.problems.append(f"{page.url}: {error}"))
        return page


@pytest.fixture
def pages(browser: Browser) -> Iterator[Pages]:
    """Browser profiles for a journey's people; none may report a CSP violation."""
    opened = Pages(browser)
    yield opened
    for close in opened.closers:
        close()
    assert opened.problems == [], "the browser reported CSP violations or script errors"
