"""Browser tests: the app served by uvicorn on a free loopback port (a thread, a fresh SQLite
database per test), driven by Playwright with Debian's Chromium (never Playwright's own
download). Without Chromium or Playwright the tests are skipped with the reason, unless
REQUIRE_BROWSER=1, which turns that into a failure. Screenshots go to tests/browser/artifacts/.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from api.http.app import create_app
from core.config import Settings
from core.db import Database
from tests.browser.world import World, build_world
from tests.conftest import make_settings
from tests.databases import SqliteDatabases

CHROMIUM = Path(os.environ.get("PAPERLEAGUE_CHROMIUM", "/usr/bin/chromium"))
REQUIRE_BROWSER = os.environ.get("REQUIRE_BROWSER") == "1"
ARTIFACTS = Path(__file__).parent / "artifacts"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}


def browser_unavailable_reason() -> str | None:
    if not CHROMIUM.is_file():
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[dev]')"
    return None


# Module-scoped, not session-scoped: Playwright's sync API keeps its event loop running on the
# main thread while it is open, so a later test file on the same xdist worker would find "a
# running event loop" (asyncio.run refuses; CPython's ast.parse trips on the greenlet's
# recursion count). Closed at the end of each browser module, it leaves the thread clean.
@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    reason = browser_unavailable_reason()
    if reason:
        if REQUIRE_BROWSER:
            pytest.fail(f"REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield browser
        browser.close()


@dataclass(frozen=True)
class LiveApp:
    url: str
    database: Database
    settings: Settings


@pytest.fixture
def live_app(sqlite_databases: SqliteDatabases) -> Iterator[LiveApp]:
    """The whole app (API and web UI) on 127.0.0.1:<free port> over a fresh migrated SQLite."""
    url = sqlite_databases.migrated()
    settings = make_settings(url, migrate_on_start=False)
    database = Database.connect(url)
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, database=database), log_level="warning")
    )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))  # the kernel picks the port; the server takes the bound socket
    port = sock.getsockname()[1]
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the app did not start"
        time.sleep(0.02)
    yield LiveApp(f"http://127.0.0.1:{port}", database, settings)
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()
    database.dispose()
    sqlite_databases.drop(url)


@pytest.fixture
def world(live_app: LiveApp, request: pytest.FixtureRequest) -> Iterator[World]:
    """The world of world.py; ``@pytest.mark.parametrize("world", ["bare"], indirect=True)``
    asks for the bare one (users only)."""
    bare = getattr(request, "param", "full") == "bare"
    built = build_world(live_app.url, live_app.database, live_app.settings, bare=bare)
    yield built
    built.http.close()


@pytest.fixture
def page(chromium: Any, world: World) -> Iterator[Any]:
    """A fresh browser context (own storage) at desktop size, its script errors and CSP
    refusals collected."""
    context = chromium.new_context(viewport=DESKTOP, locale="en-US", base_url=world.url)
    context.set_default_timeout(10_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    # A Content-Security-Policy refusal is no exception, only a console error.
    tab.on(
        "console",
        lambda message: (
            errors.append(message.text)
            if message.type == "error" and "Content Security Policy" in message.text
            else None
        ),
    )
    tab.errors = errors
    yield tab
    context.close()
    assert not errors, f"JavaScript errors in the page: {errors}"


def shoot(page: Any, name: str, *, phone: bool = False) -> Path:
    """Save a full-page screenshot (at phone width when asked) under artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}{'-phone' if phone else ''}.png"
    if phone:
        page.set_viewport_size(PHONE)
    page.screenshot(path=str(path), full_page=True)
    if phone:
        page.set_viewport_size(DESKTOP)
    return path
