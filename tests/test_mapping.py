"""Value maps: rewriting SKUs, locations, tax codes... between vendor vocabularies."""

from __future__ import annotations

import copy
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncops.mapping import (
    ROLE_FIELDS,
    ROLES,
    AppliedMapping,
    UnmappedValue,
    apply_mappings,
    fields_for,
    roles_for,
    unmapped_values,
)
from syncops.models import ENTITIES, sample_payload, validate_payload
from syncops.models.paths import parse

MAPS = {
    "pos_to_shop_sku": {"TSHIRT-RED-M": "gid-111", "MUG-WHITE": "gid-222"},
    "pos_to_shop_location": {"store-001": "loc-9"},
    "tax": {"standard": "TX-STD"},
    "status": {"completed": "fulfilled"},
    "payments": {"card": "credit_card"},
    "gl": {"1100": "101100", "4000": "400000", "2200": "220000"},
}


def test_role_table_covers_every_entity_with_known_roles() -> None:
    assert set(ROLE_FIELDS) == set(ENTITIES)
    for entity, roles in ROLE_FIELDS.items():
        assert set(roles) <= set(ROLES)
        for paths in roles.values():
            for path in paths:
                parse(path)  # every path is well-formed
    assert fields_for("order", "tax_code") == ("lines[*].tax_code", "taxes[*].code")
    assert fields_for("inventory", "gl_account") == ()
    assert roles_for("journal") == ("gl_account",)
    with pytest.raises(ValueError, match="unknown mapping role 'colour'"):
        fields_for("order", "colour")


def test_maps_every_configured_role_of_an_order() -> None:
    roles = {
        "sku": "pos_to_shop_sku",
        "location": "pos_to_shop_location",
        "tax_code": "tax",
        "order_status": "status",
        "payment_method": "payments",
    }
    mapped, applied = apply_mappings("order", sample_payload("order"), roles, MAPS)
    assert [line["sku"] for line in mapped["lines"]] == ["gid-111", "gid-222"]
    assert [line["tax_code"] for line in mapped["lines"]] == ["TX-STD", "TX-STD"]
    assert mapped["taxes"][0]["code"] == "TX-STD"
    assert mapped["location_id"] == "loc-9"
    assert mapped["status"] == "fulfilled"
    assert mapped["payments"][0]["method"] == "credit_card"
    assert AppliedMapping("pos_to_shop_sku", "lines[0].sku", "TSHIRT-RED-M", "gid-111") in applied
    assert len(applied) == 8  # 2 skus + 3 tax codes + location + status + payment
    validate_payload("order", mapped)  # still a valid canonical order


def test_the_same_value_is_reported_once_per_field_occurrence() -> None:
    order = sample_payload("order")
    order["lines"][1]["sku"] = "TSHIRT-RED-M"
    _, applied = apply_mappings("order", order, {"sku": "pos_to_shop_sku"}, MAPS)
    assert [(a.field, a.source, a.target) for a in applied] == [
        ("lines[0].sku", "TSHIRT-RED-M", "gid-111"),
        ("lines[1].sku", "TSHIRT-RED-M", "gid-111"),
    ]


def test_unmapped_value_raises_naming_map_value_and_field() -> None:
    order = sample_payload("order")
    order["lines"][1]["sku"] = "TSHIRT-BLUE-L"
    order["lines"][0]["sku"] = "TSHIRT-GREEN-S"
    with pytest.raises(UnmappedValue) as info:
        apply_mappings("order", order, {"sku": "pos_to_shop_sku"}, MAPS)
    err = info.value
    # The first unmapped value in document order is the one reported.
    assert str(err) == "sku 'TSHIRT-GREEN-S' not in map pos_to_shop_sku (field lines[0].sku)"
    assert (err.map_name, err.value, err.field, err.role) == (
        "pos_to_shop_sku", "TSHIRT-GREEN-S", "lines[0].sku", "sku"
    )


def test_unmapped_message_uses_the_role_for_non_sku_fields() -> None:
    inv = sample_payload("inventory") | {"location_id": "store-404"}
    with pytest.raises(UnmappedValue, match=r"^location 'store-404' not in map pos_to_shop_location \(field location_id\)$"):
        apply_mappings("inventory", inv, {"location": "pos_to_shop_location"}, MAPS)


