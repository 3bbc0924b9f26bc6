"""One soak: simulator with a bounded, seeded activity; the engine in a child process killed -9
at seeded random moments after it started and restarted each time; a drain with every fault off;
then the verdict and its one figure line.

Everything random comes from the seed: the retail events, the kill delays and the wire faults'
own stream. What the seed cannot fix is where the kills land relative to the engine's work
(that depends on the machine): the figures are a measurement, the events are a replay.
"""

from __future__ import annotations

import asyncio
import json
import random
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from syncops.soak import setup
from syncops.soak.engines import Engines
from syncops.soak.verdict import Verdict, judge

# Engine timings for the soak: the service's single-engine guard (stale_after, heartbeat) as
# shipped, so refused restarts after a crash show as they would in production; short leases and
# polls so that reclaiming a killed engine's work takes seconds, not the service's minute.
ENGINE_OPTIONS = {"idle_poll": 0.05, "control_every": 0.2, "heartbeat_every": 2.0, "stale_after": 15.0,
                  "maintenance_every": 0.5, "lease_seconds": 2.0, "breaker_cooldown": 0.5}


@dataclass
class SoakOptions:
    kills: int = 20
    events: int = 300
    seed: int = 1
    faults: str = "none"
    rate: float | None = None  # events per second (default: the soak profile's)
    kill_after: tuple[float, float] = (0.3, 2.0)  # seconds after "started", uniform, seeded
    drain_seconds: float = 60.0
    start_timeout: float = 60.0
    engine: dict[str, float] = field(default_factory=dict)  # overrides of ENGINE_OPTIONS
    config: Any = None  # a config path; default: the soak's own tenant
    workdir: Path | None = None
    plant: tuple[str, ...] = ()  # "duplicate", "drift": a self-check that the verdict can fail


PLANTS = ("duplicate", "drift")


def run(opts: SoakOptions, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run the soak and return its figures (`line` is the figure line)."""
    from syncops.config import load_config
    from syncops.simulator.world import World

    say = progress or (lambda _msg: None)
    switches = setup.fault_switches(opts.faults)
    bad = [p for p in opts.plant if p not in PLANTS]
    if bad:
        raise ValueError(f"unknown plant {bad[0]!r}; plants: {', '.join(PLANTS)}")
    workdir = Path(opts.workdir or tempfile.mkdtemp(prefix="syncops-soak-"))
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = Path(opts.config) if opts.config else workdir / "soak.yaml"
    if not opts.config:
        config_path.write_text(setup.CONFIG)
    config = load_config(config_path)
    _require_simulated(config)
    store_url = f"sqlite:///{workdir / 'store.db'}"
    started = time.monotonic()

    world = World(config, profile=setup.PROFILE, seed=opts.seed)
    world.set_faults(switches)
    world.start()
    engines = Engines(config_path, store_url, {f"{t}/{e}": u for (t, e), u in world.url_overrides.items()},
                      {**ENGINE_OPTIONS, **opts.engine}, workdir / "engine.log", start_timeout=opts.start_timeout)
    activity = _Activity(world, opts.rate, opts.events)
    store = None
    try:
        activity.start()
        rng = random.Random(opts.seed)
        for n in range(opts.kills):
            engines.start()
            _run_for(engines, rng.uniform(*opts.kill_after))
            engines.kill()
            say(f"kill {n + 1}/{opts.kills}: {engines.start_refusals} refused starts so far")
        engines.start()
        activity.join(timeout=60 + 3 * opts.events / max(0.1, activity.rate))
        say("activity done; draining with every fault off")
        for server in world.servers.values():
            _post(f"{server.url}/_sim/faults", {"clear": True})
        from syncops.store.db import open_store

        store = open_store(store_url)
        drain_started = time.monotonic()
        deadline = drain_started + opts.drain_seconds
        verdict = _judge(world, config, store)
        while not verdict.clean and time.monotonic() < deadline:
            if not engines.alive():  # it died by itself during the drain: counted, and restarted
                engines.start()
            time.sleep(0.5)  # give the engine time to work between two verdicts
            verdict = _judge(world, config, store)
        drained = verdict.clean
        drain_seconds = time.monotonic() - drain_started
        exit_code = engines.stop()
        _plant(world, config, opts.plant)
        verdict = _judge(world, config, store)
    finally:
        activity.stop()
        if engines.proc is not None:
            engines.kill()
        world.stop()
        if store is not None:
            store.close()
    elapsed = time.monotonic() - started
    figures = verdict.figures()
    result = {
        "seed": opts.seed, "kills": engines.kills, "events": activity.generated, "faults": opts.faults or "none",
        **{k: figures[k] for k in ("lost", "duplicated", "drift", "stuck", "records")},
        "restarts": max(0, engines.starts - 1), "start_refusals": engines.start_refusals,
        "refused_seconds": round(engines.refused_seconds, 1), "start_failures": engines.start_failures,
        "crashes": engines.crashes, "final_exit_code": exit_code, "drained": drained,
        "drain_seconds": round(drain_seconds, 1), "seconds": round(elapsed, 1),
        **{k: v for k, v in figures.items() if k not in ("lost", "duplicated", "drift", "stuck", "records")},
        "activity": dict(world.activity.counts), "faults_injected": _injected(world),
        "planted": list(opts.plant), "workdir": str(workdir), "engine_log": str(workdir / "engine.log"),
    }
    result["line"] = figure_line(result)
    return result


def figure_line(r: dict[str, Any]) -> str:
    extra = f", {r['crashes']} crashes" if r.get("crashes") else ""
    return (f"soak seed={r['seed']} kills={r['kills']} events={r['events']} faults={r['faults']}: "
            f"lost {r['lost']}, duplicated {r['duplicated']}, drift {r['drift']}, stuck {r['stuck']} "
            f"(restarts {r['restarts']}, refused starts {r['start_refusals']}{extra}, {r['records']} records, "
            f"{r['seconds']:.1f} s)")


def failed(r: dict[str, Any]) -> bool:
    return bool(r["lost"] or r["duplicated"] or r["drift"] or r["stuck"])


# ---------------------------------------------------------------------- pieces

class _Activity:
    """The world's bounded activity on its own thread and loop, next to the kill loop."""

    def __init__(self, world: Any, rate: float | None, events: int) -> None:
        self.world = world
        tenants = max(1, len(world.tenants))
        self.rate = rate if rate is not None else world.profile.rate_per_s * tenants
        self.events = events
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task | None = None
        self._thread = threading.Thread(target=self._main, name="soak-activity", daemon=True)
        self.error: BaseException | None = None

    @property
    def generated(self) -> int:
        # Retail events only: payouts are the processor settling them, not a shopper's event.
        return sum(n for kind, n in self.world.activity.counts.items() if kind != "payout")

    def _main(self) -> None:
        async def go() -> None:
            self._loop = asyncio.get_running_loop()
            self._task = asyncio.current_task()
            await self.world.run(rate_per_s=self.rate / max(1, len(self.world.tenants)), events=self.events)

        try:
            asyncio.run(go())
        except asyncio.CancelledError:
            pass
        except BaseException as exc:  # surfaced by join(): a broken activity must not look like a pass
            self.error = exc

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise RuntimeError(f"the activity did not finish {self.events} events in {timeout:.0f} s")
        if self.error is not None:
            raise self.error

    def stop(self) -> None:
        if self._thread.is_alive() and self._loop is not None and self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)
            self._thread.join(5)


