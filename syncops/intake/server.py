"""Run the intake app on uvicorn inside the engine's own asyncio loop.

The socket is bound here (a clear error for a port in use, port 0 for tests), uvicorn serves it
as a task of the running loop, and the engine's signal handling stays the engine's: uvicorn's
own is switched off. Plain HTTP on 127.0.0.1 by default; TLS belongs to a reverse proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from typing import Any, Iterator

import uvicorn

from syncops.connectors import credentials
from syncops.intake.app import build_app
from syncops.intake.receiver import Hook, Receiver


class IntakeError(Exception):
    pass


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # the engine owns SIGTERM/SIGINT
        yield


def _quiet_uvicorn() -> None:
    # Never scribble on the console's screen; refusals and errors go to the engine's event log.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [logging.NullHandler()]
        logger.propagate = False


def hooks_for(config: Any, get_secret: Any = None) -> dict[tuple[str, str], Hook]:
    """Every endpoint with `webhook:`, with its signing secret from the credential store."""
    fetch = get_secret or credentials.get_webhook_secret
    out = {}
    for tname, tenant in config.tenants.items():
        for ename, ep in tenant.endpoints.items():
            if ep.webhook is None:
                continue
            secret = fetch(tname, ename, ep.webhook.credential)
            out[(tname, ename)] = Hook(tenant=tname, endpoint=ename, kind=ep.kind, secret=secret,
                                       notification_url=ep.webhook.notification_url, header=ep.webhook.header)
    return out


class IntakeServer:
    def __init__(self, engine: Any, settings: Any, *, get_secret: Any = None, listen: str | None = None) -> None:
        self.engine = engine
        self.settings = settings
        host, port = settings.host, settings.port
        if listen:  # override (tests, bench): "HOST:PORT", port 0 = any free port
            host, _, p = listen.rpartition(":")
            port = int(p)
        self.host, self.port = host.strip("[]"), port
        self.receiver = Receiver(engine, hooks_for(engine.config, get_secret), max_body=settings.max_body,
                                 tolerance=settings.tolerance, clock=engine.store.clock)
        self._server: _Server | None = None
        self._task: asyncio.Task | None = None
        self._flusher: asyncio.Task | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def hook_url(self, tenant: str, endpoint: str) -> str:
        return f"{self.url}/hooks/{tenant}/{endpoint}"

    async def start(self) -> None:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            raise IntakeError(f"webhooks: cannot listen on {self.host}:{self.port}: {exc.strerror or exc}") from None
        sock.listen(128)
        sock.setblocking(False)
        self.port = sock.getsockname()[1]
        for hook in self.receiver.hooks.values():
            if hook.kind == "square" and not hook.notification_url:
                hook.notification_url = self.hook_url(hook.tenant, hook.endpoint)
        await asyncio.to_thread(self.receiver.counters.load, list(self.receiver.hooks))
        _quiet_uvicorn()
        config = uvicorn.Config(build_app(self.receiver, self.engine), log_config=None, access_log=False,
                                lifespan="off", http="h11", timeout_graceful_shutdown=2, server_header=False)
        self._server = _Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name="webhooks")
        while not self._server.started and not self._task.done():
            await asyncio.sleep(0.005)
        if self._task.done():
            sock.close()
            exc = self._task.exception()
            raise IntakeError(f"webhooks: the server did not start: {exc!r}")
        self._flusher = asyncio.create_task(self._flush_every(1.0), name="webhook counters")
        self.engine.log("webhooks_listening", url=self.url, hooks=len(self.receiver.hooks))

    async def _flush_every(self, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            await self.receiver.flush()

    async def stop(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._flusher
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout=3)
            except (asyncio.TimeoutError, Exception):
                self._server.force_exit = True
                self._task.cancel()
                with contextlib.suppress(BaseException):
                    await self._task
        await self.receiver.flush()
