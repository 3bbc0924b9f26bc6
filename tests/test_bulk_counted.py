"""Bulk "all matching" acts on the set that was counted and reports what arrived since."""

from __future__ import annotations

import json

from sqlalchemy import select

from conftest import make_failed, state_of
from syncops.services import actions, bulk
from syncops.services.actor import Actor
from syncops.store.filters import RecordFilter
from syncops.store.tables import AuditEvent

TECH = Actor("tech1", "203.0.113.7", "console")


def test_acts_on_the_counted_set_and_reports_later_arrivals(store):
    counted = make_failed(store, 3, start=0)
    f = RecordFilter(tenant="acme", states=("failed",))
    pv = bulk.preview(store, "retry", f)
    assert pv.count == 3 and set(pv.ids) == set(counted)
    later = make_failed(store, 2, start=10)  # the engine keeps failing records meanwhile
    actions.act(store, "quarantine", counted[0], actor=TECH, reason="someone else")  # and a human acts
    res = bulk.apply(store, "retry", f, actor=TECH, confirmed_count=pv.count, ids=pv.ids)
    assert (res.touched, res.arrived_later, res.gone) == (2, 2, 1)
    assert [state_of(store, i) for i in counted[1:]] == ["pending", "pending"]
    assert [state_of(store, i) for i in later] == ["failed", "failed"]
    with store.read() as conn:
        [b] = conn.execute(select(AuditEvent.__table__).where(AuditEvent.__table__.c.action == "bulk_retry")).all()
    assert json.loads(b.after) == {"count": 2, "arrived_later": 2, "changed_meanwhile": 1}
