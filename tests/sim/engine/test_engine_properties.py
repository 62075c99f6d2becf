"""Engine invariants under random operation sequences (Hypothesis-generated lists of operations).

Several funded accounts trade two markets (a whole-cent grid without maker fees and a $0.001 grid
with maker fees, one account at $0.01 balance precision) with every kind of order request, cancels,
amends, decreases, cancel-all, clock moves, order groups, determination and settlement. After every
step the machine checks:

(a) money is conserved: balances + reserved cash of resting orders + fees collected + escrow
    ($1 per open YES/NO pair = sum of positive positions x 10_000 Money per 0.01 contract)
    == deposits + what void settlements refunded above the escrow (refunds at cost are paid by the
    exchange, so they are counted as an outside flow);
(b) contracts are conserved: the signed positions of each market sum to zero;
(c) no book is crossed (best YES bid + best NO bid < $1);
(d) every ladder level's aggregate equals the sum of its resting orders' remaining counts and the
    ladder's price index lists exactly its levels;
(e) order counts are consistent: remaining >= 0, fill + remaining (+ what decrease_order took off,
    which leaves initial_count as it was; an amend restates it) == initial for resting orders,
    non-resting orders have remaining 0 and hold no reservation;
(f) reservations and balances are never negative;
(g) a fill of a reduce_only order never increases |position| and never flips its sign;
(h) order groups: after every operation, a group that is not triggered has matched at most its
    limit within the rolling 15 s window (fills of its orders since its last reset, timestamps in
    (now - 15 s, now]); a triggered group has no resting orders, and no order of it fills while it
    stays triggered;
(i) every trade id appears on exactly two fills, one maker and one taker, of different accounts,
    at the same price and size.

Every rejected request (ExchangeError) must leave the observable state unchanged.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.sim.engine.engine_harness import ACCOUNTS, EngineHarness

from kalshiflow.domain.orders import BookSide, SelfTradePrevention, TimeInForce
from kalshiflow.domain.settlement import MarketResult

sides = st.sampled_from(list(BookSide))
tifs = st.sampled_from(list(TimeInForce))
stps = st.sampled_from(list(SelfTradePrevention))
accounts = st.sampled_from(ACCOUNTS)
# Counts in 0.01 contracts: whole and fractional contracts.
counts = st.one_of(st.sampled_from([100, 200, 500, 1_000, 1_500]), st.integers(1, 2_500))
# Own prices around the middle so orders cross often; the $0.001 market also sees sub-cent prices
# and a few off-grid ones.
cents = st.integers(35, 65)
sub_cent = st.sampled_from([0, 0, 0, 10, 50, 90, 5])
picks = st.integers(0, 10**6)


@dataclass(frozen=True)
class Op:
    name: str
    args: dict[str, Any]

    def __repr__(self) -> str:
        return f"{self.name}({', '.join(f'{k}={v!r}' for k, v in self.args.items())})"


def _op(name: str, **fields: st.SearchStrategy[Any]) -> st.SearchStrategy[Op]:
    return st.fixed_dictionaries(fields).map(lambda args: Op(name, args))


create_ops = _op(
    "create",
    account=accounts,
    market=picks,
    side=sides,
    own_cents=cents,
    extra=sub_cent,
    size=counts,
    tif=tifs,
    stp=stps,
    post_only=st.sampled_from([False, False, True]),
    reduce_only=st.sampled_from([False, False, False, True]),
    expires_in_s=st.sampled_from([None, None, None, 5, 30]),
    use_group=st.sampled_from([False, False, True]),
    client_id=st.sampled_from(["", "", "", "dup-1", "dup-2"]),
)
operations = st.one_of(
    create_ops,
    create_ops,
    create_ops,
    create_ops,
    _op("cancel", pick=picks),
    _op("amend", pick=picks, own_cents=cents, extra=sub_cent, new_total=counts),
    _op("decrease", pick=picks, by=st.integers(0, 1_200), use_to=st.booleans()),
    _op("cancel_all", account=accounts),
    _op("advance_clock", seconds=st.sampled_from([0.5, 1, 3, 7, 14, 16, 45])),
    _op("create_group", account=accounts, limit=st.sampled_from([100, 300, 1_000, 5_000])),
    _op("reset_group", pick=picks),
    _op("update_group_limit", pick=picks, limit=st.sampled_from([100, 200, 2_000])),
    _op(
        "determine_and_settle",
        market=picks,
        result=st.sampled_from([MarketResult.YES, MarketResult.NO, MarketResult.VOID]),
    ),
)


@settings(settings.get_profile("ci"), max_examples=100)
@given(st.lists(operations, min_size=30, max_size=70))
def test_engine_invariants_hold_after_every_operation(ops: list[Op]) -> None:
    harness = EngineHarness()
    harness.check()
    for op in ops:
        getattr(harness, op.name)(**op.args)
        harness.check()


def _random_op(rng: random.Random) -> Op:
    """One operation drawn with realistic weights (Hypothesis' own draws favour trivial values)."""
    kind = rng.choices(
        ["create", "cancel", "amend", "decrease", "cancel_all", "advance_clock", "group", "settle"],
        [55, 10, 10, 6, 2, 8, 6, 1],
    )[0]
    pick = rng.randrange(10**6)
    if kind == "create":
        return Op(
            "create",
            {
                "account": rng.choice(ACCOUNTS),
                "market": pick,
                "side": rng.choice(list(BookSide)),
                "own_cents": rng.randint(36, 56),
                "extra": rng.choice([0] * 12 + [10, 50, 90, 5]),
                "size": rng.choice([100, 200, 500, 1_000, rng.randint(1, 2_500)]),
                "tif": rng.choices(list(TimeInForce), [1, 8, 2])[0],
                "stp": rng.choice(list(SelfTradePrevention)),
                "post_only": rng.random() < 0.1,
                "reduce_only": rng.random() < 0.2,
                "expires_in_s": rng.choice([None] * 8 + [5, 30]),
                "use_group": rng.random() < 0.3,
                "client_id": rng.choice([""] * 20 + ["dup-1"]),
            },
        )
    if kind == "cancel":
        return Op("cancel", {"pick": pick})
    if kind == "amend":
        return Op(
            "amend",
            {
                "pick": pick,
                "own_cents": rng.randint(40, 60),
                "extra": rng.choice([0, 0, 10, 5]),
                "new_total": rng.choice([100, 500, rng.randint(1, 2_500)]),
            },
        )
    if kind == "decrease":
        return Op("decrease", {"pick": pick, "by": rng.randint(0, 1_200), "use_to": rng.random() < 0.5})
    if kind == "cancel_all":
        return Op("cancel_all", {"account": rng.choice(ACCOUNTS)})
    if kind == "advance_clock":
        return Op("advance_clock", {"seconds": rng.choice([0.5, 1, 3, 7, 14, 16, 45])})
    if kind == "group":
        which = rng.choice(["create_group", "create_group", "reset_group", "update_group_limit"])
        if which == "create_group":
            return Op(which, {"account": rng.choice(ACCOUNTS), "limit": rng.choice([100, 300, 1_000, 5_000])})
        if which == "reset_group":
            return Op(which, {"pick": pick})
        return Op(which, {"pick": pick, "limit": rng.choice([100, 200, 2_000])})
    result = rng.choice([MarketResult.YES, MarketResult.NO, MarketResult.VOID])
    return Op("determine_and_settle", {"market": pick, "result": result})


@pytest.mark.slow
@settings(settings.get_profile("ci"), max_examples=150)
@given(seed=st.integers(0, 2**32 - 1))
def test_engine_invariants_hold_over_long_random_sessions(seed: int) -> None:
    rng = random.Random(seed)
    harness = EngineHarness()
    done: list[Op] = []
    for _ in range(300):
        op = _random_op(rng)
        done.append(op)
        getattr(harness, op.name)(**op.args)
        try:
            harness.check()
        except AssertionError as failure:
            raise AssertionError(f"after {len(done)} operations, last {done[-8:]}") from failure
