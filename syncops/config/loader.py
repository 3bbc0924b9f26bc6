"""``load_config(path)``: read, parse and validate a syncops YAML config in one pass."""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode

from .alerts import build_alerts
from .errors import ConfigError
from .parse import compose
from .reader import Reader, join, line_of
from .schema import RECONCILE_EVERY, Config, Schedule, Tenant, Webhooks
from .sections import build_endpoint, build_flow, build_schedule
from .valuemaps import build_maps

TOP_KEYS = ("store", "tenants", "alerts", "webhooks")
TENANT_KEYS = ("production", "break_glass", "endpoints", "flows", "maps", "reconcile", "alerts")
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


def load_config(path: str | os.PathLike[str], *, env: Mapping[str, str] | None = None,
                runnable: bool = False) -> Config:
    """Load and validate ``path``. Raises ConfigError listing every problem; never anything else for bad input.

    ``env`` replaces ``os.environ`` for ``${VAR}`` interpolation (tests, or a CLI that wants control).
    ``runnable`` also refuses flows (enabled or not) that no connector can run: `config validate`.
    """
    file = Path(path)
    label = str(path)
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{label}: config file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{label}: expected a config file, got a directory") from None
    except OSError as exc:
        raise ConfigError(f"{label}: cannot read config file ({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(f"{label}:{line}: (file): expected UTF-8 text, got an undecodable byte") from None

    root = compose(text, label)
    reader = Reader(label, os.environ if env is None else env)
    reader.check_runnable = runnable
    config = _build_config(reader, root, file.parent)
    if reader.errors:
        raise ConfigError(reader.errors)
    return dataclasses.replace(config, source_path=file.resolve())


def _build_config(r: Reader, root: Node | None, base_dir: Path) -> Config:
    if root is None:
        r.error_at(r.file, 1, "", "expected a mapping with a 'tenants:' key, got an empty file")
        return Config(store=None, tenants={})
    items = r.mapping(root, "", TOP_KEYS, what="a mapping with 'store:' and 'tenants:'", extensions=True)
    if items is None:
        return Config(store=None, tenants={})
    store = None
    if "store" in items:
        node = items["store"][1]
        store = r.text(node, "store", "a database URL")
        if store is not None and not _URL.match(store):
            r.error(node, "store", f"expected a database URL like sqlite:///path/to/syncops.db or postgresql+psycopg://host/db, got {store!r}")
    tenants: dict[str, Tenant] = {}
    if "tenants" not in items:
        r.error(root, "tenants", "expected required key 'tenants' (a mapping of tenant name: settings), got it missing")
    else:
        node = items["tenants"][1]
        entries = r.mapping(node, "tenants", what="a mapping of tenant name: settings") or {}
        if isinstance(node, MappingNode) and not node.value:
            r.error(node, "tenants", "expected at least one tenant, got none")
        for key, (key_node, value_node) in entries.items():
            path = join("tenants", key)
            name = r.name(key_node, path, "a tenant name")
            tenant = _build_tenant(r, key, value_node, path, base_dir)
            if name is not None and tenant is not None:
                tenants[name] = tenant
    alerts = build_alerts(r, items["alerts"][1], "alerts") if "alerts" in items else None
    webhooks = None
    if "webhooks" in items:
        from .webhooks import build_server

        webhooks = build_server(r, items["webhooks"][1], "webhooks")
    if webhooks is None and any(ep.webhook for t in tenants.values() for ep in t.endpoints.values()):
        webhooks = Webhooks()  # an endpoint wants webhooks: serve them on the default address
    return Config(store=store, tenants=tenants, alerts=alerts, webhooks=webhooks)


def _build_tenant(r: Reader, name: str, node: Node, path: str, base_dir: Path) -> Tenant | None:
    items = r.mapping(node, path, TENANT_KEYS, what="a tenant mapping (production, endpoints, flows, maps)")
    if items is None:
        return None
    production = False
    if "production" in items:
        production = r.boolean(items["production"][1], join(path, "production"))
    # Consoles open a break-glass tenant read-only; writes need `elevate` (syncops.services.breakglass).
    break_glass = r.boolean(items["break_glass"][1], join(path, "break_glass")) if "break_glass" in items else False
    reconcile: Schedule | None = Schedule(every=RECONCILE_EVERY)
    if "reconcile" in items:
        reconcile = _reconcile(r, items["reconcile"][1], join(path, "reconcile"))

    maps = build_maps(r, items["maps"][1], join(path, "maps"), base_dir) if "maps" in items else {}
    # Flow references are checked against declared names, even ones whose bodies failed validation,
    # so one broken map or endpoint does not cascade into an error on every flow that uses it.
    map_names = _declared(items.get("maps"))

    endpoints = {}
    if "endpoints" not in items:
        r.error(node, join(path, "endpoints"), "expected required key 'endpoints' (name: {kind, base_url, credential}), got it missing")
    else:
        ep_path = join(path, "endpoints")
        ep_items = r.mapping(items["endpoints"][1], ep_path, what="a mapping of endpoint name: settings") or {}
        for key, (key_node, value_node) in ep_items.items():
            sub = join(ep_path, key)
            ep_name = r.name(key_node, sub, "an endpoint name")
            endpoint = build_endpoint(r, name, key, value_node, sub)
            if ep_name is not None and endpoint is not None:
                endpoints[ep_name] = endpoint
    endpoint_names = _declared(items.get("endpoints"))

    flows = {}
    first_seen: dict[str, int] = {}
    if "flows" in items:
        fl_path = join(path, "flows")
        for index, flow_node in enumerate(r.sequence(items["flows"][1], fl_path, "a list of flows ('- name: ...' items)") or []):
            sub = join(fl_path, index)
            flow = build_flow(r, name, flow_node, sub, endpoint_names, map_names)
            if flow is None or flow.name is None:
                continue
            # The name may come from a "<<" merge; then point at the flow itself.
            name_node = next((v for k, v in flow_node.value if k.value == "name"), flow_node)
            if flow.name in first_seen:
                r.error(name_node, join(sub, "name"), f"expected flow names unique within tenant {name}, got {flow.name!r} again (first on line {first_seen[flow.name]})")
                continue
            first_seen[flow.name] = line_of(name_node)
            flows[flow.name] = flow
            _runnable(r, flow, flow_node, sub, endpoints)
    alerts = build_alerts(r, items["alerts"][1], join(path, "alerts")) if "alerts" in items else None
    return Tenant(name=name, production=production, endpoints=endpoints, flows=flows, mappings=maps,
                  reconcile=reconcile, alerts=alerts, break_glass=bool(break_glass))


def _reconcile(r: Reader, node: Node, path: str) -> Schedule | None:
    """`reconcile: {every: 15m}` or `{cron: "0 * * * *"}`; `reconcile: off` turns the job off."""
    if isinstance(node, ScalarNode):
        value = r.scalar(node, path, "a schedule or off")
        if value is not False:
            r.error(node, path, f"expected a schedule like {{every: 15m}} or {{cron: \"0 * * * *\"}}, or off, "
                                f"got {node.value!r}")
        return None
    return build_schedule(r, node, path)


def _runnable(r: Reader, flow: Any, node: Node, path: str, endpoints: dict[str, Any]) -> None:
    """A flow that no connector can run is an error now, not a refusal at engine start."""
    src, dst = endpoints.get(flow.source), endpoints.get(flow.target)
    if not getattr(r, "check_runnable", False) or flow.entity is None or src is None or dst is None \
            or None in (src.kind, dst.kind):
        return
    from syncops.connectors.registry import flow_problem

    problem = flow_problem(flow.entity, src.kind, dst.kind, flow.source, flow.target,
                           source_options=src.options, target_options=dst.options)
    if problem:
        entity_node = next((v for k, v in node.value if k.value == "entity"), node)
        r.error(entity_node, join(path, "entity"), f"expected an entity both endpoints support: {problem}")


def _declared(entry: tuple[Node, Node] | None) -> list[str]:
    """Keys of a mapping node without validating it (validation is reported elsewhere)."""
    if entry is None or not isinstance(entry[1], MappingNode):
        return []
    return [k.value for k, _ in entry[1].value if isinstance(k.value, str)]
