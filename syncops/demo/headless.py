"""The headless demo (`syncops demo --headless`) and the bare simulator (`syncops simulate`).

The demo runs the simulated vendors, their activity and the real engine on one asyncio loop,
against a fresh SQLite store that is kept afterwards, so `syncops status --store URL` (or the
console) can look at what happened.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, TextIO

from syncops.lifeline import HANGUP, arm_deadline, exit_code_for, say, stop_signals

PROGRESS_EVERY = 5.0  # seconds between progress lines on stderr


def load_demo_config(config: Any = None) -> Any:
    """A Config as is; a path is loaded; None means the shipped demo.yaml."""
    from syncops.config import load_config, sample_path

    if config is None:
        return load_config(sample_path("demo.yaml"))
    if isinstance(config, (str, Path)):
        return load_config(config)
    return config


def fresh_store_url() -> str:
    # A new directory that is deliberately not cleaned up: the summary points at it.
    folder = Path(tempfile.mkdtemp(prefix="syncops-demo-"))
    return f"sqlite:///{folder / 'syncops.db'}"


def _require_simulated(config: Any) -> None:
    real = sorted({f"{t}/{name}" for t, tenant in config.tenants.items() for f in tenant.flows.values()
                   if getattr(f, "enabled", True) for name in (f.source, f.target)
                   if not tenant.endpoints[name].is_simulated})
    if real:
        raise ValueError("the demo runs against the simulator only, but these endpoints are real: "
                         + ", ".join(real) + " (set base_url: simulator, or use `syncops engine`)")


def status_command(store_url: str, config: Any) -> str:
    cmd = f"syncops status --store {store_url}"
    if getattr(config, "source_path", None):
        cmd += f" --config {config.source_path}"
    return cmd


def run_headless(config: Any = None, seconds: float = 20.0, *, store_url: str | None = None,
                 as_json: bool = False, profile: str = "demo", stream: TextIO | None = None,
                 progress: TextIO | None = None, seed: int = 7) -> dict[str, Any]:
    """Run simulator + engine for `seconds`, print the summary to `stream`, return it as a dict."""
    config = load_demo_config(config)
    _require_simulated(config)
    store_url = store_url or fresh_store_url()
    # A poll outlasting its interval makes APScheduler skip a run (by design: polls never overlap)
    # and warn about it on stderr, which would only clutter the summary.
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    summary = asyncio.run(_run(config, seconds, store_url, profile, seed,
                               progress if progress is not None else (None if as_json else sys.stderr),
                               progress if progress is not None else sys.stderr))
    out = stream if stream is not None else sys.stdout
    # After a hang-up stdout may be a dead terminal: the store is closed and kept either way.
    say(json.dumps(summary, indent=2, default=str) if as_json else render(summary), out)
    return summary


async def _run(config: Any, seconds: float, store_url: str, profile: str, seed: int,
               progress: TextIO | None, banner: TextIO | None = None) -> dict[str, Any]:
    from syncops.engine.events import EventLog
    from syncops.engine.runtime import Engine
    from syncops.simulator.world import World
    from syncops.store.db import open_store

    world = World(config, profile=profile, seed=seed)
    store = open_store(store_url)
    try:
        world.activity.backlog()
        world.start()
        engine = Engine(config, store, url_overrides=world.url_overrides, log=EventLog(quiet=True), mode="demo",
                        **world.profile.engine)
        await engine.start()
        started = time.monotonic()
        activity = asyncio.create_task(world.run(seconds=seconds))
        stop = StopOnSignal(activity)
        try:
            if banner is not None:
                say(f"demo store: {store_url}\nsimulator: " + "  ".join(
                    f"{name} {url}" for name, url in world.urls.items()), banner)
            while not activity.done():
                await asyncio.wait([activity], timeout=PROGRESS_EVERY)
                if progress is not None and not activity.done():
                    if not _progress(progress, time.monotonic() - started, engine):
                        stop.terminal_lost()
            if stop.code is None:
                activity.result()
                await _reconcile(engine, config)
        finally:
            stop.close()
            await engine.stop()
        elapsed = time.monotonic() - started
        summary = summarize(store, config, engine, world, elapsed, store_url)
        summary["stopped_by"] = stop.reason
        summary["exit_code"] = stop.code or 0
        return summary
    finally:
        world.stop()
        store.close()


SETTLE_SECONDS = 6.0  # how long the end of a demo waits for stock updates still on their way


async def _settle_stock(engine: Any, config: Any) -> None:
    """Poll the inventory flows once more and let what they stored be delivered: a level still on
    its way is not checked by reconciliation, and a demo should end with the systems compared."""
    from syncops.store import queries
    from syncops.store.drift import IN_TRANSIT
    from syncops.store.filters import RecordFilter

    flows = [(t, f.name) for t, tenant in config.tenants.items() for f in tenant.flows.values()
             if f.entity == "inventory" and getattr(f, "enabled", True)]
    for tname, fname in flows:
        await engine.run_poll(tname, fname)
    deadline = time.monotonic() + SETTLE_SECONDS
    while time.monotonic() < deadline:
        moving = sum([await asyncio.to_thread(queries.count_records, engine.store,
                                              RecordFilter(tenant=t, flow=f, states=IN_TRANSIT)) for t, f in flows])
        if not moving:
            return
        await asyncio.sleep(0.2)


async def _reconcile(engine: Any, config: Any) -> None:
    """End the run with one reconciliation per tenant, so the summary says whether the systems agree."""
    from syncops.connectors.errors import DeliveryError
    from syncops.services.reconcile_documents import ENTITIES, reconcile_documents

    await _settle_stock(engine, config)
    for tname, tenant in config.tenants.items():
        try:
            await asyncio.wait_for(engine.run_reconcile(tname), timeout=15)
        except asyncio.TimeoutError:
            pass  # the summary then shows no (or an older) reconciliation for the tenant
        # And the money: each delivered order, refund and payout is in the ERP once, as meant.
        for what in ENTITIES:
            try:
                await asyncio.wait_for(reconcile_documents(
                    engine.store, tenant, lambda ep, t=tname: engine.connectors[(t, ep)], engine.maps_for(tname),
                    what), timeout=15)
            except (asyncio.TimeoutError, DeliveryError):
                pass  # the summary shows what was checked; a vendor down now is not the demo's verdict


def _progress(stream: TextIO, elapsed: float, engine: Any) -> bool:
    """One progress line; False when the terminal it goes to is gone (EIO, a closed pipe)."""
    failed = sum(engine.failed_by_category.values())
    return say(f"  {elapsed:4.0f}s  delivered {sum(engine.delivered.values())}  failed attempts {failed}",
               stream)


class StopOnSignal:
    """SIGHUP/SIGTERM (or a lost terminal) end `task` early, so the normal shutdown runs:
    engine stopped, simulator servers closed, store closed. `code` is the exit code to use."""

    def __init__(self, task: asyncio.Task) -> None:
        import signal

        self.task = task
        self.code: int | None = None
        self.reason: str | None = None
        self._loop = asyncio.get_running_loop()
        self._installed: list[int] = []
        for signum in stop_signals():
            try:
                self._loop.add_signal_handler(signum, self._stop, exit_code_for(signum),
                                              signal.Signals(signum).name)
                self._installed.append(signum)
            except (RuntimeError, NotImplementedError, ValueError):  # not the main thread
                pass

    def _stop(self, code: int, reason: str) -> None:
        if self.code is None:
            self.code, self.reason = code, reason
            arm_deadline(code)
            self.task.cancel()

    def terminal_lost(self) -> None:
        self._stop(HANGUP, "lost terminal")

    def close(self) -> None:
        for signum in self._installed:
            self._loop.remove_signal_handler(signum)


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile; None without values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def summarize(store: Any, config: Any, engine: Any, world: Any, elapsed: float, store_url: str) -> dict[str, Any]:
    """Records by state and flows from the store; this run's failures and latencies from the engine."""
    from syncops.store import queries
    from syncops.services.reconcile_documents import last_runs as document_runs
    from syncops.store.drift import last_runs
    from syncops.store.filters import RecordFilter
    from syncops.store.tables import STATES

    states = {s: queries.count_records(store, RecordFilter(states=(s,))) for s in STATES}
    activity = queries.flow_activity(store, minutes=60)
    flows: dict[str, Any] = {}
    for tname, tenant in config.tenants.items():
        for fname in tenant.flows:
            lat = engine.latencies.get((tname, fname), [])
            act = activity.get((tname, fname))
            count = {s: queries.count_records(store, RecordFilter(tenant=tname, flow=fname, states=(s,)))
                     for s in ("delivered", "failed", "retry_wait", "pending", "quarantined")}
            flows[f"{tname}/{fname}"] = {
                **count,
                "delivered_this_run": engine.delivered.get((tname, fname), 0),
                # Exact latencies of this run; the store's histogram (bucket bounds) as a fallback.
                "p50_latency_s": _round(percentile(lat, 0.50)) if lat else (act.p50 if act else None),
                "p95_latency_s": _round(percentile(lat, 0.95)) if lat else (act.p95 if act else None),
            }
    delivered_run = sum(engine.delivered.values())
    return {
        **states,
        "by_category": dict(sorted(engine.failed_by_category.items())),
        "open_by_category": dict(sorted(queries.failures_by_category(store).items())),
        "deliveries_per_s": round(delivered_run / elapsed, 2) if elapsed > 0 else 0.0,
        "delivered_this_run": delivered_run,
        "seconds": round(elapsed, 1),
        "profile": world.profile.name,
        "activity": dict(world.activity.counts),
        "flows": flows,
        "simulator": world.urls,
        "store": store_url,
        "status_command": status_command(store_url, config),
        "reconciliation": {t: {k: run.get(k) for k in ("checked", "drifted", "in_transit", "worst", "errors")}
                           for t, run in sorted(last_runs(store).items())},
        "erp": money_trail(world),
        "documents": {f"{t}/{what}": {k: run.get(k) for k in ("checked", "differences", "errors")}
                      for (what, t), run in sorted(document_runs(store).items())},
    }


