"""The settings in force for a console or CLI call: the one answer to "which tenants are production,
which flows exist, what are their SLAs and maps", whichever flags the technician typed.

- a config file given, nothing published: the config (source "config");
- no config, the engine published its settings into the store: those (source "published");
- both: the config, except that a tenant is production if EITHER says so (the safer one wins: a
  stale or wrong local file must never drop the typed confirmation for a tenant the engine treats
  as production; the same for break-glass), and tenants only the engine knows are added (source "config+published");
- neither: None (source "none").
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any

from syncops.store import published as pub
from syncops.store.db import Store

CONFIG, PUBLISHED, BOTH, NONE = "config", "published", "config+published", "none"


@dataclass(frozen=True)
class Settings:
    source: str  # CONFIG, PUBLISHED, BOTH or NONE
    config: Any | None  # reads like syncops.config.Config (tenants, iter_flows()); None with NONE
    published: pub.Published | None = None
    notes: list[str] = field(default_factory=list)  # disagreements resolved towards safety

    def describe(self) -> str:
        """One line saying where the settings came from, for status output and the console."""
        p = self.published
        when = (time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(p.published_at)) if p else "")
        path = getattr(self.config, "source_path", None)
        if self.source == CONFIG:
            return f"from config {path or '(in memory)'}; none published by an engine"
        if self.source == PUBLISHED:
            return f"published by engine {p.engine_id} at {when} (no config file given)"
        if self.source == BOTH:
            return f"from config {path or '(in memory)'}, production also as published by engine {p.engine_id} at {when}"
        return "none: no config file given and no engine has published settings into this store"


def settings_in_force(store: Store, config: Any | None) -> Settings:
    published = pub.read(store)
    if config is None:
        return Settings(PUBLISHED, published, published) if published is not None else Settings(NONE, None)
    if published is None:
        return Settings(CONFIG, config)
    tenants: dict[str, Any] = {}
    notes: list[str] = []
    for name, t in config.tenants.items():
        p = published.tenants.get(name)
        if p is not None and p.production and not t.production:
            t = dataclasses.replace(t, production=True)
            notes.append(f"tenant {name} is production in the engine's published settings (not in the config): "
                         "treated as production")
        if p is not None and p.break_glass and not getattr(t, "break_glass", False):
            t = dataclasses.replace(t, break_glass=True)
            notes.append(f"tenant {name} is break-glass in the engine's published settings (not in the config): "
                         "writes need elevation")
        tenants[name] = t
    for name, p in published.tenants.items():
        if name not in tenants:  # records of a tenant only the engine runs must keep its marker
            tenants[name] = p
    return Settings(BOTH, dataclasses.replace(config, tenants=tenants), published, notes)
