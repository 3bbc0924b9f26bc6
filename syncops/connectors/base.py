"""What every vendor connector offers the engine.

A connector turns vendor wire formats into canonical payloads (pull) and canonical
payloads into vendor calls (push). It never touches the store: the engine does that,
so that a record is durable before the source is considered read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from syncops.connectors.errors import DeliveryError


@dataclass(frozen=True)
class SourceChange:
    """One change read from a source, already in canonical form."""

    idempotency_key: str  # stable per source event: the same event pulled twice gives the same key
    entity_key: str  # e.g. "TSHIRT-RED-M@store-1"; must equal models.entity_key(entity, payload)
    payload: dict[str, Any]  # canonical payload (model_dump(mode="json"))
    source_payload: dict[str, Any]  # the vendor's own object, kept for the technician
    changed_at: float  # epoch seconds when the source changed (latency is measured from here)


# A source row that cannot become a canonical payload (a drop file's bad row) is still stored, so
# the technician sees it: its payload holds what could be read plus this key, whose value says
# where and why ("stock.csv:4: column Qty (available): must be a whole number"). The dispatcher
# fails such a record as `validation` with that message; an operator's edit removes the key.
SOURCE_PROBLEM = "_source_problem"


@dataclass(frozen=True)
class PullPage:
    changes: list[SourceChange]
    cursor: str | None  # cursor to persist after these changes are stored
    has_more: bool  # the poller keeps pulling while True


@dataclass(frozen=True)
class Delivery:
    record_id: int
    delivery_key: str  # vendor idempotency key; the same for every retry of one payload version
    entity_key: str
    payload: dict[str, Any]  # canonical payload after mappings
    # Last value syncops delivered for this entity key (compare-and-swap guard), or None to overwrite.
    expected_previous: dict[str, Any] | None = None
    # Payloads of earlier records for this key whose delivery may have applied unseen: if the
    # target holds one of these, syncops put it there, so a stale compare-and-swap is explained.
    possible_previous: tuple[dict[str, Any], ...] = ()
    # This very record may already have been applied (its earlier attempt's answer was lost).
    outcome_unknown: bool = False


@dataclass
class ItemResult:
    record_id: int
    error: DeliveryError | None = None  # None means delivered
    target_ref: str | None = None  # id of the document at the target (e.g. Odoo sale.order id)
    status: int | None = None
    request_summary: str = ""
    response_excerpt: str = ""
    note: str | None = None  # how the outcome was established, when not by a plain write (read back)


@dataclass
class CallInfo:
    """What the connector learned about the endpoint's limits from the last response."""

    wait_seconds: float | None = None  # vendor asked us to wait this long before the next call
    remaining: float | None = None  # remaining quota/points, when the vendor says
    extra: dict[str, Any] = field(default_factory=dict)


class Connector(Protocol):
    kind: str
    # entities this connector can read (pull) and write (push)
    pull_entities: frozenset[str]
    push_entities: frozenset[str]
    max_batch: int  # largest batch the vendor accepts in one call

    async def pull(self, entity: str, cursor: str | None, limit: int) -> PullPage:
        """Read changes after `cursor`. Raises DeliveryError on failure."""

    async def push(self, entity: str, deliveries: list[Delivery]) -> list[ItemResult]:
        """Deliver a batch; one ItemResult per delivery, in order.

        Raises DeliveryError when the whole call failed (nothing was applied).
        """

    async def check_auth(self) -> str:
        """Make the cheapest authenticated call; return a short description. Raises DeliveryError."""

    def last_call(self) -> CallInfo:
        """Rate-limit signals seen on the most recent response."""

    async def aclose(self) -> None: ...
