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
from typing import Any

import pytest
from tests.dashboard.browser_kit import PHONE, browser_page, require_chromium
from tests.dashboard.dashboard_kit import QUEUE_AHEAD_ACCOUNT, TOKEN, running_trader
from tests.waiting import until

from kalshiflow.dashboard.hub import HubConfig
from kalshiflow.events.trader import TraderState

pytestmark = [pytest.mark.timeout(180)]

# The console (newest first) shows the requested calibration starting, then its steps, then its end.
CALIBRATED_ON_REQUEST = """() => {
  const lines = document.getElementById('console').textContent.split('\\n');
  const start = lines.findIndex((l) => l.includes('starting recalibration (requested by dashboard (127.0.0.1))'));
  const after = lines.slice(0, Math.max(start, 0));
  return start > 0 && after.some((l) => l.includes('calibrating -> syncing state'))
    && after.some((l) => l.includes('calibration ok'));
}"""
CELL_SHOWS = "([selector, text]) => { const td = document.querySelector(selector); return td !== null && td.textContent === text; }"
TABS = ("status", "positions", "orders", "fills", "actions", "systems", "charts", "controls")


@pytest.fixture(autouse=True)
def _chromium() -> None:
    require_chromium()


async def _wait_live(page: Any) -> None:
    await page.wait_for_function(
        "window.__kf && window.__kf.state.connected && window.__kf.state.snapshots > 0"
    )


async def _no_invalid_messages(page: Any) -> None:
    checked = await page.evaluate("window.__kf.validator.checked")
    invalid = await page.evaluate("[window.__kf.validator.invalid, window.__kf.validator.lastProblem]")
    assert checked > 0
    assert invalid == [0, ""]


async def _use_token(page: Any, token: str) -> None:
    await page.click("#tabs button[data-tab=controls]")
    await page.fill("#token", token)
    await page.click("#token-save")


async def test_page_loads_shows_every_tab_and_the_console_follows_a_calibration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_trader(tmp_path, monkeypatch) as trader:
        await trader.wait_trading()
        ticker = await trader.wait_position()
        async with browser_page(tmp_path, trader.url) as page:
            await page.goto(trader.url)
            await _wait_live(page)
            await page.wait_for_function("document.getElementById('state').textContent === 'trading'")
            await page.wait_for_selector(f"#positions tr[data-ticker='{ticker}']", state="attached")

            # a calibration asked from the page shows in the console as it runs
            await _use_token(page, TOKEN)
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
            await _no_invalid_messages(page)
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
            await page.goto(trader.url)
            await _wait_live(page)
            await page.click("#tabs button[data-tab=controls]")
            await page.click("[data-control=pause]")
            await page.wait_for_function("document.getElementById('control-result').dataset.status === '401'")
            assert life.state is TraderState.TRADING  # refused: nothing changed

            await _use_token(page, TOKEN)
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
            await _no_invalid_messages(page)


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
            await page.goto(trader.url)
            await _wait_live(page)
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
            assert (await page.text_content("#conn")) == "live"
            await _no_invalid_messages(page)


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
            await page.goto(trader.url)
            await _wait_live(page)
            await _use_token(page, TOKEN)
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


HAS_OPTION = "([id, value]) => [...document.getElementById(id).options].some((o) => o.value === value)"


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
            await page.goto(trader.url)
            await _wait_live(page)
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
            await _no_invalid_messages(page)


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
            await page.goto(trader.url)
            await _wait_live(page)
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
            await _no_invalid_messages(page)


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
            await page.goto(trader.url)
            await _wait_live(page)
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
            await _no_invalid_messages(page)


