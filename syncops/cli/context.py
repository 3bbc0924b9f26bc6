"""Resolve config and store for a command: flags beat environment beat config beat defaults."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

from syncops.cli.errors import CliError


@dataclass
class Context:
    config: Any  # syncops.config.Config | None
    store: Any  # syncops.store.db.Store
    store_url: str

    def tenant(self, name: str) -> Any:
        if self.config is None:
            return None
        return self.config.tenants.get(name)

    def config_maps(self, tenant: str) -> dict[str, dict[str, str]]:
        t = self.tenant(tenant)
        return dict(t.mappings) if t is not None else {}

    def flow(self, tenant: str, flow: str) -> Any:
        t = self.tenant(tenant)
        if t is None:
            raise CliError(f"tenant {tenant!r} is not in the config"
                           + (f" ({self.config.source_path})" if self.config else " (no config file found)"))
        if flow not in t.flows:
            raise CliError(f"tenant {tenant} has no flow {flow!r}; flows: {', '.join(t.flows) or 'none'}")
        return t.flows[flow]


def load_config(args: argparse.Namespace, *, required: bool = False) -> Any:
    from syncops.config import load_config as load, resolve_config_path

    path = resolve_config_path(getattr(args, "config", None))
    if path is None:
        if required:
            raise CliError("no config file: pass --config FILE or set SYNCOPS_CONFIG (see `syncops locate`)")
        return None
    return load(path)


def open_context(args: argparse.Namespace, *, config_required: bool = False, create: bool = False) -> Context:
    """Config and store for a command. Only commands that put data in (`create=True`) make a new
    SQLite file: a mistyped --store must fail loudly, not report OK on a fresh empty store."""
    from syncops.config import resolve_store_url
    from syncops.store.db import open_store

    config = load_config(args, required=config_required)
    url = resolve_store_url(getattr(args, "store", None), config)
    return Context(config=config, store=open_store(url, create=create), store_url=url)
