"""Canonical models: what an operator sees when a payload is (in)valid, and PII masking."""

from __future__ import annotations

import copy
import datetime as dt
import json
import pickle
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncops.models import (
    ENTITIES,
    FLOW_ENTITIES,
    PII_FIELDS,
    InventoryPosition,
    Location,
    PayloadInvalid,
    entity_key,
    mask_pii,
    model_for,
    sample_payload,
    validate_payload,
)
from syncops.models.errors import format_loc
from syncops.models.pii import mask_email, mask_name, mask_phone


def problems(entity: str, data: object) -> list[str]:
    with pytest.raises(PayloadInvalid) as info:
        validate_payload(entity, data)
    assert info.value.entity == entity
    return info.value.errors


# --- registry -----------------------------------------------------------------


def test_entities_cover_the_contract_table() -> None:
    assert set(ENTITIES) == {"inventory", "order", "return", "price", "product", "settlement", "journal"}
    assert "journal" not in FLOW_ENTITIES
    assert model_for("inventory") is InventoryPosition


def test_unknown_entity_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown entity 'location'.*inventory, order"):
        model_for("location")
    with pytest.raises(ValueError, match="unknown entity"):
        validate_payload("shipment", {})


@pytest.mark.parametrize("entity", list(ENTITIES))
def test_sample_payloads_validate_and_round_trip(entity: str) -> None:
    model = validate_payload(entity, sample_payload(entity))
    dumped = model.model_dump(mode="json")
    # JSON-safe and stable: what the store persists validates to the same model.
    assert json.loads(json.dumps(dumped)) == dumped
    assert validate_payload(entity, dumped) == model


def test_sample_payload_is_a_fresh_copy() -> None:
    first = sample_payload("order")
    first["lines"].clear()
    assert sample_payload("order")["lines"]


@pytest.mark.parametrize(
    ("entity", "key"),
    [
        ("inventory", "TSHIRT-RED-M@store-001"),
        ("order", "POS-10042"),
        ("return", "RET-5001"),
        ("price", "TSHIRT-RED-M@retail-usd"),
        ("product", "TSHIRT-RED-M"),
        ("settlement", "po_1PXyZ2024"),
        ("journal", "JE-2024-0501"),
    ],
)
def test_entity_keys(entity: str, key: str) -> None:
    assert entity_key(entity, sample_payload(entity)) == key


def test_entity_key_validates_first() -> None:
    bad = sample_payload("inventory") | {"available": -1}
    with pytest.raises(PayloadInvalid, match="available: must be >= 0"):
        entity_key("inventory", bad)


def test_money_serialises_as_string_and_datetimes_as_aware_iso() -> None:
    dumped = validate_payload("order", sample_payload("order")).model_dump(mode="json")
    assert dumped["total"] == "54.64"
    assert dumped["lines"][0]["unit_price"] == "19.99"
    assert dumped["placed_at"] == "2024-05-01T10:15:00-04:00"
    model = validate_payload("order", sample_payload("order"))
    assert model.total == Decimal("54.64")
    assert model.placed_at.utcoffset() == dt.timedelta(hours=-4)


# --- error messages -------------------------------------------------------------


def test_every_problem_is_listed_with_its_field_path() -> None:
    data = sample_payload("order")
    data["lines"][1]["quantity"] = "0"
    data["currency"] = "usd"
    data["placed_at"] = "2024-05-01T10:15:00"
    errors = problems("order", data)
    assert "lines[1].quantity: must be >= 1" in errors
    assert any(e.startswith("currency: must be a 3-letter uppercase") for e in errors)
    assert any(e.startswith("placed_at: must include a timezone") for e in errors)
    assert len(errors) == 3


def test_message_is_one_readable_line_without_pydantic_noise_or_input() -> None:
    data = sample_payload("order")
    data["customer"]["email"] = "jane.doe-at-example.com"
    with pytest.raises(PayloadInvalid) as info:
        validate_payload("order", data)
    text = str(info.value)
    assert text == (
        "invalid order payload (1 problem): customer.email: must be an email address like name@example.com"
    )
    # No traceback chain back into pydantic, and no customer data echoed back.
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert "jane.doe" not in text and "pydantic" not in text and "\n" not in text


def test_unknown_field_is_rejected_at_any_depth() -> None:
    data = sample_payload("order")
    data["gift_wrap"] = True
    data["lines"][0]["colour"] = "red"
    assert sorted(problems("order", data)) == ["gift_wrap: unknown field", "lines[0].colour: unknown field"]


def test_missing_field_and_non_object_payload() -> None:
    data = sample_payload("price")
    del data["currency"]
    assert problems("price", data) == ["currency: required"]
    assert problems("price", ["not", "an", "object"]) == ["payload: must be an object"]


