"""The engine as the soak runs it, in its own process so it can be SIGKILLed:

    python -m syncops.soak.child CONFIG STORE_URL URLS_JSON OPTIONS_JSON

Prints "started" on stdout once the engine runs (the harness starts its kill timer then);
exits 3 with "refused: ..." on stderr when the store's single-engine guard refuses it; SIGTERM
stops it gracefully (exit 0). Its event log goes to stderr, which the harness keeps in a file.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys

REFUSED = 3


async def main(config_path: str, store_url: str, urls_json: str, options_json: str) -> int:
    from syncops.config import load_config
    from syncops.engine.events import EventLog
    from syncops.engine.runtime import Engine, EngineError
    from syncops.store.control import EngineAlreadyRunning
    from syncops.store.db import open_store

    urls = {tuple(k.split("/", 1)): v for k, v in json.loads(urls_json).items()}
    engine = Engine(load_config(config_path), open_store(store_url), url_overrides=urls, log=EventLog(),
                    mode="service", retention_days=None, **json.loads(options_json))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await engine.start()
    except (EngineError, EngineAlreadyRunning) as exc:
        print(f"refused: {exc}", file=sys.stderr, flush=True)
        return REFUSED
    print("started", flush=True)
    await stop.wait()
    await engine.stop(deadline=5)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(*sys.argv[1:5])))
