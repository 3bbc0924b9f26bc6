"""A tiny threaded HTTP/1.1 server that hosts one simulated vendor on 127.0.0.1.

Standard library only, so the simulator adds no dependency; keep-alive on, because the
connectors reuse connections and a fake that closes every socket would hide bugs.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)


@dataclass
class Response:
    status: int = 200
    body: Any = None  # dict/list -> JSON; bytes/str sent as is
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    drop_connection: bool = False  # simulate a reset mid-request

    def encoded(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body, separators=(",", ":")).encode()


def json_response(body: Any, status: int = 200, **headers: str) -> Response:
    return Response(status=status, body=body, headers=dict(headers))


class VendorApp(Protocol):
    name: str

    def handle(self, request: Request) -> Response: ...


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, every keep-alive
    # request stalls ~40 ms waiting for the client's delayed ACK.
    disable_nagle_algorithm = True
    server: "_Server"

    def date_time_string(self, timestamp: float | None = None) -> str:
        # An app that says so dates its answers on its own (possibly injected) clock.
        app = self.server.app
        if timestamp is None and getattr(app, "date_from_clock", False):
            timestamp = app.clock()
        return super().date_time_string(timestamp)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # the simulator must not scribble over the console or test output

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        try:
            response = self.server.respond(request)
        except Exception as exc:  # a bug in the fake must look like a vendor 500, not hang the client
            response = Response(500, {"error": f"simulator error: {exc!r}"})
        if response.drop_connection:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        payload = response.encoded()
        self.send_response(response.status)
        if payload or response.status != 204:
            self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if payload:
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: VendorApp) -> None:
        self.app = app
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client killed mid-connection (the soak SIGKILLs engines) resets its sockets: that is
        # the client's news, not a simulator failure worth a traceback on stderr.
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    def respond(self, request: Request) -> Response:
        """The simulator's own /_sim/ endpoints, else the vendor app wrapped in the wire faults
        (the same for every vendor; see wire_faults.py for which come before the app)."""
        from syncops.simulator import sim_api, wire_faults  # they import this module

        if request.path.startswith(sim_api.PREFIX):
            return sim_api.handle(self.app, request)
        faults = getattr(self.app, "faults", None)
        if faults is None:  # a test double without fault switches
            return self.app.handle(request)
        early = wire_faults.before_app(faults, request)
        if early is not None:
            return early
        return wire_faults.after_app(faults, request, self.app.handle(request))


class SimServer:
    """Runs a VendorApp on 127.0.0.1 in a background thread.

    `go_down()` closes the listening socket so new connections are refused (a real
    outage looks like that), and `come_up()` listens again on the same port.
    """

    def __init__(self, app: VendorApp, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.host = host
        self.port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def is_up(self) -> bool:
        return self._server is not None

    def start(self) -> "SimServer":
        self._server = _Server((self.host, self.port), self.app)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
            name=f"sim-{self.app.name}", daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None

    def go_down(self) -> None:
        self.stop()

    def come_up(self) -> None:
        # The old socket may linger briefly in the kernel; retry the bind for a moment.
        for _ in range(50):
            try:
                self.start()
                return
            except OSError:
                time.sleep(0.02)
        self.start()

    def __enter__(self) -> "SimServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