def test_payload_invalid_survives_pickling() -> None:
    # Errors cross process boundaries (xdist, worker pools) intact.
    err = pickle.loads(pickle.dumps(PayloadInvalid("order", ["total: x"])))
    assert (err.entity, err.errors, str(err)) == ("order", ["total: x"], "invalid order payload (1 problem): total: x")


def test_format_loc() -> None:
    assert format_loc(("lines", 0, "quantity")) == "lines[0].quantity"
    assert format_loc(("options", "color")) == "options.color"
    assert format_loc(()) == "payload"


# --- validators -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entity", "change", "expected"),
    [
        ("inventory", {"available": -3}, "available: must be >= 0"),
        ("inventory", {"available": True}, "available: must be a whole number"),
        ("inventory", {"available": 2.5}, "available: must be a whole number"),
        ("inventory", {"sku": ""}, "sku: must not be empty"),
        ("inventory", {"sku": " TSHIRT-RED-M"}, "sku: must not have leading or trailing whitespace"),
        ("inventory", {"location_id": "store-001\t"}, "location_id: must not have leading or trailing whitespace"),
        ("inventory", {"changed_at": "yesterday"}, "changed_at: must be an ISO 8601 datetime with timezone"),
        ("price", {"currency": "US"}, "currency: must be a 3-letter uppercase currency code (e.g. USD)"),
        ("price", {"currency": "usd"}, "currency: must be a 3-letter uppercase currency code (e.g. USD)"),
        ("price", {"amount": "-1"}, "amount: must be >= 0"),
        ("price", {"amount": "NaN"}, "amount: must be a finite number"),
        ("price", {"amount": "12,50"}, "amount: must be a decimal number"),
        ("product", {"title": "  "}, "title: must not be empty"),
        ("journal", {"date": "01/05/2024"}, "date: must be a date (YYYY-MM-DD)"),
        ("order", {"lines": []}, "lines: must have at least 1 item(s)"),
    ],
)
def test_field_validators(entity: str, change: dict, expected: str) -> None:
    assert expected in problems(entity, sample_payload(entity) | change)


def test_order_line_quantity_and_discount() -> None:
    data = sample_payload("order")
    data["lines"][0]["quantity"] = "0.5"
    assert "lines[0].quantity: must be >= 1" in problems("order", data)
    data = sample_payload("order")
    data["lines"][1]["discount"] = "12.51"
    assert "lines[1].discount: must not exceed quantity * unit_price" in problems("order", data)


def test_order_total_must_match_within_a_cent() -> None:
    data = sample_payload("order")
    data["total"] = "54.65"  # one cent of rounding drift is accepted
    validate_payload("order", data)
    data["total"] = "54.66"
    assert problems("order", data) == [
        "total: expected 54.64 (lines - discounts + shipping + taxes), got 54.66"
    ]


def test_order_total_with_shipping_and_tax_inclusive_prices() -> None:
    data = sample_payload("order") | {"shipping": "5.00", "total": "59.64"}
    assert validate_payload("order", data).total == Decimal("59.64")
    # VAT-style pricing: taxes are informational and already inside the line prices.
    data = sample_payload("order") | {"taxes_included": True, "total": "50.48"}
    validate_payload("order", data)


def test_tax_rate_is_a_fraction() -> None:
    data = sample_payload("order")
    data["taxes"][0]["rate"] = "8.25"
    assert "taxes[0].rate: must be <= 1" in problems("order", data)


def test_return_total_and_quantity() -> None:
    data = sample_payload("return")
    data["lines"][0]["quantity"] = 0
    data["total"] = "20.00"
    errors = problems("return", data)
    assert errors == ["lines[0].quantity: must be >= 1"]  # totals are checked once lines are valid
    data["lines"][0]["quantity"] = 1
    assert problems("return", data) == ["total: expected 18.99 (sum of lines[*].refund_amount), got 20.00"]


def test_settlement_gross_minus_fees_equals_net_exactly() -> None:
    data = sample_payload("settlement") | {"net": "1213.44"}
    assert problems("settlement", data) == [
        "net: expected 1213.45 (gross - refunds - fees + adjustments + reserves), got 1213.44"]
    # Negative payouts (chargebacks exceeding sales) are legitimate.
    validate_payload("settlement", data | {"gross": "-20.00", "refunds": "0", "fees": "15.00", "net": "-35.00",
                                           "lines": []})


def test_settlement_lines_explain_each_total_by_kind() -> None:
    data = sample_payload("settlement")
    data["lines"][2]["amount"] = "-36.50"  # a fee line the totals do not account for
    assert problems("settlement", data) == ["fees: fee lines add up to 36.50, but fees is 36.55"]
    data["lines"][2] |= {"kind": "surcharge"}
    assert problems("settlement", data)[0].startswith("lines[2].kind:")


