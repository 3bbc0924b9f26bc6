"""Settlements into Odoo as posted journal entries (``account.move``, ``move_type='entry'``).

One payout, one posted entry: the payout id is the move's ``ref``, and before creating anything
one ``search_read`` looks for moves that already carry the batch's refs (Odoo has no
idempotency key; see odoo.py). A posted hit is a duplicate linked to that move; a draft hit is an
earlier attempt that created the move but lost the answer before ``action_post``, so it is
posted now instead of created again.

Lines come from ``Settlement.postings()``: sales credited, refunds and fees debited,
adjustments and reserves to clearing, the net to the bank, each on the account code the
flow's ``gl_account`` map gave (looked up by ``account.account.code``). Option
``settlement_journal``: the code of the journal to post in (default: Odoo's choice for
miscellaneous entries).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from syncops.connectors.base import Delivery, ItemResult
from syncops.connectors.errors import DeliveryError
from syncops.models import Settlement
from syncops.store.categories import Category

if TYPE_CHECKING:  # pragma: no cover
    from syncops.connectors.odoo import OdooConnector

MODEL = "account.move"


def _fail(delivery: Delivery, category: str, message: str) -> ItemResult:
    return ItemResult(delivery.record_id, error=DeliveryError(category, message))


def _linked(delivery: Delivery, row: dict[str, Any], ref: str, how: str) -> ItemResult:
    return ItemResult(delivery.record_id, target_ref=str(row["id"]), status=200, error=DeliveryError(
        Category.DUPLICATE, f"journal entry {row.get('name')} already has ref {ref!r}: {how}, linked to the "
        f"existing entry (id {row['id']})", status=200),
        request_summary=f"POST /json/2/{MODEL}/search_read (ref in batch payout ids)")


def move_vals(settlement: Settlement, account_ids: dict[str, int], journal_id: int | None) -> dict[str, Any]:
    lines = []
    for code, amount in settlement.postings():
        side = "credit" if amount > 0 else "debit"
        lines.append([0, 0, {"account_id": account_ids[code], "name": f"{settlement.processor} payout "
                             f"{settlement.payout_id}", side: float(abs(amount)),
                             "debit" if side == "credit" else "credit": 0.0}])
    vals: dict[str, Any] = {"move_type": "entry", "ref": settlement.payout_id,
                            "date": settlement.paid_at.date().isoformat(),
                            "narration": f"{settlement.processor} payout {settlement.payout_id}: gross "
                                         f"{settlement.gross}, refunds {settlement.refunds}, fees "
                                         f"{settlement.fees}, net {settlement.net} {settlement.currency}",
                            "line_ids": lines}
    if journal_id is not None:
        vals["journal_id"] = journal_id
    return vals


async def push_settlements(conn: "OdooConnector", deliveries: list[Delivery]) -> list[ItemResult]:
    results: dict[int, ItemResult] = {}
    docs: dict[int, Settlement] = {}
    for i, delivery in enumerate(deliveries):
        try:
            doc = Settlement.model_validate(delivery.payload)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                                 for e in exc.errors(include_input=False, include_url=False))
            results[i] = _fail(delivery, Category.VALIDATION, f"payload is not a valid settlement: {problems}")
            continue
        if doc.currency != conn.currency:
            results[i] = _fail(delivery, Category.VALIDATION,
                               f"payout currency {doc.currency} differs from the Odoo company currency "
                               f"{conn.currency}; multi-currency entries are not supported")
            continue
        docs[i] = doc

    # The exactly-once guard: one lookup by payout id for the whole batch.
    existing: dict[str, dict[str, Any]] = {}
    refs = sorted({d.payout_id for d in docs.values()})
    if refs:
        for row in await conn._search_read(MODEL, [["move_type", "=", "entry"], ["ref", "in", refs]],
                                           ["id", "name", "ref", "state"], order="id asc"):
            existing.setdefault(row["ref"], row)
    to_post: dict[int, int] = {}  # item -> move id still in draft (ours, answer lost before posting)
    first_of: dict[str, int] = {}
    followers: dict[int, int] = {}
    for i, doc in list(docs.items()):
        row = existing.get(doc.payout_id)
        if row is not None and row.get("state") == "posted":
            results[i] = _linked(deliveries[i], row, doc.payout_id, "already posted")
            del docs[i]
        elif row is not None:
            to_post[i] = row["id"]
            del docs[i]
        elif doc.payout_id in first_of:
            followers[i] = first_of[doc.payout_id]  # the same payout twice in one batch
            del docs[i]
        else:
            first_of[doc.payout_id] = i

    codes = sorted({code for doc in docs.values() for code, _ in doc.postings()})
    account_ids: dict[str, list[int]] = await conn._lookup("account.account", "code", set(codes)) if codes else {}
    journal_id = None
    if docs and conn.options.get("settlement_journal"):
        journals = await conn._lookup("account.journal", "code", {str(conn.options["settlement_journal"])})
        ids = journals.get(str(conn.options["settlement_journal"]), [])
        if len(ids) != 1:
            for i in docs:
                results[i] = _fail(deliveries[i], Category.VALIDATION,
                                   f"options.settlement_journal {conn.options['settlement_journal']!r} matches "
                                   f"{len(ids)} Odoo journals (account.journal code); it must match one")
            docs = {}
        else:
            journal_id = ids[0]
    batch: list[tuple[int, dict[str, Any]]] = []
    for i, doc in docs.items():
        missing = [code for code, _ in doc.postings() if len(account_ids.get(code, [])) != 1]
        if missing:
            code = missing[0]
            found = len(account_ids.get(code, []))
            results[i] = _fail(deliveries[i], Category.VALIDATION,
                               f"account {code!r} (account.account code) " + (
                                   "not found in Odoo" if not found else f"matches {found} Odoo accounts") +
                               "; fix the gl_account map or the chart of accounts")
            continue
        batch.append((i, move_vals(doc, {c: account_ids[c][0] for c, _ in doc.postings()}, journal_id)))

    created = await conn._create_isolating(MODEL, batch)
    for i, outcome in created.items():
        if isinstance(outcome, DeliveryError):
            results[i] = ItemResult(deliveries[i].record_id, error=outcome, status=outcome.status,
                                    request_summary=f"POST /json/2/{MODEL}/create (1 entry)",
                                    response_excerpt=outcome.response_excerpt or "")
        else:
            to_post[i] = outcome

    if to_post:
        # Posting is a second call (JSON-2 runs one method per transaction): if its answer is lost
        # the moves stay draft, and the retry finds and posts them through the ref guard above.
        await conn._call(MODEL, "action_post", ids=sorted(set(to_post.values())))
        for i, move_id in to_post.items():
            how = "created and posted" if i in created else "posted an earlier attempt's draft"
            results[i] = ItemResult(deliveries[i].record_id, target_ref=str(move_id), status=200,
                                    request_summary=f"POST /json/2/{MODEL}/create + action_post",
                                    response_excerpt=f"id {move_id}",
                                    note=None if i in created else how)
    for i, leader in followers.items():
        lead = results[leader]
        if lead.error is None:
            results[i] = ItemResult(deliveries[i].record_id, target_ref=lead.target_ref, status=200,
                                    error=DeliveryError(Category.DUPLICATE,
                                                        f"journal entry for payout {deliveries[i].entity_key!r} was "
                                                        f"created earlier in this batch (id {lead.target_ref})",
                                                        status=200))
        else:
            results[i] = ItemResult(deliveries[i].record_id, error=lead.error, status=lead.status)
    return [results[i] for i in range(len(deliveries))]

