"""Builders for webhook intake settings: top-level `webhooks:` and per-endpoint `webhook:`.

    webhooks: {listen: 127.0.0.1:8787, max_body: 1MiB, tolerance: 5m}
    tenants: {acme: {endpoints: {pos: {kind: square, ..., webhook: {credential: keyring,
                                      notification_url: https://hooks.example.com/hooks/acme/pos}}}}}
"""

from __future__ import annotations

import re
from typing import Any, Callable
from urllib.parse import urlsplit

from yaml.nodes import Node, ScalarNode

from .reader import Reader, join
from .schema import BIGCOMMERCE_HOOK_HEADER, WEBHOOK_KINDS, EndpointWebhook, Webhooks

SERVER_KEYS = ("listen", "max_body", "tolerance")
ENDPOINT_HOOK_KEYS = ("credential", "notification_url", "header")
_LISTEN = re.compile(r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(?P<port>\d{1,5})\Z")
_SIZE = re.compile(r"(?P<n>\d+)\s*(?P<unit>B|KiB|MiB|KB|MB)?\Z")
_UNITS = {None: 1, "B": 1, "KiB": 1024, "KB": 1000, "MiB": 1024 * 1024, "MB": 1000 * 1000}
_HEADER = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+\Z")


def build_server(r: Reader, node: Node, path: str) -> Webhooks | None:
    items = r.mapping(node, path, SERVER_KEYS, what="a mapping (listen, max_body, tolerance)")
    if items is None:
        return None
    out = Webhooks()
    if "listen" in items:
        vnode = items["listen"][1]
        value = r.text(vnode, join(path, "listen"), "HOST:PORT", any_scalar=True)
        match = _LISTEN.match(value or "")
        if value is not None and (match is None or not 0 <= int(match["port"]) <= 65535):
            r.error(vnode, join(path, "listen"), f"expected HOST:PORT like 127.0.0.1:8787, got {value!r}")
        elif match is not None:
            out = Webhooks(host=match["host"].strip("[]"), port=int(match["port"]))
    max_body, tolerance = out.max_body, out.tolerance
    if "max_body" in items:
        vnode = items["max_body"][1]
        value = r.text(vnode, join(path, "max_body"), "a size", any_scalar=True)
        match = _SIZE.match((value or "").strip())
        size = int(match["n"]) * _UNITS[match["unit"]] if match else None
        if value is not None and (size is None or not 1024 <= size <= 64 * 1024 * 1024):
            r.error(vnode, join(path, "max_body"), f"expected a size between 1KiB and 64MiB like 1MiB, got {value!r}")
        elif size is not None:
            max_body = size
    if "tolerance" in items:
        seconds = r.duration(items["tolerance"][1], join(path, "tolerance"))
        if seconds is not None:
            tolerance = seconds
    return Webhooks(host=out.host, port=out.port, max_body=max_body, tolerance=tolerance)


def build_endpoint_webhook(r: Reader, node: Node, path: str, kind: str | None, base_url: str | None,
                           credential: Callable[..., str | None]) -> EndpointWebhook | None:
    if kind is not None and kind not in WEBHOOK_KINDS:
        r.error(node, path, f"expected webhooks only on {', '.join(WEBHOOK_KINDS)} endpoints, got kind {kind!r}")
        return None
    if isinstance(node, ScalarNode) and node.value in ("", "~", "null", "on", "true", "yes"):
        items: dict[str, Any] = {}  # `webhook: on` takes every default
    else:
        items = r.mapping(node, path, ENDPOINT_HOOK_KEYS, what="a mapping (credential, notification_url, header)")
        if items is None:
            return None
    cred = credential(r, items.get("credential"), join(path, "credential"), base_url)
    if cred is None:
        return None
    url = None
    if "notification_url" in items:
        vnode = items["notification_url"][1]
        if kind != "square":
            r.error(vnode, join(path, "notification_url"), "expected notification_url only on a square endpoint "
                    "(Square signs the URL with the body), got it on a " + str(kind))
        url = r.text(vnode, join(path, "notification_url"), "an http(s) URL")
        parts = urlsplit(url or "")
        if url is not None and (parts.scheme not in ("http", "https") or not parts.hostname or parts.password):
            r.error(vnode, join(path, "notification_url"), f"expected the http(s) URL of the Square subscription, "
                    f"got {url!r}")
            url = None
    header = BIGCOMMERCE_HOOK_HEADER
    if "header" in items:
        vnode = items["header"][1]
        value = r.text(vnode, join(path, "header"), "an HTTP header name")
        if kind != "bigcommerce":
            r.error(vnode, join(path, "header"), f"expected header only on a bigcommerce endpoint, got it on a {kind}")
        elif value is not None and not _HEADER.match(value):
            r.error(vnode, join(path, "header"), f"expected an HTTP header name like {BIGCOMMERCE_HOOK_HEADER}, "
                    f"got {value!r}")
        elif value is not None:
            header = value
    return EndpointWebhook(credential=cred, notification_url=url, header=header)
