"""The page's controls in a real browser against a real trader: the kill switch banner follows the switch, a
control without an answer says so, a Close shows its outcome where it was clicked, and controls that would start
something are declined while the trader stops."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.dashboard.browser_kit import (
    NEEDS_CHROMIUM,
    browser_page,
    live_dashboard,
    no_invalid_messages,
    open_live,
    use_token,
)
from tests.dashboard.dashboard_kit import TOKEN, running_trader

from kalshiflow.events.trader import TraderState

pytestmark = [pytest.mark.timeout(180), NEEDS_CHROMIUM]


async def test_the_kill_switch_banner_follows_the_kill_switch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On, the banner says the kill switch is on (not only "paused"), also when it is engaged while
    already paused; off and resumed, the banner goes, without a reload."""
    async with live_dashboard(tmp_path, monkeypatch) as (trader, page):
        await use_token(page, TOKEN)
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
        await no_invalid_messages(page)


async def test_a_control_without_an_answer_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A control sent when the trader is gone: the page says there was no answer, instead of
    leaving the previous control's outcome on show as if it were this one's."""
    async with live_dashboard(tmp_path, monkeypatch) as (trader, page):
        await use_token(page, TOKEN)
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
            await open_live(page, trader.url)
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
            await open_live(page, trader.url)
            await use_token(page, TOKEN)
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


async def test_a_pasted_token_is_checked_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ "Use token" with a mistyped token said "token set for this tab", and the first control was
    then refused. The page now asks the trader (POST /api/token, which changes nothing) and says
    whether it takes the token; nothing is recorded in the status history."""
    async with running_trader(tmp_path, monkeypatch) as trader:
        await trader.wait_trading()
        history = len(trader.state.lifecycle.history)
        async with browser_page(tmp_path, trader.url) as page:
            await open_live(page, trader.url)
            state = "document.getElementById('token-state')"
            await use_token(page, TOKEN + "x")
            await page.wait_for_function(f"{state}.dataset.check === '401'")
            assert "this trader refuses it (401)" in await page.text_content("#token-state")
            await use_token(page, TOKEN)
            await page.wait_for_function(f"{state}.dataset.check === '204'")
            assert await page.text_content("#token-state") == "token set for this tab: this trader accepts it"
        assert trader.state.lifecycle.state is TraderState.TRADING
        assert not any("dashboard" in e.result_text for e in list(trader.state.lifecycle.history)[history:])
