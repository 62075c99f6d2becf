"""The bus never blocks the publisher: bounded queues, missed counts, wake-ups on the loop."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from kalshiflow.events.bus import EventBus, Missed


@dataclass(frozen=True)
class Tick:
    n: int


@dataclass(frozen=True)
class Other:
    n: int


def test_each_subscription_gets_only_its_types_in_order() -> None:
    bus = EventBus()
    ticks = bus.subscribe("ticks", [Tick])
    both = bus.subscribe("both", [Tick, Other])
    for n in range(3):
        bus.publish(Tick(n))
    bus.publish(Other(9))
    assert ticks.drain() == [Tick(0), Tick(1), Tick(2)]
    assert both.drain() == [Tick(0), Tick(1), Tick(2), Other(9)]
    assert ticks.drain() == []


def test_a_full_queue_drops_the_newest_and_says_how_many_were_missed() -> None:
    bus = EventBus()
    slow = bus.subscribe("slow", [Tick], max_queue=2)
    fast = bus.subscribe("fast", [Tick], max_queue=100)
    for n in range(5):
        bus.publish(Tick(n))
    assert slow.drain() == [Missed(3), Tick(0), Tick(1)]
    assert slow.missed_total == 3
    assert len(fast.drain()) == 5  # the slow subscriber slowed nobody down
    bus.publish(Tick(5))
    assert slow.drain() == [Tick(5)]  # the marker is given once


async def test_delivered_counts_every_event_queued_read_or_not_and_no_missed_one() -> None:
    bus = EventBus()
    sub = bus.subscribe("s", [Tick], max_queue=3)
    for n in range(5):
        bus.publish(Tick(n))
    assert sub.delivered == 3  # two missed
    assert await sub.get() == Missed(2)
    assert await sub.get() == Tick(0)
    bus.publish(Tick(5))
    assert sub.delivered == 4
    assert sub.drain() == [Tick(1), Tick(2), Tick(5)]
    bus.publish(Tick(6))
    assert sub.delivered == 5


def test_publishing_with_nobody_listening_is_a_no_op() -> None:
    bus = EventBus()
    assert not bus.has_subscribers(Tick)
    bus.publish(Tick(1))
    assert bus.published == 1


def test_a_closed_subscription_receives_nothing_more() -> None:
    bus = EventBus()
    sub = bus.subscribe("s", [Tick])
    sub.close()
    bus.publish(Tick(1))
    assert sub.drain() == []
    assert bus.subscriptions == ()


@pytest.mark.parametrize("max_queue", [0, -1])
def test_a_queue_must_hold_at_least_one_event(max_queue: int) -> None:
    with pytest.raises(ValueError, match="max_queue"):
        EventBus().subscribe("s", [Tick], max_queue=max_queue)


async def test_an_async_consumer_waits_for_events_and_ends_when_closed() -> None:
    bus = EventBus()
    sub = bus.subscribe("s", [Tick])
    seen: list[object] = []

    async def consume() -> None:
        async for item in sub:
            seen.append(item)

    task = asyncio.create_task(consume())
    await asyncio.sleep(0)
    bus.publish(Tick(1))
    bus.publish(Tick(2))
    await asyncio.sleep(0)
    sub.close()
    await asyncio.wait_for(task, 5)
    assert seen == [Tick(1), Tick(2)]


async def test_on_ready_runs_on_the_next_loop_turn_not_inside_publish() -> None:
    bus = EventBus()
    drained: list[list[object]] = []
    sub = bus.subscribe("s", [Tick], on_ready=lambda: drained.append(sub.drain()))
    bus.publish(Tick(1))
    bus.publish(Tick(2))
    assert drained == []  # publish returned without running the consumer
    await asyncio.sleep(0)
    assert drained == [[Tick(1), Tick(2)]]


def test_a_consumer_first_fed_with_no_running_loop_is_woken_by_the_next_publish_on_a_loop() -> None:
    """A publish outside a loop cannot schedule ``on_ready``; the queue is then non-empty, so the
    empty -> non-empty edge never comes again: the next publish on a loop must schedule it."""
    bus = EventBus()
    drained: list[list[object]] = []
    sub = bus.subscribe("s", [Tick], on_ready=lambda: drained.append(sub.drain()))
    bus.publish(Tick(1))  # synchronous caller, no running loop

    async def on_a_loop() -> None:
        bus.publish(Tick(2))
        await asyncio.sleep(0)

    asyncio.run(on_a_loop())
    assert drained == [[Tick(1), Tick(2)]]


def test_synchronous_publish_and_drain_cycles_keep_no_backlog_of_wake_ups() -> None:
    """A bench or a tool that publishes and drains with no loop for millions of events leaves at
    most one missed wake-up behind (a flag per subscription, not a list); on a loop, the consumer
    then runs once, with just what is queued."""
    bus = EventBus()
    drained: list[list[object]] = []
    sub = bus.subscribe("s", [Tick], on_ready=lambda: drained.append(sub.drain()))
    for n in range(1_000):
        bus.publish(Tick(n))
        sub.drain()
    assert not sub._wake_missed  # drained: no wake-up left to retry
    bus.publish(Tick(-1))

    async def on_a_loop() -> None:
        bus.publish(Tick(-2))
        await asyncio.sleep(0)

    asyncio.run(on_a_loop())
    assert drained == [[Tick(-1), Tick(-2)]]


async def test_every_ready_consumer_runs_on_the_next_turn_in_the_order_it_became_ready() -> None:
    """The bus schedules one wake-up per loop turn for all its ready subscriptions (not one each);
    each consumer still runs once, after the publisher, in the order its queue filled, and again
    when its queue fills again."""
    bus = EventBus()
    ran: list[tuple[str, list[object]]] = []
    a = bus.subscribe("a", [Other], on_ready=lambda: ran.append(("a", a.drain())))
    b = bus.subscribe("b", [Tick], on_ready=lambda: ran.append(("b", b.drain())))
    c = bus.subscribe("c", [Tick, Other], on_ready=lambda: ran.append(("c", c.drain())))
    bus.publish(Tick(1))  # b and c become ready
    bus.publish(Other(2))  # a becomes ready (c already is)
    assert ran == []
    await asyncio.sleep(0)
    assert ran == [("b", [Tick(1)]), ("c", [Tick(1), Other(2)]), ("a", [Other(2)])]
    bus.publish(Tick(3))
    await asyncio.sleep(0)
    assert ran[3:] == [("b", [Tick(3)]), ("c", [Tick(3)])]


async def test_a_failing_consumer_does_not_reach_the_publisher() -> None:
    bus = EventBus()

    def broken() -> None:
        raise RuntimeError("consumer bug")

    bus.subscribe("broken", [Tick], on_ready=broken)
    bus.publish(Tick(1))  # must not raise
    await asyncio.sleep(0)
    bus.publish(Tick(2))


def test_routes_is_one_live_table_that_follows_subscribe_and_close() -> None:
    bus = EventBus()
    routes = bus.routes  # a hot path keeps this object and tests membership on it
    assert Tick not in routes
    sub = bus.subscribe("s", [Tick])
    assert routes is bus.routes
    assert routes[Tick] == (sub,)
    sub.close()
    assert Tick not in routes
    assert not bus.has_subscribers(Tick)


def test_events_queued_before_the_loop_runs_wake_their_consumer_once_it_does() -> None:
    """An event published with no running loop (setup code) cannot schedule ``on_ready``; the next
    event published under the loop must, or the consumer is never told and its queue only grows."""
    bus = EventBus()
    drained: list[list[object]] = []
    sub = bus.subscribe("s", [Tick], on_ready=lambda: drained.append(sub.drain()))
    bus.publish(Tick(1))  # no running loop here

    async def later() -> None:
        bus.publish(Tick(2))
        await asyncio.sleep(0)

    asyncio.run(later())
    assert drained == [[Tick(1), Tick(2)]]
    assert len(sub) == 0