async def test_a_trader_out_of_contact_is_not_shown_trading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server going away without a clean stop (kill -9, a crash, the network): the page says it
    has no contact and which state it last heard, never "trading" as if that were still true."""
    async with running_trader(tmp_path, monkeypatch) as trader:
        await trader.wait_trading()
        async with browser_page(tmp_path, trader.url) as page:
            await page.goto(trader.url)
            await _wait_live(page)
            await page.wait_for_function("document.getElementById('state').textContent === 'trading'")
            await trader.dashboard.stop()  # the page's side of a kill -9: the socket goes, no "stopped"
            assert trader.state.lifecycle.state is TraderState.TRADING
            await page.wait_for_function("document.getElementById('conn').textContent === 'offline'")
            assert (await page.text_content("#state")) == "no contact (last: trading)"
            assert (await page.get_attribute("#state", "data-state")) == "offline"
            assert (await page.text_content("#since")) == "–"


async def test_the_kill_switch_banner_follows_the_kill_switch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On, the banner says the kill switch is on (not only "paused"), also when it is engaged while
    already paused; off and resumed, the banner goes, without a reload."""
    async with running_trader(tmp_path, monkeypatch) as trader:
        await trader.wait_trading()
        async with browser_page(tmp_path, trader.url) as page:
            await page.goto(trader.url)
            await _wait_live(page)
            await _use_token(page, TOKEN)
            banner = "() => { const b = document.getElementById('kill-banner'); return b.hidden ? null : b.textContent; }"
            on = "kill switch on: engaged by dashboard (127.0.0.1)"

            await page.click("[data-control=pause]")
            await page.wait_for_function("document.getElementById('state').textContent === 'paused'")
            await page.click("[data-control=kill_on]")
            await page.wait_for_function(f"({banner})() === {on!r}")

            await page.click("[data-control=kill_off]")
            await page.wait_for_function(f"({banner})() !== {on!r}")
            await page.click("[data-control=resume]")
            await page.wait_for_function("document.getElementById('state').textContent === 'trading'")
            await page.wait_for_function(f"({banner})() === null")

            await page.click("[data-control=kill_on]")  # while trading: it pauses, and says why
            await page.wait_for_function(f"({banner})() === {on!r}")
            assert trader.state.lifecycle.state is TraderState.PAUSED
            await _no_invalid_messages(page)


async def test_a_control_without_an_answer_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A control sent when the trader is gone: the page says there was no answer, instead of
    leaving the previous control's outcome on show as if it were this one's."""
    async with running_trader(tmp_path, monkeypatch) as trader:
        await trader.wait_trading()
        async with browser_page(tmp_path, trader.url) as page:
            await page.goto(trader.url)
            await _wait_live(page)
            await _use_token(page, TOKEN)
            await page.click("[data-control=pause]")
            await page.wait_for_function(
                "document.getElementById('control-result').textContent === 'pause: done (paused)'"
            )
            await trader.dashboard.stop()
            await page.wait_for_function("document.getElementById('conn').textContent === 'offline'")
            await page.click("[data-control=resume]")
            await page.wait_for_function(
                "document.getElementById('control-result').dataset.status === 'unreachable'"
            )
            text = await page.text_content("#control-result")
            assert text is not None
            assert text.startswith("resume: no answer from the trader (")
            assert text.endswith("): it may not have been done")


async def test_a_close_shows_its_outcome_on_the_positions_tab(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Close is clicked on the positions tab: a refusal (no token) must show there, not only on the
    Controls tab the operator is not looking at."""
    async with running_trader(tmp_path, monkeypatch) as trader:
        await trader.wait_trading()
        ticker = await trader.wait_position()
        async with browser_page(tmp_path, trader.url) as page:
            await page.goto(trader.url)
            await _wait_live(page)
            await page.click("#tabs button[data-tab=positions]")
            await page.click(f"#positions button[data-close='{ticker}']")
            line = page.locator("#tab-positions .control-result")
            await line.wait_for(state="visible")
            await page.wait_for_function(
                "document.querySelector('#tab-positions .control-result').dataset.status === '401'"
            )
            assert (await line.text_content()) == f"close {ticker}: refused (401, token missing or wrong)"
            assert trader.state.core is not None
            assert trader.state.core.ledger.positions[ticker].position != 0  # refused: still held


