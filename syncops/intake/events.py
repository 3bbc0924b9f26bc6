"""A verified webhook -> the SourceChanges a poll of the same source would produce.

Built with the connector's own conversion (and, where the payload is thin, a read through the
connector), so the idempotency key is the poller's and the same change from a webhook and from a
poll makes one record:
- Square `inventory.count.updated` carries the counts: converted as the poll converts them.
- Shopify `orders/*` carries a REST order, not the GraphQL node the poll reads: the order is read
  by id through the connector.
- BigCommerce `store/order/*` carries only the order id: read through the connector.
- WooCommerce `order.created|updated|restored` carries the order, but it is read again by id
  through the connector (the REST resource is what the poll converts; a body is only a hint).
Events no flow uses come back as (None, []).
"""

from __future__ import annotations

from typing import Any

from syncops.connectors.base import SourceChange
from syncops.intake.verify import MALFORMED, Refused, Verified

SHOPIFY_ORDER_TOPICS = ("orders/create", "orders/updated", "orders/cancelled", "orders/paid", "orders/edited",
                        "orders/fulfilled")
SQUARE_INVENTORY = "inventory.count.updated"
WOOCOMMERCE_ORDER_TOPICS = ("order.created", "order.updated", "order.restored")


def entity_of(kind: str, topic: str) -> str | None:
    """The canonical entity a vendor topic changes, or None when syncops does not take it in."""
    if kind == "square" and topic == SQUARE_INVENTORY:
        return "inventory"
    if kind == "shopify" and topic in SHOPIFY_ORDER_TOPICS:
        return "order"
    if kind == "bigcommerce" and topic.startswith("store/order/") and topic != "store/order/archived":
        return "order"
    if kind == "woocommerce" and topic in WOOCOMMERCE_ORDER_TOPICS:
        return "order"
    return None


async def changes_for(kind: str, connector: Any, event: Verified) -> list[SourceChange]:
    body = event.body
    if kind == "square":
        counts = (((body.get("data") or {}).get("object") or {}).get("inventory_counts")
                  if isinstance(body.get("data"), dict) else None)
        if not isinstance(counts, list):
            raise Refused(MALFORMED, "inventory.count.updated without data.object.inventory_counts")
        return await connector.webhook_inventory(counts)
    if kind == "shopify":
        order_id = body.get("admin_graphql_api_id") or body.get("id") if isinstance(body, dict) else None
        if not order_id:
            raise Refused(MALFORMED, f"{event.topic} without an order id")
        change = await connector.fetch_order(order_id)
        return [change] if change is not None else []
    if kind == "bigcommerce":
        data = body.get("data") if isinstance(body.get("data"), dict) else {}
        order_id = data.get("id")
        if not isinstance(order_id, int) or isinstance(order_id, bool):
            raise Refused(MALFORMED, f"{event.topic} without data.id")
        change = await connector.fetch_order(order_id)
        return [change] if change is not None else []
    if kind == "woocommerce":
        order_id = body.get("id") if isinstance(body, dict) else None
        if not isinstance(order_id, int) or isinstance(order_id, bool) or order_id <= 0:
            raise Refused(MALFORMED, f"{event.topic} without a numeric order id")
        change = await connector.fetch_order(order_id)
        return [change] if change is not None else []
    return []
