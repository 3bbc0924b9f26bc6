"""Builders for the per-tenant sections: endpoints, flows and their schedule/retry blocks."""

from __future__ import annotations

import re
from collections.abc import Collection
from urllib.parse import urlsplit

from yaml.nodes import MappingNode, Node

from .durations import DurationError, parse_duration
from .reader import Reader, join, suggest
from .schema import (
    COALESCE_BY_DEFAULT,
    ENDPOINT_KINDS,
    ENV_PREFIX,
    FLOW_ENTITIES,
    FOLDER_KINDS,
    KEYRING,
    MAPPING_ROLES,
    NO_SECRET,
    SIMULATOR,
    Endpoint,
    Flow,
    RetryPolicy,
    Schedule,
)

ENDPOINT_KEYS = ("kind", "base_url", "credential", "options", "webhook")
FLOW_KEYS = ("name", "entity", "source", "target", "schedule", "sla", "retry", "coalesce", "mappings", "batch_size", "enabled")
SCHEDULE_KEYS = ("every", "cron", "timezone")
RETRY_KEYS = ("max_attempts", "base_delay", "max_delay")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _missing(r: Reader, node: Node, path: str, items: dict, required: dict[str, str]) -> None:
    for key, example in required.items():
        if key not in items:
            r.error(node, join(path, key), f"expected required key {key!r} (e.g. {example}), got it missing")


def _choice(r: Reader, node: Node, path: str, what: str, choices: Collection[str]) -> str | None:
    value = r.text(node, path, what)
    if value is not None and value not in choices:
        r.error(node, path, f"expected {what}: one of {', '.join(choices)}, got {value!r}{suggest(value, choices)}")
        return None
    return value


# -- endpoints -----------------------------------------------------------------------------------


def build_endpoint(r: Reader, tenant: str, name: str, node: Node, path: str) -> Endpoint | None:
    items = r.mapping(node, path, ENDPOINT_KEYS, what="an endpoint mapping (kind, base_url, credential)")
    if items is None:
        return None
    _missing(r, node, path, items, {"kind": "kind: shopify", "base_url": "base_url: https://shop.example.com"})
    kind = _choice(r, items["kind"][1], join(path, "kind"), "an endpoint kind", ENDPOINT_KINDS) if "kind" in items else None
    base_url = _base_url(r, items["base_url"][1], join(path, "base_url"), kind) if "base_url" in items else None
    credential = _credential(r, items.get("credential"), join(path, "credential"), base_url, kind)
    options = r.plain(items["options"][1], join(path, "options")) if "options" in items else {}
    if options is not None and not isinstance(options, dict):
        r.error(items["options"][1], join(path, "options"), "expected a mapping of vendor options, got a single value")
    elif options and "max_wait" in options:
        _max_wait(r, items["options"][1], join(join(path, "options"), "max_wait"), options["max_wait"])
    if kind in FOLDER_KINDS and options is not None and isinstance(options, dict):
        _folder_options(r, items["options"][1] if "options" in items else node, join(path, "options"), options, kind)
    if kind == "rest" and (options is None or isinstance(options, dict)):
        # Lazy: compiles JMESPath and reads the canonical models only for rest endpoints.
        from .rest_spec import check_rest_options

        check_rest_options(r, items["options"][1] if "options" in items else None, join(path, "options"),
                           options, node)
    webhook = None
    if "webhook" in items:
        from .webhooks import build_endpoint_webhook

        webhook = build_endpoint_webhook(r, items["webhook"][1], join(path, "webhook"), kind, base_url, _credential)
    return Endpoint(name=name, kind=kind, base_url=base_url, credential=credential, options=options or {}, tenant=tenant,
                    webhook=webhook)


def _max_wait(r: Reader, node: Node, path: str, value: object) -> None:
    """The longest wait a vendor's Retry-After or quota signal may impose on this endpoint."""
    try:
        seconds = parse_duration(value)  # type: ignore[arg-type]
    except DurationError as exc:
        r.error(node, path, str(exc))
        return
    if not 1 <= seconds <= 86400:
        r.error(node, path, f"expected max_wait between 1s and 1d, got {value!r}")


def _folder_options(r: Reader, node: Node, path: str, options: dict, kind: str) -> None:
    """Folders and column layouts of a drop folder (files / sftp), checked where they are written."""
    from .file_layout import LayoutProblem, parse_options

    try:
        parse_options(options, kind)
    except LayoutProblem as exc:
        target, sub, walking = node, path, True
        for key in exc.keys:  # walk to the offending key's node, for its line; a missing key: its parent's
            found = [v for k, v in target.value if getattr(k, "value", None) == str(key)] \
                if walking and isinstance(target, MappingNode) else []
            if found:
                target = found[0]
            walking = bool(found)
            sub = join(sub, key)
        r.error(target, sub, exc.message)


