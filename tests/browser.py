"""A headless Chromium page for the browser tests, driven by Playwright (Debian's chromium, no download)."""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")  # `make test` installs it


@pytest.fixture
def browser_page():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's chromium package (`make test` does).")
    # Playwright's sync API runs an event loop in this thread; the ORM work of the fixtures is done.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        page.on("console", lambda message: message.type == "error" and errors.append(message.text))
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.console_errors = errors  # a test visiting an error page on purpose takes its own out
        yield page
        browser.close()
    # Anything the Content-Security-Policy blocked, or a script that failed, shows here.
    unexpected = [e for e in errors if "403" not in e]
    assert unexpected == [], unexpected
    del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
