"""Read-ahead: a scheduled poll pass waits while the target's dispatcher drains a backlog."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from syncops.engine.dispatcher import Dispatcher
from syncops.engine.poller import Poller
from syncops.engine.ratelimit import Gate


def _engine() -> SimpleNamespace:
    engine = SimpleNamespace(store=SimpleNamespace(clock=lambda: 0.0), stopping=False, log=lambda *a, **k: None,
                             gate_for=lambda t, e: Gate(), breaker_for=lambda t, e: None, dispatchers={},
                             is_paused=lambda t, f: False)
    return engine


def _dispatcher(engine: SimpleNamespace) -> Dispatcher:
    flow = SimpleNamespace(name="inventory", batch_size=250, target="web")
    d = Dispatcher(engine, "t", SimpleNamespace(name="web"), SimpleNamespace(max_batch=250), [flow])
    engine.dispatchers[("t", "web")] = d
    return d


def test_a_pass_waits_while_claims_come_back_full_and_goes_when_one_comes_back_short() -> None:
    async def run() -> None:
        engine = _engine()
        d = _dispatcher(engine)
        poller = Poller(engine, "t", SimpleNamespace(name="inventory", target="web", source="pos"), None)
        passes: list[str] = []

        async def one_pass() -> None:
            passes.append("pass")
        poller._run = one_pass  # type: ignore[method-assign]

        d._claimed(250, 250)  # a full claim: a backlog is waiting
        held = asyncio.create_task(poller.run())
        for _ in range(5):
            await asyncio.sleep(0)  # let it run as far as it can
        assert passes == [] and not held.done()
        await poller.run(read_ahead=False)  # an operator's run-now does not wait
        assert passes == ["pass"]
        d._claimed(3, 250)  # caught up
        await asyncio.wait_for(held, timeout=5)
        assert passes == ["pass", "pass"]

    asyncio.run(run())


def test_a_stalled_or_stopped_dispatcher_holds_no_pass() -> None:
    async def run() -> None:
        engine = _engine()
        d = _dispatcher(engine)
        d._claimed(250, 250)
        # No full claim within `stall`: the dispatcher is stuck (gate, breaker, slow target).
        assert await asyncio.wait_for(d.caught_up(stall=0.0), timeout=5) < 1.0
        waiting = asyncio.create_task(d.caught_up())
        await asyncio.sleep(0)
        assert not waiting.done()
        engine.stopping = True
        d.wake.set()
        await asyncio.wait_for(d.run(), timeout=5)  # the loop ends at once and releases waiters
        await asyncio.wait_for(waiting, timeout=5)

    asyncio.run(run())


def test_a_probe_or_a_batch_of_one_never_holds() -> None:
    async def run() -> None:
        d = _dispatcher(_engine())
        d._claimed(1, 1)
        assert await asyncio.wait_for(d.caught_up(), timeout=5) < 1.0

    asyncio.run(run())
