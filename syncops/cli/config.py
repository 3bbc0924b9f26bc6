"""`syncops config validate`."""

from __future__ import annotations

import argparse


def validate(args: argparse.Namespace) -> int:
    from syncops.cli.context import load_config
    from syncops.config import load_config as load

    if not args.file:
        args.file = load_config(args, required=True).source_path
    config = load(args.file, runnable=True)  # also: can a connector run every flow, enabled or not?
    flows = sum(len(t.flows) for t in config.tenants.values())
    endpoints = sum(len(t.endpoints) for t in config.tenants.values())
    print(f"{config.source_path}: OK ({len(config.tenants)} tenants, {endpoints} endpoints, {flows} flows)")
    return 0
