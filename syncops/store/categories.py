"""Failure categories: how a delivery failed decides what happens next."""

from __future__ import annotations

from enum import StrEnum


class Category(StrEnum):
    VALIDATION = "validation"
    MAPPING = "mapping"
    AUTH = "auth"
    RATE_LIMIT = "rate_limit"
    UNAVAILABLE = "unavailable"
    CONFLICT = "conflict"
    DUPLICATE = "duplicate"
    # The vendor answered, but not in the shape it documents (truncated or HTML body, wrong
    # types, missing fields): the vendor's fault, so retried, and a human sees it by name.
    MALFORMED = "malformed"
    # Reconciliation found the target holding another level than the system of record. Never
    # retried by the engine: a human decides whether to push the source's value (retry) or not.
    DRIFT = "drift"
    UNKNOWN = "unknown"


# Transient trouble is retried with backoff; everything else needs a human at once,
# because retrying a bad payload or a business-rule rejection only burns attempts.
RETRYABLE = frozenset({Category.RATE_LIMIT, Category.UNAVAILABLE, Category.MALFORMED, Category.UNKNOWN})
