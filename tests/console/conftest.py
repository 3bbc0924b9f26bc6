"""Console test fixtures: a deterministic store, a fake clock, and an app factory.

Determinism for snapshots: fixed clock, no live refresh timer, no cursor blink, the
repository's theme files only (never the developer's own), and no NO_COLOR from the shell.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Callable

import pytest
from textual.widgets import Input, TextArea
from textual.worker import WorkerCancelled, WorkerFailed

from syncops.store.db import open_store

from .fixture_store import T0, TECH, build

REPO = Path(__file__).resolve().parents[2]


class FakeClock:
    def __init__(self, now: float = T0) -> None:
        self.now = float(now)

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def no_cursor_blink(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None, raising=False)
    monkeypatch.setattr(TextArea, "_toggle_cursor_blink_visible", lambda self: None, raising=False)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock):
    s = open_store(f"sqlite:///{tmp_path}/console.db", clock=clock)
    yield s
    s.close()


@pytest.fixture
def config(store, clock):
    return build(store, clock)


@pytest.fixture
def make_app(store, config, clock) -> Callable[..., Any]:
    from syncops.console.app import SyncopsConsole

    def factory(**kw: Any) -> SyncopsConsole:
        kw.setdefault("clock", clock)
        kw.setdefault("actor", TECH)
        kw.setdefault("refresh_interval", None)
        kw.setdefault("theme_dirs", [REPO / "themes"])
        kw.setdefault("env", {})
        kw.setdefault("watch_tty", False)
        # The fixture store has two tenants, which would open on the fleet view; the tests of the
        # other screens start where they always did. Fleet tests pass first_screen=None (automatic).
        kw.setdefault("first_screen", "dashboard")
        return SyncopsConsole(store, config, **kw)

    return factory


async def settle(pilot: Any, rounds: int = 20) -> None:
    """Let thread workers finish and their results reach the screen (callbacks may start more work)."""
    app = pilot.app
    for _ in range(rounds):
        await pilot.pause()
        running = [w for w in app.workers if w.is_running]
        if not running:
            await pilot.pause()
            if not [w for w in app.workers if w.is_running]:
                return
        try:
            await app.workers.wait_for_complete()
        except (WorkerCancelled, WorkerFailed):  # superseded by newer work (exclusive groups)
            pass
    await pilot.pause()


def text_of(widget: Any) -> str:
    """The text a Static shows (plain text, Rich Text or highlighted code)."""
    content = widget.content
    code = getattr(content, "code", None)
    if code is not None:
        return code
    plain = getattr(content, "plain", None)
    return plain if plain is not None else str(content)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def screen_segments(app: Any) -> list[Any]:
    """The segments the terminal would get for the whole screen (line filters applied), as Rich renders them."""
    import io

    from rich.console import Console

    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True,
                      color_system="truecolor", record=True, legacy_windows=False, safe_box=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return [s for s in console._record_buffer if not s.control]


def screen_text(app: Any) -> str:
    """What a technician reads on the screen right now: the composited terminal, as plain text lines."""
    return "".join(s.text for s in screen_segments(app))


def screen_lines(app: Any) -> list[str]:
    return screen_text(app).split("\n")