async def test_signed_money_has_no_sign_on_zero_cents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The header's P&L, the positions' unrealized and a calibration's cash drift: a tenth of a cent
    read "+$0.00" (and minus a tenth "$0.00"); zero cents is "$0.00" either way."""
    async with running_trader(tmp_path, monkeypatch) as trader:
        await trader.wait_trading()
        async with browser_page(tmp_path, trader.url) as page:
            await page.goto(trader.url)
            await _wait_live(page)
            shown = await page.evaluate(
                "import('/static/format.js').then((f) => [1000, 4999, 5000, -1000, -5000, 0, 1234567]"
                ".map((v) => f.signedMoney(v)))"
            )
            assert shown == ["$0.00", "$0.00", "+$0.01", "$0.00", "-$0.01", "$0.00", "+$1.23"]


async def test_chart_axes_show_dollars_to_the_cent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The equity chart's ticks read "$9,999.5" and "-$0.5" beside "$10,000", and a tick a float
    step left just below zero read "-$0"; every tick is now to the cent, zero unsigned."""
    async with running_trader(tmp_path, monkeypatch) as trader:
        await trader.wait_trading()
        async with browser_page(tmp_path, trader.url) as page:
            await page.goto(trader.url)
            await _wait_live(page)
            shown = await page.evaluate(
                "import('/static/charts.js').then((c) => [9999.5, 10000, -0.5, -1e-17, 0.1 + 0.2, -1.25, 0.004]"
                ".map((v) => c.dollars(v)))"
            )
            assert shown == ["$9,999.50", "$10,000.00", "-$0.50", "$0.00", "$0.30", "-$1.25", "$0.00"]
            await page.wait_for_function("window.__kf.state.equity.length > 5")
            await page.click("#tabs button[data-tab=charts]")
            await page.wait_for_function("Number(document.querySelector('#chart-equity').dataset.drawn) > 5")
            await _painted(page)
            await page.hover("#chart-equity .u-over")  # the legend shows the values under the cursor
            await _painted(page)
            values = await page.eval_on_selector_all(
                "#chart-equity .u-legend .u-series .u-value", "(es) => es.slice(1).map((e) => e.textContent)"
            )
            assert len(values) == 3
            assert all(re.fullmatch(r"-?\$[0-9,]+\.[0-9]{2}", v) for v in values), values
            await _no_invalid_messages(page)


async def _painted(page: Any) -> None:
    """Two animation frames: whatever a chart scheduled to draw (uPlot draws on the next frame) is drawn."""
    await page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")


# The YES bid line's (green) height in the price chart's canvas at a fraction of the plot's width.
BID_LINE_Y = """(fraction) => {
  const canvas = document.querySelector('#chart-price canvas');
  const ctx = canvas.getContext('2d');
  const over = document.querySelector('#chart-price .u-over');
  const ratio = canvas.width / canvas.getBoundingClientRect().width;
  const x = Math.round((over.offsetLeft + over.clientWidth * fraction) * ratio);
  const column = ctx.getImageData(x, 0, 1, canvas.height).data;
  const ys = [];
  for (let y = 0; y < canvas.height; y++) {
    const [r, g, b] = column.slice(y * 4, y * 4 + 3);
    if (Math.abs(r - 47) < 30 && Math.abs(g - 191) < 30 && Math.abs(b - 113) < 30) ys.push(y);
  }
  return ys.length ? ys.reduce((a, b) => a + b) / ys.length : null;
}"""


