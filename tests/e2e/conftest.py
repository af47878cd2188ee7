"""Browser tests: the session app on a live loopback server, driven by Debian's Chromium."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import missing_service

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}


def pytest_collection_modifyitems(items):
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def live_server(app) -> Iterator[str]:
    """Serve the session app on 127.0.0.1 from a daemon thread; yield its base URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        missing_service("chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@dataclass
class ConsoleLog:
    """What the page said on its console, and the errors it threw."""

    messages: list[tuple[str, str]] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def errors(self) -> list[str]:
        return [text for kind, text in self.messages if kind in ("error", "warning")] + [
            f"pageerror: {text}" for text in self.page_errors
        ]

    def csp_violations(self) -> list[str]:
        return [text for _, text in self.messages if "Content Security Policy" in text]


@pytest.fixture
def open_page(browser, live_server):
    """Open a fresh browser context and page at a viewport; returns (page, console log)."""
    contexts = []

    def open_(viewport: dict | None = None, **options):
        context = browser.new_context(viewport=viewport or PHONE, base_url=live_server, **options)
        context.set_default_timeout(10_000)  # a bounded wait, never a timing assertion
        contexts.append(context)
        page = context.new_page()
        console = ConsoleLog()
        page.on("console", lambda message: console.messages.append((message.type, message.text)))
        page.on("pageerror", lambda error: console.page_errors.append(str(error)))
        return page, console

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture
def screenshot():
    ARTIFACTS.mkdir(exist_ok=True)

    def save(page, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save
