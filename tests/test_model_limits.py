"""Size limits in the canonical models: each names the field and the limit; the limit itself passes."""

from __future__ import annotations

import pytest

from syncops.models import PayloadInvalid, sample_payload, validate_payload


def problems(entity: str, data: dict) -> list[str]:
    with pytest.raises(PayloadInvalid) as info:
        validate_payload(entity, data)
    return info.value.errors


def with_line(entity: str, **change) -> dict:
    p = sample_payload(entity)
    p["lines"][0].update(change)
    return p


@pytest.mark.parametrize(("entity", "field"), [
    ("inventory", "sku"), ("inventory", "location_id"), ("order", "order_number"), ("return", "return_number"),
    ("price", "price_list"), ("settlement", "payout_id"),
])
def test_identifiers_take_255_characters_and_no_more(entity: str, field: str) -> None:
    assert validate_payload(entity, sample_payload(entity) | {field: "X" * 255})
    assert problems(entity, sample_payload(entity) | {field: "X" * 256}) == [
        f"{field}: at most 255 characters (got 256)"]


def test_a_huge_sku_is_refused_with_its_length() -> None:
    assert problems("product", sample_payload("product") | {"sku": "S" * 20_971_520}) == [
        "sku: at most 255 characters (got 20,971,520)"]


@pytest.mark.parametrize(("value", "where"), [
    ("SKU\x00-1", "NUL at position 4"), ("A\x1bB", "U+001B at position 2"), ("AB\x7f", "U+007F at position 3"),
    ("A\x85B", "U+0085 at position 2"),
])
def test_identifiers_refuse_control_characters(value: str, where: str) -> None:
    assert problems("inventory", sample_payload("inventory") | {"sku": value}) == [
        f"sku: must not contain control characters ({where})"]


@pytest.mark.parametrize(("entity", "path", "change"), [
    ("inventory", "source_ref", lambda p: p.update(source_ref="r" * 256)),
    ("order", "payments[0].reference", lambda p: p["payments"][0].update(reference="r" * 256)),
    ("order", "customer.customer_id", lambda p: p["customer"].update(customer_id="c" * 256)),
    ("product", "barcode", lambda p: p.update(barcode="1" * 256)),
])
def test_external_references_are_bounded_too(entity: str, path: str, change) -> None:
    p = sample_payload(entity)
    change(p)
    assert f"{path}: at most 255 characters (got 256)" in problems(entity, p)


def test_a_reference_may_be_empty_but_not_hold_a_nul() -> None:
    assert validate_payload("inventory", sample_payload("inventory") | {"source_ref": ""})
    assert problems("inventory", sample_payload("inventory") | {"source_ref": "ref\x00"}) == [
        "source_ref: must not contain control characters (NUL at position 4)"]


def test_stock_levels_up_to_1e12() -> None:
    assert validate_payload("inventory", sample_payload("inventory") | {"available": 10**12, "on_hand": -(10**12)})
    for field, value in [("available", 10**12 + 1), ("on_hand", -(10**12) - 1), ("available", 10**40)]:
        assert problems("inventory", sample_payload("inventory") | {field: value}) == [
            f"{field}: at most 1e12 in absolute value"]


def test_a_5000_digit_stock_string_names_the_limit() -> None:
    assert problems("inventory", sample_payload("inventory") | {"available": "9" * 5000}) == [
        "available: at most 1e12 in absolute value"]


def test_a_40_digit_quantity_is_refused_before_the_total_check() -> None:
    assert problems("order", with_line("order", quantity="1" * 40)) == [
        "lines[0].quantity: at most 1e12 in absolute value"]
    assert problems("return", with_line("return", quantity=10**13)) == [
        "lines[0].quantity: at most 1e12 in absolute value"]


def test_money_amounts_up_to_1e12_either_sign() -> None:
    big = sample_payload("settlement") | {"gross": "-1000000000000", "fees": "0", "net": "-1000000000000",
                                          "refunds": "0", "lines": []}
    assert validate_payload("settlement", big)
    assert problems("settlement", big | {"gross": "-1000000000000.01", "net": "-1000000000000.01"}) == [
        "gross: at most 1e12 in absolute value", "net: at most 1e12 in absolute value"]
    assert problems("price", sample_payload("price") | {"amount": "1e13"}) == [
        "amount: at most 1e12 in absolute value"]


def test_amounts_with_more_digits_than_decimal_arithmetic_keeps_are_refused() -> None:
    assert validate_payload("price", sample_payload("price") | {"amount": "0.30000000000000004"})
    assert problems("price", sample_payload("price") | {"amount": "1." + "0" * 27 + "1"}) == [
        "amount: at most 28 significant digits"]
