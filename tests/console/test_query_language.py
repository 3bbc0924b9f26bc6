"""The `/` filter language -> RecordFilter."""

from __future__ import annotations

import pytest

from syncops.console import query_language as ql
from syncops.store.tables import EXCEPTION_STATES


def test_every_term_of_the_issue_example():
    q = ql.parse('cat:mapping tenant:acme flow:orders key:TSHIRT* state:failed age>1h age<10m '
                 'err:"not in map" free text')
    f = q.filter
    assert (f.categories, f.tenant, f.flow, f.key_pattern, f.states) == (("mapping",), "acme", "orders",
                                                                           "TSHIRT*", ("failed",))
    assert (f.older_than, f.newer_than, f.error_text, f.text) == (3600.0, 600.0, "not in map", "free text")


def test_defaults_to_exception_states_and_merges_lists_and_aliases():
    f = ql.parse("cat:map,auth cat:429 state:retry,quarantine id:#12,13").filter
    assert f.categories == ("mapping", "auth", "rate_limit")
    assert f.states == ("retry_wait", "quarantined") and f.ids == (12, 13)
    assert ql.parse("").filter.states == EXCEPTION_STATES
    assert ql.parse("").filter.is_empty() is False  # never "everything" by accident


@pytest.mark.parametrize("text, problem", [
    ("cat:nonsense", "unknown category"), ("state:gone", "unknown state"), ("age:1h", "age needs > or <"),
    ("age>soon", "age:"), ("colour:red", "unknown filter 'colour'"), ('err:"open', "cannot read"),
    ("tenant:", "needs a value"), ("id:abc", "record numbers"), ("tenant>x", "takes ':'"),
])
def test_mistakes_say_what_to_fix(text, problem):
    with pytest.raises(ql.QueryError, match=problem):
        ql.parse(text)


def test_unparse_round_trips():
    text = 'tenant:acme flow:orders cat:mapping key:"A B*" err:"x y" age>60s hello'
    assert ql.parse(ql.unparse(ql.parse(text).filter)).filter == ql.parse(text).filter


def test_audit_filter():
    assert ql.parse_audit("tenant:acme action:retry actor:dana record:#12 since:1h") == {
        "tenant": "acme", "action": "retry", "actor": "dana", "target": "12", "since_seconds": 3600.0}
    with pytest.raises(ql.QueryError):
        ql.parse_audit("who:dana")
