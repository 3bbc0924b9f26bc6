"""Read back what Odoo holds for delivered records (reconciliation): sales orders and their
state, credit notes, and journal entries with their postings per account code."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from syncops.connectors.odoo import OdooConnector

CHUNK = 200


async def read_documents(conn: "OdooConnector", entity: str, refs: set[str]) -> dict[str, dict[str, Any]]:
    """ref -> {"name", "state", "count"[, "postings": {account code: signed amount, credit > 0}]}."""
    model, ref_field, extra = {
        "order": ("sale.order", "client_order_ref", []),
        "return": ("account.move", "ref", [["move_type", "=", "out_refund"]]),
        "settlement": ("account.move", "ref", [["move_type", "=", "entry"]]),
    }[entity]
    found: dict[str, dict[str, Any]] = {}
    fields = ["id", "name", "state", ref_field] + (["line_ids"] if entity == "settlement" else [])
    ordered = sorted(refs)
    for start in range(0, len(ordered), CHUNK):
        rows = await conn._search_read(model, [[ref_field, "in", ordered[start:start + CHUNK]], *extra], fields,
                                       order="id asc")
        for row in rows:
            ref = row[ref_field]
            doc = found.setdefault(ref, {"name": row["name"], "state": row["state"], "count": 0, "_lines": []})
            doc["count"] += 1  # two documents for one ref is a duplicate posting
            doc["_lines"] += row.get("line_ids") or []
    if entity == "settlement":
        await _postings(conn, found)
    for doc in found.values():
        doc.pop("_lines", None)
    return found


async def _postings(conn: "OdooConnector", found: dict[str, dict[str, Any]]) -> None:
    line_ids = sorted({i for doc in found.values() for i in doc["_lines"]})
    lines: dict[int, dict[str, Any]] = {}
    for start in range(0, len(line_ids), CHUNK):
        for row in await conn._read("account.move.line", line_ids[start:start + CHUNK],
                                    ["id", "account_id", "debit", "credit"]):
            lines[row["id"]] = row
    account_ids = sorted({row["account_id"][0] for row in lines.values() if row.get("account_id")})
    codes = {row["id"]: row["code"] for row in await conn._read(
        "account.account", account_ids, ["id", "code"])} if account_ids else {}
    for doc in found.values():
        postings: dict[str, Decimal] = {}
        for i in doc["_lines"]:
            row = lines.get(i)
            if not row or not row.get("account_id"):
                continue
            code = codes.get(row["account_id"][0], str(row["account_id"][0]))
            amount = Decimal(str(row.get("credit") or 0)) - Decimal(str(row.get("debit") or 0))
            postings[code] = postings.get(code, Decimal("0")) + amount
        doc["postings"] = {k: v.quantize(Decimal("0.01")) for k, v in postings.items() if v != 0}
