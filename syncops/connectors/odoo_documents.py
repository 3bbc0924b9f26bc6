"""Bring an Odoo document to the state the source means, not just into existence.

A sales order is confirmed, locked or cancelled as its (mapped) status says, its lines follow
edits made after delivery (or the edit is a `conflict` when Odoo forbids it), and its payments
are registered on the mapped journal. A credit note is posted, and the goods the source says went
back on the shelf move into stock through a validated return picking. Every step first looks for
what an earlier, unanswered attempt may already have done, so a retry never does it twice.
A record is delivered only when a read-back shows the intended state.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from syncops.connectors.base import ItemResult
from syncops.connectors.errors import DeliveryError
from syncops.store.categories import Category

ODOO_STATES = ("draft", "sent", "sale", "done", "cancel")
# Used when a flow maps no order_status: the words channels use, read as Odoo would mean them.
_FALLBACK = {
    "pending": "draft", "open": "draft", "draft": "draft", "quotation": "draft",
    "authorized": "sale", "paid": "sale", "partially_paid": "sale", "fulfilled": "sale", "completed": "sale",
    "confirmed": "sale", "sale": "sale", "closed": "done", "done": "done", "locked": "done",
    "cancelled": "cancel", "canceled": "cancel", "voided": "cancel", "refunded": "cancel", "cancel": "cancel",
}
# (current state, wanted state) -> Odoo actions in order; a missing pair is a conflict.
_PLAN: dict[tuple[str, str], tuple[str, ...]] = {
    ("draft", "draft"): (), ("sent", "draft"): (),
    ("draft", "sale"): ("action_confirm",), ("sent", "sale"): ("action_confirm",),
    ("sale", "sale"): (), ("done", "sale"): (),
    ("draft", "done"): ("action_confirm", "action_lock"), ("sent", "done"): ("action_confirm", "action_lock"),
    ("sale", "done"): ("action_lock",), ("done", "done"): (),
    ("draft", "cancel"): ("action_cancel",), ("sent", "cancel"): ("action_cancel",),
    ("sale", "cancel"): ("action_cancel",), ("cancel", "cancel"): (),
}
_EDITABLE = ("draft", "sent", "sale")
PAID_STATES = ("sale", "done")


class ItemProblem(Exception):
    """A per-item problem found before calling Odoo (unknown warehouse, journal, state)."""


def intended_state(status: str) -> str:
    """The Odoo sale.order state an order's (mapped) status asks for."""
    if status in ODOO_STATES:
        return status
    state = _FALLBACK.get(status.strip().lower())
    if state is None:
        raise ItemProblem(f"status: {status!r} names no Odoo order state; map it with an order_status map "
                          f"to one of {', '.join(ODOO_STATES)}")
    return state


async def warehouses(conn: Any, locations: set[str]) -> dict[str, int]:
    """Stock location (complete name, as the location map writes it) -> the warehouse it stocks."""
    if not locations:
        return {}
    locs = await conn._search_read("stock.location", [["complete_name", "in", sorted(locations)]],
                                   ["id", "complete_name"], order="id asc")
    by_id = {row["id"]: row["complete_name"] for row in locs}
    if not by_id:
        return {}
    rows = await conn._search_read("stock.warehouse", [["lot_stock_id", "in", sorted(by_id)]],
                                   ["id", "lot_stock_id"], order="id asc")
    return {by_id[row["lot_stock_id"][0]]: row["id"] for row in rows if row.get("lot_stock_id")}


async def stock_locations(conn: Any, names: set[str]) -> dict[str, int]:
    if not names:
        return {}
    rows = await conn._search_read("stock.location", [["complete_name", "in", sorted(names)],
                                                      ["usage", "=", "internal"]], ["id", "complete_name"])
    return {row["complete_name"]: row["id"] for row in rows}


def _fail(item: Any, category: Category, message: str, summary: str = "") -> None:
    item.result = ItemResult(item.delivery.record_id, error=DeliveryError(category, message[:600], status=200),
                             status=200, request_summary=summary)


