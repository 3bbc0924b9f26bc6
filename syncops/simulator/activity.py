"""Retail activity for a World: store sales, returns, restocks, web orders, price edits, recounts.

Everything is drawn from one seeded RNG, and timestamps come from the apps' injected clock, so a
test can replay the same stream with `step()`. `run()` paces the stream on the asyncio loop.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from syncops.simulator.world import World

EVENTS = ("sale", "return", "restock", "web_order", "price_change", "recount", "order_edit", "web_refund",
          "stock_move")


@dataclass(frozen=True)
class Outage:
    kind: str  # vendor kind whose apps go down: square, shopify, odoo, businesscentral, ...
    start: float  # seconds after World.start()
    end: float
    mode: str = "503"  # "503" (vendor error page), "reset" (dropped connections), "refused" (port closed)


@dataclass(frozen=True)
class Profile:
    """How busy and how faulty the simulated retailers are."""

    name: str
    rate_per_s: float  # activity events per second, per tenant
    weights: dict[str, float]  # relative frequency of each event in EVENTS
    basket: tuple[int, int] = (1, 3)  # lines per store sale
    backlog: int = 0  # events per tenant before the engine starts (the night's sales)
    faults: dict[str, dict[str, Any]] = field(default_factory=dict)  # vendor kind -> FaultPlan fields
    outages: tuple[Outage, ...] = ()
    # Recounts come on a schedule, not by chance, so a short run reliably shows a conflict: the
    # first once levels have been synced (a baseline exists), then every `recount_every` seconds.
    recount_after: float = 2.0
    recount_every: float = 6.0
    max_recounts: int = 3  # each recount pins one SKU@location in conflict until a human decides
    # Card takings are paid out (Square payouts, Shopify Payments payouts) this often, so a short
    # demo shows the money trail from sale to posted journal entry; 0 turns payouts off.
    payout_every: float = 4.0
    engine: dict[str, Any] = field(default_factory=dict)  # Engine options that suit this profile


_WEIGHTS = {"sale": 0.42, "return": 0.07, "restock": 0.10, "web_order": 0.22, "price_change": 0.08,
            "order_edit": 0.04, "web_refund": 0.06, "stock_move": 0.25}

PROFILES: dict[str, Profile] = {
    # A few events per second with every kind of trouble: deliveries plus mapping, validation,
    # conflict and unavailable failures within a 20-second headless run.
    "demo": Profile(
        name="demo", rate_per_s=3.0, weights=_WEIGHTS, backlog=6,
        faults={
            "square": {"unmapped_sku": 0.04, "validation": 0.2, "duplicate_event": 0.05,
                       "rate_limit_burst": 0.01, "burst_seconds": 1.0, "slow_rate": 0.02, "slow_seconds": 0.3},
            "shopify": {"rate_limit_burst": 0.01, "burst_seconds": 1.0, "slow_rate": 0.02, "slow_seconds": 0.3},
            "odoo": {"rate_limit_burst": 0.01, "burst_seconds": 1.0, "slow_rate": 0.03, "slow_seconds": 0.4},
            "bigcommerce": {"rate_limit_burst": 0.01, "burst_seconds": 1.0},
            # The marketplace demo (demo-marketplace.yaml): throttling on every channel, and BC
            # order lines now and then edited by someone in BC (a conflict for the next update).
            "amazon": {"rate_limit_burst": 0.01, "burst_seconds": 1.0, "slow_rate": 0.02, "slow_seconds": 0.3},
            "woocommerce": {"rate_limit_burst": 0.01, "burst_seconds": 1.0},
            "businesscentral": {"rate_limit_burst": 0.01, "burst_seconds": 1.0, "stale_cas": 0.05},
        },
        # The ERP goes down for maintenance across the 10-second order polls.
        outages=(Outage("odoo", 8.0, 12.5), Outage("businesscentral", 8.0, 12.5)),
        recount_after=3.0, recount_every=6.0, max_recounts=3,
    ),
    # Steady traffic, no faults: what a healthy day looks like.
    "calm": Profile(name="calm", rate_per_s=3.0, weights=_WEIGHTS, backlog=4, max_recounts=0),
    # Short runs for tests: failures early and often, an outage over the first deliveries, a
    # quick breaker, so that a 6-8 s run shows every category.
    "test": Profile(
        name="test", rate_per_s=6.0, weights=_WEIGHTS, basket=(2, 3), backlog=8,
        faults={
            "square": {"unmapped_sku": 0.1, "validation": 0.4, "duplicate_event": 0.1},
            "shopify": {"stale_cas": 0.05},
        },
        outages=(Outage("odoo", 0.0, 1.5),),
        recount_after=1.5, recount_every=1.0, max_recounts=4,
        engine={"breaker_cooldown": 0.5, "idle_poll": 0.05, "control_every": 0.2},
    ),
}


def get_profile(name: str | Profile) -> Profile:
    if isinstance(name, Profile):
        return name
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown simulator profile {name!r}; profiles: {', '.join(PROFILES)}") from None


class Activity:
    """Generates events against a World's apps."""

    def __init__(self, world: "World", profile: Profile, *, seed: int = 7) -> None:
        self.world = world
        self.profile = profile
        self.rng = random.Random(seed)
        self.counts: Counter = Counter()
        self.recounts = 0
        self._sales: dict[str, list[tuple[Any, str, list[tuple[str, int]]]]] = {}  # tenant -> recent POS sales
        self._web_orders: dict[str, list[Any]] = {}  # Shopify gids, WooCommerce order ids

    # ------------------------------------------------------------------ driving

    def backlog(self) -> int:
        """The events that happened before syncops started (sales overnight, orders online)."""
        done = 0
        for tenant in self.world.tenants:
            for _ in range(self.profile.backlog):
                if self.step(tenant, exclude=("recount",)):
                    done += 1
        return done

    def step(self, tenant: str | None = None, kind: str | None = None,
             exclude: tuple[str, ...] = ("recount",)) -> str | None:
        """One event for `tenant` (random if None) of `kind` (drawn by the profile's weights if None);
        returns the event kind, or None if none applies. Recounts only come when asked for by kind."""
        tenant = tenant or self.rng.choice(self.world.tenants)
        if kind is not None:
            if not self._possible(tenant, kind):
                return None
            chosen = kind
        else:
            kinds = [k for k in EVENTS if k not in exclude and self._possible(tenant, k)]
            weights = [self.profile.weights.get(k, 0.0) for k in kinds]
            if not kinds or sum(weights) <= 0:
                return None
            chosen = self.rng.choices(kinds, weights)[0]
        if getattr(self, f"_{chosen}")(tenant):
            self.counts[chosen] += 1
            return chosen
        return None

    async def run(self, rate_per_s: float | None = None, seconds: float | None = None,
                  events: int | None = None) -> None:
        """Generate events at `rate_per_s` per tenant until cancelled, `seconds` have passed or
        `events` events have been generated, whichever comes first.

        With `events`, the stream is the same for a seed whatever the pace: recounts come after a
        number of events (the profile's recount times at the nominal rate) instead of on the clock.
        """
        loop = asyncio.get_running_loop()
        rate = (rate_per_s if rate_per_s is not None else self.profile.rate_per_s) * len(self.world.tenants)
        start = loop.time()
        outages = asyncio.create_task(self._refusals()) if any(
            o.mode == "refused" for o in self.profile.outages) else None
        try:
            if rate <= 0:
                if events is not None:
                    raise ValueError("a bounded activity (events=N) needs a positive rate")
                await asyncio.sleep(seconds if seconds is not None else 1e9)
                return
            interval = 1.0 / rate
            n = done = 0
            per_event = self.profile.rate_per_s * len(self.world.tenants)  # the nominal pace
            next_recount = self.profile.recount_after * (per_event if events is not None else 1) + (
                0 if events is not None else start)
            every = self.profile.recount_every * (per_event if events is not None else 1)
            next_payout = start + self.profile.payout_every
            # A stream where no event applies must still end: give up after 10 draws per event.
            while (seconds is None or loop.time() - start < seconds) and (
                    events is None or (done < events and n < 10 * events)):
                n += 1
                # A fixed schedule (not sleep-after-work) keeps the rate steady under load.
                delay = start + n * interval - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                if self.profile.payout_every > 0 and loop.time() >= next_payout:
                    next_payout += self.profile.payout_every
                    self.payouts()
                now = done if events is not None else loop.time()
                if self.recounts < self.profile.max_recounts and now >= next_recount:
                    next_recount += every
                    tenants = [t for t in self.world.tenants if self._possible(t, "recount")]
                    if tenants:
                        if self.step(tenants[self.recounts % len(tenants)], kind="recount"):
                            done += 1
                        continue
                if self.step(exclude=("recount",)):
                    done += 1
        finally:
            if outages is not None:
                outages.cancel()

    def payouts(self) -> list[Any]:
        """Pay out every app's pending card takings (one payout per Square location / shop)."""
        made: list[Any] = []
        for app in self.world.apps.values():
            book = getattr(app, "payouts", None)
            if book is not None and book.pending:
                with app._lock:  # the payout book is shared with the app's HTTP handler threads
                    result = book.settle()
                made += result if isinstance(result, list) else [result]
                self.counts["payout"] += 1
        return made

    async def _refusals(self) -> None:
        """Outages in "refused" mode: close the vendor's port, open it again later (times count
        from World.start(), like the other outage modes)."""
        plan = sorted([(o.start, "down", o) for o in self.profile.outages if o.mode == "refused"]
                      + [(o.end, "up", o) for o in self.profile.outages if o.mode == "refused"],
                      key=lambda e: e[0])
        for at, what, outage in plan:
            await asyncio.sleep(max(0.0, self.world.started_at + at - self.world.clock()))
            for server in self.world.servers_of_kind(outage.kind):
                await asyncio.to_thread(server.go_down if what == "down" else server.come_up)

    # ------------------------------------------------------------------ events

    def _possible(self, tenant: str, kind: str) -> bool:
        w = self.world
        if kind in ("sale", "restock", "return"):
            return bool(w.apps_of(tenant, "square"))
        if kind == "web_order":
            return bool(self._web_shops(tenant))
        if kind in ("order_edit", "web_refund"):
            return bool(self._web_orders.get(tenant))
        if kind == "price_change":
            return bool(w.apps_of(tenant, "odoo"))
        if kind == "recount":
            return bool(w.synced_levels(tenant))
        if kind == "stock_move":
            return bool(w.apps_of(tenant, "businesscentral"))
        return False

    def _web_shops(self, tenant: str) -> list[Any]:
        return [app for kind in ("shopify", "bigcommerce", "amazon", "woocommerce")
                for app in self.world.apps_of(tenant, kind)]

    def _pos(self, tenant: str) -> Any:
        return self.rng.choice(self.world.apps_of(tenant, "square"))

    def _sale(self, tenant: str) -> bool:
        app = self._pos(tenant)
        location = self.rng.choice(list(app.locations.values()))
        skus = self.world.catalog(tenant, app)
        lo, hi = self.profile.basket
        picked = self.rng.sample(skus, min(len(skus), self.rng.randint(lo, hi)))
        lines = [(sku, self.rng.choice((1, 1, 1, 2))) for sku in picked]
        self._keep_stocked(app, location, lines)
        order_id = app.record_sale(location, lines)
        recent = self._sales.setdefault(tenant, [])
        recent.append((app, order_id, lines))
        del recent[:-50]
        return True

    def _keep_stocked(self, app: Any, location: str, lines: list[tuple[str, int]]) -> None:
        # Shops reorder before the shelf is empty; a counter going deeply negative is not retail.
        for sku, qty in lines:
            if app.count(sku, location) - qty < 2:
                app.restock(sku, location, 12 + self.rng.randrange(12))

    def _return(self, tenant: str) -> bool:
        recent = self._sales.get(tenant, [])
        if not recent:
            return self._sale(tenant)
        app, order_id, lines = recent.pop(self.rng.randrange(len(recent)))
        sku, _qty = self.rng.choice(lines)
        try:
            app.record_return(order_id, [(sku, 1)], restock=self.rng.random() < 0.8)
        except (KeyError, ValueError):
            return False
        return True

    def _restock(self, tenant: str) -> bool:
        app = self._pos(tenant)
        location = self.rng.choice(list(app.locations.values()))
        app.restock(self.rng.choice(self.world.catalog(tenant, app)), location, 6 + self.rng.randrange(18))
        return True

    def _web_order(self, tenant: str) -> bool:
        app = self.rng.choice(self._web_shops(tenant))
        skus = self.world.catalog(tenant, app)
        picked = self.rng.sample(skus, min(len(skus), self.rng.randint(1, 2)))
        lines = [(sku, 1) for sku in picked]
        if app.name in ("shopify", "woocommerce"):
            gid = app.place_web_order(lines) if app.name == "shopify" else app.place_order(lines)
            orders = self._web_orders.setdefault(tenant, [])
            orders.append(gid)
            del orders[:-30]
        else:
            app.place_order(lines)
        return True

    def _web_refund(self, tenant: str) -> bool:
        """A web customer sends one item back; most go back on the shelf (RETURN), some are damaged."""
        gids = self._web_orders.get(tenant) or []
        if not gids:
            return False
        gid = self.rng.choice(gids)
        for app in self.world.apps_of(tenant, "shopify"):
            if gid in app.orders:
                sku = self.rng.choice([line["sku"] for line in app.orders[gid].lines])
                try:
                    app.refund_order(gid, [(sku, 1)], restock=self.rng.random() < 0.75)
                except (KeyError, ValueError):
                    return False
                return True
        for app in self.world.apps_of(tenant, "woocommerce"):
            if gid in app.orders and not app.refunds.get(gid):  # one refund per shop order
                sku = self.rng.choice([li["sku"] for li in app.orders[gid]["line_items"]])
                # The ERP is the stock master here: the shop does not put it back on its shelf.
                app.refund(gid, [(sku, 1)], api_restock=False, reason="Customer return")
                return True
        return False

    def _order_edit(self, tenant: str) -> bool:
        """A clerk adds a note to a web order: Shopify sends it again (a duplicate for the ERP)."""
        gids = self._web_orders.get(tenant) or []
        if not gids:
            return False
        gid = self.rng.choice(gids)
        for app in self.world.apps_of(tenant, "shopify"):
            if gid in app.orders:
                app.touch_order(gid)
                return True
        for app in self.world.apps_of(tenant, "woocommerce"):
            if gid in app.orders and app.orders[gid]["status"] == "processing":
                app.update_order(gid, status="completed")  # shipped: the shop sends the order again
                return True
        return False

    def _price_change(self, tenant: str) -> bool:
        app = self.rng.choice(self.world.apps_of(tenant, "odoo"))
        sku = self.rng.choice(self.world.catalog(tenant, app))
        base = self.world.price(sku)
        factor = Decimal(self.rng.choice(("0.90", "0.95", "1.00", "1.05", "1.10")))
        app.change_price(sku, (base * factor).quantize(Decimal("0.01")))
        return True

    def _stock_move(self, tenant: str) -> bool:
        """The warehouse posts to Business Central's item journal: goods received, or shipped to
        the marketplace's warehouse. Some are item card edits (lastModifiedDateTime moves), most
        are postings only a full re-read sees (the connector's rescan)."""
        app = self.rng.choice(self.world.apps_of(tenant, "businesscentral"))
        sku = self.rng.choice(self.world.catalog(tenant, app))
        held = app.items[sku]["inventory"]
        delta = self.rng.choice((-3, -2, -1, -1, 4, 6)) if held > 6 else 6 + self.rng.randrange(12)
        if self.rng.random() < 0.4:
            app.set_item(sku, inventory=held + delta)
        else:
            app.post_inventory(sku, delta)
        return True

    def _recount(self, tenant: str) -> bool:
        """Someone corrects a stock level in the web shop's admin, behind syncops's back: the
        next update for it fails the compare-and-swap check as a conflict."""
        pairs = self.world.synced_levels(tenant)
        if not pairs:
            return False
        pos, (sku, location), web, (web_sku, web_location) = self.rng.choice(pairs)
        web.adjust_behind_back(web_sku, web_location, 1 + self.rng.randrange(3))
        self.recounts += 1
        # A sale of that item right after makes syncops update the level soon.
        lines = [(sku, 1)]
        self._keep_stocked(pos, location, lines)
        pos.record_sale(location, lines)
        return True
