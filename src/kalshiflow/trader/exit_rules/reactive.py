"""Reactive price exits: skip re-running the price rules on a book change that moved none of their inputs.

``ExitDriver.react_to_book`` runs the price rules (stop loss, take profit) on every change of a held
market's book. Those rules read only the position's view, the market's view (grid, fees), the exit
rules' configuration and, of the book, the best bid of the side held (the valuation's exit price;
``close_at_bid`` reads it again only when a rule fires). Most book changes -- a level resized, added
or removed behind the touch -- leave that bid where it was, so the evaluation would decide exactly
what it decided last time. ``QuietMarkets`` remembers, per market, the inputs of the last evaluation
that decided nothing; while they are the same the evaluation is skipped (nothing would be closed).

The views and the configuration are compared by identity: the core rebuilds a ``PositionView`` when
the position changes and the ``MarketView`` mapping when fees or statuses change, and the
configuration is frozen, so the same object means the same values. The bid is compared by value.
"""

from __future__ import annotations

from dataclasses import dataclass

from kalshiflow.domain.units import Price
from kalshiflow.domain.values import hot_value
from kalshiflow.features.valuation import BookView, MarketView, PositionView, exit_price
from kalshiflow.trader.config import ExitRulesConfig


@hot_value  # built per decision: see domain.values
@dataclass(frozen=True, slots=True)
class PriceRuleInputs:
    """Everything the price rules read about one market (``None``: no view / no bid to exit into)."""

    position: PositionView | None
    market: MarketView | None
    config: ExitRulesConfig
    exit_bid: Price | None

    def same_as(self, other: PriceRuleInputs) -> bool:
        return (
            self.position is other.position
            and self.market is other.market
            and self.config is other.config
            and self.exit_bid == other.exit_bid
        )


def price_rule_inputs(
    position: PositionView | None, market: MarketView | None, book: BookView | None, config: ExitRulesConfig
) -> PriceRuleInputs:
    bid = None if position is None or book is None else exit_price(int(position.position), book)
    return PriceRuleInputs(position, market, config, bid)


class QuietMarkets:
    """Per market, the inputs of the last price-rule evaluation that decided nothing."""

    def __init__(self) -> None:
        self._quiet: dict[str, PriceRuleInputs] = {}

    def unchanged(self, ticker: str, inputs: PriceRuleInputs) -> bool:
        """True when the last evaluation for ``ticker`` decided nothing on these very inputs."""
        last = self._quiet.get(ticker)
        return last is not None and last.same_as(inputs)

    def record(self, ticker: str, inputs: PriceRuleInputs, decided: bool) -> None:
        """Remember ``inputs`` when the evaluation decided nothing; forget the market otherwise."""
        if decided:
            self._quiet.pop(ticker, None)
        else:
            self._quiet[ticker] = inputs