def test_contract_three_argument_form() -> None:
    err = UnmappedValue("pos_to_shop_sku", "TSHIRT-RED-M", "lines[0].sku")
    assert str(err) == "sku 'TSHIRT-RED-M' not in map pos_to_shop_sku (field lines[0].sku)"
    again = pickle.loads(pickle.dumps(err))
    assert str(again) == str(err)


def test_roles_the_flow_does_not_configure_are_left_untouched() -> None:
    order = sample_payload("order")
    mapped, applied = apply_mappings("order", order, {"location": "pos_to_shop_location"}, MAPS)
    assert mapped == order | {"location_id": "loc-9"}
    assert [a.field for a in applied] == ["location_id"]
    # A role that means nothing for the entity is a no-op, not an error.
    inv = sample_payload("inventory")
    assert apply_mappings("inventory", inv, {"gl_account": "gl"}, MAPS) == (inv, [])


def test_none_and_absent_values_are_left_alone() -> None:
    order = sample_payload("order")
    order["location_id"] = None
    order["lines"][0]["tax_code"] = None
    del order["lines"][1]["tax_code"]
    order["taxes"] = []
    mapped, applied = apply_mappings(
        "order", order, {"location": "pos_to_shop_location", "tax_code": "tax"}, {**MAPS, "tax": {}}
    )
    assert mapped == order and applied == []


def test_integer_codes_match_string_keys() -> None:
    entry = sample_payload("journal")
    entry["lines"][0]["account"] = 1100
    mapped, applied = apply_mappings("journal", entry, {"gl_account": "gl"}, MAPS)
    assert [line["account"] for line in mapped["lines"]] == ["101100", "400000", "220000"]
    assert applied[0] == AppliedMapping("gl", "lines[0].account", "1100", "101100")


def test_undefined_map_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="map 'nope' used for role 'sku' is not defined"):
        apply_mappings("order", sample_payload("order"), {"sku": "nope"}, MAPS)


def test_malformed_payload_shapes_are_skipped_for_validation_to_report() -> None:
    payload = {"lines": "not-a-list", "location_id": "store-001"}
    mapped, applied = apply_mappings("order", payload, {"sku": "pos_to_shop_sku"}, MAPS)
    assert mapped == payload and applied == []


def test_unmapped_values_lists_every_occurrence_for_previews() -> None:
    order = sample_payload("order")
    order["lines"][1]["sku"] = "TSHIRT-BLUE-L"
    order["lines"].append(copy.deepcopy(order["lines"][1]) | {"sku": "TSHIRT-BLUE-L"})
    found = unmapped_values("order", order, {"sku": "pos_to_shop_sku", "location": "tax"}, MAPS)
    assert [(u.field, u.value, u.map_name) for u in found] == [
        ("lines[1].sku", "TSHIRT-BLUE-L", "pos_to_shop_sku"),
        ("lines[2].sku", "TSHIRT-BLUE-L", "pos_to_shop_sku"),
        ("location_id", "store-001", "tax"),
    ]
    assert unmapped_values("order", sample_payload("order"), {"sku": "pos_to_shop_sku"}, MAPS) == []


sku_values = st.one_of(st.none(), st.integers(), st.text(max_size=8))


@given(
    st.lists(st.fixed_dictionaries({"sku": sku_values, "tax_code": sku_values}), max_size=5),
    st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=5),
)
def test_apply_mappings_never_mutates_input(lines: list[dict], sku_map: dict[str, str]) -> None:
    payload = {"lines": lines, "location_id": "store-001"}
    before = copy.deepcopy(payload)
    maps = {"skus": sku_map}
    roles = {"sku": "skus", "tax_code": "skus"}
    try:
        mapped, applied = apply_mappings("order", payload, roles, maps)
    except UnmappedValue as err:
        # The raised value is the first one a preview would list.
        assert str(err) == str(unmapped_values("order", payload, roles, maps)[0])
    else:
        assert unmapped_values("order", payload, roles, maps) == []
        assert all(maps["skus"][a.source] == a.target for a in applied)
    assert payload == before