def _ok(item: Any, name: str, note: str, summary: str) -> None:
    item.result = ItemResult(item.delivery.record_id, target_ref=str(item.doc_id), status=200,
                             request_summary=summary, response_excerpt=f"{name} id {item.doc_id}", note=note)


async def _each(conn: Any, model: str, method: str, items: list[Any], what: str) -> None:
    """Run `method` on every item's document; Odoo's refusal of one (a UserError) fails that one."""
    if not items:
        return
    try:
        await conn._call(model, method, ids=[it.doc_id for it in items])
        return
    except DeliveryError as exc:
        if exc.category != Category.VALIDATION:
            raise
        if len(items) == 1:
            _fail(items[0], Category.CONFLICT, f"Odoo refused to {what}: {exc.message}")
            return
    for it in items:  # isolate the one Odoo refuses; the others go on
        try:
            await conn._call(model, method, ids=[it.doc_id])
        except DeliveryError as exc:
            if exc.category != Category.VALIDATION:
                raise
            _fail(it, Category.CONFLICT, f"Odoo refused to {what}: {exc.message}")


# -- sales orders ---------------------------------------------------------------------------------

def _line_key(product: Any, qty: Any, price: Any, discount: Any) -> tuple:
    pid = product[0] if isinstance(product, list) else product
    return (pid, round(float(qty or 0), 4), round(float(price or 0), 4), round(float(discount or 0), 4))


async def finish_orders(conn: Any, items: list[Any]) -> None:
    """Each item has doc_id (the sale.order), vals (its intended values), existing (bool) and
    doc (the canonical order). Sets item.result."""
    if not items:
        return
    rows = {r["id"]: r for r in await conn._search_read(
        "sale.order", [["id", "in", [it.doc_id for it in items]]], ["id", "name", "state", "order_line"])}
    for it in items:
        try:
            it.want = intended_state(it.doc.status)
        except ItemProblem as exc:
            _fail(it, Category.VALIDATION, str(exc))
    await _follow_edits(conn, [it for it in items if it.existing and it.result is None], rows)
    await _follow_addresses(conn, [it for it in items if it.existing and it.result is None])
    plans: dict[int, tuple[str, ...]] = {}
    for it in items:
        if it.result is not None:
            continue
        state = rows[it.doc_id]["state"]
        plan = _PLAN.get((state, it.want))
        if plan is None:
            _fail(it, Category.CONFLICT, f"Odoo order {rows[it.doc_id]['name']} is {state}, the source says "
                  f"{it.doc.status!r} ({it.want}); Odoo cannot go from {state} to {it.want}. Resolve it in "
                  "Odoo, then retry")
        else:
            plans[it.index] = plan
    for step in range(2):  # confirm or cancel, then lock
        groups: dict[str, list[Any]] = {}
        for it in items:
            plan = plans.get(it.index, ())
            if it.result is None and len(plan) > step:
                groups.setdefault(plan[step], []).append(it)
        for action, group in groups.items():
            await _each(conn, "sale.order", action, group, f"{action.removeprefix('action_')} the order")
        if groups:
            rows.update({r["id"]: r for r in await conn._search_read(
                "sale.order", [["id", "in", [it.doc_id for g in groups.values() for it in g]]],
                ["id", "name", "state", "order_line"])})
    paid = [it for it in items if it.result is None and it.want in PAID_STATES and it.doc.payments]
    payments = await _register_payments(conn, paid)
    for it in items:
        if it.result is not None:
            continue
        row = rows[it.doc_id]
        if row["state"] != it.want and not (it.want == "sale" and row["state"] == "done"):
            _fail(it, Category.CONFLICT, f"Odoo order {row['name']} is {row['state']} after syncops asked for "
                  f"{it.want}")
            continue
        linked = "already in Odoo, linked" if it.existing else "created"
        _ok(it, row["name"], f"Odoo sale.order {row['name']} (id {it.doc_id}) {linked}; state {row['state']}"
            + payments.get(it.index, ""), f"POST /json/2/sale.order ({it.want})")


