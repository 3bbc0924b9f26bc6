"""About: the (white-label) product, partner and support contact, and where things live."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from syncops import __version__


class AboutScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,i,q", "close", "Close")]

    def compose(self) -> ComposeResult:
        app = self.app
        b = app.branding
        box = Vertical(id="dialog")
        box.border_title = f"about {b.product_title}"
        lines = [b.product_title]
        if b.partner_name:
            lines.append(f"provided by {b.partner_name}")
        if b.support_contact:
            lines.append(f"support: {b.support_contact}")
        from sqlalchemy.engine import make_url

        store = make_url(app.backend.store.url).render_as_string(hide_password=True)
        lines += ["", f"syncops {__version__}", f"store: {store}",
                  f"config: {getattr(app.backend.config, 'source_path', None) or '(none)'}",
                  f"theme: {app.theme}", f"actor: {app.backend.actor}",
                  "mode: READ-ONLY" if app.read_only else "mode: read-write"]
        with box:
            yield Static("\n".join(lines), markup=False)
            yield Static("esc closes", classes="hint")

    def action_close(self) -> None:
        self.dismiss(None)
