"""`syncops creds set|delete|check`."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

from syncops.cli.context import load_config
from syncops.cli.errors import CliError
from syncops.cli.output import table


def set_(args: argparse.Namespace) -> int:
    from syncops.connectors import credentials

    endpoint = credentials.webhook_entry(args.endpoint) if getattr(args, "webhook", False) else args.endpoint
    secret = sys.stdin.readline().rstrip("\n") if args.stdin else getpass.getpass(
        f"secret for {args.tenant}/{endpoint} (not echoed): ")
    if not secret:
        raise CliError("empty secret; nothing stored")
    try:
        backend = credentials.set_secret(args.tenant, endpoint, secret)
    except credentials.KeyringUnavailable as exc:
        raise CliError(str(exc)) from None
    print(f"stored the secret for {args.tenant}/{endpoint} in {backend}")
    return 0


def delete(args: argparse.Namespace) -> int:
    from syncops.connectors import credentials

    endpoint = credentials.webhook_entry(args.endpoint) if getattr(args, "webhook", False) else args.endpoint
    try:
        removed = credentials.delete_secret(args.tenant, endpoint)
    except credentials.KeyringUnavailable as exc:
        raise CliError(str(exc)) from None
    print(f"{args.tenant}/{endpoint}: " + ("secret removed" if removed else "no secret was stored"))
    return 0 if removed else 1


def check(args: argparse.Namespace) -> int:
    from syncops.connectors import credentials

    config = load_config(args, required=True)
    rows, bad = [], 0
    for tname, tenant in config.tenants.items():
        if args.tenant and tname != args.tenant:
            continue
        for ename, ep in tenant.endpoints.items():
            source = credentials.describe_source(tname, ename, ep.credential)
            result = "-"
            if not args.offline and ep.base_url != "simulator":
                result = asyncio.run(_try_auth(tname, ep))
            if source == "missing" or result.startswith("FAIL"):
                bad += 1
            rows.append((tname, ename, ep.kind, source, result))
    table(["TENANT", "ENDPOINT", "KIND", "SECRET FROM", "AUTH"], rows)
    return 1 if bad else 0


async def _try_auth(tenant: str, endpoint) -> str:
    from syncops.connectors.credentials import MissingSecret
    from syncops.connectors.errors import DeliveryError
    from syncops.engine.connections import build_connector

    try:
        connector = build_connector(tenant, endpoint, url_overrides={}, clock=__import__("time").time)
    except MissingSecret as exc:
        return f"FAIL {exc}"
    try:
        return "ok: " + await connector.check_auth()
    except DeliveryError as exc:
        return f"FAIL {exc.category}: {exc.message[:80]}"
    finally:
        await connector.aclose()
