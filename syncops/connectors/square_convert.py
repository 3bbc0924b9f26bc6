"""Square wire objects -> canonical payloads (pure functions, no I/O).

Anything that cannot be expressed canonically at all raises `Unexpressible`; the connector
turns that into a warning and skips the object rather than failing the whole poll. Payloads
that *can* be expressed but break a model rule (e.g. a line without tax) are kept as they are:
judging them is the engine's job, after mappings.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping

from syncops.connectors.base import SourceChange
from syncops.models import PayloadInvalid, validate_payload

# ISO 4217 minor-unit exponents that differ from 2 (Square amounts are in the smallest unit).
_EXPONENT = {
    **dict.fromkeys(("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX",
                     "UYI", "VND", "VUV", "XAF", "XOF", "XPF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
}


class Unexpressible(ValueError):
    """The vendor object has no canonical form (e.g. a line without any catalog item)."""


def rfc3339(epoch: float) -> str:
    ms = round(epoch * 1000)
    dt = datetime.fromtimestamp(ms // 1000, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}Z"


def epoch(value: Any) -> float:
    """RFC 3339 -> epoch seconds; raises Unexpressible for anything else."""
    try:
        dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise Unexpressible(f"bad timestamp {value!r}") from None
    if dt.tzinfo is None:
        raise Unexpressible(f"timestamp without offset {value!r}")
    return dt.timestamp()


def money(value: Any, what: str) -> tuple[Decimal, str]:
    """Square Money (minor units) -> (Decimal in major units, currency)."""
    if not isinstance(value, dict) or not isinstance(value.get("amount"), int) or not value.get("currency"):
        raise Unexpressible(f"{what}: missing or malformed money")
    currency = str(value["currency"])
    return Decimal(value["amount"]).scaleb(-_EXPONENT.get(currency, 2)), currency


def decimal(value: Any, what: str) -> Decimal:
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        raise Unexpressible(f"{what}: not a decimal ({value!r})") from None
    if not result.is_finite():
        raise Unexpressible(f"{what}: not a finite number")
    return result


def canonical(entity: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The model's own JSON form when valid; otherwise the payload as built, for the engine to judge."""
    try:
        return validate_payload(entity, payload).model_dump(mode="json")
    except PayloadInvalid:
        return payload


def inventory_change(count: dict[str, Any], sku: str) -> SourceChange:
    var_id, location = count.get("catalog_object_id"), count.get("location_id")
    calculated_at = count.get("calculated_at")
    if not var_id or not location or not calculated_at:
        raise Unexpressible("inventory count without catalog_object_id, location_id or calculated_at")
    qty = decimal(count.get("quantity"), f"count {var_id}@{location}")
    if qty != qty.to_integral_value():
        raise Unexpressible(f"count {var_id}@{location} is fractional ({qty}); canonical stock is whole units")
    changed = epoch(calculated_at)
    payload = canonical("inventory", {
        "sku": sku,
        "location_id": location,
        # Square counts go negative after oversells; a storefront must never see negative availability.
        "available": max(int(qty), 0),
        "on_hand": int(qty),
        "changed_at": calculated_at,
        "source_ref": var_id,
    })
    return SourceChange(
        idempotency_key=f"sq:inv:{var_id}:{location}:{calculated_at}",
        entity_key=f"{sku}@{location}",
        payload=payload,
        source_payload=count,
        changed_at=changed,
    )


