"""A whole simulated retail world built from a config: one vendor app per `base_url: simulator`
endpoint, each on its own 127.0.0.1 port, with catalogs, locations and taxes that match the
tenant's flows and value maps.

Alignment is read off the maps, because they are written in each vendor's own vocabulary: the
left side of a flow's SKU map is what its source sells, the right side what its target carries;
the same for locations (Square location ids on the left, Shopify location names or Odoo stock
locations on the right) and tax codes (Square's tax catalog id or Shopify's tax title on the
left, Odoo tax names such as "Tax 8.25%" on the right). A SKU the source sells but a map leaves
out is still stocked at the target under the same name, so that the operator's mapping fix
(add the entry, release) actually delivers.
"""

from __future__ import annotations

import re
import time
import zlib
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable

from syncops.simulator.activity import Activity, Profile, get_profile
from syncops.simulator.faults import FaultPlan, Faults
from syncops.simulator.http import SimServer

WEB_LOCATION = "web"
DEFAULT_TAX = "Tax 8.25%"
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*%")


def catalog_price(sku: str) -> Decimal:
    """One list price per SKU shared by every simulated system (stable across runs)."""
    return Decimal(f"{14 + zlib.crc32(sku.encode()) % 70}.99")


def tax_percentage(name: str, default: str = "0") -> Decimal:
    match = _PERCENT.search(name)
    return Decimal(match.group(1)) if match else Decimal(default)


@dataclass
class _Spec:
    """What one simulated endpoint must contain to serve its tenant's flows."""

    kind: str
    options: dict[str, Any]
    skus: dict[str, None] = field(default_factory=dict)  # ordered set
    locations: dict[str, None] = field(default_factory=dict)
    taxes_out: dict[str, None] = field(default_factory=dict)  # tax codes this endpoint sends
    taxes_in: dict[str, None] = field(default_factory=dict)  # tax names this endpoint must know
    tax_targets: dict[str, str] = field(default_factory=dict)  # code it sends -> name at the target
    accounts: dict[str, str] = field(default_factory=dict)  # ledger account code -> what posts there
    journals: dict[str, None] = field(default_factory=dict)  # payment journals the payment maps name


def _plan(profile: Profile, kind: str) -> FaultPlan:
    return FaultPlan(**profile.faults.get(kind, {}))


