"""The page in a real browser against a real trader on the embedded simulator.

What a person sees: the page loads and validates everything it receives against the served
schemas; the status console grows when a calibration runs and its copy button copies exactly the
console's text; the trader's position appears after its fill and a close shows its closing reason
in the row; a resting order's row shows the contracts ahead of it in the queue and follows a change;
pause and resume work with the token and are refused without it; the page reconnects
when the trader restarts. A screenshot of every tab (desktop and phone) is saved under tmp_path.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tests.dashboard.browser_kit import (
    CELL_SHOWS,
    HAS_OPTION,
    NEEDS_CHROMIUM,
    PHONE,
    browser_page,
    live_dashboard,
    no_invalid_messages,
    open_live,
    use_token,
)
from tests.dashboard.dashboard_kit import QUEUE_AHEAD_ACCOUNT, TOKEN, running_trader
from tests.waiting import until

from kalshiflow.dashboard.hub import HubConfig
from kalshiflow.events.trader import TraderState

pytestmark = [pytest.mark.timeout(180), NEEDS_CHROMIUM]

# The console (newest first) shows the requested calibration starting, then its steps, then its end.
CALIBRATED_ON_REQUEST = """() => {
  const lines = document.getElementById('console').textContent.split('\\n');
  const start = lines.findIndex((l) => l.includes('starting recalibration (requested by dashboard (127.0.0.1))'));
  const after = lines.slice(0, Math.max(start, 0));
  return start > 0 && after.some((l) => l.includes('calibrating -> syncing state'))
    && after.some((l) => l.includes('calibration ok'));
}"""
TABS = ("status", "positions", "orders", "fills", "actions", "systems", "charts", "controls")


async def test_page_loads_shows_every_tab_and_the_console_follows_a_calibration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_trader(tmp_path, monkeypatch) as trader:
        await trader.wait_trading()
        ticker = await trader.wait_position()
        async with browser_page(tmp_path, trader.url) as page:
            await open_live(page, trader.url)
            await page.wait_for_function("document.getElementById('state').textContent === 'trading'")
            await page.wait_for_selector(f"#positions tr[data-ticker='{ticker}']", state="attached")
            assert (await page.text_content("#mode")) == "live · sim · buy-once"  # orders go out
            assert (await page.get_attribute("#mode", "data-paper")) == "false"

            # a calibration asked from the page shows in the console as it runs
            await use_token(page, TOKEN)
            await page.click("[data-control=calibrate]")
            await page.click("#tabs button[data-tab=status]")
            await page.wait_for_function(CALIBRATED_ON_REQUEST)
            # the copy button copies exactly the console's text, newest first as the server writes it
            await page.click("#copy")
            await page.wait_for_function("document.getElementById('copied').textContent === 'copied'")
            copied = await page.evaluate("navigator.clipboard.readText()")
            shown = await page.evaluate("document.getElementById('console').textContent")
            assert copied == shown
            newest = trader.state.lifecycle.history[-1].console_line()
            assert copied.split("\n")[0] == newest

            for viewport, suffix in ((None, "desktop"), (PHONE, "phone")):
                if viewport is not None:
                    await page.set_viewport_size(viewport)
                for tab in TABS:
                    await page.click(f"#tabs button[data-tab={tab}]")
                    await page.wait_for_selector(f"#tab-{tab}.active")
                    if tab == "charts":
                        await page.wait_for_selector("#chart-equity .uplot")
                    await page.screenshot(path=str(tmp_path / f"tab-{tab}-{suffix}.png"), full_page=True)
            await no_invalid_messages(page)
    shots = [tmp_path / f"tab-{tab}-{suffix}.png" for tab in TABS for suffix in ("desktop", "phone")]
    assert all(shot.stat().st_size > 0 for shot in shots)


async def test_controls_need_the_token_and_a_close_shows_its_reason_in_the_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_trader(tmp_path, monkeypatch) as trader:
        await trader.wait_trading()
        ticker = await trader.wait_position()
        life = trader.state.lifecycle
        async with browser_page(tmp_path, trader.url) as page:
            await open_live(page, trader.url)
            await page.click("#tabs button[data-tab=controls]")
            await page.click("[data-control=pause]")
            await page.wait_for_function("document.getElementById('control-result').dataset.status === '401'")
            assert life.state is TraderState.TRADING  # refused: nothing changed

            await use_token(page, TOKEN)
            await page.click("[data-control=pause]")
            await page.wait_for_function("document.getElementById('state').textContent === 'paused'")
            assert life.state is TraderState.PAUSED
            await page.click("[data-control=resume]")
            await page.wait_for_function("document.getElementById('state').textContent === 'trading'")
            assert any("resumed by dashboard (127.0.0.1)" in e.result_text for e in life.history)

            # Slow the exchange down so the close stays in flight long enough to be seen.
            trader.sim.sim.faults.update({"latency_ms": 4000})
            await page.click("#tabs button[data-tab=positions]")
            await page.click(f"#positions button[data-close='{ticker}']")
            row = page.locator(f"#positions tr[data-ticker='{ticker}'] td.closing")
            await row.wait_for()
            assert (await row.text_content()) == "closing: operator"
            await page.screenshot(path=str(tmp_path / "positions-closing.png"))
            trader.sim.sim.faults.reset()
            await no_invalid_messages(page)


async def test_page_reconnects_when_the_trader_restarts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first_dir, second_dir = tmp_path / "first", tmp_path / "second"
    first_dir.mkdir()
    second_dir.mkdir()
    async with browser_page(tmp_path, "http://127.0.0.1") as page:
        async with running_trader(first_dir, monkeypatch) as trader:
            await trader.wait_trading()
            port = trader.dashboard.port
            await open_live(page, trader.url)
        await page.wait_for_function("!window.__kf.state.connected")
        # The indicator is rendered after the state changes: wait for the page to say it.
        await page.wait_for_function("document.getElementById('conn').textContent === 'offline'")
        snapshots = await page.evaluate("window.__kf.state.snapshots")
        async with running_trader(second_dir, monkeypatch, port=port) as again:
            await again.wait_trading()
            await page.wait_for_function(
                f"window.__kf.state.connected && window.__kf.state.snapshots > {snapshots}"
            )
            await page.wait_for_function("document.getElementById('state').textContent === 'trading'")
            assert (await page.text_content("#conn")) == "connected"
            await no_invalid_messages(page)


async def test_a_token_from_the_previous_run_is_named_as_such(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The trader restarted with a new token: a control sent with the token the page saved in the
    previous run was refused as "token missing or wrong"; it says the token is the previous run's."""
    first_dir, second_dir = tmp_path / "first", tmp_path / "second"
    first_dir.mkdir()
    second_dir.mkdir()
    async with browser_page(tmp_path, "http://127.0.0.1") as page:
        async with running_trader(first_dir, monkeypatch) as trader:
            await trader.wait_trading()
            port = trader.dashboard.port
            await open_live(page, trader.url)
            await use_token(page, TOKEN)
            await page.click("[data-control=pause]")
            await page.wait_for_function(
                "document.getElementById('control-result').textContent === 'pause: done (paused)'"
            )
            first_run = await page.evaluate("window.__kf.state.systems.started_ms")
        await page.wait_for_function("!window.__kf.state.connected")
        async with running_trader(
            second_dir, monkeypatch, port=port, token="another-token-9876543210"
        ) as again:
            await again.wait_trading()
            await page.wait_for_function(
                f"window.__kf.state.connected && window.__kf.state.systems.started_ms !== {first_run}"
            )
            await page.click("[data-control=pause]")
            await page.wait_for_function("document.getElementById('control-result').dataset.status === '401'")
            text = await page.text_content("#control-result")
            assert text == (
                "pause: refused (401, the saved token is from a previous run of the trader: "
                "enter this run's token, printed in the trader's console at start)"
            )
            assert again.state.lifecycle.state is TraderState.TRADING  # refused: nothing changed