def test_settlement_postings_balance_and_merge_accounts_mapped_together() -> None:
    from decimal import Decimal

    from syncops.models import Settlement
    s = Settlement.model_validate(sample_payload("settlement") | {"adjustments": "-1.00", "net": "1212.45",
                                                                  "lines": []})
    posted = dict(s.postings())
    assert posted == {"sales": Decimal("1268.99"), "refunds": Decimal("-18.99"), "fees": Decimal("-36.55"),
                      "clearing": Decimal("-1.00"), "bank": Decimal("-1212.45")}
    assert sum(posted.values()) == 0
    s = Settlement.model_validate(s.model_dump(mode="json") | {"accounts": {"clearing": "1100", "bank": "1100"}})
    assert dict(s.postings())["1100"] == Decimal("-1213.45")


def test_journal_entry_must_balance() -> None:
    data = sample_payload("journal")
    data["lines"][2]["credit"] = "4.15"
    assert problems("journal", data) == ["lines: not balanced: debits 54.64 != credits 54.63"]


@pytest.mark.parametrize(("debit", "credit"), [("0", "0"), ("10", "10"), ("-5", "0")])
def test_journal_line_has_exactly_one_positive_side(debit: str, credit: str) -> None:
    data = sample_payload("journal")
    data["lines"][0].update(debit=debit, credit=credit)
    errors = problems("journal", data)
    assert any(e.startswith("lines[0]") for e in errors), errors


def test_location_kind() -> None:
    assert Location(location_id="wh-1", name="Main warehouse", kind="warehouse").kind == "warehouse"
    with pytest.raises(ValueError):
        Location(location_id="wh-1", name="Main warehouse", kind="depot")


# --- PII ------------------------------------------------------------------------------


def test_pii_fields_cover_every_entity() -> None:
    assert set(PII_FIELDS) == set(ENTITIES)
    assert "customer.email" in PII_FIELDS["order"]


def test_mask_order_customer() -> None:
    original = sample_payload("order")
    before = copy.deepcopy(original)
    masked = mask_pii("order", original)
    assert original == before  # never mutates
    assert masked["customer"] == {
        "customer_id": "cust-77",
        "name": "J*** D**",
        "email": "j***@example.com",
        "phone": "+* ***-***-**77",
        "address": {
            "line1": "***",
            "line2": None,
            "city": "***",
            "region": "***",
            "postal_code": "***",
            "country": "US",
        },
    }
    # Non-PII data is left intact for troubleshooting.
    assert masked["lines"] == original["lines"] and masked["total"] == original["total"]


def test_mask_return_and_entities_without_pii() -> None:
    masked = mask_pii("return", sample_payload("return"))
    assert masked["customer"] == {"name": "J*** D**", "email": "j***@example.com"}
    assert mask_pii("inventory", sample_payload("inventory")) == sample_payload("inventory")


def test_mask_tolerates_raw_invalid_payloads() -> None:
    # Payloads that failed validation are exactly the ones operators look at.
    raw = {"customer": {"name": 42, "phone": 5550123, "address": "12 Market St, Springfield"}, "lines": "?"}
    assert mask_pii("order", raw) == {
        "customer": {"name": "4*", "phone": "*****23", "address": "***"},
        "lines": "?",
    }
    assert mask_pii("order", {"customer": None}) == {"customer": None}
    assert mask_pii("order", {}) == {}


def test_mask_unknown_entity_fails_loudly() -> None:
    with pytest.raises(ValueError, match="unknown entity"):
        mask_pii("customer", {"name": "Jane"})


emails = st.builds(
    lambda local, domain: f"{local}@{domain}",
    st.text(st.characters(blacklist_characters="@"), min_size=1, max_size=20),
    st.from_regex(r"[a-z]{1,10}\.[a-z]{2,4}", fullmatch=True),
)


@given(emails)
def test_masked_email_never_equals_original_and_keeps_domain(email: str) -> None:
    masked = mask_email(email)
    assert masked != email
    assert masked.endswith("@" + email.rsplit("@", 1)[1])


@given(st.text(min_size=1, max_size=40))
def test_masked_values_never_equal_original(value: str) -> None:
    data = {"customer": {"name": value, "email": value, "phone": value, "address": {"line1": value}}}
    masked = mask_pii("order", data)["customer"]
    for field in ("name", "email", "phone"):
        assert masked[field] != value or not value.strip(" ")
    assert masked["address"]["line1"] == "***"


@given(st.from_regex(r"\+?[0-9][0-9 ()-]{4,18}[0-9]", fullmatch=True))
def test_masked_phone_keeps_only_last_two_digits(phone: str) -> None:
    masked = mask_phone(phone)
    digits = [ch for ch in phone if ch.isdigit()]
    # With two digits or fewer, keeping two would reveal the whole number.
    kept = digits[-2:] if len(digits) > 2 else []
    assert [ch for ch in masked if ch.isdigit()] == kept
    assert len(masked) == len(phone)


def test_mask_name_keeps_initials() -> None:
    assert mask_name("Jane Doe") == "J*** D**"
    assert mask_name("Li") == "L*"
