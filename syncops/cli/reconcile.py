"""`syncops reconcile inventory|orders|returns|settlements`: do the systems agree now?

inventory compares each inventory flow's target with its source; the others compare what the
ERP holds with what syncops delivered (syncops.services.reconcile_documents).

Exit codes: 0 every checked level agrees, 1 drift found (recorded as `drift` records),
2 some flow could not be checked (a level read failed; drifts found elsewhere are still
recorded), 3 nothing could be checked (config, store or tenant unusable).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from syncops.cli.output import emit_json, table

NO_DRIFT, DRIFT, INCOMPLETE, UNUSABLE = 0, 1, 2, 3


def inventory(args: argparse.Namespace) -> int:
    results = _against_store(args, lambda ctx: asyncio.run(_run(ctx, _tenants(ctx.config, args.tenant))))
    if results is None:
        return UNUSABLE
    code = NO_DRIFT
    if any(r.drifted for r in results):
        code = DRIFT
    if any(r.errors for r in results):
        code = INCOMPLETE
    if args.json:
        emit_json({"exit_code": code, "tenants": [r.as_dict() for r in results]})
        return code
    _print(results)
    return code


def _against_store(args: argparse.Namespace, run: Any) -> Any:
    """Open config and store, run, close; None (after saying why) when they are unusable."""
    from syncops.cli.context import open_context
    from syncops.cli.errors import CliError
    from syncops.config.errors import ConfigError
    from syncops.store.db import StoreError

    ctx = None
    try:
        # The config names the endpoints and their credentials; the store holds what was synced.
        ctx = open_context(args, config_required=True)
        return run(ctx)
    except (ConfigError, StoreError, CliError) as exc:
        print(f"syncops: {' '.join(str(exc).split())}", file=sys.stderr)
        return None
    finally:
        if ctx is not None:
            ctx.store.close()


def _tenants(config: Any, only: str | None) -> list[Any]:
    from syncops.cli.errors import CliError
    from syncops.services.reconcile import inventory_flows

    if only is not None:
        if only not in config.tenants:
            raise CliError(f"tenant {only!r} is not in the config; tenants: {', '.join(config.tenants)}")
        return [config.tenants[only]]
    return [t for t in config.tenants.values() if inventory_flows(t)]


async def _run(ctx: Any, tenants: list[Any]) -> list[Any]:
    from syncops.services.reconcile import reconcile_tenant

    return [r for _, r in await _with_connectors(ctx, tenants, reconcile_tenant)]


def _print(results: list[Any]) -> None:
    from syncops.services.reconcile import when

    rows = []
    for r in results:
        w = r.worst
        worst = "-" if w is None else (f"{w.key}: {w.target} {'nothing' if w.target_value is None else w.target_value}"
                                       f" vs {w.source} {w.source_value}")
        rows.append((r.tenant, r.checked, r.drifted, sum(f.in_transit for f in r.flows), worst))
    table(["TENANT", "CHECKED", "DRIFTED", "IN FLIGHT", "WORST DRIFT"], rows)
    for r in results:
        for f in r.flows:
            for d in f.drifts:
                print(f"DRIFT {r.tenant}/{f.flow} {d.key}: {d.target} holds "
                      f"{'nothing' if d.target_value is None else d.target_value}, {d.source} holds "
                      f"{d.source_value} (source of truth), last synced {when(d.last_synced)}"
                      f" -> record #{d.record_id} (`syncops records retry {d.record_id}` pushes the correction)")
            if f.error:
                print(f"NOT CHECKED {r.tenant}/{f.flow}: {f.error}")


def _documents(args: argparse.Namespace, what: str) -> int:
    from syncops.cli.errors import CliError
    from syncops.services.reconcile_documents import ENTITIES, as_dict, document_flows, reconcile_documents

    def check(ctx: Any) -> list[tuple[str, Any]]:
        config = ctx.config
        if args.tenant is not None and args.tenant not in config.tenants:
            raise CliError(f"tenant {args.tenant!r} is not in the config; tenants: {', '.join(config.tenants)}")
        tenants = [t for t in config.tenants.values()
                   if (args.tenant in (None, t.name)) and document_flows(t, ENTITIES[what])]
        return asyncio.run(_with_connectors(ctx, tenants, lambda store, t, conn, maps: reconcile_documents(
            store, t, conn, maps, what)))

    results = _against_store(args, check)
    if results is None:
        return UNUSABLE
    flows = [(t, f) for t, fl in results for f in fl]
    code = DRIFT if any(f.differences for _, f in flows) else NO_DRIFT
    if any(f.error for _, f in flows):
        code = INCOMPLETE
    if args.json:
        emit_json({"exit_code": code, "what": what,
                   "flows": [{"tenant": t} | as_dict(f) for t, f in flows]})
        return code
    table(["TENANT", "FLOW", "CHECKED", "DIFFERENT", "IN FLIGHT"],
          [(t, f.flow, f.checked, len(f.differences), f.in_transit) for t, f in flows])
    for t, f in flows:
        for d in f.differences:
            print(f"{d.problem.upper()} {t}/{f.flow} {d.key}: {d.detail} (`syncops records show {d.record_id}`)")
        if f.error:
            print(f"NOT CHECKED {t}/{f.flow}: {f.error}")
    return code


async def _with_connectors(ctx: Any, tenants: list[Any], check: Any) -> list[tuple[str, Any]]:
    """Run `check(store, tenant, connector, maps)` per tenant with connectors built on demand."""
    from syncops.connectors.credentials import KeyringUnavailable, MissingSecret
    from syncops.connectors.errors import DeliveryError
    from syncops.engine.connections import build_connector
    from syncops.services.mappings import effective_maps
    from syncops.store.categories import Category

    out = []
    for tenant in tenants:
        built: dict[str, Any] = {}

        def connector(name: str, tenant: Any = tenant, built: dict[str, Any] = built) -> Any:
            if name not in built:
                try:
                    built[name] = build_connector(tenant.name, tenant.endpoints[name], url_overrides={},
                                                  clock=ctx.store.clock)
                except (MissingSecret, KeyringUnavailable) as exc:
                    raise DeliveryError(Category.AUTH, str(exc)) from None
            return built[name]

        maps = await asyncio.to_thread(effective_maps, ctx.store, tenant.name, tenant.mappings)
        try:
            out.append((tenant.name, await check(ctx.store, tenant, connector, maps)))
        finally:
            for c in built.values():
                try:
                    await c.aclose()
                except (DeliveryError, OSError):
                    pass
    return out


def orders(args: argparse.Namespace) -> int:
    return _documents(args, "orders")


def returns(args: argparse.Namespace) -> int:
    return _documents(args, "returns")


def settlements(args: argparse.Namespace) -> int:
    return _documents(args, "settlements")
