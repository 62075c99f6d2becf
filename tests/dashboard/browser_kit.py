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
from typing import Any

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


def chromium_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not CHROMIUM.exists() or shutil.which(str(CHROMIUM)) is None:
        return (
            "browser tests need Debian's chromium at /usr/bin/chromium (scripts/test.sh installs it as root)"
        )
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "browser tests need the playwright package (the dev extra)"
    return None


def require_chromium() -> None:
    missing = chromium_missing()
    if missing is not None:
        pytest.skip(missing)


# A browser test module's mark: skipped before its trader starts when there is no browser.
NEEDS_CHROMIUM = pytest.mark.skipif(chromium_missing() is not None, reason=chromium_missing() or "")


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


# The page's helpers shared by the browser test modules.
CELL_SHOWS = "([selector, text]) => { const td = document.querySelector(selector); return td !== null && td.textContent === text; }"
HAS_OPTION = "([id, value]) => [...document.getElementById(id).options].some((o) => o.value === value)"


async def wait_live(page: Any) -> None:
    """The page is connected and has its first snapshot."""
    await page.wait_for_function(
        "window.__kf && window.__kf.state.connected && window.__kf.state.snapshots > 0"
    )


async def open_live(page: Any, url: str) -> None:
    """Load the dashboard at ``url`` and wait until it is live."""
    await page.goto(url)
    await wait_live(page)


async def go_quiet(page: Any, dashboard: Any) -> None:
    """Stop the dashboard and wait until the page knows: no more messages, so whatever a test then
    sets in the page's state stays there to be rendered."""
    await dashboard.stop()
    await page.wait_for_function("!window.__kf.state.connected")


async def no_invalid_messages(page: Any) -> None:
    """Every message the page received was checked against the served schemas, and none failed."""
    checked = await page.evaluate("window.__kf.validator.checked")
    invalid = await page.evaluate("[window.__kf.validator.invalid, window.__kf.validator.lastProblem]")
    assert checked > 0
    assert invalid == [0, ""]


async def use_token(page: Any, token: str) -> None:
    await page.click("#tabs button[data-tab=controls]")
    await page.fill("#token", token)
    await page.click("#token-save")


async def painted(page: Any) -> None:
    """Two animation frames: whatever a chart scheduled to draw (uPlot draws on the next frame) is drawn."""
    await page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")


@contextlib.asynccontextmanager
async def live_dashboard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[Any, Any]]:
    """A trader trading the embedded simulator and a page open on its live dashboard: the start of
    most browser tests (``running_trader``, ``wait_trading``, ``browser_page``, ``open_live``)."""
    from tests.dashboard.dashboard_kit import running_trader

    async with running_trader(tmp_path, monkeypatch) as trader:
        await trader.wait_trading()
        async with browser_page(tmp_path, trader.url) as page:
            await open_live(page, trader.url)
            yield trader, page