async def _follow_edits(conn: Any, items: list[Any], rows: dict[int, dict[str, Any]]) -> None:
    """An order edited after delivery (lines, quantities): rewrite its lines where Odoo allows."""
    line_ids = [lid for it in items for lid in rows[it.doc_id]["order_line"] or []]
    current: dict[int, dict[str, Any]] = {}
    if line_ids:
        current = {r["id"]: r for r in await conn._read(
            "sale.order.line", line_ids, ["id", "product_id", "product_uom_qty", "price_unit", "discount"])}
    for it in items:
        row = rows[it.doc_id]
        have = sorted(_line_key(current[i]["product_id"], current[i]["product_uom_qty"], current[i]["price_unit"],
                                current[i].get("discount")) for i in row["order_line"] or [] if i in current)
        new_lines = [cmd[2] for cmd in it.vals["order_line"]]
        want = sorted(_line_key(v["product_id"], v["product_uom_qty"], v["price_unit"], v.get("discount"))
                      for v in new_lines)
        if have == want:
            continue
        if row["state"] not in _EDITABLE:
            _fail(it, Category.CONFLICT, f"the order changed after delivery, but Odoo order {row['name']} is "
                  f"{row['state']} and its lines cannot change: Odoo has {len(have)} line(s), the source "
                  f"{len(want)}. Change it in Odoo, then resolve this record")
            continue
        try:
            await conn._call("sale.order", "write", ids=[it.doc_id],
                             vals={"order_line": [[5, 0, 0], *it.vals["order_line"]]})
        except DeliveryError as exc:
            if exc.category != Category.VALIDATION:
                raise
            _fail(it, Category.CONFLICT, f"Odoo refused the edited lines of {row['name']}: {exc.message}")


async def _follow_addresses(conn: Any, items: list[Any]) -> None:
    """An address edited after delivery: the order's customer (found by e-mail) gets it in Odoo."""
    from syncops.connectors.odoo import OdooConnector

    wanted = {}
    for it in items:
        customer = it.doc.customer
        if customer is not None and customer.email and customer.address is not None and it.partner_id:
            wanted[it.partner_id] = {k: v for k, v in OdooConnector._partner_vals(customer).items()
                                     if k in ("street", "street2", "city", "zip")}
    if not wanted:
        return
    held = {r["id"]: r for r in await conn._search_read(
        "res.partner", [["id", "in", sorted(wanted)]], ["id", "street", "street2", "city", "zip"])}
    for pid, vals in sorted(wanted.items()):
        have = held.get(pid, {})
        changed = {k: v for k, v in vals.items() if (have.get(k) or None) != v}
        if changed:
            await conn._call("res.partner", "write", ids=[pid], vals=changed)


async def _register_payments(conn: Any, items: list[Any]) -> dict[int, str]:
    """One posted account.payment per source payment, on the journal its method maps to."""
    notes: dict[int, str] = {}
    if not items:
        return notes
    methods = {p.method for it in items for p in it.doc.payments}
    journals = {r["name"]: r["id"] for r in await conn._search_read(
        "account.journal", [["name", "in", sorted(methods)]], ["id", "name"])}
    wanted: list[tuple[Any, str, dict[str, Any]]] = []
    for it in items:
        missing = sorted({p.method for p in it.doc.payments} - journals.keys())
        if missing:
            _fail(it, Category.VALIDATION, f"payments: payment method {missing[0]!r} has no Odoo journal of that "
                  "name; map it with a payment_method map to a journal (e.g. Bank, Cash)")
            continue
        for n, p in enumerate(it.doc.payments, start=1):
            memo = f"{it.doc.order_number}/{n}" + (f" {p.reference}" if p.reference else "")
            wanted.append((it, memo, {"partner_id": it.partner_id, "journal_id": journals[p.method],
                                      "amount": float(Decimal(p.amount)), "payment_type": "inbound",
                                      "memo": memo}))
    if not wanted:
        return notes
    found = {r["memo"]: r for r in await conn._search_read(
        "account.payment", [["memo", "in", [m for _, m, _ in wanted]]], ["id", "memo", "state"])}
    new = [(it, memo, vals) for it, memo, vals in wanted if memo not in found and it.result is None]
    if new:
        ids = await conn._create("account.payment", [vals for _, _, vals in new])
        found.update({memo: {"id": pid, "memo": memo, "state": "draft"} for (_, memo, _), pid in zip(new, ids)})
    drafts = sorted({found[m]["id"] for it, m, _ in wanted if it.result is None and found[m]["state"] == "draft"})
    if drafts:
        await conn._call("account.payment", "action_post", ids=drafts)
    for it, memo, _ in wanted:
        if it.result is None:
            notes[it.index] = notes.get(it.index, "; payments posted:") + f" {memo}"
    return notes


