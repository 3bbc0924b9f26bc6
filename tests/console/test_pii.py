"""What is masked before a reveal."""

from __future__ import annotations

from syncops.console.pii import mask_canonical, mask_source
from syncops.models.pii import mask_diff
from syncops.models import sample_payload


def test_canonical_payloads_use_the_models_rules():
    masked = mask_canonical("order", sample_payload("order"))
    assert masked["customer"]["name"] == "J*** D**" and masked["customer"]["address"]["country"] == "US"
    assert mask_canonical("inventory", sample_payload("inventory")) == sample_payload("inventory")


def test_vendor_payloads_are_masked_by_key():
    src = {"customer": {"first_name": "Jane", "email": "jane@example.com", "default_address": {"address1": "12 Main",
                                                                                                 "country": "US"}},
           "line_items": [{"name": "T-Shirt", "sku": "TS"}], "phone": "+1 555 123 4567",
           "billing_address": {"name": "Jane Doe", "zip": "62701"}}
    out = mask_source(src)
    assert out["customer"]["first_name"] == "J***" and out["customer"]["email"] == "j***@example.com"
    assert out["customer"]["default_address"] == {"address1": "***", "country": "US"}
    assert out["line_items"][0]["name"] == "T-Shirt"  # a product name is not personal data
    assert out["phone"].endswith("67") and "555" not in out["phone"]
    assert out["billing_address"] == {"name": "***", "zip": "***"}


def test_diffs_hide_customer_values():
    diff = '-    "name": "Jane Doe",\n+    "name": "Jane Smith",\n     "sku": "TS"'
    assert mask_diff(diff) == '-    "name": "***",\n+    "name": "***",\n     "sku": "TS"'
