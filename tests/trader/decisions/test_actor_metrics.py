"""The end-of-run decisions line: a paper run says what it decided, a live run what it sent."""

from __future__ import annotations

from kalshiflow.trader.decisions.actor import ActorMetrics


def test_paper_run_names_its_paper_trades() -> None:
    metrics = ActorMetrics(decisions=1_204, holds=1_170, paper=34)
    assert (
        metrics.summary()
        == "1,204 decisions: 1,170 hold, 34 paper trades (not sent), 0 orders sent, 0 denied"
    )


def test_live_run_names_orders_denials_and_errors_only_when_there_are_some() -> None:
    assert ActorMetrics(decisions=9, holds=5, orders_sent=3, denied=1).summary() == (
        "9 decisions: 5 hold, 3 orders sent, 1 denied"
    )
    assert ActorMetrics(decisions=2, holds=0, errors=2).summary().endswith("0 denied, 2 errors")


def test_paper_run_without_a_trade_says_so() -> None:
    assert ActorMetrics(decisions=39, holds=39).summary(paper=True) == (
        "39 decisions: 39 hold, 0 paper trades (not sent), 0 orders sent, 0 denied"
    )
