"""Debian's chromium driven by Playwright, for the dashboard's browser tests.

Never downloads a browser: it launches ``/usr/bin/chromium`` (``scripts/test.sh`` installs it with
apt when it is missing and the machine allows) with a fresh profile in the test's tmp_path, and the
tests skip with a clear message when it is not there.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def require_chromium() -> None:
    if not CHROMIUM.exists() or shutil.which(str(CHROMIUM)) is None:
        pytest.skip(
            "browser tests need Debian's chromium at /usr/bin/chromium (scripts/test.sh installs it as root)"
        )
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        pytest.skip("browser tests need the playwright package (the dev extra)")


@contextlib.asynccontextmanager
async def browser_page(tmp_path: Path, origin: str) -> AsyncIterator[object]:
    """A page in a fresh chromium profile, with clipboard access granted for ``origin``."""
    require_chromium()
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        context = await pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            args=ARGS,
            headless=True,
            viewport=DESKTOP,
        )
        try:
            await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=origin)
            page = context.pages[0] if context.pages else await context.new_page()
            page.set_default_timeout(30_000)
            yield page
        finally:
            await context.close()