async def test_a_new_run_replaces_the_market_choices_of_the_previous_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chart's market and the action log's market filter only ever gained choices: after the page
    reconnected to a restarted trader, the previous run's markets stayed on offer (and chosen)."""
    first_dir, second_dir = tmp_path / "first", tmp_path / "second"
    first_dir.mkdir()
    second_dir.mkdir()
    async with browser_page(tmp_path, "http://127.0.0.1") as page:
        async with running_trader(first_dir, monkeypatch) as trader:
            await trader.wait_trading()
            port = trader.dashboard.port
            await open_live(page, trader.url)
            await page.evaluate(
                """() => {
                const s = window.__kf.state, ts = Date.now();
                s.prices.set('ZZ-OLD', [{ ts, bid: 4000, ask: 4200 }]);
                s.actions.push({ ts_ms: ts, ticker: 'ZZ-OLD', action: 'HOLD', price: null, size: null,
                  result: 'hold', denied_by: null, reason: 'old run' });
            }"""
            )
            await page.click("#tabs button[data-tab=charts]")
            await page.wait_for_function(HAS_OPTION, arg=["chart-market", "ZZ-OLD"])
            await page.select_option("#chart-market", "ZZ-OLD")
            await page.click("#tabs button[data-tab=actions]")
            await page.wait_for_function(HAS_OPTION, arg=["filter-market", "ZZ-OLD"])
            await page.select_option("#filter-market", "ZZ-OLD")
            await page.click("#tabs button[data-tab=charts]")  # the chart's choices follow while it is shown
            first_run = await page.evaluate("window.__kf.state.systems.started_ms")
        await page.wait_for_function("!window.__kf.state.connected")
        async with running_trader(second_dir, monkeypatch, port=port) as again:
            await again.wait_trading()
            await page.wait_for_function(
                f"window.__kf.state.connected && window.__kf.state.systems.started_ms !== {first_run}"
            )
            gone = "(ids) => ids.every((id) => ![...document.getElementById(id).options].some((o) => o.value === 'ZZ-OLD'))"
            await page.wait_for_function(gone, arg=["chart-market", "filter-market"], timeout=10_000)
            assert await page.input_value("#filter-market") == ""  # all markets again
            await page.wait_for_function(  # the chart shows one of this run's markets
                "window.__kf.state.prices.has(document.getElementById('chart-market').value)"
            )
            await no_invalid_messages(page)