def money_trail(world: Any) -> dict[str, Any]:
    """Per tenant, what its simulated ERP now holds: orders by state, posted credit notes,
    payments, payouts posted as journal entries, restock pickings (read from the vendor itself)."""
    from collections import Counter

    out: dict[str, Any] = {}
    for key, state in world.state().items():
        tenant = key.split("/", 1)[0]
        if "salesOrders" in state:  # Business Central: open orders, posted invoices, credit memos
            out[tenant] = {"sales_orders_open": len(state["salesOrders"]),
                           "sales_invoices": len(state["salesInvoices"]),
                           "credit_memos": len(state["salesCreditMemos"]),
                           "settlements_posted": len({e["documentNumber"] for e in state["generalLedgerEntries"]})}
            continue
        if "journal_entries" not in state:
            continue  # not an ERP
        out[tenant] = {
            "orders_by_state": dict(Counter(o["state"] for o in state["orders"])),
            "credit_notes_posted": sum(1 for c in state["credit_notes"] if c["state"] == "posted"),
            "payments_posted": sum(1 for p in state["payments"] if p["state"] == "posted"),
            "payouts_posted": sum(1 for j in state["journal_entries"] if j["state"] == "posted"),
            "restock_pickings_done": sum(1 for p in state["pickings"] if p["state"] == "done"),
        }
    return out


