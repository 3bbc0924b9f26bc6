"""Odoo's document workflows, as far as syncops drives them: confirming, locking and cancelling
sales orders, writing their lines, posting credit notes and payments, validating return pickings.

Each rule is the one real Odoo enforces, with its error class and wording close to Odoo's own
(`odoo.exceptions.UserError`), so a connector that skips a step fails here as it would there.
Called by OdooApp.execute with the app's lock held.
"""

from __future__ import annotations

from typing import Any

ORDER_ACTIONS = frozenset({"action_confirm", "action_cancel", "action_lock"})
MOVE_ACTIONS = frozenset({"action_post"})
PICKING_ACTIONS = frozenset({"button_validate"})
ACTIONS = {"sale.order": ORDER_ACTIONS, "account.move": MOVE_ACTIONS, "account.payment": MOVE_ACTIONS,
           "stock.picking": PICKING_ACTIONS}


class UserError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def run_action(app: Any, model: str, method: str, ids: Any) -> bool:
    if not isinstance(ids, list) or not ids or not all(isinstance(i, int) for i in ids):
        raise UserError(f"{model}.{method}() needs ids: a non-empty list of record ids")
    table = app._tables[model]
    missing = [i for i in ids if i not in table]
    if missing:
        raise UserError(f"Record does not exist or has been deleted. (Record: {model}({missing[0]},))")
    recs = [table[i] for i in ids]
    if model == "sale.order":
        _order_action(app, method, recs)
    elif model in ("account.move", "account.payment"):
        for rec in recs:
            if rec["state"] != "draft":
                raise UserError(f"Only draft entries can be posted; {rec['name']} is {rec['state']}.")
        for rec in recs:
            rec["state"] = "posted"
    elif model == "stock.picking":
        for rec in recs:
            _validate_picking(app, rec)
    return True


def _order_action(app: Any, method: str, recs: list[dict[str, Any]]) -> None:
    # Check every record first: one call is one transaction.
    for rec in recs:
        state = rec["state"]
        if method == "action_confirm" and state not in ("draft", "sent"):
            raise UserError(f"Some orders are not in a state requiring confirmation. ({rec['name']} is {state})")
        if method == "action_cancel" and state == "done":
            raise UserError(f"You cannot cancel a locked order ({rec['name']}). Please unlock it first.")
        if method == "action_lock" and state != "sale":
            raise UserError(f"Only confirmed orders can be locked ({rec['name']} is {state}).")
    new = {"action_confirm": "sale", "action_cancel": "cancel", "action_lock": "done"}[method]
    for rec in recs:
        rec["state"] = new


def check_write(model: str, rec: dict[str, Any], vals: dict[str, Any]) -> None:
    if model == "sale.order" and "order_line" in vals and rec["state"] in ("done", "cancel"):
        raise UserError(f"It is forbidden to modify the following fields in a locked or cancelled order: "
                        f"Order Lines ({rec['name']} is {rec['state']}).")
    if model == "account.move" and rec["state"] == "posted":
        raise UserError(f"You cannot modify a posted entry of this journal ({rec['name']}). "
                        "First you should set the journal to allow cancelling entries.")


def _validate_picking(app: Any, picking: dict[str, Any]) -> None:
    if picking["state"] == "done":
        raise UserError(f"{picking['name']} is already done.")
    moves = [app._tables["stock.move"][m] for m in picking["move_ids"] or []]
    if not moves:
        raise UserError(f"{picking['name']}: please add some items to move.")
    now = app._now(None)
    for move in moves:
        _move_quant(app, move["product_id"], move["location_dest_id"], move["product_uom_qty"], now)
        move["state"] = "done"
    picking["state"] = "done"


def _move_quant(app: Any, product_id: int, location_id: int, qty: float, now: str) -> None:
    """Goods arrive at an internal location: its quant grows (customer locations keep no stock)."""
    location = app._tables["stock.location"][location_id]
    if location.get("usage") != "internal":
        return
    for quant in app._tables["stock.quant"].values():
        if quant["product_id"] == product_id and quant["location_id"] == location_id:
            quant["quantity"] = float(quant["quantity"] or 0) + qty
            quant["write_date"] = now
            return
    app._insert("stock.quant", {"product_id": product_id, "location_id": location_id, "quantity": float(qty),
                                "reserved_quantity": 0.0}, now)