def _folder_url(r: Reader, node: Node, path: str, value: str, kind: str) -> str | None:
    """files: file:///absolute/folder; sftp: sftp://host[:port]/folder (no user, no password)."""
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        parts, port = None, None
    scheme = "file" if kind == "files" else "sftp"
    if parts is not None and (parts.password is not None or parts.username is not None):
        r.error(node, path, "expected a URL without user or password (username goes in options, the secret in "
                "`credential:`), got one with user@ (not shown)")
        return None
    ok = parts is not None and parts.scheme == scheme and parts.path.startswith("/") and (
        not parts.netloc if kind == "files" else bool(parts.hostname))
    if not ok:
        example = "file:///srv/syncops/acme-pos" if kind == "files" else "sftp://sftp.3pl.example.com:22/acme"
        r.error(node, path, f"expected a {scheme}: URL like {example} or 'simulator', got {value!r}")
        return None
    del port
    return value.rstrip("/") if parts.path != "/" else value


def _base_url(r: Reader, node: Node, path: str, kind: str | None = None) -> str | None:
    value = r.text(node, path, "an http(s) URL or 'simulator'")
    if kind in FOLDER_KINDS and value == SIMULATOR:
        # The simulated world serves HTTP vendors only; a scratch folder is as easy to point at.
        r.error(node, path, f"expected a {'file:' if kind == 'files' else 'sftp:'} URL: a {kind} endpoint has no "
                "built-in simulator (point it at a scratch folder, or syncops.simulator.sftp for SFTP)")
        return None
    if value is None or value == SIMULATOR:
        return value
    if kind in FOLDER_KINDS:
        return _folder_url(r, node, path, value, kind)
    try:
        parts = urlsplit(value)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        has_password = parts.password is not None
        parts.port  # raises ValueError for a non-numeric port
    except ValueError:
        ok, has_password = False, False
    if has_password:
        # Never echo it: a URL with user:password@ carries a secret.
        r.error(node, path, "expected a URL without a password (use `credential:`), got a URL with user:password@ (not shown)")
        return None
    if not ok:
        r.error(node, path, f"expected an http(s) URL like https://example.myshopify.com or 'simulator', got {value!r}")
        return None
    return value.rstrip("/")  # connectors join paths onto it


def _credential(r: Reader, entry: tuple[Node, Node] | None, path: str, base_url: str | None,
                kind: str | None = None) -> str | None:
    if entry is None:
        # The simulator needs no secret, so it would be odd to demand a keyring entry for it;
        # nor does a local drop folder (the file system's permissions guard it).
        if kind == "files":
            return NO_SECRET
        return SIMULATOR if base_url == SIMULATOR else KEYRING
    node = entry[1]
    value = r.text(node, path, "a credential reference")
    if value is None:
        return None
    if value == KEYRING:
        return value
    if value == NO_SECRET:
        if kind != "files":
            r.error(node, path, "expected 'keyring' or 'env:VARNAME': only a local `files` endpoint needs no secret")
            return None
        return value
    if value == SIMULATOR:
        if base_url not in (SIMULATOR, None):
            r.error(node, path, "expected credential 'keyring' or 'env:VARNAME' for a real URL, got 'simulator' (only valid with base_url: simulator)")
            return None
        return value
    if value.startswith(ENV_PREFIX):
        var = value[len(ENV_PREFIX) :]
        if _ENV_NAME.match(var):
            return value
        r.error(node, path, f"expected env:VARNAME with VARNAME of letters, digits and _, got {value!r}")
        return None
    # Whatever this is might be a pasted token, so it is deliberately not echoed back.
    hint = suggest(value, (KEYRING, SIMULATOR)) if len(value) <= 12 else ""
    r.error(
        node, path,
        "expected a credential reference: 'keyring' (default; set it with `syncops creds set`), 'env:VARNAME' "
        f"or 'simulator', got something else (value not shown in case it is a secret){hint}",
    )
    return None


# -- flows ---------------------------------------------------------------------------------------


def build_flow(
    r: Reader, tenant: str, node: Node, path: str, endpoints: Collection[str], maps: Collection[str]
) -> Flow | None:
    items = r.mapping(node, path, FLOW_KEYS, what="a flow mapping (name, entity, source, target, schedule, sla)")
    if items is None:
        return None
    _missing(r, node, path, items, {
        "name": "name: inventory-pos-to-web", "entity": "entity: inventory", "source": "source: pos",
        "target": "target: web", "schedule": "schedule: {every: 30s}", "sla": "sla: 15m",
    })

    def get(key, build, *args, default=None):
        return build(r, items[key][1], join(path, key), *args) if key in items else default

    name = get("name", Reader.name, "a flow name")
    entity = get("entity", _choice, "an entity", FLOW_ENTITIES)
    source = get("source", _endpoint_ref, tenant, endpoints)
    target = get("target", _endpoint_ref, tenant, endpoints)
    if source is not None and source == target:
        r.error(items["target"][1], join(path, "target"), f"expected a target endpoint different from the source, got {target!r} for both")
    schedule = get("schedule", build_schedule)
    sla = get("sla", Reader.duration)
    retry = get("retry", build_retry, default=RetryPolicy())
    coalesce = get("coalesce", Reader.boolean, default=entity in COALESCE_BY_DEFAULT)
    mappings = get("mappings", _roles, maps, entity, default={})
    batch_size = get("batch_size", Reader.integer, 1, 1000, default=100)
    enabled = get("enabled", Reader.boolean, default=True)
    return Flow(
        name=name, entity=entity, source=source, target=target, schedule=schedule, sla=sla, retry=retry,
        coalesce=coalesce, mappings=mappings, batch_size=batch_size, enabled=enabled, tenant=tenant,
    )


