"""Command palette (ctrl+p and `:`): every screen, every available action, and jumps.

Jumps are typed like k9s commands: `tenant acme`, `flow orders`, `record 123` (a leading
`:` is ignored). Actions hidden by read-only mode are not offered here either.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable, Iterator

from textual.command import DiscoveryHit, Hit, Hits, Provider

SCREENS = [("dashboard", "Dashboard", "tenants and flows at a glance"),
           ("exceptions", "Exceptions", "failed, retrying and quarantined records"),
           ("mappings", "Mappings", "unmapped values and value maps"),
           ("flows", "Flows", "schedules, cursors, pause / resume / run now"),
           ("audit", "Audit", "the action log"),
           ("fleet", "Fleet", "one row per tenant, worst first"),
           ("reconcile", "Reconciliation", "last reconciliation per tenant: checked, drifted, worst drift")]


def parse_jump(query: str) -> tuple[str, str] | None:
    """'tenant acme' / ':flow orders' / 'record 123' / '#123' -> (kind, value)."""
    q = query.strip().lstrip(":").strip()
    if q.startswith("#") and q[1:].isdigit():
        return "record", q[1:]
    word, _, rest = q.partition(" ")
    word = word.lower()
    rest = rest.strip()
    aliases = {"elevate": "elevate",
               "t": "tenant", "tenant": "tenant", "f": "flow", "flow": "flow", "r": "record", "record": "record",
               "rec": "record", "timeline": "timeline", "tl": "timeline"}
    if word in aliases and rest:
        return aliases[word], rest
    return None


class ConsoleCommands(Provider):
    def _commands(self) -> Iterator[tuple[str, Callable[[], Any], str]]:
        app = self.app
        for mode, title, help_ in SCREENS:
            yield f"Go to {title}", partial(app.go, mode), help_
        screen = self.screen
        for b in getattr(type(screen), "BINDINGS", []):
            action = getattr(b, "action", None)
            if not action or not b.description:
                continue
            name = action.split("(")[0]
            if hasattr(screen, "check_action") and not screen.check_action(name, ()):
                continue
            yield (f"{b.description}", partial(screen.run_action, action),
                   f"{type(screen).__name__.replace('Screen', '')} action")
        from syncops.services.breakglass import break_glass_tenants

        for tenant in break_glass_tenants(app.backend.config):  # `:elevate TENANT [MINUTES]`
            yield f"elevate {tenant}", partial(app.request_elevation, tenant), "allow writes for a while (audited)"
        yield "Pause / resume live refresh", app.toggle_live, "stop or restart the 1 s refresh"
        yield "Help: keys of this screen", app.action_help, "?"
        backend = app.backend
        for tenant in backend.tenants():
            yield f"tenant {tenant}", partial(app.go, "exceptions", tenant=tenant), "exceptions of this tenant"
            for _t, flow in _flows_of(backend, tenant):
                yield f"flow {flow} ({tenant})", partial(app.go, "exceptions", tenant=tenant, flow=flow), \
                    "exceptions of this flow"

    async def discover(self) -> Hits:
        for text, command, help_ in self._commands():
            yield DiscoveryHit(text, command, help=help_)

    async def search(self, query: str) -> Hits:
        jump = parse_jump(query)
        app = self.app
        if jump is not None:
            kind, value = jump
            if kind == "elevate":
                from syncops.console.glass import request_elevation

                tenant, _, minutes = value.partition(" ")
                mins = float(minutes) if minutes.strip().replace(".", "", 1).isdigit() else None
                yield Hit(1.0, f"elevate {tenant}: allow writes" + (f" for {mins:g} min" if mins else ""),
                          partial(request_elevation, app, tenant, mins), help="asks for a reason; audited")
            elif kind == "record" and value.lstrip("#").isdigit():
                rid = int(value.lstrip("#"))
                yield Hit(1.0, f"open record #{rid}", partial(app.open_record, rid), help="record detail")
            elif kind == "timeline":
                from syncops.console.screens.timeline import open_timeline

                yield Hit(1.0, f"timeline {value}", partial(open_timeline, app, value),
                          help="every record of this SKU (at every location) or order, in time order")
            elif kind == "tenant":
                yield Hit(1.0, f"tenant {value}: exceptions", partial(app.go, "exceptions", tenant=value),
                          help="exceptions filtered to this tenant")
                yield Hit(0.95, f"tenant {value}: flows", partial(app.go, "flows", tenant=value))
                yield Hit(0.9, f"tenant {value}: mappings", partial(app.go, "mappings", tenant=value))
            elif kind == "flow":
                tenant, flow = _split_flow(app.backend, value)
                yield Hit(1.0, f"flow {value}: exceptions", partial(app.go, "exceptions", tenant=tenant, flow=flow),
                          help="exceptions filtered to this flow")
                yield Hit(0.95, f"flow {value}: flow control", partial(app.go, "flows", tenant=tenant, flow=flow))
        matcher = self.matcher(query.lstrip(":"))
        for text, command, help_ in self._commands():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score * 0.9, matcher.highlight(text), command, text=text, help=help_)


def _flows_of(backend: Any, tenant: str) -> list[tuple[str, str]]:
    config = backend.config
    if config is None or tenant not in config.tenants:
        return []
    return [(tenant, f) for f in config.tenants[tenant].flows]


def _split_flow(backend: Any, value: str) -> tuple[str | None, str]:
    """'acme/orders' or 'orders' (the tenant found from the config when the name is unique)."""
    if "/" in value:
        tenant, _, flow = value.partition("/")
        return tenant or None, flow
    owners = [t for t in backend.tenants() if value in dict(_flows_of(backend, t)).values() or
              any(f == value for _t, f in _flows_of(backend, t))]
    return (owners[0] if len(owners) == 1 else None), value
