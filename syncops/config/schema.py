"""Validated, immutable config objects (see /work/contract.md, Config section).

The loader is the only producer; everything else treats these as read-only facts. Dict fields stay plain
``dict`` (the contract and ``syncops.mapping`` expect dicts) - please do not mutate them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENDPOINT_KINDS = ("square", "shopify", "bigcommerce", "odoo", "amazon", "businesscentral", "woocommerce",
                  "netsuite", "files", "sftp", "rest")
# Drop folders: base_url is file:///folder or sftp://host:port/folder, options hold folders and layouts.
FOLDER_KINDS = ("files", "sftp")
FLOW_ENTITIES = ("inventory", "order", "return", "price", "product", "settlement")
MAPPING_ROLES = ("sku", "location", "tax_code", "order_status", "gl_account", "payment_method")
# Only the latest inventory level / price matters, so queued updates for the same key can be merged.
COALESCE_BY_DEFAULT = frozenset({"inventory", "price"})

# base_url / credential value meaning "the built-in simulator provides URL and auth at run time".
SIMULATOR = "simulator"
KEYRING = "keyring"
NO_SECRET = "none"  # a local `files` endpoint: the file system's permissions are its credential
ENV_PREFIX = "env:"
KEYRING_SERVICE = "syncops"


@dataclass(frozen=True)
class Schedule:
    every: float | None = None  # seconds between polls; exactly one of every/cron is set
    cron: str | None = None  # 5-field crontab expression
    timezone: str = "UTC"  # IANA zone the cron expression is evaluated in


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_delay: float = 1.0  # seconds, first backoff step
    max_delay: float = 300.0  # seconds, backoff cap


@dataclass(frozen=True)
class Endpoint:
    name: str
    kind: str  # one of ENDPOINT_KINDS
    base_url: str  # http(s) URL without trailing slash (file:/sftp: for drop folders), or SIMULATOR
    credential: str  # reference only: "keyring", "env:VAR" or "simulator"; never the secret itself
    options: dict[str, Any] = field(default_factory=dict)  # vendor-specific, e.g. odoo database, shopify api_version
    tenant: str = ""  # owning tenant, so the endpoint alone can name its keyring entry
    webhook: "EndpointWebhook | None" = None  # the endpoint pushes events to POST /hooks/<tenant>/<name>

    @property
    def is_simulated(self) -> bool:
        return self.base_url == SIMULATOR

    @property
    def credential_env(self) -> str | None:
        """Environment variable holding the secret, for ``credential: env:VAR``."""
        return self.credential[len(ENV_PREFIX) :] if self.credential.startswith(ENV_PREFIX) else None

    @property
    def keyring_user(self) -> str:
        """Keyring username for ``credential: keyring`` (service is KEYRING_SERVICE)."""
        return f"{self.tenant}/{self.name}"


# Vendors that sign their webhooks in a way syncops verifies (syncops/intake/verify.py).
WEBHOOK_KINDS = ("square", "shopify", "bigcommerce", "woocommerce")
WEBHOOK_LISTEN = "127.0.0.1:8787"
BIGCOMMERCE_HOOK_HEADER = "X-Syncops-Hook-Secret"


@dataclass(frozen=True)
class EndpointWebhook:
    """Per endpoint `webhook:`. The secret is a credential of its own (keyring user
    "<tenant>/<endpoint>/webhook", env SYNCOPS_SECRET_<TENANT>_<ENDPOINT>_WEBHOOK)."""

    credential: str = KEYRING  # "keyring", "env:VAR" or "simulator"
    # Square signs URL + body: the URL exactly as in the subscription. None = the URL syncops
    # listens on (only right without a reverse proxy in front).
    notification_url: str | None = None
    header: str = BIGCOMMERCE_HOOK_HEADER  # BigCommerce: the custom header carrying the shared secret


@dataclass(frozen=True)
class Webhooks:
    """Top-level `webhooks:`: the intake server (plain HTTP; TLS belongs to a reverse proxy)."""

    host: str = "127.0.0.1"
    port: int = 8787
    max_body: int = 1024 * 1024  # bytes; larger deliveries are refused with 413 before being read whole
    tolerance: float = 300.0  # seconds; a vendor timestamp older than this is stale (401)


@dataclass(frozen=True)
class Flow:
    name: str
    entity: str  # one of FLOW_ENTITIES
    source: str  # endpoint name in the same tenant
    target: str  # endpoint name in the same tenant
    schedule: Schedule
    sla: float  # seconds a record may take end to end before it counts as late
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    coalesce: bool = False
    mappings: dict[str, str] = field(default_factory=dict)  # role -> map name (role in MAPPING_ROLES)
    batch_size: int = 100
    enabled: bool = True
    tenant: str = ""


# Inventory reconciliation runs this often unless a tenant says otherwise (`reconcile:`).
RECONCILE_EVERY = 900.0


@dataclass(frozen=True)
class Tenant:
    name: str
    production: bool
    endpoints: dict[str, Endpoint]  # name -> Endpoint
    flows: dict[str, Flow]  # name -> Flow, in file order
    mappings: dict[str, dict[str, str]]  # map name -> {source value: target value}; YAML key is "maps"
    # When the engine reconciles this tenant's inventory flows; None = never on a schedule
    # (`reconcile: off`; `syncops reconcile inventory` still works on demand).
    reconcile: Schedule | None = field(default_factory=lambda: Schedule(every=RECONCILE_EVERY))
    alerts: Any = None  # syncops.config.alerts.AlertSpec: this tenant's `alerts:` (merged by effective_alerts)
    # Writes (console and CLI) refused until someone elevates with a reason, for a limited time.
    break_glass: bool = False


@dataclass(frozen=True)
class Config:
    store: str | None
    tenants: dict[str, Tenant]  # name -> Tenant, in file order
    source_path: Path | None = None
    alerts: Any = None  # syncops.config.alerts.AlertSpec: the fleet-wide `alerts:` section
    # The intake server's settings; None when no endpoint has `webhook:` (nothing to serve).
    webhooks: Webhooks | None = None

    def iter_flows(self) -> Iterator[tuple[Tenant, Flow]]:
        for tenant in self.tenants.values():
            for flow in tenant.flows.values():
                yield tenant, flow
