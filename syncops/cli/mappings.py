"""`syncops mappings ...`."""

from __future__ import annotations

import argparse

from syncops.cli.context import open_context
from syncops.cli.errors import CliError
from syncops.cli.output import emit_json, table


def list_(args: argparse.Namespace) -> int:
    from syncops.services.mappings import list_entries

    ctx = open_context(args)
    entries = list_entries(ctx.store, args.tenant, ctx.config_maps(args.tenant), args.map)
    if args.json:
        emit_json([e.__dict__ for e in entries])
        return 0
    table(["MAP", "SOURCE", "TARGET", "FROM", "BY"],
          [(e.map_name, e.source, e.target, e.origin, e.updated_by or "") for e in entries])
    return 0


def _known_map(ctx, tenant: str, map_name: str) -> None:
    """With a config loaded, refuse names no flow can use: a typo must not silently "work"."""
    settings = ctx.in_force
    if settings is None:
        return
    t = ctx.tenant(tenant)
    if t is None:
        where = ctx.config.source_path if ctx.config is not None else "the engine's published settings"
        raise CliError(f"tenant {tenant!r} is not in {where}; tenants: {', '.join(settings.tenants)}")
    used = set(t.mappings) | {m for f in t.flows.values() for m in dict(f.mappings).values()}
    if map_name not in used:
        raise CliError(f"tenant {tenant} has no map {map_name!r}; maps: {', '.join(sorted(used)) or 'none'}")


def set_(args: argparse.Namespace) -> int:
    from syncops.services.actor import Actor
    from syncops.services.mappings import set_entry

    ctx = open_context(args, create=True)
    _known_map(ctx, args.tenant, args.map)
    ctx.require_writable(args.tenant)
    released = set_entry(ctx.store, args.tenant, args.map, args.source, args.target, actor=Actor.current(),
                         release=args.release, reason=args.reason)
    print(f"{args.map}: {args.source} -> {args.target} saved"
          + (f"; released {released} record(s) it blocked" if args.release else ""))
    return 0


def delete(args: argparse.Namespace) -> int:
    from syncops.services.actor import Actor
    from syncops.services.mappings import delete_entry

    ctx = open_context(args, create=True)
    ctx.require_writable(args.tenant)
    delete_entry(ctx.store, args.tenant, args.map, args.source, actor=Actor.current(),
                 config_maps=ctx.config_maps(args.tenant))
    print(f"{args.map}: {args.source} deleted")
    return 0


def unmapped(args: argparse.Namespace) -> int:
    from syncops.store.queries import unmapped_values

    ctx = open_context(args)
    items = unmapped_values(ctx.store, args.tenant)
    if args.json:
        emit_json([u.__dict__ for u in items])
        return 0
    if not items:
        print("no records are blocked by unmapped values")
        return 0
    for u in items:
        print(f"{u.count} record(s) blocked by {u.value} in map {u.map_name} "
              f"(tenant {u.tenant}; flows {', '.join(sorted(set(u.flows)))})")
    print("\nfix one with: syncops mappings set --tenant TENANT MAP VALUE TARGET --release")
    return 0