def _endpoint_ref(r: Reader, node: Node, path: str, tenant: str, endpoints: Collection[str]) -> str | None:
    value = r.text(node, path, "an endpoint name")
    if value is not None and value not in endpoints:
        known = ", ".join(endpoints) or "none defined"
        r.error(node, path, f"expected an endpoint of tenant {tenant} ({known}), got {value!r}{suggest(value, endpoints)}")
        return None
    return value


def _roles(r: Reader, node: Node, path: str, maps: Collection[str], entity: str | None) -> dict[str, str]:
    roles: dict[str, str] = {}
    items = r.mapping(node, path, MAPPING_ROLES, what="a mapping of role: map name (e.g. sku: pos_to_web_sku)") or {}
    applicable = _applicable_roles(entity)
    for role, (key_node, value_node) in items.items():
        sub = join(path, role)
        if applicable is not None and role not in applicable:
            # A role with no fields in this entity would be silently ignored at run time.
            r.error(key_node, sub, f"expected a role used by {entity} records ({', '.join(applicable) or 'none'}), got {role!r}")
            continue
        map_name = r.text(value_node, sub, "a map name")
        if map_name is None:
            continue
        if map_name not in maps:
            known = ", ".join(maps) or "none defined"
            r.error(value_node, sub, f"expected a map defined under this tenant's maps ({known}), got {map_name!r}{suggest(map_name, maps)}")
            continue
        roles[role] = map_name
    return roles


def _applicable_roles(entity: str | None) -> tuple[str, ...] | None:
    if entity is None:
        return None
    # Lazy: syncops.mapping owns which fields each role rewrites, and pulls in pydantic models.
    from syncops.mapping import roles_for

    return roles_for(entity)


def build_schedule(r: Reader, node: Node, path: str) -> Schedule | None:
    items = r.mapping(node, path, SCHEDULE_KEYS, what="a schedule mapping ({every: 30s} or {cron: \"0 2 * * *\"})")
    if items is None:
        return None
    if ("every" in items) == ("cron" in items):
        got = "both" if "every" in items else "neither"
        r.error(node, path, f"expected exactly one of 'every: <duration>' or 'cron: \"<5 fields>\"', got {got}")
        return None
    timezone = _timezone(r, items["timezone"][1], join(path, "timezone")) if "timezone" in items else "UTC"
    if "every" in items:
        return Schedule(every=r.duration(items["every"][1], join(path, "every")), timezone=timezone)
    return Schedule(cron=_cron(r, items["cron"][1], join(path, "cron")), timezone=timezone)


def _cron(r: Reader, node: Node, path: str) -> str | None:
    expr = r.text(node, path, "a cron expression")
    if expr is None:
        return None
    fields = expr.split()
    if len(fields) != 5:
        r.error(node, path, f"expected a cron expression with 5 fields (minute hour day month weekday), got {len(fields)} in {expr!r}")
        return None
    # Lazy: apscheduler is only needed here and by the engine; keep config import cheap.
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(expr, timezone="UTC")
    except ValueError as exc:
        r.error(node, path, f"expected a valid cron expression, got {expr!r} ({exc})")
        return None
    return " ".join(fields)


def _timezone(r: Reader, node: Node, path: str) -> str | None:
    import zoneinfo

    name = r.text(node, path, "a timezone")
    if name is None:
        return None
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        hint = suggest(name, zoneinfo.available_timezones())
        r.error(node, path, f"expected an IANA timezone like Europe/Berlin or UTC, got {name!r}{hint}")
        return None
    return name


def build_retry(r: Reader, node: Node, path: str) -> RetryPolicy | None:
    items = r.mapping(node, path, RETRY_KEYS, what="a retry mapping (max_attempts, base_delay, max_delay)")
    if items is None:
        return None
    default = RetryPolicy()
    max_attempts = r.integer(items["max_attempts"][1], join(path, "max_attempts"), 1) if "max_attempts" in items else default.max_attempts
    base = r.duration(items["base_delay"][1], join(path, "base_delay"), positive=False) if "base_delay" in items else default.base_delay
    cap = r.duration(items["max_delay"][1], join(path, "max_delay")) if "max_delay" in items else default.max_delay
    if base is not None and cap is not None and base > cap:
        where = items.get("base_delay", items.get("max_delay"))[1]
        r.error(where, join(path, "base_delay"), f"expected base_delay <= max_delay ({cap:g}s), got {base:g}s")
    return RetryPolicy(max_attempts=max_attempts, base_delay=base, max_delay=cap)
