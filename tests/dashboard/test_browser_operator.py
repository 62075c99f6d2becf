"""The page as a demanding operator reads it, in a real browser against a real trader.

Time in state runs on through the periodic calibrations (the page read "trading 3s" after each);
the page loads without an error in the browser's console (it logged a 404 for the favicon); a
count beside a noun is singular for one ("1 messages"); at phone width every tab can be reached
and nothing but a table's own scroller is wider than the screen.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.dashboard.browser_kit import (
    NEEDS_CHROMIUM,
    PHONE,
    browser_page,
    go_quiet,
    live_dashboard,
    no_invalid_messages,
    open_live,
)
from tests.dashboard.dashboard_kit import TOKEN, running_trader
from tests.waiting import until

from kalshiflow.events.trader import TraderState

pytestmark = [pytest.mark.timeout(180), NEEDS_CHROMIUM]

TABS = ("status", "positions", "orders", "fills", "actions", "systems", "charts", "controls")


async def test_time_in_trading_runs_on_through_a_calibration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a calibration the trader is back in trading, and "in state" said it had just begun."""
    async with running_trader(tmp_path, monkeypatch) as trader:
        await trader.wait_trading()
        life = trader.state.lifecycle
        began = life.trading_since_ms
        assert began is not None
        async with browser_page(tmp_path, trader.url) as page:
            await open_live(page, trader.url)
            recal = trader.state.recal
            assert recal is not None
            calibrations = recal.stats.runs
            async with httpx.AsyncClient(base_url=trader.url, timeout=30) as http:
                answer = await http.post(
                    "/api/control/calibrate",
                    headers={"x-kalshiflow-token": TOKEN, "x-kalshiflow-client": "pytest"},
                )
            assert answer.status_code == 200, answer.text
            await until(lambda: recal.stats.runs > calibrations and life.state is TraderState.TRADING)
            assert life.shown_since_ms == began  # the server's own view
            # The page followed the calibration's transitions live and lands on the same start.
            await page.wait_for_function(
                "([n]) => window.__kf.state.calibrations.length >= n && window.__kf.state.status.state === 'trading'",
                arg=[calibrations + 1],
            )
            assert await page.evaluate("window.__kf.state.status.since_ms") == began
            assert (await page.text_content("#calibrated") or "").endswith(" ago")
            await no_invalid_messages(page)


