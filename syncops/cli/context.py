"""Resolve config and store for a command: flags beat environment beat config beat defaults."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

from syncops.cli.errors import CliError


@dataclass
class Context:
    config: Any  # syncops.config.Config | None: the file, for what only a file can give (the engine's endpoints)
    store: Any  # syncops.store.db.Store
    store_url: str
    _settings: Any = None

    @property
    def settings(self) -> Any:
        """The settings in force (syncops.services.settings): the config, else what the engine published."""
        if self._settings is None:
            from syncops.services.settings import settings_in_force

            self._settings = settings_in_force(self.store, self.config)
        return self._settings

    @property
    def in_force(self) -> Any:
        """Config-like view of the settings in force (None when there are none)."""
        return self.settings.config

    def tenant(self, name: str) -> Any:
        if self.in_force is None:
            return None
        return self.in_force.tenants.get(name)

    def require_writable(self, *tenants: str | None) -> None:
        """Refuse (BreakGlassLocked) a write on a break-glass tenant that nobody elevated."""
        from syncops.services import breakglass

        breakglass.expire(self.store)
        breakglass.check(self.store, self.in_force, [t for t in tenants if t])

    def config_maps(self, tenant: str) -> dict[str, dict[str, str]]:
        t = self.tenant(tenant)
        return dict(t.mappings) if t is not None else {}

    def flow(self, tenant: str, flow: str) -> Any:
        t = self.tenant(tenant)
        if t is None:
            raise CliError(f"tenant {tenant!r} is not in the config"
                           + (f" ({self.config.source_path})" if self.config else
                              " (no config file found" + ("" if self.in_force is None else
                                                          ", nor in the engine's published settings") + ")"))
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


def open_context(args: argparse.Namespace, *, config_required: bool = False, settings_required: bool = False,
                 create: bool = False) -> Context:
    """Config and store for a command. Only commands that put data in (`create=True`) make a new
    SQLite file: a mistyped --store must fail loudly, not report OK on a fresh empty store.

    `config_required`: only a config file will do (running an engine, checking credentials).
    `settings_required`: the tenants' and flows' settings are needed, from the config file or, without
    one, as the engine published them into the store."""
    from syncops.config import resolve_store_url
    from syncops.store.db import open_store

    config = load_config(args, required=config_required)
    url = resolve_store_url(getattr(args, "store", None), config)
    ctx = Context(config=config, store=open_store(url, create=create), store_url=url)
    if settings_required and ctx.in_force is None:
        ctx.store.close()
        raise CliError("no config file, and no engine has published its settings into this store: "
                       "pass --config FILE or set SYNCOPS_CONFIG (see `syncops locate`)")
    return ctx
