"""Settlements into Business Central as posted general journal lines, exactly once.

One payout, one document number in a general journal batch that syncops owns
(``options.settlement_journal``, default ``SYNCOPS``; create it in BC under General Journals): a
line per account of ``Settlement.postings()`` (BC's sign: debits positive, credits negative), all
written in one ``$batch`` call with ``Isolation: snapshot`` (all of them or none), then
the bound action ``journals(<id>)/Microsoft.NAV.post``, then a read of ``generalLedgerEntries`` by
document number before the record counts as delivered.

The document number (Code[20]) is ``options.settlement_prefix`` (default ``STL-``) plus a digest of
the payout id, so every retry of one payout uses the same number; the payout id itself goes in
``externalDocumentNumber`` (Code[35]) and the description. Before anything is written:

- G/L entries with that number already exist: an earlier attempt posted (its answer was lost). If
  they match the postings the record is linked to them; if not, it is a ``conflict`` naming both.
- Unposted lines with that number exist: an attempt stopped half way. They are deleted and
  written again, so a half-written entry is never posted.

Posting posts the whole batch, so lines in it whose document does not balance (another record's
interrupted attempt) are removed first; that record writes them again on its retry. Lines are
``accountType: "G/L Account"``; the flow's ``gl_account`` map gives the account numbers.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from syncops.connectors.base import Delivery, ItemResult
from syncops.connectors.businesscentral_documents import _Problem, push_each
from syncops.connectors.errors import DeliveryError
from syncops.models import Settlement
from syncops.store.categories import Category

MAX_DOCUMENT = 20  # Gen. Journal Line."Document No." is Code[20]
MAX_EXTERNAL = 35
CENT = Decimal("0.01")


def document_number(prefix: str, payout_id: str) -> str:
    digest = hashlib.sha256(payout_id.encode()).hexdigest().upper()
    return (prefix + digest)[:MAX_DOCUMENT]


def _amount(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT)


async def _journal_id(conn: Any) -> str:
    code = str(conn.options.get("settlement_journal") or "SYNCOPS")
    cached = getattr(conn, "_journal_ids", {}).get(code)
    if cached:
        return cached
    from syncops.connectors.businesscentral import odata_string

    rows = await conn.list_of(conn.company_url("journals"), {"$filter": f"code eq {odata_string(code)}"})
    if not rows or not isinstance(rows[0].get("id"), str):
        raise _Problem(Category.MAPPING, f"Business Central has no general journal batch {code!r} "
                       "(options.settlement_journal): create it under General Journals for syncops's postings")
    conn._journal_ids = {**getattr(conn, "_journal_ids", {}), code: rows[0]["id"]}
    return rows[0]["id"]


def by_account(rows: list[dict[str, Any]]) -> dict[str, Decimal]:
    """G/L entries as signed BC amounts (debit positive) per account number."""
    out: dict[str, Decimal] = {}
    for row in rows:
        account = str(row.get("accountNumber"))
        out[account] = out.get(account, Decimal(0)) + _amount(row.get("debitAmount")) - _amount(row.get("creditAmount"))
    return {k: v for k, v in out.items() if v}


def _wanted(settlement: Settlement) -> dict[str, Decimal]:
    # postings(): positive = credit; BC journal amounts: positive = debit.
    return {account: -amount for account, amount in settlement.postings()}


async def entries(conn: Any, doc: str) -> list[dict[str, Any]]:
    """Posted G/L entries of one document number (digits, letters and a dash: nothing to quote)."""
    return await conn.list_of(conn.company_url("generalLedgerEntries"), {"$filter": f"documentNumber eq '{doc}'"})


async def _deliver(conn: Any, d: Delivery) -> ItemResult:
    try:
        s = Settlement.model_validate(d.payload)
    except ValidationError as exc:
        raise _Problem(Category.VALIDATION, f"payload is not a valid settlement: {exc.errors()[0].get('msg')}") from None
    doc = document_number(str(conn.options.get("settlement_prefix") or "STL-"), s.payout_id)
    want = _wanted(s)
    summary = f"journalLines documentNumber={doc} ({len(want)} lines) for payout {s.payout_id}"
    posted = await entries(conn, doc)
    if posted:
        held = by_account(posted)
        if held != want:
            raise _Problem(Category.CONFLICT, f"G/L entries for document {doc} (payout {s.payout_id}) are already "
                           f"posted but differ: BC holds {_show(held)}, the payout needs {_show(want)}")
        return ItemResult(d.record_id, target_ref=doc, status=200, request_summary=summary,
                          note=f"found posted G/L entries for document {doc}: an earlier delivery applied")
    jid = await _journal_id(conn)
    lines_url = conn.company_url(f"journals({jid})/journalLines")
    batch = await conn.list_of(lines_url)
    totals: dict[str, Decimal] = {}
    for line in batch:
        totals[str(line.get("documentNumber"))] = totals.get(str(line.get("documentNumber")), Decimal(0)) + \
            _amount(line.get("amount"))
    for line in batch:  # ours (a half-written attempt) or unbalanced leftovers: never posted
        number = str(line.get("documentNumber"))
        if number == doc or totals.get(number):
            await conn.request("DELETE", conn.company_url(f"journals({jid})/journalLines({line['id']})"))
    date = s.paid_at.date().isoformat()
    text = f"{s.processor} payout {s.payout_id}"[:100]
    # All lines in one $batch with Isolation: snapshot: one call, and never a half-written entry.
    relative = lines_url[len(conn.api_root) + 1:]
    await conn.batch([{"method": "POST", "url": relative, "body": {
        "accountType": "G/L Account", "accountNumber": account, "postingDate": date, "documentNumber": doc,
        "externalDocumentNumber": s.payout_id[:MAX_EXTERNAL], "amount": float(amount), "description": text}}
        for account, amount in want.items()], f"journal lines of {doc}")
    await conn.request("POST", conn.company_url(f"journals({jid})/Microsoft.NAV.post"))
    held = by_account(await entries(conn, doc))
    if held != want:
        raise DeliveryError(Category.UNKNOWN, f"posted document {doc} but its G/L entries read back as {_show(held)}, "
                            f"not {_show(want)}", maybe_applied=True)
    return ItemResult(d.record_id, target_ref=doc, status=201, request_summary=summary,
                      response_excerpt=f"posted {len(want)} G/L lines, document {doc}")


def _show(amounts: dict[str, Decimal]) -> str:
    return ", ".join(f"{k} {v:+}" for k, v in sorted(amounts.items())) or "nothing"


async def push(conn: Any, deliveries: list[Delivery]) -> list[ItemResult]:
    return await push_each(deliveries, lambda d: _deliver(conn, d), "settlement record")
