"""A live engine keeps its leases: slow work is not reclaimed and sent a second time."""

from syncops.store import lifecycle

from tests.conftest import claim_all, enqueue_n


def test_renewed_leases_survive_past_their_first_deadline(store, clock):
    enqueue_n(store, 2)
    claim_all(store, lease_seconds=60)
    clock.advance(50)
    assert lifecycle.renew_leases(store, "eng-1", lease_seconds=60) == 2
    assert lifecycle.renew_leases(store, "someone-else", lease_seconds=60) == 0
    clock.advance(50)  # 100 s after the claim: past the original lease, within the renewed one
    assert lifecycle.reclaim_expired(store) == 0
    clock.advance(61)  # the engine died and stopped renewing
    assert lifecycle.reclaim_expired(store) == 2
