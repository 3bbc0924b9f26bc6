"""`syncops bench store|e2e|console`: each prints figures against its targets and a peer."""

from __future__ import annotations

import argparse
from importlib import import_module


def run(args: argparse.Namespace) -> int:
    module = import_module(f"syncops.bench.{args.which}")
    return module.main(list(args.rest))
