"""The types Odoo's JSON-2 API gives the fields syncops reads, checked on every row.

A wrong-typed field is the vendor's garbage, not a fact: a reference that comes back as a
number would make the duplicate guard miss an existing document (and post it twice), and a
tax name that comes back as a number would fail a good order as `validation`. So any field
read with the wrong type makes the whole answer `malformed` (retried), naming the field.
Odoo sends False for an empty field of any type.
"""

from __future__ import annotations

from typing import Any

_TEXT = {"name", "state", "client_order_ref", "ref", "memo", "origin", "complete_name", "default_code", "email",
         "code", "move_type", "write_date", "usage", "picking_type_code", "barcode", "type", "street", "street2",
         "city", "zip", "phone"}
_NUMBER = {"quantity", "reserved_quantity", "amount", "debit", "credit", "lst_price", "amount_total",
           "amount_untaxed", "amount_tax", "product_uom_qty", "price_unit", "discount"}
_IDS = {"order_line", "line_ids", "invoice_line_ids", "move_ids"}


def problem(row: dict[str, Any], fields: list[str]) -> str | None:
    """Why this row does not have Odoo's types for the requested fields, or None."""
    if type(row.get("id")) is not int:
        return f"id is {type(row.get('id')).__name__}, not an integer"
    for name in fields:
        if name not in row or row[name] is False or name == "id":
            continue
        value = row[name]
        if name in _TEXT and not isinstance(value, str):
            return f"{name} is {type(value).__name__}, not text"
        if name in _NUMBER and (isinstance(value, bool) or not isinstance(value, (int, float))):
            return f"{name} is {type(value).__name__}, not a number"
        if name in _IDS and not (isinstance(value, list) and all(type(v) is int for v in value)):
            return f"{name} is not a list of ids"
        if name.endswith("_id") and not (isinstance(value, list) and len(value) == 2 and type(value[0]) is int):
            return f"{name} is not a [id, name] pair"
    return None
