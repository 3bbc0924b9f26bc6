"""Journal entries for the simulated Odoo: ``account.account``, ``account.move`` of type
``entry`` with ``line_ids`` (debit/credit per account) and ``action_post``.

Like Odoo, an entry whose debits and credits differ is refused at create time
(``odoo.exceptions.UserError``, HTTP 422 on JSON-2), posting a draft assigns nothing new but
the state, and posting an already posted entry is a UserError too.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from syncops.simulator.odoo import OdooApp

# Chart of accounts the simulated company starts with (code -> name); configs add their own.
DEFAULT_ACCOUNTS: dict[str, str] = {
    "400000": "Product Sales", "450000": "Sales Refunds", "626000": "Bank Fees",
    "101402": "Outstanding Receipts (clearing)", "101401": "Bank",
}


def user_error(message: str) -> Exception:
    from syncops.simulator.odoo import OdooError

    return OdooError(422, "odoo.exceptions.UserError", message)


def entry_lines(app: "OdooApp", commands: Any) -> list[dict[str, Any]]:
    """Validate ``line_ids`` create commands of a journal entry; refuse unbalanced ones."""
    rows = []
    for command in commands or []:
        if not (isinstance(command, (list, tuple)) and len(command) == 3 and command[0] == 0
                and isinstance(command[2], dict)):
            raise user_error(f"Invalid one2many command {command!r} for field 'line_ids'")
        row = app._check_vals("account.move.line", dict(command[2]))
        if row.get("account_id") is None:
            raise user_error("The operation cannot be completed: Missing required value for the field "
                             "'account_id' on 'account.move.line'.")
        for side in ("debit", "credit"):
            row[side] = float(row.get(side) or 0.0)
            if row[side] < 0:
                raise user_error(f"Wrong {side} value: it cannot be negative.")
        rows.append(row)
    debit = sum((Decimal(str(r["debit"])) for r in rows), Decimal("0")).quantize(Decimal("0.01"))
    credit = sum((Decimal(str(r["credit"])) for r in rows), Decimal("0")).quantize(Decimal("0.01"))
    if debit != credit:
        raise user_error(f"The entry is not balanced. The total of debits equals {debit} and the total of "
                         f"credits equals {credit}.")
    return rows


def action_post(app: "OdooApp", model: str, ids: Any) -> bool:
    if model != "account.move":
        from syncops.simulator.odoo import _not_found

        raise _not_found(f"The method 'action_post' does not exist on the model {model!r}.")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, int) for i in ids):
        raise user_error("action_post() needs the ids of the entries to post")
    moves = app._tables["account.move"]
    missing = [i for i in ids if i not in moves]
    if missing:
        from syncops.simulator.odoo import OdooError

        raise OdooError(404, "odoo.exceptions.MissingError",
                        f"Record does not exist or has been deleted. (Record: account.move({missing[0]},))")
    posted = [moves[i]["name"] for i in ids if moves[i]["state"] == "posted"]
    if posted:
        raise user_error(f"The entry {posted[0]} has already been posted.")
    now = app._now(None)
    for i in ids:  # one transaction: every check passed before anything changes
        moves[i].update(state="posted", write_date=now)
    return True


def journal_entries(app: "OdooApp") -> list[dict[str, Any]]:
    """Entries (move_type 'entry') with their lines inlined, account codes resolved."""
    out = []
    accounts = app._tables["account.account"]
    for rec in app._tables["account.move"].values():
        if rec["move_type"] != "entry":
            continue
        move = dict(rec)
        move["lines"] = [dict(app._tables["account.move.line"][i]) for i in rec.get("line_ids") or []]
        for line in move["lines"]:
            line["account_code"] = accounts[line["account_id"]]["code"]
        out.append(move)
    return out
