"""Read back what Business Central holds for delivered documents (`syncops reconcile orders|
returns|settlements`). Kept out of the delivery modules: an audit read may change on its own.

- order: sales orders and posted sales invoices with that ``externalDocumentNumber`` (an invoiced
  order leaves salesOrders; one in each is a duplicate);
- return: sales credit memos with that ``externalDocumentNumber``;
- settlement: the G/L entries of the payout's document number, as postings (credit positive,
  the convention the reconciliation compares against).

BC documents carry no channel status, so orders and returns are judged on existence and
uniqueness only (``expected_document`` says so); settlements on their postings.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from syncops.connectors.businesscentral_documents import ORDER, RETURN, find_all
from syncops.connectors.businesscentral_journal import by_account, document_number, entries
from syncops.models import Settlement


def expected_document(entity: str, mapped: dict[str, Any]) -> Any:
    """What a delivered record's document must show: settlement postings; None = it must exist once."""
    if entity == "settlement":
        return {a: v.quantize(Decimal("0.01")) for a, v in Settlement.model_validate(mapped).postings()}
    return None


async def read_documents(conn: Any, entity: str, refs: set[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for ref in sorted(refs):
        if entity == "settlement":
            doc = document_number(str(conn.options.get("settlement_prefix") or "STL-"), ref)
            posted = await entries(conn, doc)
            if posted:
                found[ref] = {"name": doc, "state": "posted", "count": 1,
                              "postings": {a: -v for a, v in by_account(posted).items()}}
            continue
        rows = await find_all(conn, RETURN if entity == "return" else ORDER,
                              "salesCreditMemos" if entity == "return" else "salesOrders", ref)
        if entity == "order":
            rows += await find_all(conn, ORDER, "salesInvoices", ref)
        if rows:
            found[ref] = {"name": rows[0].get("number"), "state": rows[0].get("status"), "count": len(rows)}
    return found
