"""One valid, realistic payload per entity, for tests, docs and the simulator.

Payloads are JSON-shaped (money as strings, ISO datetimes), i.e. what a connector
hands to ``validate_payload``.
"""

from __future__ import annotations

import copy
from typing import Any

from .registry import model_for

_SAMPLES: dict[str, dict[str, Any]] = {
    "inventory": {
        "sku": "TSHIRT-RED-M",
        "location_id": "store-001",
        "available": 12,
        "on_hand": 14,
        "changed_at": "2024-05-01T10:00:00Z",
        "source_ref": "inv-change-8812",
    },
    "order": {
        "order_number": "POS-10042",
        "channel": "pos",
        "status": "completed",
        "placed_at": "2024-05-01T10:15:00-04:00",
        "currency": "USD",
        "customer": {
            "customer_id": "cust-77",
            "name": "Jane Doe",
            "email": "jane@example.com",
            "phone": "+1 555-010-4477",
            "address": {
                "line1": "12 Market St",
                "line2": None,
                "city": "Springfield",
                "region": "IL",
                "postal_code": "62701",
                "country": "US",
            },
        },
        "lines": [
            # 2 x 19.99 - 2.00 = 37.98
            {"sku": "TSHIRT-RED-M", "quantity": "2", "unit_price": "19.99", "tax_code": "standard", "discount": "2.00"},
            {"sku": "MUG-WHITE", "quantity": "1", "unit_price": "12.50", "tax_code": "standard", "discount": "0"},
        ],
        # 8.25% of 50.48, rounded
        "taxes": [{"code": "standard", "rate": "0.0825", "amount": "4.16"}],
        "payments": [{"method": "card", "amount": "54.64", "reference": "ch_3PabcXYZ"}],
        "location_id": "store-001",
        "total": "54.64",
    },
    "return": {
        "return_number": "RET-5001",
        "order_number": "POS-10042",
        "location_id": "store-001",
        "created_at": "2024-05-03T16:20:00Z",
        "currency": "USD",
        "customer": {"name": "Jane Doe", "email": "jane@example.com"},
        "lines": [{"sku": "TSHIRT-RED-M", "quantity": "1", "refund_amount": "18.99", "restock": True}],
        "refund_method": "card",
        "total": "18.99",
    },
    "price": {
        "sku": "TSHIRT-RED-M",
        "price_list": "retail-usd",
        "currency": "USD",
        "amount": "19.99",
        "compare_at": "24.99",
        "effective_at": "2024-05-01T00:00:00Z",
    },
    "product": {
        "sku": "TSHIRT-RED-M",
        "product_id": "TSHIRT",
        "title": "Classic T-Shirt - Red / M",
        "options": {"color": "Red", "size": "M"},
        "barcode": "0012345678905",
        "price": "19.99",
        "active": True,
    },
    "settlement": {
        "payout_id": "po_1PXyZ2024",
        "processor": "stripe",
        "currency": "USD",
        "paid_at": "2024-05-03T00:00:00Z",
        "gross": "1268.99",
        "refunds": "18.99",
        "fees": "36.55",
        "net": "1213.45",
        "lines": [
            {"kind": "charge", "reference": "ch_3PabcXYZ", "amount": "1268.99"},
            {"kind": "refund", "reference": "re_1Qdef", "amount": "-18.99"},
            {"kind": "fee", "reference": "fees-2024-05-02", "amount": "-36.55"},
        ],
    },
    "journal": {
        "entry_number": "JE-2024-0501",
        "date": "2024-05-01",
        "currency": "USD",
        "memo": "POS takings store-001",
        "lines": [
            {"account": "1100", "debit": "54.64", "credit": "0", "description": "Card clearing"},
            {"account": "4000", "debit": "0", "credit": "50.48", "description": "Sales"},
            {"account": "2200", "debit": "0", "credit": "4.16", "description": "Sales tax payable"},
        ],
    },
}


def sample_payload(entity: str) -> dict[str, Any]:
    """A fresh copy each call, so callers may modify it freely."""
    model_for(entity)
    return copy.deepcopy(_SAMPLES[entity])