def _seconds(duration: str) -> int:
    """A duration as format.js writes it ("42s", "3m 5s", "1h 2m") in seconds."""
    total = 0
    for amount, unit in re.findall(r"(\d+)([hms])", duration):
        total += int(amount) * {"h": 3600, "m": 60, "s": 1}[unit]
    return total


async def test_held_ticks_on_the_traders_clock_under_speed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With --speed 20 the trader's clock runs 20 times the page's: Held ticked at the page's rate
    between systems messages and jumped at each one. The page's estimate of the trader's "now" runs
    at the speed the systems messages give (clock_speed), so Held follows the trader's clock."""
    hub = HubConfig(tick_s=30)  # no systems message in the test's time: only the estimate moves
    async with running_trader(tmp_path, monkeypatch, hub=hub, speed=20) as trader:
        await trader.wait_trading()
        ticker = await trader.wait_position()
        clock = trader.app.clock
        async with browser_page(tmp_path, trader.url) as page:
            await open_live(page, trader.url)
            await page.click("#tabs button[data-tab=positions]")
            held = page.locator(f"#positions tr[data-ticker='{ticker}'] td[data-opened]")
            await held.wait_for()
            heard = await page.evaluate("window.__kf.state.systems.ts_ms")
            await until(lambda: clock.now_ms() >= heard + 60_000, 30, "a minute on the trader's clock")
            opened = int(await held.get_attribute("data-opened") or 0)
            estimate = await page.evaluate(
                "import('/static/render.js').then((r) => r.serverNow(window.__kf.state))"
            )
            assert abs(estimate - clock.now_ms()) < 10_000  # the trader's now, not 57 s behind it
            # Held is redrawn every 250 ms of the page's time (5 s of the trader's)
            shown = _seconds(await held.text_content() or "")
            assert abs(shown - (clock.now_ms() - opened) / 1000) < 15, shown
            await no_invalid_messages(page)


async def test_the_orders_table_shows_the_queue_position_of_a_resting_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_trader(tmp_path, monkeypatch) as trader:
        await trader.wait_trading()
        _, cid = await trader.rest_behind(7)
        core = trader.state.core
        assert core is not None
        before = core.queue.ahead_of(cid)
        assert before is not None
        cell = f"#orders tr[data-order='{cid}'] td.ahead"
        async with browser_page(tmp_path, trader.url) as page:
            await open_live(page, trader.url)
            await page.click("#tabs button[data-tab=orders]")
            await page.wait_for_function(CELL_SHOWS, arg=[cell, before.fp_str()])

            # The order ahead goes: the tracker reads the new position and the cell follows.
            engine = trader.sim.sim.engine
            for order_id in list(engine.account(QUEUE_AHEAD_ACCOUNT).order_ids):
                engine.cancel_order(QUEUE_AHEAD_ACCOUNT, order_id)

            def moved() -> bool:
                now = core.queue.ahead_of(cid)
                return now is not None and now < before

            await until(moved, 30, "the queue position after the cancel ahead")
            after = core.queue.ahead_of(cid)
            assert after is not None
            await page.wait_for_function(CELL_SHOWS, arg=[cell, after.fp_str()])
            await page.screenshot(path=str(tmp_path / "tab-orders-queue.png"), full_page=True)
            await no_invalid_messages(page)


async def test_a_trader_out_of_contact_is_not_shown_trading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server going away without a clean stop (kill -9, a crash, the network): the page says it
    has no contact and which state it last heard, never "trading" as if that were still true."""
    async with live_dashboard(tmp_path, monkeypatch) as (trader, page):
        await page.wait_for_function("document.getElementById('state').textContent === 'trading'")
        await trader.dashboard.stop()  # the page's side of a kill -9: the socket goes, no "stopped"
        assert trader.state.lifecycle.state is TraderState.TRADING
        await page.wait_for_function("document.getElementById('conn').textContent === 'offline'")
        assert (await page.text_content("#state")) == "no contact (last: trading)"
        assert (await page.get_attribute("#state", "data-state")) == "offline"
        assert (await page.text_content("#since")) == "–"


async def test_the_header_says_a_paper_trader_sends_no_orders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Paper or live is in the header at all times, not only in the status history's first lines."""
    async with running_trader(tmp_path, monkeypatch, paper=True) as trader:
        await trader.wait_trading()
        async with browser_page(tmp_path, trader.url) as page:
            await open_live(page, trader.url)
            await page.wait_for_function("document.getElementById('mode').dataset.paper === 'true'")
            assert (await page.text_content("#mode")) == "PAPER (no orders sent) · sim · buy-once"
            console = await page.text_content("#console")
            assert console is not None
            assert "paper mode on sim: buy-once decides and records, no order is sent" in console
            await no_invalid_messages(page)
