"""`syncops` (no command) and `syncops console [--attach]`: open the operations console.

Textual is imported here, inside the function, so the rest of the CLI stays instant.
"""

from __future__ import annotations

import argparse
from typing import Any, Callable


def run(args: argparse.Namespace, *, engine_factory: Callable[[Any], Any] | None = None) -> int:
    """Open the console on the resolved store.

    `engine_factory(ctx)` builds an engine (async start()/stop(), host, pid) to embed; it is
    used only when not attaching (--attach) and no live engine heartbeat is on the store,
    so two engines never work the same store from one technician's session.
    """
    from syncops.cli.context import open_context
    from syncops.store.queries import live_engine

    ctx = open_context(args, create=True)
    try:
        engine = None
        attach = bool(getattr(args, "attach", False))
        if engine_factory is None and ctx.config is not None and any(t.flows for t in ctx.config.tenants.values()):
            engine_factory = embedded_engine
        if engine_factory is not None and not attach and live_engine(ctx.store) is None:
            engine = engine_factory(ctx)
        from syncops.console.app import SyncopsConsole

        app = SyncopsConsole(ctx.store, ctx.config, read_only=bool(getattr(args, "read_only", False)),
                             theme=getattr(args, "theme", None), engine=engine)
        app.run()
        return app.return_code or 0
    finally:
        ctx.store.close()


def embedded_engine(ctx: Any) -> Any:
    """The engine for `syncops` on a shop PC: same process, events to a log file.

    stderr is the console's screen, so the engine writes its one-line events to
    syncops-engine.log in the user log directory (see `syncops locate`).
    """
    from pathlib import Path

    import platformdirs

    from syncops.engine.events import EventLog
    from syncops.engine.logfile import open_private_log
    from syncops.engine.runtime import Engine

    folder = Path(platformdirs.user_log_dir("syncops"))
    log = EventLog(open_private_log(folder / "syncops-engine.log", own_dir=True))
    return Engine(ctx.config, ctx.store, log=log, mode="embedded")
