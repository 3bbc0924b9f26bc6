"""`syncops flows ...`: list, pause, resume, run now (through the store, so a running engine obeys)."""

from __future__ import annotations

import argparse

from syncops.cli.context import open_context
from syncops.cli.output import ago, clip, emit_json, table


def list_(args: argparse.Namespace) -> int:
    from syncops.store.queries import flow_controls, flow_cursors

    ctx = open_context(args, settings_required=True, create=True)
    controls, cursors = flow_controls(ctx.store), flow_cursors(ctx.store)
    rows = []
    for tname, tenant in ctx.in_force.tenants.items():
        for fname, flow in tenant.flows.items():
            ctl, cur = controls.get((tname, fname)), cursors.get((tname, fname))
            sched = flow.schedule
            rows.append(dict(
                tenant=tname, flow=fname, entity=flow.entity, source=flow.source, target=flow.target,
                schedule=f"every {sched.every:g}s" if sched.every else f"cron {sched.cron} {sched.timezone}",
                paused=bool(ctl and ctl.paused), paused_reason=ctl.paused_reason if ctl else None,
                last_run_at=ctl.last_run_at if ctl else None, next_run_at=ctl.next_run_at if ctl else None,
                cursor=cur.cursor if cur else None))
    if args.json:
        emit_json(rows)
        return 0
    now = ctx.store.clock()
    table(["TENANT", "FLOW", "ENTITY", "ROUTE", "SCHEDULE", "LAST RUN", "PAUSED", "CURSOR"],
          [(r["tenant"], r["flow"], r["entity"], f"{r['source']}->{r['target']}", r["schedule"],
            ago(r["last_run_at"], now), clip(r["paused_reason"], 24) if r["paused"] else "",
            clip(r["cursor"], 30)) for r in rows])
    return 0


def _flow_action(args: argparse.Namespace, name: str) -> int:
    from syncops.services import flows
    from syncops.services.actor import Actor

    ctx = open_context(args, settings_required=True, create=True)
    ctx.flow(args.tenant, args.flow)
    ctx.require_writable(args.tenant)
    actor = Actor.current()
    if name == "pause":
        flows.pause(ctx.store, args.tenant, args.flow, actor=actor, reason=args.reason)
    elif name == "resume":
        flows.resume(ctx.store, args.tenant, args.flow, actor=actor, reason=args.reason)
    else:
        flows.run_now(ctx.store, args.tenant, args.flow, actor=actor)
    print(f"{args.tenant}/{args.flow}: {name} requested")
    return 0


def pause(args: argparse.Namespace) -> int:
    return _flow_action(args, "pause")


def resume(args: argparse.Namespace) -> int:
    return _flow_action(args, "resume")


def run(args: argparse.Namespace) -> int:
    return _flow_action(args, "run")