# -- credit notes and restocking ------------------------------------------------------------------

async def finish_returns(conn: Any, items: list[Any]) -> None:
    """Post each credit note and move restocked goods back into the location the source names."""
    if not items:
        return
    rows = {r["id"]: r for r in await conn._search_read(
        "account.move", [["id", "in", [it.doc_id for it in items]]], ["id", "name", "state"])}
    await _each(conn, "account.move", "action_post",
                [it for it in items if rows[it.doc_id]["state"] == "draft"], "post the credit note")
    restocks = await _restock(conn, [it for it in items if it.result is None])
    rows = {r["id"]: r for r in await conn._search_read(
        "account.move", [["id", "in", [it.doc_id for it in items]]], ["id", "name", "state"])}
    for it in items:
        if it.result is not None:
            continue
        row = rows[it.doc_id]
        if row["state"] != "posted":
            _fail(it, Category.CONFLICT, f"Odoo credit note {row['name']} is {row['state']}, not posted")
            continue
        linked = "already in Odoo, linked" if it.existing else "created"
        _ok(it, row["name"], f"Odoo credit note {row['name']} (id {it.doc_id}) {linked}; posted"
            + restocks.get(it.index, ""), "POST /json/2/account.move (posted)")


async def _restock(conn: Any, items: list[Any]) -> dict[int, str]:
    """A validated incoming picking per return whose lines went back on the shelf (origin = the
    return number, so a retry finds it instead of restocking twice)."""
    notes: dict[int, str] = {}
    todo = [it for it in items if any(line.restock for line in it.doc.lines)]
    if not todo:
        return notes
    origins = [it.doc.return_number for it in todo]
    done = {r["origin"]: r for r in await conn._search_read(
        "stock.picking", [["origin", "in", origins], ["picking_type_code", "=", "incoming"]],
        ["id", "name", "origin", "state"])}
    customers = await conn._search_read("stock.location", [["usage", "=", "customer"]], ["id"], limit=1)
    for it in todo:
        picking = done.get(it.doc.return_number)
        if picking is None:
            if not customers:
                _fail(it, Category.VALIDATION, "Odoo has no customer location to return goods from")
                continue
            moves = [[0, 0, {"product_id": it.products[line.sku], "product_uom_qty": float(line.quantity)}]
                     for line in it.doc.lines if line.restock]
            [pid] = await conn._create("stock.picking", [{
                "picking_type_code": "incoming", "origin": it.doc.return_number,
                "location_id": customers[0]["id"], "location_dest_id": it.stock_location, "move_ids": moves}])
            picking = {"id": pid, "name": f"picking {pid}", "state": "draft"}
        if picking["state"] != "done":
            await conn._call("stock.picking", "button_validate", ids=[picking["id"]])
        count = sum(int(line.quantity) for line in it.doc.lines if line.restock)
        notes[it.index] = f"; restocked {count} unit(s) at {it.doc.location_id} ({picking['name']})"
    return notes