async def test_the_price_chart_holds_a_top_of_book_until_it_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Points are sent only when a market's top changes: a bid of $0.40 that became $0.60 ten minutes
    later was drawn as a slope through prices nobody quoted; it is a step."""
    async with running_trader(tmp_path, monkeypatch) as trader:
        await trader.wait_trading()
        async with browser_page(tmp_path, trader.url) as page:
            await page.goto(trader.url)
            await _wait_live(page)
            await page.evaluate(
                """() => {
                const t0 = Date.now() - 1200000, s = window.__kf.state;  // the last point is now
                s.prices.set('ZZ-STEP', [
                  { ts: t0, bid: 4000, ask: 4200 },
                  { ts: t0 + 600000, bid: 6000, ask: 6200 },
                  { ts: t0 + 1200000, bid: 6000, ask: 6200 },
                ]);
            }"""
            )
            await page.click("#tabs button[data-tab=charts]")
            await page.wait_for_function(
                "[...document.querySelectorAll('#chart-market option')].some((o) => o.value === 'ZZ-STEP')"
            )
            await page.select_option("#chart-market", "ZZ-STEP")
            await page.wait_for_function(
                "(document.querySelector('#chart-price').dataset.drawn || '').startsWith('ZZ-STEP:')"
            )
            await _painted(page)
            early = await page.evaluate(BID_LINE_Y, 0.05)
            middle = await page.evaluate(BID_LINE_Y, 0.4)
            late = await page.evaluate(BID_LINE_Y, 0.9)
            assert early is not None
            assert middle is not None
            assert late is not None
            assert abs(middle - early) <= 2  # still at $0.40 until the change
            assert late < early - 20  # $0.60 after it, higher on the screen


async def test_the_price_chart_runs_the_last_top_of_book_on_to_now(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bid that became $0.60 fifty minutes ago and has not changed since: the chart stopped at the
    change (the $0.40 step filled the plot); the last step now runs on to the trader's now."""
    async with running_trader(tmp_path, monkeypatch) as trader:
        await trader.wait_trading()
        async with browser_page(tmp_path, trader.url) as page:
            await page.goto(trader.url)
            await _wait_live(page)
            await page.evaluate(
                """() => {
                const t0 = Date.now() - 3600000;
                window.__kf.state.prices.set('ZZ-LAST', [
                  { ts: t0, bid: 4000, ask: 4200 },
                  { ts: t0 + 600000, bid: 6000, ask: 6200 },
                ]);
            }"""
            )
            await page.click("#tabs button[data-tab=charts]")
            await page.wait_for_function(HAS_OPTION, arg=["chart-market", "ZZ-LAST"])
            await page.select_option("#chart-market", "ZZ-LAST")
            await page.wait_for_function(
                "(document.querySelector('#chart-price').dataset.drawn || '').startsWith('ZZ-LAST:')"
            )
            await _painted(page)
            early = await page.evaluate(BID_LINE_Y, 0.05)  # ten minutes of $0.40 in an hour
            late = await page.evaluate(BID_LINE_Y, 0.9)  # fifty of $0.60 since
            assert early is not None
            assert late is not None
            assert late < early - 20


async def test_controls_that_start_something_are_refused_while_the_trader_stops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While stopping, a calibration was reported "done (calibration requested)" though it would
    never run, and a close or a flatten went to the exchange while the shutdown cancelled the
    resting orders (left resting after the trader ended). The page now says they were not done."""
    async with running_trader(tmp_path, monkeypatch) as trader:
        await trader.wait_trading()
        ticker = await trader.wait_position()
        async with browser_page(tmp_path, trader.url) as page:
            await page.goto(trader.url)
            await _wait_live(page)
            await _use_token(page, TOKEN)
            trader.state.lifecycle.move(TraderState.STOPPING, "stop requested")  # the shutdown's first step
            await page.wait_for_function("document.getElementById('state').textContent === 'stopping'")
            refused = "not done (the trader is stopping: nothing new is started)"
            for control in ("calibrate", "flatten"):
                await page.click(f"[data-control={control}]")
                await page.wait_for_function(
                    "(text) => document.getElementById('control-result').textContent === text",
                    arg=f"{control}: {refused}",
                )
            await page.click("#tabs button[data-tab=positions]")
            await page.click(f"#positions button[data-close='{ticker}']")
            await page.wait_for_function(
                "(text) => document.getElementById('control-result').textContent === text",
                arg=f"close {ticker}: {refused}",
            )
            recal = trader.state.recal
            assert recal is not None
            assert not recal.operator_requested
            assert trader.state.core is not None
            assert not trader.state.core.closer.is_closing(ticker)


async def test_a_no_decision_shows_the_yes_price_its_order_and_fill_show(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A BUY_NO's price is the NO ask ($0.37) while its order and fill read "YES price $0.63": the
    action log now shows both for a NO decision, and a YES decision as before."""
    async with running_trader(tmp_path, monkeypatch) as trader:
        await trader.wait_trading()
        await trader.wait_position()
        async with browser_page(tmp_path, trader.url) as page:
            await page.goto(trader.url)
            await _wait_live(page)
            await page.wait_for_function("window.__kf.state.actions.length > 0")
            bought = await page.evaluate("window.__kf.state.actions.find((a) => a.action === 'BUY_YES')")
            await page.evaluate(
                """(a) => { window.__kf.state.actions.push({ ...a, ticker: 'ZZ-NO', action: 'BUY_NO', price: 3700 }); }""",
                bought,
            )
            await page.click("#tabs button[data-tab=actions]")
            cells = "(m) => [...document.querySelectorAll('#actions tbody tr')].filter((r) => r.cells[1].textContent === m).map((r) => r.cells[3].textContent)"
            await page.wait_for_function(f"({cells})('ZZ-NO').length === 1")
            assert await page.evaluate(cells, "ZZ-NO") == ["$0.3700 NO (YES $0.6300)"]
            price = bought["price"]
            assert await page.evaluate(cells, bought["ticker"]) == [f"${price // 10000}.{price % 10000:04d}"]


