"""Break-glass in the console: which tenants are locked, the header countdown, `:elevate TENANT`.

The elevations are read from the store with every tick (`Backend.elevations`) and kept on the app,
so check_action (on the event loop, many times a second) never touches the store. Expiry is judged
from the injected clock at the moment of asking: a lapsed elevation locks at once, not a tick late.
The Backend guards every write as well, so a stale view can never write on a locked tenant.
"""

from __future__ import annotations

from typing import Any, Iterable

from syncops.services.breakglass import DEFAULT_MINUTES, break_glass_tenants, is_break_glass


def locked_tenant(app: Any, tenants: Iterable[str]) -> str | None:
    config = app.backend.config
    now = app.clock()
    for t in dict.fromkeys(t for t in tenants if t):
        if is_break_glass(config, t):
            e = app.elevations.get(t)
            if e is None or e.until <= now:
                return t
    return None


def glass_state(app: Any) -> dict[str, float | None]:
    """Break-glass tenant -> elevated until (None: locked), for the header."""
    now = app.clock()
    out: dict[str, float | None] = {}
    for t in break_glass_tenants(app.backend.config):
        e = app.elevations.get(t)
        out[t] = e.until if e is not None and e.until > now else None
    return out


def request_elevation(app: Any, tenant: str, minutes: float | None = None) -> None:
    """Ask why, then elevate in a worker; the header starts counting down at the next tick."""
    from syncops.console.widgets.modals import ReasonModal

    if app.read_only:
        app.notify("the console is read-only (--read-only): elevation would not allow writes", severity="warning")
        return
    if not is_break_glass(app.backend.config, tenant):
        app.notify(f"tenant {tenant} is not break-glass: its writes need no elevation", severity="warning")
        return
    minutes = minutes or getattr(app, "elevate_minutes", DEFAULT_MINUTES)

    def done(elevation: Any) -> None:
        app.elevations = {**app.elevations, tenant: elevation}
        app.update_header()
        app.notify(f"{tenant}: writes allowed for {minutes:g} min (audited)")
        app.refresh_now()

    def decided(reason: str | None) -> None:
        if reason:
            app.background(app, lambda: app.backend.elevate(tenant, reason, minutes), done, group="action")

    app.push_screen(ReasonModal(f"elevate {tenant}", f"Allow writes on break-glass tenant {tenant} for "
                                f"{minutes:g} minutes. Why?", production=tenant if
                                app.backend.is_production(tenant) else None), decided)
