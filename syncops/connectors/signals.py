"""What a vendor's answer tells us, read strictly: how long to wait, and whether a failed call
may still have been applied.

Vendors' numbers are not trusted: a wait is a finite number of seconds between 0 and a
ceiling, or it is absent. A garbage `Retry-After` (``1e309``, ``nan``, ``-5``, a date in the
wrong format) must never become an infinite wait that freezes an endpoint.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from syncops.connectors.errors import DeliveryError
from syncops.store.categories import Category

# Default ceiling on any wait a vendor asks for; an endpoint's `options.max_wait` changes it.
MAX_WAIT = 900.0
_DELAY_SECONDS = re.compile(r"[0-9]{1,12}")  # RFC 9110: delay-seconds = 1*DIGIT
# RFC 9110 HTTP-date: IMF-fixdate, or the obsolete RFC 850 and asctime forms.
_HTTP_DATE = re.compile(
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT"
    r"|(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), \d{2}-[A-Z][a-z]{2}-\d{2} "
    r"\d{2}:\d{2}:\d{2} GMT"
    r"|(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}")


@dataclass(frozen=True)
class Wait:
    """A vendor's wait signal after strict parsing."""

    seconds: float | None  # None: absent or unusable, so the caller's own backoff decides
    note: str = ""  # why a signal was ignored or clamped, for the record and the log

    def describe(self) -> str:
        return f" ({self.note})" if self.note else ""


def ceiling_of(options: dict[str, Any] | None) -> float:
    """The endpoint's wait ceiling in seconds (config validation has checked the value)."""
    raw = (options or {}).get("max_wait")
    if raw is None:
        return MAX_WAIT
    from syncops.config.durations import DurationError, parse_duration

    try:
        value = parse_duration(raw)
    except DurationError:
        return MAX_WAIT
    return value if 0 < value <= 86400 else MAX_WAIT


def clamp(seconds: float | None, ceiling: float = MAX_WAIT, *, what: str = "wait") -> Wait:
    """Any computed wait (from headers, cost buckets, reset times) made safe: finite, 0..ceiling."""
    if seconds is None:
        return Wait(None)
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not math.isfinite(seconds):
        return Wait(None, f"ignored unusable {what} {seconds!r}")
    if seconds < 0:
        return Wait(0.0)
    if seconds > ceiling:
        return Wait(float(ceiling), f"{what} of {seconds:.0f}s clamped to {ceiling:.0f}s")
    return Wait(float(seconds))


def retry_after(value: str | None, *, ceiling: float = MAX_WAIT, now: float | None = None,
                header: str = "Retry-After") -> Wait:
    """Parse a Retry-After header exactly as RFC 9110 allows: delay-seconds or an HTTP-date."""
    if value is None:
        return Wait(None)
    text = value.strip()
    if not text:
        return Wait(None, f"ignored empty {header}")
    if _DELAY_SECONDS.fullmatch(text):
        return clamp(float(int(text)), ceiling, what=f"{header}")
    if len(text) <= 40 and _HTTP_DATE.fullmatch(text):
        try:
            when = parsedate_to_datetime(text).timestamp()
        except (TypeError, ValueError, OverflowError):
            return Wait(None, f"ignored unusable {header} {_show(text)}")
        return clamp(when - (time.time() if now is None else now), ceiling, what=header)
    return Wait(None, f"ignored unusable {header} {_show(text)}")


def number(value: Any, *, minimum: float = 0.0, maximum: float = 1e12) -> float | None:
    """A vendor's numeric field (cost, remaining quota, reset time): finite and in range, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        result = float(value) if not isinstance(value, int) or abs(value) < 10**15 else math.inf
    elif isinstance(value, str) and 0 < len(value) <= 32:
        try:
            result = float(value)
        except ValueError:
            return None
    else:
        return None
    if not math.isfinite(result) or not minimum <= result <= maximum:
        return None
    return result


def json_body(response: httpx.Response) -> Any:
    """The decoded body, or None when it is not JSON at all (truncated, HTML, absurdly nested)."""
    try:
        return response.json()
    except (ValueError, RecursionError, UnicodeDecodeError):
        return None


def _show(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:40] + "...")


# -- did a failed call change anything? ---------------------------------------------------------

def transport_failure(exc: httpx.HTTPError, vendor: str) -> DeliveryError:
    """A call that got no usable answer. Whether it may have been applied decides what the
    engine does next: a refused connection changed nothing; a reset or a read timeout after
    the request went out may have changed everything."""
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
        return DeliveryError(Category.UNAVAILABLE, f"{vendor} unreachable ({type(exc).__name__})")
    what = "timed out" if isinstance(exc, httpx.TimeoutException) else "dropped the connection"
    return DeliveryError(Category.UNAVAILABLE,
                         f"{vendor} {what} after the request was sent ({type(exc).__name__}); "
                         "it may have been applied", maybe_applied=True)


def status_may_have_applied(status: int) -> bool:
    """5xx answers other than 503 can come after the vendor (or a proxy in front of it) did the work."""
    return status >= 500 and status != 503


def malformed(vendor: str, what: str, *, status: int | None, excerpt: str | None,
              applied_if_write: bool = False) -> DeliveryError:
    """The vendor answered, but not in its own documented shape: the vendor's fault, retryable
    (up to the flow's attempts), with the offending field named."""
    return DeliveryError(Category.MALFORMED, f"{vendor} sent a malformed response: {what}"[:400],
                         status=status, response_excerpt=excerpt, maybe_applied=applied_if_write)


def option_duration(raw: Any, default: float) -> float:
    """An endpoint option such as rescan_every ("5m", 300): unreadable, non-positive or over a
    week falls back to `default` (config validation names the bad value; the connector must run)."""
    if raw is None or raw == "":
        return default
    from syncops.config.durations import DurationError, parse_duration

    try:
        value = parse_duration(raw)
    except DurationError:
        return default
    return value if 0 < value <= 7 * 86400 else default


def quoted(value: str) -> str:
    """A string literal in single quotes, quotes doubled (OData $filter, SuiteQL)."""
    return "'" + value.replace("'", "''") + "'"


def timestamp(value: Any) -> float | None:
    """Epoch seconds of an ISO 8601 / RFC 3339 timestamp ("Z" or an offset; none means UTC);
    None for anything else, a non-string or an absurdly long one included."""
    if not isinstance(value, str) or not value or len(value) > 40:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()
