"""Alerting and operations fixtures: a config with alert channels, a 127.0.0.1 receiver for apprise."""

from __future__ import annotations

import http.server
import json
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from syncops.config import load_config

HOOK = "import sys, pathlib; pathlib.Path(sys.argv[1]).open('a').write(sys.stdin.read().replace(chr(10), ' ') + chr(10))"

CONFIG = """\
tenants:
  acme:
    endpoints:
      pos: {kind: square, base_url: simulator}
      shop: {kind: shopify, base_url: simulator}
    flows:
      - {name: orders, entity: order, source: pos, target: shop, schedule: {every: 30s}, sla: 60s}
alerts:
  renotify: 1h
  notify:
    - apprise: "json://127.0.0.1:${PORT}/hook/${HOOK_TOKEN}"
    - command: [@PYTHON@, "-c", @HOOK@, @OUT@]
  rules:
    heartbeat_missing: off
    oldest_waiting: off
"""


class Receiver:
    def __init__(self) -> None:
        self.posts: list[dict] = []
        got = self.posts

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                got.append(json.loads(body or b"{}"))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *a):  # quiet
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def write_config(tmp_path: Path, port: int, extra: str = "") -> tuple[Path, Path, dict]:
    out = tmp_path / "hook.jsonl"
    text = (CONFIG.replace("@PYTHON@", json.dumps(sys.executable)).replace("@HOOK@", json.dumps(HOOK))
            .replace("@OUT@", json.dumps(str(out))) + textwrap.dedent(extra))
    path = tmp_path / "config.yaml"
    path.write_text(text)
    env = {"PORT": str(port), "HOOK_TOKEN": "tok-SECRET-4711"}
    return path, out, env


@pytest.fixture
def alert_config(tmp_path, receiver):
    path, out, env = write_config(tmp_path, receiver.port)
    return load_config(path, env=env), out