async def test_the_page_loads_without_an_error_in_the_console(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every load logged "Failed to load resource: 404" for /favicon.ico."""
    async with running_trader(tmp_path, monkeypatch) as trader:
        await trader.wait_trading()
        async with browser_page(tmp_path, trader.url) as page:
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
            await open_live(page, trader.url)
            for tab in TABS:
                await page.click(f"#tabs button[data-tab={tab}]")
            await page.goto(f"{trader.url}/api/status")  # a browser asks for /favicon.ico here too
            await page.wait_for_load_state("networkidle")
            assert errors == []
        async with httpx.AsyncClient(base_url=trader.url, timeout=30) as http:
            icon = await http.get("/favicon.ico")
        assert icon.status_code == 200
        assert icon.headers["content-type"].startswith("image/svg+xml")


async def test_a_count_beside_a_noun_is_singular_for_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Systems tab read "Schema check 1 messages, 0 invalid"."""
    async with live_dashboard(tmp_path, monkeypatch) as (trader, page):
        shown = await page.evaluate(
            "import('/static/format.js').then((f) => [f.plural(0, 'order'), f.plural(1, 'order'),"
            " f.plural(2, 'order'), f.plural(1, 'entry', 'entries'), f.plural(3, 'entry', 'entries')])"
        )
        assert shown == ["0 orders", "1 order", "2 orders", "1 entry", "3 entries"]
        await go_quiet(page, trader.dashboard)
        await page.evaluate("window.__kf.validator.checked = 1")
        await page.click("#tabs button[data-tab=systems]")  # renders
        await page.wait_for_function(
            "document.getElementById('schema-check').textContent.startsWith('1 message,')"
        )
        assert (await page.text_content("#schema-check")) == "1 message, 0 invalid"


# Whatever sticks out of the screen and is not inside a horizontal scroller of its own, and every
# tab button that is not on the screen (a tab the operator cannot see is a tab they never open).
OFF_SCREEN = """() => {
  const width = document.documentElement.clientWidth;
  const out = [];
  if (document.documentElement.scrollWidth > width) out.push(`page ${document.documentElement.scrollWidth} > ${width}`);
  for (const el of document.querySelectorAll('.tab.active *')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.right <= width + 0.5) continue;
    let p = el.parentElement;
    let scrolled = false;
    while (p && p !== document.body) {
      const x = getComputedStyle(p).overflowX;
      if (x === 'auto' || x === 'scroll') { scrolled = p.getBoundingClientRect().right <= width + 0.5; break; }
      p = p.parentElement;
    }
    if (!scrolled) out.push(`${el.tagName}#${el.id}.${el.className} ends at ${Math.round(r.right)}`);
  }
  for (const b of document.querySelectorAll('#tabs button')) {
    const r = b.getBoundingClientRect();
    if (r.left < 0 || r.right > width + 0.5) out.push(`tab ${b.dataset.tab} off screen`);
  }
  return out;
}"""


@pytest.mark.parametrize("viewport", [PHONE, {"width": 320, "height": 568}], ids=["390x844", "320x568"])
async def test_every_tab_and_panel_is_reachable_at_phone_width(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, viewport: dict[str, Any]
) -> None:
    """At 390 wide three tab buttons (Systems, Charts, Controls) were off the screen with no sign
    they were there; at 320 the Systems cards made the whole page wider than the screen."""
    async with running_trader(tmp_path, monkeypatch) as trader:
        await trader.wait_trading()
        await trader.wait_position()
        async with browser_page(tmp_path, trader.url) as page:
            await page.set_viewport_size(viewport)
            await open_live(page, trader.url)
            await page.wait_for_selector("#positions tbody tr", state="attached")
            found: dict[str, list[str]] = {}
            for tab in TABS:
                await page.click(f"#tabs button[data-tab={tab}]")
                await page.wait_for_selector(f"#tab-{tab}.active")
                found[tab] = await page.evaluate(OFF_SCREEN)
                # Scrolled to the end, the bottom of the panel is on the screen.
                await page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
                bottom = await page.evaluate(
                    f"document.getElementById('tab-{tab}').getBoundingClientRect().bottom"
                )
                assert bottom <= viewport["height"] + 1, tab
            assert found == {tab: [] for tab in TABS}
            # A table wider than the screen scrolls in its own box, the rest of the page stays put.
            await page.click("#tabs button[data-tab=positions]")
            wide = await page.evaluate(
                "(() => { const s = document.querySelector('#tab-positions .scroll');"
                " return [getComputedStyle(s).overflowX, s.scrollWidth > s.clientWidth]; })()"
            )
            assert wide == ["auto", True]


async def test_the_connection_indicator_does_not_read_like_the_trading_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The header said "live" twice: the mode (orders are sent) and the page's connection."""
    async with live_dashboard(tmp_path, monkeypatch) as (_trader, page):
        await page.wait_for_function("document.getElementById('conn').dataset.up === 'true'")
        assert (await page.text_content("#mode") or "").startswith("live · ")
        assert (await page.text_content("#conn")) == "connected"


async def test_an_empty_table_says_it_is_empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Orders, fills and actions showed a header row over nothing: empty, or still loading?"""
    async with live_dashboard(tmp_path, monkeypatch) as (trader, page):
        await go_quiet(page, trader.dashboard)
        await page.evaluate(
            "(() => { const s = window.__kf.state; s.orders = new Map(); s.queue = new Map(); s.fills = [];"
            " s.actions = []; })()"
        )
        shown: dict[str, str] = {}
        for tab in ("orders", "fills", "actions"):
            await page.click(f"#tabs button[data-tab={tab}]")  # renders
            note = page.locator(f"#{tab}-empty")
            await note.wait_for(state="visible")
            shown[tab] = await note.text_content() or ""
        assert shown == {
            "orders": "No open orders.",
            "fills": "No fills yet.",
            "actions": "No actions yet (holds are counted above, not listed).",
        }
        # with rows the note goes; with a filter that lets none through it says so
        await page.evaluate(
            "window.__kf.state.actions = [{ ts_ms: 0, ticker: 'ZZ-1', action: 'BUY_YES', price: 4500,"
            " size: 100, result: 'placed', reason: 'edge', denied_by: null }]"
        )
        await page.click("#tabs button[data-tab=actions]")
        await page.locator("#actions-empty").wait_for(state="hidden")
        await page.evaluate(
            "(() => { const f = document.getElementById('filter-action'); f.add(new Option('SELL_NO', 'SELL_NO'));"
            " f.value = 'SELL_NO'; f.dispatchEvent(new Event('change')); })()"
        )
        await page.locator("#actions-empty").wait_for(state="visible")
        assert (await page.text_content("#actions-empty")) == "No actions match the filters."


async def test_enter_in_the_token_field_uses_the_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pasted token and Enter did nothing: only the button used it."""
    async with live_dashboard(tmp_path, monkeypatch) as (trader, page):
        await page.click("#tabs button[data-tab=controls]")
        await page.fill("#token", TOKEN)
        await page.press("#token", "Enter")
        await page.wait_for_function(
            "document.getElementById('token-state').textContent.includes('this trader accepts it')"
        )
        assert await page.evaluate("sessionStorage.getItem('kalshiflow.token')") == TOKEN
        assert await page.input_value("#token") == ""
        assert page.url.rstrip("/") == trader.url.rstrip("/")  # the form did not navigate


async def test_a_page_left_open_keeps_a_bounded_list_of_calibrations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One calibration a minute, kept without a bound: after days the page held and re-rendered
    thousands of rows on every update. It keeps the last 200, as the server's snapshot sends."""
    async with live_dashboard(tmp_path, monkeypatch) as (trader, page):
        await go_quiet(page, trader.dashboard)
        kept = await page.evaluate(
            """import('/static/app.js').then((app) => {
              const last = window.__kf.state.calibrations.at(-1);
              for (let n = 0; n < 300; n += 1) app.HANDLERS.calibration({ ...last, started_ms: n });
              const c = window.__kf.state.calibrations;
              return [c.length, c.at(-1).started_ms];
            })"""
        )
        assert kept == [200, 299]
