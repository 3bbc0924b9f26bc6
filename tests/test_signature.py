"""Error signatures group the same failure across records."""

from syncops.store.signature import error_signature


def test_the_records_own_key_ids_and_numbers_do_not_split_a_group():
    a = error_signature("BOOT-BRN-42@store-1: CHANGE_FROM_QUANTITY_STALE: expected 12, found 9", "BOOT-BRN-42@store-1")
    b = error_signature("TSHIRT-RED-M@store-2: CHANGE_FROM_QUANTITY_STALE: expected 3, found 4", "TSHIRT-RED-M@store-2")
    assert a == b == "<key>: CHANGE_FROM_QUANTITY_STALE: expected <n>, found <n>"


def test_different_failures_stay_apart():
    assert error_signature("sku 'X' not in map m1") != error_signature("sku 'X' not in map m2")
    assert error_signature(None) is None and error_signature("") is None
