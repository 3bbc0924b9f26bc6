"""Which fields of each entity a mapping role rewrites.

A flow's ``mappings: {role: map_name}`` only names roles; this table is the single
place that knows where, e.g., SKUs live in an order.
"""

from __future__ import annotations

from syncops.models.registry import model_for

ROLES: tuple[str, ...] = ("sku", "location", "tax_code", "order_status", "gl_account", "payment_method")

ROLE_FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    "inventory": {"sku": ("sku",), "location": ("location_id",)},
    "order": {
        "sku": ("lines[*].sku",),
        "location": ("location_id",),
        "tax_code": ("lines[*].tax_code", "taxes[*].code"),
        "order_status": ("status",),
        "payment_method": ("payments[*].method",),
    },
    "return": {
        "sku": ("lines[*].sku",),
        "location": ("location_id",),
        "payment_method": ("refund_method",),
    },
    "price": {"sku": ("sku",)},
    "product": {"sku": ("sku",)},
    # Payout lines reference processor ids (nothing to map); the ledger accounts each part of
    # the payout posts to are syncops role names (sales, fees, ...) the tenant maps to its codes.
    "settlement": {"gl_account": ("accounts.sales", "accounts.refunds", "accounts.fees",
                                  "accounts.clearing", "accounts.bank")},
    "journal": {"gl_account": ("lines[*].account",)},
}


def roles_for(entity: str) -> tuple[str, ...]:
    """Roles that mean something for ``entity`` (for config validation and UIs)."""
    model_for(entity)
    return tuple(ROLE_FIELDS[entity])


def fields_for(entity: str, role: str) -> tuple[str, ...]:
    """Dotted paths (with ``[*]`` for list items) rewritten by ``role``; () if none."""
    model_for(entity)
    if role not in ROLES:
        raise ValueError(f"unknown mapping role {role!r}; known roles: {', '.join(ROLES)}")
    return ROLE_FIELDS[entity].get(role, ())
