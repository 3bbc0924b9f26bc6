"""NetSuite SuiteQL rows to canonical payloads: sales orders, return authorizations, stock levels.

SuiteQL answers numbers as strings and signs transaction-line quantities from the posting's
point of view (a sale is negative), so every number is parsed strictly and sizes are taken.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from syncops.connectors import signals
from syncops.connectors.base import SourceChange


def _q(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _num(conn: Any, row: dict[str, Any], name: str, what: str) -> float:
    value = signals.number(row.get(name), minimum=-1e12)
    if value is None:
        raise signals.malformed("NetSuite", f"{what} has no numeric {name}", status=200, excerpt=conn.excerpt(row))
    return value


def change_of(conn: Any, entity: str, row: dict[str, Any], lines: list[dict[str, Any]]) -> SourceChange:
    label = "sales order" if entity == "order" else "return authorization"
    number, modified = row.get("tranid"), row["modified"]
    if not isinstance(number, str) or not number:
        raise signals.malformed("NetSuite", f"a {label} has no tranid", status=200, excerpt=conn.excerpt(row))
    changed = conn.epoch(modified)
    when = conn.epoch(f"{row.get('trandate')} 00:00:00") if isinstance(row.get("trandate"), str) else None
    placed = datetime.fromtimestamp(when if when is not None else changed, tz=timezone.utc).isoformat()
    currency = row.get("currency") if isinstance(row.get("currency"), str) else conn.local_currency
    email = row.get("email") if isinstance(row.get("email"), str) and row.get("email") else None
    customer = {"email": email, "name": row.get("companyname") or None} if email else None
    out_lines = []
    for line in lines:
        sku = line.get("itemid")
        if not isinstance(sku, str) or not sku:
            raise signals.malformed("NetSuite", f"a line of {label} {number} has no item", status=200,
                                    excerpt=conn.excerpt(line))
        # transactionline quantities are signed from the posting's point of view: sales are negative.
        qty = abs(_num(conn, line, "quantity", f"line {sku} of {number}"))
        amount = abs(_num(conn, line, "netamount", f"line {sku} of {number}"))
        if qty == 0:
            continue
        out_lines.append((sku, int(qty) if qty == int(qty) else qty, amount))
    if entity == "order":
        payload: dict[str, Any] = {
            "order_number": number, "channel": "netsuite", "status": str(row.get("status") or "pending"),
            "placed_at": placed, "currency": currency, "customer": customer,
            "lines": [{"sku": s, "quantity": str(q), "unit_price": str(_q(a / q))} for s, q, a in out_lines],
        }
        payload["total"] = str(_q(sum((_q(a / q) * Decimal(str(q)) for s, q, a in out_lines), Decimal("0"))))
    else:
        payload = {
            "return_number": number, "order_number": str(row.get("createdfrom") or number), "created_at": placed,
            "currency": currency, "customer": customer, "refund_method": "netsuite",
            "lines": [{"sku": s, "quantity": str(q), "refund_amount": str(_q(a)), "restock": True}
                      for s, q, a in out_lines],
        }
        payload["total"] = str(sum((_q(a) for _, _, a in out_lines), Decimal("0")))
    short = "so" if entity == "order" else "ra"
    return conn.source_change(f"netsuite:{short}:{row['id']}:{modified}", number, payload,
                              {"row": row, "lines": lines}, changed)


def level_of(conn: Any, row: dict[str, Any]) -> SourceChange:
    item, loc = signals.number(row.get("item"), minimum=1), signals.number(row.get("location"), minimum=1)
    sku, where = row.get("itemid"), row.get("locationname")
    on_hand = signals.number(row.get("quantityonhand"), minimum=-1e12)
    available = signals.number(row.get("quantityavailable"), minimum=-1e12)
    if None in (item, loc, on_hand) or not isinstance(sku, str) or not sku or not isinstance(where, str) or not where:
        raise signals.malformed("NetSuite", "an inventoryitemlocations row lacks item, location or quantityonhand",
                                status=200, excerpt=conn.excerpt(row))
    free = int(available if available is not None else on_hand)
    now = conn.clock()
    payload = {"sku": sku, "location_id": where, "available": max(0, free), "on_hand": int(on_hand),
               "changed_at": datetime.fromtimestamp(now, tz=timezone.utc).isoformat(),
               "source_ref": f"{int(item)}@{int(loc)}"}
    return conn.source_change(f"netsuite:level:{int(item)}:{int(loc)}:{int(on_hand)}:{free}", f"{sku}@{where}",
                              payload, row, now)