def render(s: dict[str, Any]) -> str:
    def cats(d: dict[str, int]) -> str:
        return ", ".join(f"{k} {v}" for k, v in sorted(d.items(), key=lambda kv: -kv[1])) or "none"

    def secs(v: float | None) -> str:
        return "-" if v is None else f"{v:.2f}s"

    lines = [f"syncops demo: {s['seconds']:.0f} s, profile {s['profile']}, "
             f"{len(s['flows'])} flows, {sum(s['activity'].values())} simulated retail events", "", "simulator:"]
    lines += [f"  {name}: {url}" for name, url in s["simulator"].items()]
    lines += ["", "records by state: " + "  ".join(
        f"{k} {s[k]}" for k in ("delivered", "pending", "in_flight", "retry_wait", "failed", "quarantined",
                                "superseded", "resolved")),
              f"deliveries: {s['delivered_this_run']} in {s['seconds']:.0f} s = {s['deliveries_per_s']:.1f}/s",
              f"failed delivery attempts by category: {cats(s['by_category'])}",
              f"records needing a human now:          {cats(s['open_by_category'])}", ""]
    width = max(len(n) for n in s["flows"]) if s["flows"] else 10
    lines.append(f"  {'flow':<{width}}  {'delivered':>9}  {'failed':>6}  {'retry':>5}  {'p50':>7}  {'p95':>7}")
    for name, f in s["flows"].items():
        lines.append(f"  {name:<{width}}  {f['delivered']:>9}  {f['failed']:>6}  {f['retry_wait']:>5}  "
                     f"{secs(f['p50_latency_s']):>7}  {secs(f['p95_latency_s']):>7}")
    for tenant, erp in s.get("erp", {}).items():
        if "sales_orders_open" in erp:
            lines += ["", f"{tenant} ERP (Business Central): sales orders {erp['sales_orders_open']}; "
                          f"invoices {erp['sales_invoices']}; credit memos {erp['credit_memos']}; "
                          f"settlements posted {erp['settlements_posted']}"]
            continue
        states = ", ".join(f"{k} {v}" for k, v in sorted(erp["orders_by_state"].items())) or "none"
        lines += ["", f"{tenant} ERP: orders by state: {states}; credit notes posted {erp['credit_notes_posted']}; "
                      f"payments posted {erp['payments_posted']}; payouts posted {erp['payouts_posted']}; "
                      f"restocks {erp['restock_pickings_done']}"]
    for tenant, rec in s.get("reconciliation", {}).items():
        lines.append(f"{tenant} reconciliation: {rec.get('drifted') or 0} drifted / {rec.get('checked') or 0} checked")
    for name, doc in s.get("documents", {}).items():
        if doc.get("checked") or doc.get("differences") or doc.get("errors"):
            lines.append(f"{name}: {doc.get('differences') or 0} differences / {doc.get('checked') or 0} checked"
                         + (f" ({'; '.join(doc['errors'])[:120]})" if doc.get("errors") else ""))
    if s.get("stopped_by"):
        lines += ["", f"stopped early by {s['stopped_by']}."]
    lines += ["", "latency = source change to target applied.",
              f"store: {s['store']}", f"  {s['status_command']}"]
    return "\n".join(lines)