async def test_the_decision_counts_read_cleanly_when_there_are_only_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A trader that has only held (the shipped maker policy on a quiet market) read "holds 272 · "."""
    async with running_trader(tmp_path, monkeypatch) as trader:
        await trader.wait_trading()
        async with browser_page(tmp_path, trader.url) as page:
            await page.goto(trader.url)
            await _wait_live(page)
            await trader.dashboard.stop()  # no more messages: the counts set below stay
            await page.wait_for_function("!window.__kf.state.connected")
            await page.evaluate(
                "window.__kf.state.counts = { ts_ms: 0, holds: 272, by_result: [['hold', 272]] }"
            )
            await page.click("#tabs button[data-tab=actions]")  # renders
            await page.wait_for_function(
                "document.getElementById('counts').textContent.startsWith('holds 272')"
            )
            assert (await page.text_content("#counts")) == "holds 272"
            await page.evaluate(
                "window.__kf.state.counts = { ts_ms: 0, holds: 3, by_result: [['hold', 3], ['placed', 2]] }"
            )
            await page.click("#tabs button[data-tab=status]")
            await page.wait_for_function(
                "document.getElementById('counts').textContent.startsWith('holds 3')"
            )
            assert (await page.text_content("#counts")) == "holds 3 · placed 2"


async def test_a_no_position_shows_the_yes_price_of_its_exit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A NO position's exit price is the NO bid ($0.6050) while orders, fills and the price chart
    read YES prices: the row shows both, a YES position's row as before."""
    async with running_trader(tmp_path, monkeypatch) as trader:
        await trader.wait_trading()
        ticker = await trader.wait_position()
        async with browser_page(tmp_path, trader.url) as page:
            await page.goto(trader.url)
            await _wait_live(page)
            await page.wait_for_function(f"window.__kf.state.positions.get('{ticker}')?.exit_price != null")
            await trader.dashboard.stop()  # no more messages: the row added below stays
            await page.wait_for_function("!window.__kf.state.connected")
            held = await page.evaluate(f"window.__kf.state.positions.get('{ticker}')")
            await page.evaluate(
                "(row) => { window.__kf.state.positions.set('ZZ-NO', { ...row, ticker: 'ZZ-NO', position: -100, exit_price: 6050 }); }",
                held,
            )
            await page.click("#tabs button[data-tab=positions]")  # renders
            exit_cell = (
                "(t) => document.querySelector(`#positions tr[data-ticker='${t}'] td.exit`)?.textContent"
            )
            await page.wait_for_function(f"({exit_cell})('ZZ-NO') !== undefined")
            assert await page.evaluate(exit_cell, "ZZ-NO") == "$0.6050 NO (YES $0.3950)"
            price = held["exit_price"]
            assert await page.evaluate(exit_cell, ticker) == f"${price // 10000}.{price % 10000:04d}"
