"""Headless Chromium for the web tests: Debian's /usr/bin/chromium driven by Playwright, never a downloaded
browser (`playwright install` is never run). scripts/bootstrap.sh installs the chromium package."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def available() -> str | None:
    """Why the browser cannot run here, or None."""
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing (scripts/bootstrap.sh installs Debian's chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is missing (pip install -e '.[test]')"
    return None


@contextlib.contextmanager
def browser_page(*, width: int = 1280, height: int = 900) -> Iterator:
    """A page of a fresh headless Chromium with its own user-data-dir, closed (and the dir removed) at the end."""
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="cruddur-chromium-")
    try:
        with sync_playwright() as p:
            context = p.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, args=ARGS, headless=True, accept_downloads=True,
                viewport={"width": width, "height": height})
            try:
                yield context.pages[0] if context.pages else context.new_page()
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