# ---------------------------------------------------------------------- the bare simulator

def simulate(config: Any = None, *, profile: str = "demo", seconds: float | None = None,
             stream: TextIO | None = None, seed: int = 7, faults: str | None = None,
             events: int | None = None) -> dict[str, Any]:
    """Serve the simulated vendors with their activity until Ctrl-C (or `seconds`, or `events`
    events); `faults` sets fault switches (see syncops.simulator.faults.parse_switches)."""
    from syncops.simulator.faults import parse_switches
    from syncops.simulator.world import World

    config = load_demo_config(config)
    out = stream if stream is not None else sys.stdout
    world = World(config, profile=profile, seed=seed)
    if not world.apps:
        raise ValueError("the config has no `base_url: simulator` endpoints: nothing to simulate")
    if faults:
        world.set_faults(parse_switches(faults))
    world.start()
    try:
        print(f"syncops simulator (profile {world.profile.name}) on 127.0.0.1:", file=out)
        for line in world.describe():
            print(f"  {line}", file=out)
        if faults:
            print(f"faults: {faults}", file=out)
        print("\nPoint an engine at these: set each endpoint's base_url to the URL above (credential: "
              "simulator).\nEach also serves GET /_sim/state and GET|POST /_sim/faults.\n"
              + ("Ctrl-C to stop." if seconds is None and events is None else "Stopping after "
                 + " or ".join(x for x in (seconds is not None and f"{seconds:g} s",
                                           events is not None and f"{events} events") if x) + "."),
              file=out, flush=True)
        try:
            stopped = asyncio.run(_serve(world, seconds, events))
        except KeyboardInterrupt:
            stopped = None
        say(f"simulated events: {dict(world.activity.counts)}", out)
        return {"urls": world.urls, "activity": dict(world.activity.counts),
                "stopped_by": stopped.reason if stopped else None, "exit_code": (stopped.code or 0) if stopped else 0}
    finally:
        world.stop()


async def _serve(world: Any, seconds: float | None, events: int | None = None) -> StopOnSignal:
    activity = asyncio.create_task(world.run(seconds=seconds, events=events))
    stop = StopOnSignal(activity)
    try:
        await asyncio.gather(activity, return_exceptions=stop.code is not None)
    except asyncio.CancelledError:
        if stop.code is None:
            raise
    finally:
        stop.close()
    return stop


# ---------------------------------------------------------------------- CLI entry points

def _config_arg(args: argparse.Namespace) -> Any:
    from syncops.demo import demo_config_arg

    return demo_config_arg(args)


def main_demo_headless(args: argparse.Namespace) -> int:
    from syncops.cli.errors import CliError

    try:
        summary = run_headless(_config_arg(args), float(getattr(args, "seconds", None) or 20.0),
                               store_url=getattr(args, "store", None) or None,
                               as_json=bool(getattr(args, "json", False)),
                               profile=getattr(args, "profile", None) or "demo")
    except ValueError as exc:
        raise CliError(str(exc)) from None
    return int(summary.get("exit_code") or 0)


def main_simulate(args: argparse.Namespace) -> int:
    from syncops.cli.errors import CliError

    try:
        result = simulate(_config_arg(args), profile=getattr(args, "profile", None) or "demo",
                          seconds=getattr(args, "seconds", None), seed=getattr(args, "seed", None) or 7,
                          faults=getattr(args, "faults", None), events=getattr(args, "events", None))
    except ValueError as exc:
        raise CliError(str(exc)) from None
    return int(result.get("exit_code") or 0)
