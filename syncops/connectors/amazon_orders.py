"""Amazon orders (Orders API v0 `Order` + `OrderItem`s) as canonical SalesOrder payloads.

Buyer data (BuyerInfo, ShippingAddress) is restricted data: it goes only into the canonical
customer fields, which the console masks, never into messages, logs or the kept vendor object.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

# Amazon OrderStatus -> our order-status vocabulary (the words odoo_documents understands).
STATUS = {
    "Pending": "pending",  # placed, payment not authorised (items carry no prices yet)
    "PendingAvailability": "pending",  # pre-order, payment not authorised
    "Unshipped": "paid",  # payment authorised, nothing shipped
    "PartiallyShipped": "paid",
    "Shipped": "fulfilled",
    "InvoiceUnconfirmed": "fulfilled",  # shipped; the seller has not confirmed the invoice
    "Canceled": "cancelled",
    "Unfulfillable": "cancelled",  # multi-channel order Amazon cannot fulfil
}
# Orders in these states have no prices on their items; they are read again when they move on.
UNPRICED = frozenset({"Pending", "PendingAvailability"})
PII_KEYS = ("BuyerInfo", "ShippingAddress", "DefaultShipFromLocationAddress", "BuyerTaxInformation")
_CENT = Decimal("0.01")


def money(value: Any) -> Decimal:
    """An Amazon Money object's amount (absent -> 0)."""
    if not isinstance(value, dict) or value.get("Amount") in (None, ""):
        return Decimal(0)
    try:
        return Decimal(str(value["Amount"]))
    except InvalidOperation:
        raise ValueError(f"Money amount {value.get('Amount')!r} is not a number") from None


def _text(d: Decimal) -> str:
    cents = d.quantize(_CENT)
    return str(cents if cents == d else d.normalize())


def redacted(order: dict[str, Any]) -> dict[str, Any]:
    """The order (or order item) as kept for the technician: no buyer data."""
    return {k: v for k, v in order.items() if k not in PII_KEYS}


def _customer(order: dict[str, Any]) -> dict[str, Any] | None:
    buyer = order.get("BuyerInfo") if isinstance(order.get("BuyerInfo"), dict) else {}
    ship = order.get("ShippingAddress") if isinstance(order.get("ShippingAddress"), dict) else {}
    if not buyer.get("BuyerEmail") and not buyer.get("BuyerName") and not ship:
        return None
    country = ship.get("CountryCode") or None
    address = None
    if ship:
        address = {"line1": ship.get("AddressLine1") or None, "line2": ship.get("AddressLine2") or None,
                   "city": ship.get("City") or None, "region": ship.get("StateOrRegion") or None,
                   "postal_code": ship.get("PostalCode") or None,
                   "country": country if isinstance(country, str) and len(country) == 2 else None}
    return {"customer_id": None, "name": buyer.get("BuyerName") or ship.get("Name") or None,
            "email": buyer.get("BuyerEmail") or None, "phone": ship.get("Phone") or None, "address": address}


def to_sales_order(order: dict[str, Any], items: list[dict[str, Any]], options: dict[str, Any]) -> dict[str, Any]:
    """Canonical SalesOrder payload. Amazon's ItemPrice is the line total (unit price x quantity);
    taxes are one order-level line (Amazon reports tax per item, not by code)."""
    lines = []
    item_tax = shipping = Decimal(0)
    net = Decimal(0)
    for item in items:
        qty = int(item.get("QuantityOrdered") or 0)
        if qty <= 0:
            continue  # a fully cancelled item line
        line_total = money(item.get("ItemPrice"))
        discount = money(item.get("PromotionDiscount"))
        unit = line_total / qty
        if unit != unit.quantize(Decimal("0.0001")):
            unit = unit.quantize(Decimal("0.0001"))
        lines.append({"sku": item.get("SellerSKU") or item.get("ASIN") or "", "quantity": str(qty),
                      "unit_price": _text(unit), "tax_code": None, "discount": _text(discount)})
        shipping += money(item.get("ShippingPrice")) - money(item.get("ShippingDiscount"))
        item_tax += (money(item.get("ItemTax")) + money(item.get("ShippingTax"))
                     - money(item.get("PromotionDiscountTax")) - money(item.get("ShippingDiscountTax")))
        net += line_total - discount
    base = net + shipping
    rate = min(Decimal(1), (item_tax / base).quantize(Decimal("0.0001"))) if base > 0 and item_tax > 0 else Decimal(0)
    code = options.get("tax_code", "AMAZON-TAX") if item_tax > 0 else options.get("exempt_tax_code", "AMAZON-EXEMPT")
    total_money = order.get("OrderTotal") if isinstance(order.get("OrderTotal"), dict) else {}
    total = money(total_money)
    currency = total_money.get("CurrencyCode") or next(
        (i["ItemPrice"].get("CurrencyCode") for i in items if isinstance(i.get("ItemPrice"), dict)), None)
    return {
        "order_number": f"{options.get('order_number_prefix', '')}{order.get('AmazonOrderId')}",
        "channel": "amazon",
        "status": STATUS.get(str(order.get("OrderStatus")), str(order.get("OrderStatus") or "unknown").lower()),
        "placed_at": order.get("PurchaseDate"),
        "currency": currency,
        "customer": _customer(order),
        "lines": lines,
        "taxes": [{"code": code, "rate": str(rate), "amount": _text(max(item_tax, Decimal(0)))}],
        # Amazon collects the money and pays out in settlements; the order is paid to Amazon.
        "payments": ([{"method": options.get("payment_method", "amazon"), "amount": _text(total),
                       "reference": order.get("AmazonOrderId")}]
                     if order.get("OrderStatus") not in UNPRICED and total > 0 else []),
        "location_id": options.get("order_location"),
        "shipping": _text(max(shipping, Decimal(0))),
        "taxes_included": False,
        "total": _text(total),
    }
