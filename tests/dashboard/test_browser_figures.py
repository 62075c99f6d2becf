"""What the page shows of money and prices in a real browser: signed money to the cent, chart axes in dollars,
a top of book drawn as steps that run on to now, and NO prices shown with the YES price orders and fills use."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tests.dashboard.browser_kit import (
    HAS_OPTION,
    NEEDS_CHROMIUM,
    browser_page,
    go_quiet,
    live_dashboard,
    no_invalid_messages,
    open_live,
    painted,
)
from tests.dashboard.dashboard_kit import running_trader

pytestmark = [pytest.mark.timeout(180), NEEDS_CHROMIUM]


async def test_signed_money_has_no_sign_on_zero_cents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The header's P&L, the positions' unrealized and a calibration's cash drift: a tenth of a cent
    read "+$0.00" (and minus a tenth "$0.00"); zero cents is "$0.00" either way."""
    async with live_dashboard(tmp_path, monkeypatch) as (_trader, page):
        shown = await page.evaluate(
            "import('/static/format.js').then((f) => [1000, 4999, 5000, -1000, -5000, 0, 1234567]"
            ".map((v) => f.signedMoney(v)))"
        )
        assert shown == ["$0.00", "$0.00", "+$0.01", "$0.00", "-$0.01", "$0.00", "+$1.23"]


async def test_chart_axes_show_dollars_to_the_cent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The equity chart's ticks read "$9,999.5" and "-$0.5" beside "$10,000", and a tick a float
    step left just below zero read "-$0"; every tick is now to the cent, zero unsigned."""
    async with live_dashboard(tmp_path, monkeypatch) as (_trader, page):
        shown = await page.evaluate(
            "import('/static/charts.js').then((c) => [9999.5, 10000, -0.5, -1e-17, 0.1 + 0.2, -1.25, 0.004]"
            ".map((v) => c.dollars(v)))"
        )
        assert shown == ["$9,999.50", "$10,000.00", "-$0.50", "$0.00", "$0.30", "-$1.25", "$0.00"]
        await page.wait_for_function("window.__kf.state.equity.length > 5")
        await page.click("#tabs button[data-tab=charts]")
        await page.wait_for_function("Number(document.querySelector('#chart-equity').dataset.drawn) > 5")
        await painted(page)
        await page.hover("#chart-equity .u-over")  # the legend shows the values under the cursor
        await painted(page)
        values = await page.eval_on_selector_all(
            "#chart-equity .u-legend .u-series .u-value", "(es) => es.slice(1).map((e) => e.textContent)"
        )
        assert len(values) == 3
        assert all(re.fullmatch(r"-?\$[0-9,]+\.[0-9]{2}", v) for v in values), values
        await no_invalid_messages(page)


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
    async with live_dashboard(tmp_path, monkeypatch) as (_trader, page):
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
        await painted(page)
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
    async with live_dashboard(tmp_path, monkeypatch) as (_trader, page):
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
        await painted(page)
        early = await page.evaluate(BID_LINE_Y, 0.05)  # ten minutes of $0.40 in an hour
        late = await page.evaluate(BID_LINE_Y, 0.9)  # fifty of $0.60 since
        assert early is not None
        assert late is not None
        assert late < early - 20


async def test_a_no_decision_shows_the_yes_price_its_order_and_fill_show(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A BUY_NO's price is the NO ask ($0.37) while its order and fill read "YES price $0.63": the
    action log now shows both for a NO decision, and a YES decision as before."""
    async with running_trader(tmp_path, monkeypatch) as trader:
        await trader.wait_trading()
        await trader.wait_position()
        async with browser_page(tmp_path, trader.url) as page:
            await open_live(page, trader.url)
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
    async with live_dashboard(tmp_path, monkeypatch) as (trader, page):
        await go_quiet(page, trader.dashboard)
        await page.evaluate("window.__kf.state.counts = { ts_ms: 0, holds: 272, by_result: [['hold', 272]] }")
        await page.click("#tabs button[data-tab=actions]")  # renders
        await page.wait_for_function("document.getElementById('counts').textContent.startsWith('holds 272')")
        assert (await page.text_content("#counts")) == "holds 272"
        await page.evaluate(
            "window.__kf.state.counts = { ts_ms: 0, holds: 3, by_result: [['hold', 3], ['placed', 2]] }"
        )
        await page.click("#tabs button[data-tab=status]")
        await page.wait_for_function("document.getElementById('counts').textContent.startsWith('holds 3')")
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
            await open_live(page, trader.url)
            await page.wait_for_function(f"window.__kf.state.positions.get('{ticker}')?.exit_price != null")
            await go_quiet(page, trader.dashboard)
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