def _run_for(engines: Engines, seconds: float) -> None:
    """Let the engine work for `seconds` (the kill point); restart it if it dies by itself."""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        if not engines.alive():
            engines.start()
        time.sleep(min(0.05, left))


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


def _post(url: str, body: Any) -> Any:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def _states(world: Any) -> dict[str, dict[str, Any]]:
    # Through each vendor's /_sim/state, as any outside checker would read it.
    return {f"{t}/{e}": _get(f"{server.url}/_sim/state") for (t, e), server in world.servers.items()}


def _records(store: Any) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from syncops.store.tables import Record

    R = Record.__table__
    with store.read() as conn:
        rows = conn.execute(select(R.c.tenant, R.c.flow, R.c.entity_key, R.c.state, R.c.error_category, R.c.due_at)).all()
    return [dict(r._mapping) for r in rows]


def _pairs(world: Any, tenant: str) -> list[tuple[str, tuple[str, str], str, tuple[str, str]]]:
    names = {id(app): e for (t, e), app in world.apps.items() if t == tenant}
    return [(names[id(src)], s, names[id(dst)], d) for src, s, dst, d in world.synced_levels(tenant)]


def _judge(world: Any, config: Any, store: Any) -> Verdict:
    states = _states(world)
    records = _records(store)
    total = Verdict()
    for name, tenant in config.tenants.items():
        v = judge(tenant, name, states, [r for r in records if r["tenant"] == name], _pairs(world, name), time.time())
        total.lost += v.lost
        total.lost_unrecorded += v.lost_unrecorded
        total.duplicated += v.duplicated
        total.drift += v.drift
        total.stuck += v.stuck
        total.failed += v.failed
        total.records += v.records
        total.due_far += v.due_far
        total.expected += v.expected
    return total


def _plant(world: Any, config: Any, plants: tuple[str, ...]) -> None:
    """Behind the engine's back, after the drain: what the verdict must then report."""
    tenant = next(iter(config.tenants))
    if "duplicate" in plants:
        erp = world.apps_of(tenant, "odoo")[0]
        orders = erp.state()["orders"]
        ref = orders[0]["ref"] if orders else "PLANTED-1"
        erp.add_sale_order(ref)  # the same order posted a second time
        if not orders:
            erp.add_sale_order(ref)
    if "drift" in plants:
        _src, _pair, web, (sku, loc) = world.synced_levels(tenant)[0]
        web.adjust_behind_back(sku, loc, 7)  # the storefront no longer shows the POS's level


def _require_simulated(config: Any) -> None:
    real = sorted(f"{t}/{name}" for t, tenant in config.tenants.items()
                  for name, ep in tenant.endpoints.items() if not ep.is_simulated)
    if real:  # the soak kills engines and plants garbage: never against a real vendor
        raise ValueError("the soak runs against the simulator only, but these endpoints are real: "
                         + ", ".join(real) + " (set base_url: simulator)")


def _injected(world: Any) -> dict[str, int]:
    """Wire faults actually served, summed over the vendors (proof the faults were on)."""
    total: dict[str, int] = {}
    for app in world.apps.values():
        for name, n in app.faults.injected.items():
            total[name] = total.get(name, 0) + n
    return dict(sorted(total.items()))
