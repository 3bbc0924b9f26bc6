"""Amazon order documents as the Orders API v0 renders them (simulator helper).

Buyer data is synthetic (example.com addresses, 555 numbers)."""

from __future__ import annotations

import zlib
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

STATUSES = ("Pending", "Unshipped", "PartiallyShipped", "Shipped", "Canceled", "Unfulfillable",
            "InvoiceUnconfirmed", "PendingAvailability")
_CENT = Decimal("0.01")
_BUYERS = [("Jane Doe", "jdoe1234@marketplace.amazon.com", "Springfield", "IL", "62701"),
           ("Omar Haddad", "ohaddad77@marketplace.amazon.com", "Portland", "OR", "97205")]


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(int(epoch), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def c(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def _m(currency: str, value: Decimal) -> dict[str, str]:
    return {"CurrencyCode": currency, "Amount": f"{value:.2f}"}


def render_order(order: dict[str, Any], currency: str, marketplace: str) -> dict[str, Any]:
    priced = order["status"] not in ("Pending", "PendingAvailability")
    name, email, city, region, postal = _BUYERS[order["n"] % len(_BUYERS)]
    body: dict[str, Any] = {
        "AmazonOrderId": order["id"], "PurchaseDate": iso(order["created"]), "LastUpdateDate": iso(order["modified"]),
        "OrderStatus": order["status"], "FulfillmentChannel": order["channel"], "SalesChannel": "Amazon.com",
        "ShipServiceLevel": "Std US D2D Dom", "MarketplaceId": marketplace, "OrderType": "StandardOrder",
        "NumberOfItemsShipped": 0, "NumberOfItemsUnshipped": sum(li["qty"] for li in order["lines"]),
        "PaymentMethod": "Other", "PaymentMethodDetails": ["Standard"], "IsBusinessOrder": False, "IsPrime": False,
        "IsPremiumOrder": False, "IsGlobalExpressEnabled": False, "IsReplacementOrder": False, "IsISPU": False,
        "IsSoldByAB": False, "IsAccessPointOrder": False, "HasRegulatedItems": False,
        "BuyerInfo": {"BuyerEmail": email},
        "ShippingAddress": {"City": city, "StateOrRegion": region, "PostalCode": postal, "CountryCode": "US"},
    }
    if name and order.get("with_name"):
        body["BuyerInfo"]["BuyerName"] = name
    if priced:
        total = sum((li["price"] * li["qty"] + li["ship"] + li["tax"] + li["ship_tax"] - li["promo"]
                     for li in order["lines"]), Decimal(0))
        body["OrderTotal"] = _m(currency, c(total))
    return body


def render_items(order: dict[str, Any], currency: str) -> list[dict[str, Any]]:
    priced = order["status"] not in ("Pending", "PendingAvailability")
    out = []
    for n, li in enumerate(order["lines"]):
        qty = li["qty"]
        item: dict[str, Any] = {"ASIN": li["asin"], "SellerSKU": li["sku"], "OrderItemId": f"{order['n']:06d}{n:08d}",
                                "Title": li["sku"].replace("-", " ").title(), "QuantityOrdered": qty,
                                "QuantityShipped": 0, "IsGift": "false", "IsTransparency": False,
                                "SerialNumberRequired": False, "ProductInfo": {"NumberOfItems": "1"}}
        if priced:
            item.update({"ItemPrice": _m(currency, c(li["price"] * li["qty"])), "ItemTax": _m(currency, li["tax"]),
                         "ShippingPrice": _m(currency, li["ship"]), "ShippingTax": _m(currency, li["ship_tax"]),
                         "ShippingDiscount": _m(currency, Decimal(0)), "ShippingDiscountTax": _m(currency, Decimal(0)),
                         "PromotionDiscount": _m(currency, li["promo"]),
                         "PromotionDiscountTax": _m(currency, Decimal(0)), "PromotionIds": []})
        out.append(item)
    return out


def asin(sku: str) -> str:
    return f"B0{zlib.crc32(sku.encode()) % 10**8:08d}"