async def test_a_maker_fee_of_a_fraction_of_a_cent_is_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A maker fill of one contract at $0.43 paid $0.0043 in fees: the fills tab read "$0.00" (the
    fee to the cent) beside prices to the hundredth of a cent. It now reads "$0.0043"."""
    async with live_dashboard(tmp_path, monkeypatch) as (trader, page):
        await go_quiet(page, trader.dashboard)
        fill = {"trade_id": "t", "order_id": "o", "ticker": "ZZ-FEE", "side": "ask", "yes_price": 4300,
                "count": 100, "is_taker": False, "ts_ms": 0, "client_order_id": None,
                "post_position": -100, "source": "ws"}  # fmt: skip
        await page.evaluate(
            "(f) => { window.__kf.state.fills = [{ ...f, fee: 4300 }, { ...f, ticker: 'ZZ-BIG', fee: 1234567 }]; }",
            fill,
        )
        await page.click("#tabs button[data-tab=fills]")  # renders
        fees = "(t) => [...document.querySelectorAll('#fills tbody tr')].filter((r) => r.cells[1].textContent === t).map((r) => r.cells[5].textContent)"
        await page.wait_for_function(f"({fees})('ZZ-FEE').length === 1")
        assert await page.evaluate(fees, "ZZ-FEE") == ["$0.0043"]
        assert await page.evaluate(fees, "ZZ-BIG") == ["$1.2346"]


async def test_the_distances_to_take_profit_and_stop_loss_show_in_price(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under the default price-space exit rules "To TP" and "To SL" read "–" for every position. A
    row with price distances now reads "+$0.0300" and "-$0.0010" (the stop loss's threshold passed),
    and a row with pnl% distances reads them as before."""
    async with running_trader(tmp_path, monkeypatch) as trader:
        await trader.wait_trading()
        ticker = await trader.wait_position()
        async with browser_page(tmp_path, trader.url) as page:
            await open_live(page, trader.url)
            await page.wait_for_function(f"window.__kf.state.positions.get('{ticker}') !== undefined")
            await go_quiet(page, trader.dashboard)
            held = await page.evaluate(f"window.__kf.state.positions.get('{ticker}')")
            await page.evaluate(
                """(row) => {
                  const rows = window.__kf.state.positions;
                  rows.set('ZZ-MOVE', { ...row, ticker: 'ZZ-MOVE', to_take_profit_e2: null, to_stop_loss_e2: null,
                                        to_take_profit_e4: 300, to_stop_loss_e4: -10 });
                  rows.set('ZZ-PCT', { ...row, ticker: 'ZZ-PCT', to_take_profit_e2: 1250, to_stop_loss_e2: 800,
                                       to_take_profit_e4: null, to_stop_loss_e4: null });
                }""",
                held,
            )
            await page.click("#tabs button[data-tab=positions]")  # renders
            cells = "(t) => { const tr = document.querySelector(`#positions tr[data-ticker='${t}']`); return tr && [tr.querySelector('td.to-tp').textContent, tr.querySelector('td.to-sl').textContent]; }"
            await page.wait_for_function(f"({cells})('ZZ-MOVE') !== null")
            assert await page.evaluate(cells, "ZZ-MOVE") == ["+$0.0300", "-$0.0010"]
            assert await page.evaluate(cells, "ZZ-PCT") == ["+12.50%", "+8.00%"]


async def test_the_charts_read_utc_like_the_tables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """In a browser outside UTC (New York here) the charts' time axis and legend read local time while
    the status console, the action log and the calibrations read UTC: 5:25pm in a table was 12:25pm
    on the chart. The charts now draw UTC."""
    from playwright.async_api import async_playwright
    from tests.dashboard.browser_kit import ARGS, CHROMIUM, require_chromium

    require_chromium()
    async with running_trader(tmp_path, monkeypatch) as trader:
        await trader.wait_trading()
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
            try:
                context = await browser.new_context(timezone_id="America/New_York")
                page = await context.new_page()
                page.set_default_timeout(30_000)
                await open_live(page, trader.url)
                assert await page.evaluate("new Date(0).getTimezoneOffset()") == 300
                five_utc = await page.evaluate(
                    "import('/static/charts.js').then((c) => { const d = c.chartDate(5 * 3600); return [d.getHours(), d.getMinutes()]; })"
                )
                assert five_utc == [5, 0]
                await page.wait_for_function("window.__kf.state.equity.length > 5")
                await page.click("#tabs button[data-tab=charts]")
                await page.wait_for_function(
                    "Number(document.querySelector('#chart-equity').dataset.drawn) > 5"
                )
                await painted(page)
                await page.hover("#chart-equity .u-over")
                await painted(page)
                shown = await page.text_content("#chart-equity .u-legend .u-series .u-value")
                stamps = await page.evaluate("window.__kf.state.equity.map((p) => p.ts_ms)")
                hours = {f" {(ms // 3_600_000) % 24 % 12 or 12}:" for ms in stamps}  # UTC, as "5:" of 5:25pm
                assert shown is not None
                assert any(hour in shown for hour in hours), (shown, hours)  # "12/7/26 5:25pm" for 17:25 UTC
            finally:
                await browser.close()
