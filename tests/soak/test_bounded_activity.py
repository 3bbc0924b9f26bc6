"""Activity bounded by a count and a seed: the same seed gives the same retail events."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from syncops.config import load_config
from syncops.simulator.world import World
from syncops.soak import setup

from tests.conftest import FakeClock


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> Any:
    path = tmp_path_factory.mktemp("soak") / "soak.yaml"
    path.write_text(setup.CONFIG)
    return load_config(path)


def events(config: Any, seed: int, n: int = 40, faults: str = "") -> tuple[dict[str, int], Any]:
    """Run `n` events fast (no engine) and return what a user would see in the vendors."""
    world = World(config, profile=setup.PROFILE, clock=FakeClock(), seed=seed)
    if faults:
        world.set_faults(setup.fault_switches(faults))
    asyncio.run(world.run(rate_per_s=2000, events=n))
    state = world.state()
    for vendor in state.values():  # order timestamps follow the (fake) clock, not the seed
        for order in vendor["orders"]:
            order.pop("updated_at", None)
    return dict(world.activity.counts), state


def test_the_same_seed_gives_the_same_events_and_the_count_is_exact(config):
    counts, state = events(config, seed=5)
    assert sum(counts.values()) == 40
    assert {"sale", "web_order", "restock"} <= set(counts)
    assert (counts, state) == events(config, seed=5)
    assert events(config, seed=6) != (counts, state)


def test_wire_faults_do_not_change_the_events_a_seed_generates(config):
    # They draw from their own random stream (and need requests, which nothing sends here).
    assert events(config, seed=5, faults="garbage") == events(config, seed=5)


def test_a_larger_bound_extends_the_same_stream(config):
    few, _ = events(config, seed=9, n=20)
    more, _ = events(config, seed=9, n=60)
    assert sum(more.values()) == 60
    assert all(more[k] >= v for k, v in few.items())


def test_a_bounded_activity_needs_a_rate(config):
    world = World(config, profile=setup.PROFILE, clock=FakeClock(), seed=1)
    with pytest.raises(ValueError, match="positive rate"):
        asyncio.run(world.run(rate_per_s=0, events=5))
