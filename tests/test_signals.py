"""Vendor wait signals are read strictly: nonsense is absent, huge is clamped, nothing is infinite."""

from __future__ import annotations

import math
import random

import httpx
import pytest

from syncops.connectors import signals
from syncops.connectors.bigcommerce import rate_info
from syncops.engine.ratelimit import Gate
from syncops.store.backoff import LONGEST_WAIT, RetryPolicy, retry_delay

NOW = 1_760_000_000.0  # Thu, 09 Oct 2025 08:53:20 GMT


@pytest.mark.parametrize("value", ["1e309", "nan", "inf", "-5", "5.5", "0x10", "soon", "1,000", "+3",
                                   "Thu, 01 Jan 2099 00:00:00", "2099-01-01T00:00:00Z", "9" * 40])
def test_garbage_retry_after_is_absent_and_says_why(value):
    wait = signals.retry_after(value, now=NOW)
    assert wait.seconds is None
    assert "ignored unusable Retry-After" in wait.note


def test_delay_seconds_and_http_dates_are_honoured_and_clamped_to_the_ceiling():
    assert signals.retry_after("30", now=NOW).seconds == 30.0
    huge = signals.retry_after("99999999999", now=NOW, ceiling=900)
    assert huge.seconds == 900 and "clamped to 900s" in huge.note
    assert signals.retry_after("Thu, 09 Oct 2025 08:54:20 GMT", now=NOW).seconds == 60.0
    assert signals.retry_after("Thursday, 09-Oct-25 08:54:20 GMT", now=NOW).seconds == 60.0
    assert signals.retry_after("Thu Oct  9 08:54:20 2025", now=NOW).seconds == 60.0
    assert signals.retry_after("Thu, 09 Oct 2025 08:00:00 GMT", now=NOW).seconds == 0.0  # in the past
    assert signals.retry_after("Thu, 01 Jan 2099 00:00:00 GMT", now=NOW, ceiling=60).seconds == 60


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan, 10**400, "1e309", "nan", True, None, [], "x" * 50])
def test_vendor_numbers_must_be_finite_and_in_range(value):
    assert signals.number(value) is None


def test_endpoint_ceiling_comes_from_options():
    assert signals.ceiling_of({}) == signals.MAX_WAIT == 900
    assert signals.ceiling_of({"max_wait": "2m"}) == 120
    assert signals.ceiling_of({"max_wait": "forever"}) == signals.MAX_WAIT


def test_bigcommerce_quota_headers_that_overflow_are_ignored_not_a_traceback():
    headers = httpx.Headers({"X-Rate-Limit-Time-Reset-Ms": "1e309", "X-Rate-Limit-Requests-Left": "nan",
                             "X-Retry-After": "99999999999"})
    info = rate_info(headers, 429, ceiling=600)
    assert info.wait_seconds == 600 and info.remaining is None


def test_the_gate_never_holds_an_endpoint_past_its_ceiling():
    now = [NOW]
    gate = Gate(clock=lambda: now[0], max_wait=900)
    assert gate.vendor_says_wait(math.inf) <= 30  # treated as a bare 429: our own backoff
    assert gate.vendor_says_wait(1e12) == 900
    assert gate.delay() == 900
    assert math.isfinite(gate.wait_until)


def test_a_vendor_wait_is_a_floor_for_the_record_but_never_infinite():
    policy = RetryPolicy(base_delay=1, max_delay=30)
    rng = random.Random(1)
    assert retry_delay(1, policy, retry_after=120, rng=rng) >= 120
    assert retry_delay(1, policy, retry_after=math.inf, rng=rng) <= 1
    assert retry_delay(1, policy, retry_after=1e300, rng=rng) == LONGEST_WAIT


def test_transport_failures_say_whether_the_call_may_have_applied():
    req = httpx.Request("POST", "http://127.0.0.1/")
    assert not signals.transport_failure(httpx.ConnectError("refused", request=req), "Shopify").maybe_applied
    reset = signals.transport_failure(httpx.RemoteProtocolError("reset", request=req), "Shopify")
    assert reset.maybe_applied and "may have been applied" in reset.message
    assert signals.transport_failure(httpx.ReadTimeout("slow", request=req), "Shopify").maybe_applied
    assert signals.status_may_have_applied(502) and not signals.status_may_have_applied(503)
