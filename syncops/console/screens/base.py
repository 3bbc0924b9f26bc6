"""What every console screen shares: the status header, the footer, and the read-only guard."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import events
from textual.binding import Binding
from textual.screen import Screen

from syncops.console.widgets.header import StatusHeader


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


READ_ONLY_HELP = ("Read-only console (--read-only): keys that change the store are disabled and say so when "
                  "pressed. Looking, filtering, jumping and revealing customer data (v) still work: a reveal "
                  "changes nothing, but it is still recorded in the audit log.")


BREAK_GLASS_HELP = ("Break-glass tenants ({tenants}) open read-only: their write keys are disabled and say so. "
                    "`:elevate TENANT [MINUTES]` asks for a reason and allows writes for 15 minutes (or MINUTES); "
                    "the header counts down, and the elevation and its expiry are in the audit log.")


class ConsoleScreen(Screen):
    # Actions that change the store: hidden from footer and palette in --read-only mode
    # (check_action returning False), and refused if reached some other way.
    MUTATING: ClassVar[frozenset[str]] = frozenset()
    # Extra text for the `?` help screen.
    HELP: ClassVar[str] = ""

    def header(self) -> StatusHeader:
        return StatusHeader()

    def write_tenants(self) -> list[str]:
        """The tenants this screen's write keys would act on now (break-glass: see locked_tenant)."""
        return []

    def locked_tenant(self) -> str | None:
        """A break-glass tenant among write_tenants() that nobody elevated (its writes are refused)."""
        locked = getattr(self.app, "locked_tenant", None)
        return locked(self.write_tenants()) if locked is not None else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self.MUTATING and (getattr(self.app, "read_only", False) or self.locked_tenant()):
            return False
        return True

    def refused_binding(self, key: str) -> Binding | None:
        """In --read-only (or on a break-glass tenant), the binding of `key` that changes the store."""
        if not getattr(self.app, "read_only", False) and not self.locked_tenant():
            return None
        for b in type(self).BINDINGS:
            if not isinstance(b, Binding):
                b = Binding(*b)
            if key in [k.strip() for k in b.key.split(",")] and b.action.split("(")[0] in self.MUTATING:
                return b
        return None

    def on_key(self, event: events.Key) -> None:
        # Textual drops a key whose binding is disabled without a word; a technician pressing
        # r on a read-only console must learn why nothing happened.
        b = self.refused_binding(event.key)
        if b is None:
            return
        event.stop()
        event.prevent_default()
        from syncops.console.screens.help import key_label

        what = f"{key_label(b)} ({_lower_first(b.description or b.action)}) is disabled"
        glass = None if getattr(self.app, "read_only", False) else self.locked_tenant()
        if glass:
            self.app.notify(f"break-glass tenant {glass} is read-only: {what}; `:elevate {glass}` to write",
                            severity="warning", timeout=6)
            return
        self.app.notify(f"read-only console: {what}", severity="warning", timeout=4)

    def on_screen_resume(self) -> None:
        self.app.update_header()
        # Back from a dialog or `?`: keys must work at once. If nothing of this screen has the
        # focus (the widget that had it was hidden or rebuilt meanwhile), give it to the table.
        focused = self.focused
        if focused is None or not focused.is_attached or not focused.display or focused.screen is not self:
            self.call_after_refresh(self._refocus)

    def _refocus(self) -> None:
        focused = self.focused
        if focused is not None and focused.is_attached and focused.display:
            return
        target = self.AUTO_FOCUS
        found = self.query(target).first() if target else None
        if found is not None and found.focusable:
            found.focus()
        else:
            self.focus_next()

    def configure(self, **kwargs: Any) -> None:
        """Jumps from the palette (`:tenant acme`) land here; screens accept what they understand."""

    def writable(self) -> bool:
        return self.app.allow_write(self.write_tenants())