class World:
    """Simulated vendors for every simulator endpoint of a config, plus their activity.

    `apps[(tenant, endpoint)]` are the vendor apps (inspect their state in tests),
    `url_overrides` goes to `Engine(url_overrides=...)`, `urls` is for printing.
    """

    def __init__(self, config: Any, *, profile: str | Profile = "demo", clock: Callable[[], float] = time.time,
                 seed: int = 7) -> None:
        self.config = config
        self.profile = get_profile(profile)
        self.clock = clock
        self.seed = seed
        self.apps: dict[tuple[str, str], Any] = {}
        self.kinds: dict[tuple[str, str], str] = {}
        self.servers: dict[tuple[str, str], SimServer] = {}
        self.started_at = clock()
        self._catalogs: dict[int, list[str]] = {}
        self._specs: dict[tuple[str, str], _Spec] = {}
        for tname, tenant in config.tenants.items():
            self._specs.update(self._align(tname, tenant))
        for n, (key, spec) in enumerate(self._specs.items()):
            faults = Faults(_plan(self.profile, spec.kind), seed=seed + n, clock=clock)
            self.apps[key] = self._build(spec, faults, seed + n)
            self.kinds[key] = spec.kind
        self.tenants = sorted({t for t, _ in self.apps})
        self.activity = Activity(self, self.profile, seed=seed)

    # ------------------------------------------------------------------ alignment

    def _align(self, tname: str, tenant: Any) -> dict[tuple[str, str], _Spec]:
        specs = {(tname, name): _Spec(ep.kind, dict(ep.options or {}))
                 for name, ep in tenant.endpoints.items() if ep.is_simulated}
        flows = [f for f in tenant.flows.values() if getattr(f, "enabled", True)]
        maps = tenant.mappings

        def side(endpoint: str) -> _Spec | None:
            return specs.get((tname, endpoint))

        for flow in flows:
            src, dst = side(flow.source), side(flow.target)
            for role, map_name in flow.mappings.items():
                values = maps.get(map_name, {})
                for left, right in values.items():
                    if role == "sku":
                        if src:
                            src.skus[left] = None
                        if dst:
                            dst.skus[right] = None
                    elif role == "location":
                        if src:
                            src.locations[left] = None
                        if dst:
                            dst.locations[right] = None
                    elif role == "payment_method":
                        if dst:
                            dst.journals[right] = None
                    elif role == "tax_code":
                        if src:
                            src.taxes_out[left] = None
                            src.tax_targets.setdefault(left, right)
                        if dst:
                            dst.taxes_in[right] = None
                    elif role == "gl_account" and dst:
                        # The ERP's chart holds every account code the payout map posts to.
                        dst.accounts[right] = left.title()
        # What a source sells but a map leaves out: stocked at the target under its own name.
        for flow in flows:
            src, dst = side(flow.source), side(flow.target)
            if src and dst and "sku" in flow.mappings:
                mapped = maps.get(flow.mappings["sku"], {})
                for sku in src.skus:
                    if sku not in mapped:
                        dst.skus[sku] = None
        # Web orders may sell anything the tenant sells anywhere.
        everything = {s: None for spec in specs.values() for s in spec.skus}
        for spec in specs.values():
            if spec.kind in ("shopify", "bigcommerce", "amazon", "woocommerce") and not spec.skus:
                spec.skus.update(everything)
        return specs

    def _build(self, spec: _Spec, faults: Faults, seed: int) -> Any:
        skus = list(spec.skus) or ["TSHIRT-RED-M", "MUG-WHITE"]
        prices = {sku: catalog_price(sku) for sku in skus}
        if spec.kind == "square":
            from syncops.simulator.square import TAX_ID, SquareApp

            # Square ids its single sales tax by catalog object id; its rate follows the ERP tax it maps to.
            target_tax = spec.tax_targets.get(TAX_ID, DEFAULT_TAX)
            app = SquareApp(faults, self.clock, skus=skus, locations=list(spec.locations) or ["L1STORE"],
                            initial_qty=20, prices={s: int(p * 100) for s, p in prices.items()},
                            tax_percentage=str(tax_percentage(target_tax, "8.25")), seed=seed)
        elif spec.kind == "shopify":
            from syncops.simulator.shopify import ShopifyApp

            web = str(spec.options.get("order_location") or WEB_LOCATION)
            locations = list(dict.fromkeys([*spec.locations, web]))
            title = next(iter(spec.taxes_out), "Sales Tax")
            rate = tax_percentage(spec.tax_targets.get(title, DEFAULT_TAX), "8.25") / 100
            app = ShopifyApp(faults, self.clock, skus={s: str(p) for s, p in prices.items()}, locations=locations,
                             stock={(s, web): 40 for s in skus}, web_location=web, tax_title=title, tax_rate=rate,
                             shop_name=str(spec.options.get("shop_name", "syncops-demo")))
        elif spec.kind == "odoo":
            from syncops.simulator.odoo import DEFAULT_JOURNALS, OdooApp

            taxes = {name: str(tax_percentage(name)) for name in spec.taxes_in} or {DEFAULT_TAX: "8.25"}
            locations = list(dict.fromkeys([*spec.locations, "WH/Stock"]))
            app = OdooApp(faults, self.clock, skus={s: str(p) for s, p in prices.items()}, locations=locations,
                          taxes=taxes, database=spec.options.get("database"), accounts=spec.accounts,
                          journals={**DEFAULT_JOURNALS, **{name: "bank" for name in spec.journals}})
        elif spec.kind == "bigcommerce":
            from syncops.simulator.bigcommerce import BigCommerceApp

            locations = list(dict.fromkeys([*spec.locations, WEB_LOCATION]))
            app = BigCommerceApp(faults, self.clock, skus={s: str(p) for s, p in prices.items()},
                                 locations=locations, store_hash=str(spec.options.get("store_hash", "sim123")))
        elif spec.kind == "amazon":
            from syncops.simulator.amazon import MARKETPLACE, SELLER, AmazonApp

            app = AmazonApp(faults, self.clock, skus={s: str(p) for s, p in prices.items()},
                            seller_id=str(spec.options.get("seller_id", SELLER)),
                            marketplace=str(spec.options.get("marketplace_id", MARKETPLACE)),
                            fba={s: 20 for s in skus})
        elif spec.kind == "businesscentral":
            from syncops.simulator.businesscentral import COMPANY, ENVIRONMENT, TENANT, BusinessCentralApp

            o = spec.options
            app = BusinessCentralApp(faults, self.clock, items={s: str(p) for s, p in prices.items()},
                                     tenant=str(o.get("tenant_id", TENANT)), company=str(o.get("company_id", COMPANY)),
                                     environment=str(o.get("environment", ENVIRONMENT)),
                                     accounts=[str(o.get("shipping_account", "40100")), *spec.accounts],
                                     walkin=str(o.get("walkin_customer_number", "WALKIN")))
        elif spec.kind == "woocommerce":
            from syncops.simulator.woocommerce import WooCommerceApp

            app = WooCommerceApp(faults, self.clock, skus={s: str(p) for s, p in prices.items()})
        elif spec.kind == "netsuite":
            from syncops.simulator.netsuite import ACCOUNT, NetSuiteApp

            o = spec.options
            default_accounts = ("1000", "1100", "1200", "4000", "4010", "5000", "6100")
            app = NetSuiteApp(faults, self.clock, items={s: str(p) for s, p in prices.items()},
                              locations=list(spec.locations) or [str(o.get("location") or "Main Warehouse")],
                              accounts=[*default_accounts, *spec.accounts, str(o.get("adjustment_account", "5000"))],
                              account=str(o.get("account_id") or ACCOUNT).upper().replace("-", "_"))
        elif spec.kind == "rest":
            from syncops.simulator.wms import WmsApp

            # A declarative endpoint is simulated as the sample WMS (README: REST connector).
            app = WmsApp(faults, self.clock, skus=skus,
                         warehouses=list(spec.locations) or [str(spec.options.get("warehouse", "main"))])
        else:
            raise ValueError(f"the simulator has no {spec.kind!r} vendor")
        self._catalogs[id(app)] = skus
        return app

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> "World":
        """Serve every app on a free 127.0.0.1 port; outage windows count from now."""
        self.started_at = self.clock()
        for key, app in self.apps.items():
            windows = [o for o in self.profile.outages if o.kind == self.kinds[key] and o.mode != "refused"]
            if windows:
                app.faults.plan.outages = [(self.started_at + o.start, self.started_at + o.end) for o in windows]
                app.faults.plan.outage_mode = "reset" if windows[0].mode == "reset" else "503"
            self.servers[key] = SimServer(app).start()
        return self

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()

    def __enter__(self) -> "World":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def run(self, rate_per_s: float | None = None, seconds: float | None = None,
                  events: int | None = None) -> None:
        """Generate the profile's activity (see Activity.run): for `seconds`, or `events` events."""
        await self.activity.run(rate_per_s, seconds, events)

    # ------------------------------------------------------------------ views

    def _url(self, key: tuple[str, str]) -> str:
        url = self.servers[key].url
        if self.kinds[key] == "bigcommerce" and "store_hash" not in self._specs[key].options:
            url = f"{url}/stores/{self.apps[key].store_hash}"
        return url

    @property
    def url_overrides(self) -> dict[tuple[str, str], str]:
        return {key: self._url(key) for key in self.servers}

    @property
    def urls(self) -> dict[str, str]:
        """"tenant/endpoint" -> URL, for people."""
        return {f"{t}/{e}": self._url((t, e)) for t, e in self.servers}

    def describe(self) -> list[str]:
        return [f"{t}/{e} ({self.kinds[(t, e)]}): {self._url((t, e))}" for t, e in self.servers]

    def apps_of(self, tenant: str, kind: str) -> list[Any]:
        return [app for (t, _), app in self.apps.items() if t == tenant and self.kinds[(t, _)] == kind]

    def servers_of_kind(self, kind: str) -> list[SimServer]:
        return [s for key, s in self.servers.items() if self.kinds[key] == kind]

    def catalog(self, tenant: str, app: Any) -> list[str]:
        """The SKUs `app` was created with (later surprises such as MYSTERY items excluded)."""
        return self._catalogs[id(app)]

    def price(self, sku: str) -> Decimal:
        return catalog_price(sku)

    def synced_levels(self, tenant: str) -> list[tuple[Any, tuple[str, str], Any, tuple[str, str]]]:
        """(pos app, (sku, location id), web app, (web sku, web location)) for every stock level an
        inventory flow keeps in sync between two simulated apps; unmapped pairs are left out."""
        out = []
        t = self.config.tenants[tenant]
        for flow in t.flows.values():
            if flow.entity != "inventory" or not getattr(flow, "enabled", True):
                continue
            src, dst = self.apps.get((tenant, flow.source)), self.apps.get((tenant, flow.target))
            if src is None or dst is None or src.name != "square" or dst.name != "shopify":
                continue
            sku_map = t.mappings.get(flow.mappings.get("sku", ""), None)
            loc_map = t.mappings.get(flow.mappings.get("location", ""), None)
            for sku in self.catalog(tenant, src):
                web_sku = sku_map.get(sku) if sku_map is not None else sku
                if web_sku is None or web_sku not in dst.items:
                    continue
                for loc in src.locations.values():
                    web_loc = loc_map.get(loc) if loc_map is not None else loc
                    if web_loc is not None and web_loc in dst.locations:
                        out.append((src, (sku, loc), dst, (web_sku, web_loc)))
        return out

    # ------------------------------------------------------------------ state and fault switches

    def state(self) -> dict[str, Any]:
        """"tenant/endpoint" -> that vendor's state (the same as its GET /_sim/state)."""
        return {f"{t}/{e}": app.state() for (t, e), app in self.apps.items()}

    def set_faults(self, switches: dict[str | None, dict[str, float]], *, clear: bool = False) -> None:
        """Fault switches by vendor kind (None: every vendor), as `parse_switches` returns them."""
        from syncops.simulator.faults import apply_switches

        unknown = sorted(k for k in switches if k is not None and k not in set(self.kinds.values()))
        if unknown:
            raise ValueError(f"no simulated {', '.join(unknown)} vendor; vendors: "
                             + ", ".join(sorted(set(self.kinds.values()))))
        for key, app in self.apps.items():
            if clear:
                app.faults.clear()
            apply_switches(app.faults, switches.get(None, {}))
            apply_switches(app.faults, switches.get(self.kinds[key], {}))