def _tax_codes(order: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {tax.get("uid"): tax for tax in order.get("taxes") or [] if tax.get("uid")}


def _tax_code(tax: dict[str, Any]) -> str | None:
    return tax.get("catalog_object_id") or tax.get("name") or tax.get("uid")


def _line_tax(line: dict[str, Any], taxes: Mapping[str, dict[str, Any]]) -> str | None:
    applied = line.get("applied_taxes") or []
    codes = [_tax_code(taxes[a["tax_uid"]]) for a in applied if a.get("tax_uid") in taxes]
    # Canonical lines carry one tax code; POS setups with stacked taxes get a combined code to map.
    return "+".join(c for c in codes if c) or None


def _sku(var_id: Any, skus: Mapping[str, str], what: str) -> str:
    if not var_id:
        raise Unexpressible(f"{what} has no catalog item (custom amount); it has no SKU")
    sku = skus.get(var_id)
    if not sku:
        raise Unexpressible(f"{what}: catalog object {var_id} has no SKU in Square's catalog")
    return sku


def _version(order: dict[str, Any]) -> str:
    return str(order.get("version") or order.get("updated_at"))


def sales_order(order: dict[str, Any], skus: Mapping[str, str]) -> SourceChange:
    order_id = order.get("id")
    if not order_id:
        raise Unexpressible("order without id")
    what = f"order {order_id}"
    taxes = _tax_codes(order)
    lines, currency = [], None
    for n, line in enumerate(order.get("line_items") or []):
        unit, currency = money(line.get("base_price_money"), f"{what} line {n}")
        discount = money(line["total_discount_money"], what)[0] if line.get("total_discount_money") else Decimal(0)
        lines.append({
            "sku": _sku(line.get("catalog_object_id"), skus, f"{what} line {n}"),
            "quantity": str(decimal(line.get("quantity"), f"{what} line {n} quantity")),
            "unit_price": str(unit),
            "tax_code": _line_tax(line, taxes),
            "discount": str(discount),
        })
    if not lines:
        raise Unexpressible(f"{what} has no line items")
    tax_lines = []
    for tax in taxes.values():
        pct = tax.get("percentage")
        tax_lines.append({
            "code": _tax_code(tax),
            "rate": str(decimal(pct, f"{what} tax") / 100) if pct is not None else None,
            "amount": str(money(tax.get("applied_money"), f"{what} tax")[0]),
        })
    payments = [{
        "method": str(tender.get("type") or "OTHER"),
        "amount": str(money(tender.get("amount_money"), f"{what} tender")[0]),
        "reference": tender.get("id"),
    } for tender in order.get("tenders") or []]
    total, currency = money(order.get("total_money"), f"{what} total")
    payload = {
        "order_number": order_id,
        "channel": "pos",
        "status": str(order.get("state") or "UNKNOWN"),
        "placed_at": order.get("created_at"),
        "currency": currency,
        "customer": {"customer_id": order["customer_id"]} if order.get("customer_id") else None,
        "lines": lines,
        "taxes": tax_lines,
        "payments": payments,
        "location_id": order.get("location_id"),
        "taxes_included": bool(taxes) and all(t.get("type") == "INCLUSIVE" for t in taxes.values()),
        "total": str(total),
    }
    return SourceChange(
        idempotency_key=f"sq:order:{order_id}:{_version(order)}",
        entity_key=order_id,
        payload=canonical("order", payload),
        source_payload=order,
        changed_at=epoch(order.get("updated_at")),
    )


def return_refund(order: dict[str, Any], skus: Mapping[str, str], tender_types: Mapping[str, str],
                  restocked: Mapping[str, Decimal] | None = None) -> SourceChange:
    """`restocked`: catalog object id -> units Square moved back IN_STOCK for this return's refunds
    (square_restock.py); a line is split when only some of its units went back on the shelf."""
    order_id = order.get("id")
    what = f"return order {order_id}"
    returns = order.get("returns") or []
    if not order_id or len(returns) != 1:
        raise Unexpressible(f"{what} returns goods from {len(returns)} sales; canonical returns have exactly one")
    ret = returns[0]
    if not ret.get("source_order_id"):
        raise Unexpressible(f"{what} is an unlinked return (no source order)")
    left = dict(restocked or {})
    lines = []
    for n, line in enumerate(ret.get("return_line_items") or []):
        sku = _sku(line.get("catalog_object_id"), skus, f"{what} line {n}")
        qty = decimal(line.get("quantity"), f"{what} line {n} quantity")
        amount, currency = money(line.get("total_money"), f"{what} line {n}")
        back = min(qty, max(left.get(line.get("catalog_object_id"), Decimal(0)), Decimal(0))) if qty > 0 else qty * 0
        left[line.get("catalog_object_id")] = left.get(line.get("catalog_object_id"), Decimal(0)) - back
        minor = Decimal(1).scaleb(-_EXPONENT.get(currency, 2))
        back_amount = (amount * back / qty).quantize(minor) if qty else amount
        for units, part, restock in ((back, back_amount, True), (qty - back, amount - back_amount, False)):
            if units > 0 or (qty <= 0 and not restock):
                lines.append({"sku": sku, "quantity": str(units if qty > 0 else qty), "refund_amount": str(part),
                              "restock": restock})
    if not lines:
        raise Unexpressible(f"{what} has no return line items")
    amounts = order.get("return_amounts") or ret.get("return_amounts") or {}
    total, currency = money(amounts.get("total_money"), f"{what} total")
    methods = {tender_types.get(r.get("tender_id") or "") for r in order.get("refunds") or []}
    methods.discard(None)
    payload = {
        "return_number": order_id,
        "order_number": ret["source_order_id"],
        "location_id": order.get("location_id"),
        "created_at": order.get("created_at"),
        "currency": currency,
        "customer": {"customer_id": order["customer_id"]} if order.get("customer_id") else None,
        "lines": lines,
        # One canonical method; a refund split over tenders is rare enough to name as MIXED for the map.
        "refund_method": methods.pop() if len(methods) == 1 else ("MIXED" if methods else "OTHER"),
        "total": str(total),
    }
    return SourceChange(
        # Stable per return: the same refund seen by two polls or a retry is one record.
        idempotency_key=f"sq:return:{order_id}",
        entity_key=order_id,
        payload=canonical("return", payload),
        source_payload=order,
        changed_at=epoch(order.get("updated_at")),
    )
