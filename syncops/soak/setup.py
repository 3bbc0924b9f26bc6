"""What the soak runs: one tenant with every flow the simulator can check end to end, a
bounded activity profile without data faults, and named fault presets.

Every value is mapped, no event is invalid and nobody edits a level behind syncops's back: any
record that ends up missing, doubled, drifting or stuck is the engine's doing, not the data's.
"""

from __future__ import annotations

from syncops.simulator.activity import Profile
from syncops.simulator.faults import parse_switches

TENANT = "soak"

CONFIG = """\
# Written by `syncops soak` for its own run; every endpoint is the built-in simulator.
tenants:
  soak:
    endpoints:
      # max_wait: a garbage Retry-After is clamped to this ceiling (15m by default); the soak keeps
      # it short so that its drain judges what the engine did, not how long the ceiling is.
      pos: {kind: square, base_url: simulator, credential: simulator, options: {max_wait: 3s}}
      web: {kind: shopify, base_url: simulator, credential: simulator, options: {max_wait: 3s}}
      erp: {kind: odoo, base_url: simulator, credential: simulator, options: {database: soak, max_wait: 3s}}
    maps:
      sku:
        TSHIRT-RED-M: TSHIRT-RED-M
        TSHIRT-BLU-L: TSHIRT-BLU-L
        JACKET-GRN-S: JACKET-GRN-S
        BOOT-BRN-42: BOOT-BRN-42
        CAP-BLK: CAP-BLK
      web_location: {L1STORE: store-1, L2STORE: store-2}
      erp_location: {L1STORE: STORE1/Stock, L2STORE: STORE2/Stock}
      web_erp_location: {web: WH/Stock}
      web_status: {pending: draft, authorized: sale, paid: sale, partially_paid: sale, refunded: cancel,
                   voided: cancel, cancelled: cancel}
      pos_status: {COMPLETED: done, OPEN: sale, CANCELED: cancel}
      web_payment: {shopify_payments: Bank, paypal: PayPal, gift_card: Gift Card}
      pos_payment: {CARD: Card, CASH: Cash, SQUARE_GIFT_CARD: Gift Card}
      pos_tax: {SQ-TAX-SALES: Tax 8.25%}
      web_tax: {Sales Tax: Tax 8.25%}
    flows:
      - name: inventory
        entity: inventory
        source: pos
        target: web
        schedule: {every: 0.5s}
        sla: 1m
        coalesce: true
        retry: {max_attempts: 10, base_delay: 0.2s, max_delay: 2s}
        mappings: {sku: sku, location: web_location}
      - name: web-orders
        entity: order
        source: web
        target: erp
        schedule: {every: 0.5s}
        sla: 1m
        retry: {max_attempts: 10, base_delay: 0.2s, max_delay: 2s}
        mappings: {sku: sku, location: web_erp_location, order_status: web_status, payment_method: web_payment,
                   tax_code: web_tax}
      - name: store-sales
        entity: order
        source: pos
        target: erp
        schedule: {every: 0.5s}
        sla: 1m
        retry: {max_attempts: 10, base_delay: 0.2s, max_delay: 2s}
        mappings: {sku: sku, location: erp_location, order_status: pos_status, payment_method: pos_payment,
                   tax_code: pos_tax}
      - name: returns
        entity: return
        source: pos
        target: erp
        schedule: {every: 0.5s}
        sla: 1m
        retry: {max_attempts: 10, base_delay: 0.2s, max_delay: 2s}
        mappings: {sku: sku, location: erp_location, payment_method: pos_payment}
"""

# Sales, returns, restocks and web orders (with admin edits that make Shopify send an order
# again); no price changes (no price flow) and no recounts (a recount is a conflict for a human).
PROFILE = Profile(
    name="soak", rate_per_s=10.0, basket=(1, 3), backlog=0, max_recounts=0,
    weights={"sale": 0.45, "return": 0.10, "restock": 0.12, "web_order": 0.25, "order_edit": 0.08},
)

PRESETS: dict[str, str] = {
    "none": "",
    # The vendor garbage of the reliability issue, each now and then.
    "garbage": "garbage_retry_after=0.02,html_body=0.02,truncated_body=0.02,wrong_types=0.02,"
               "reset_after_apply=0.03",
    "resets": "reset_after_apply=0.05",
    "retry_after": "garbage_retry_after=0.05",
    "bodies": "html_body=0.03,truncated_body=0.03,wrong_types=0.03",
    "throttle": "rate_limit_burst=0.02,burst_seconds=0.5",
    "slow": "slow_rate=0.05,slow_seconds=0.2",
}

# These need a human by design (invalid events, unmapped SKUs, levels edited in the shop's
# admin): a soak that used them would report the data's failures as the engine's.
NOT_FOR_SOAK = ("validation", "unmapped_sku", "stale_cas")


def fault_switches(spec: str | None) -> dict[str | None, dict[str, float]]:
    """`garbage`, `resets,slow`, `reset_after_apply=0.05,odoo.html_body=0.1`, or a mix."""
    parts = []
    for part in filter(None, (p.strip() for p in (spec or "").split(","))):
        if "=" in part:
            parts.append(part)
        elif part in PRESETS:
            parts.append(PRESETS[part])
        else:
            raise ValueError(f"unknown fault preset {part!r}; presets: {', '.join(PRESETS)} "
                             "(or NAME=RATE, e.g. reset_after_apply=0.05)")
    switches = parse_switches(",".join(p for p in parts if p))
    banned = sorted({n for names in switches.values() for n in names if n in NOT_FOR_SOAK})
    if banned:
        raise ValueError(f"{', '.join(banned)}: not for a soak (the failures it makes need a human by design)")
    return switches
