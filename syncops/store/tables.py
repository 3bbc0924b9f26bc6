"""The store's tables. The store is the contract between engine and consoles.

Timestamps are float epoch seconds: portable between SQLite and PostgreSQL, cheap to
compare in the hot claim query, and trivially driven by an injected clock in tests.
"""

from __future__ import annotations

from typing import Optional

from sqlalchemy import Column, Index, PrimaryKeyConstraint, Text, UniqueConstraint, event, false, text
from sqlmodel import Field, SQLModel

# Lifecycle states, see syncops.store.lifecycle.
PENDING = "pending"
IN_FLIGHT = "in_flight"
RETRY_WAIT = "retry_wait"
DELIVERED = "delivered"
FAILED = "failed"
QUARANTINED = "quarantined"
RESOLVED = "resolved"
SUPERSEDED = "superseded"

STATES = (PENDING, IN_FLIGHT, RETRY_WAIT, DELIVERED, FAILED, QUARANTINED, RESOLVED, SUPERSEDED)
OPEN_STATES = (PENDING, IN_FLIGHT, RETRY_WAIT, FAILED, QUARANTINED)
EXCEPTION_STATES = (FAILED, RETRY_WAIT, QUARANTINED)
TERMINAL_STATES = (DELIVERED, RESOLVED, SUPERSEDED)
# A record that blocks later records of the same entity key on ordered flows.
# Quarantined ones do not: a human parked them on purpose.
BLOCKING_STATES = (PENDING, IN_FLIGHT, RETRY_WAIT, FAILED)


# Partial-index predicates of the form "x IS NOT NULL": SQLite uses such an index for any
# query comparing x, so the queries need no special care.
_due = text("due_at IS NOT NULL")
_sig = text("error_signature IS NOT NULL")
_map = text("error_map IS NOT NULL")


class Record(SQLModel, table=True):
    __tablename__ = "records"
    __table_args__ = (
        UniqueConstraint("tenant", "flow", "idempotency_key", name="uq_records_idem"),
        # claim: due_at is set only while a record is claimable (pending / retry_wait),
        # so the claim is one ordered range scan per endpoint with no sort, and
        # delivered rows (most of the table) are not in this index at all.
        Index("ix_records_due", "tenant", "target", "due_at", "id",
              sqlite_where=_due, postgresql_where=_due),
        # per-key ordering and coalescing look up the unfinished records of one key
        Index("ix_records_key", "tenant", "flow", "entity_key", "state", "id"),
        # dashboard counts and oldest pending: state leads, so counting the open states
        # reads only their rows, never the million delivered ones
        Index("ix_records_flow_state", "state", "tenant", "flow", "created_at"),
        Index("ix_records_state_updated", "state", "updated_at", "id"),
        # error grouping and unmapped values: only rows that carry an error
        Index("ix_records_signature", "error_signature", "state",
              sqlite_where=_sig, postgresql_where=_sig),
        Index("ix_records_unmapped", "tenant", "error_map", "error_value", "state",
              sqlite_where=_map, postgresql_where=_map),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    tenant: str
    flow: str
    entity: str
    entity_key: str
    idempotency_key: str
    target: str  # target endpoint name: the dispatcher claims per endpoint
    state: str = PENDING
    version: int = 1  # optimistic concurrency: bumped by every change
    payload_rev: int = 1  # bumped by payload edits; part of the delivery idempotency key
    # Bumped when a human sends the record again: their retry is a new delivery decision and
    # gets a new vendor idempotency key (vendors replay a failed key's failure forever).
    manual_retries: int = 0
    coalesce: bool = False  # absolute state (stock, price): a newer record replaces this one
    # A human sent it again after a compare-and-swap conflict: overwrite the target instead of
    # comparing again. Kept until delivered, whatever transient failures happen on the way.
    overwrite: bool = False
    # A delivery may have been applied without our knowing (the engine died mid-call, the
    # connection reset or timed out after sending): such a record is never superseded, so it
    # is resolved at the target before anything newer for its key is computed on top of it.
    outcome_unknown: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    attempts: int = 0
    due_at: Optional[float] = None  # set only while pending or retry_wait
    lease_owner: Optional[str] = None
    lease_until: Optional[float] = None
    created_at: float
    updated_at: float
    source_ts: float  # when the source changed: latency is measured from here
    delivered_at: Optional[float] = None
    payload: str = Field(sa_column=Column(Text, nullable=False))
    source_payload: Optional[str] = Field(default=None, sa_column=Column(Text))
    error_category: Optional[str] = None
    error_message: Optional[str] = Field(default=None, sa_column=Column(Text))
    error_signature: Optional[str] = None
    error_map: Optional[str] = None  # mapping failures: which map...
    error_value: Optional[str] = None  # ...and which value blocked the record
    superseded_by: Optional[int] = None
    resolution: Optional[str] = Field(default=None, sa_column=Column(Text))
    target_ref: Optional[str] = None


# The key-prefix index needs a per-dialect column option (COLLATE NOCASE / text_pattern_ops)
# that SQLAlchemy's Index cannot spell portably: created right after the table (and by the v4
# migration), see dialect.create_key_prefix_index.
@event.listens_for(Record.__table__, "after_create")
def _create_key_prefix_index(_table: object, connection: object, **_kw: object) -> None:
    from syncops.store.dialect import create_key_prefix_index

    create_key_prefix_index(connection)


class Attempt(SQLModel, table=True):
    __tablename__ = "attempts"
    __table_args__ = (Index("ix_attempts_record", "record_id", "id"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    record_id: int = Field(foreign_key="records.id", ondelete="CASCADE")
    at: float
    duration_ms: Optional[float] = None
    endpoint: str
    status: Optional[int] = None
    outcome: str  # delivered | failed | retry | deferred
    request_summary: Optional[str] = Field(default=None, sa_column=Column(Text))
    response_excerpt: Optional[str] = Field(default=None, sa_column=Column(Text))
    error_category: Optional[str] = None
    error_message: Optional[str] = Field(default=None, sa_column=Column(Text))


class PayloadVersion(SQLModel, table=True):
    __tablename__ = "payload_versions"
    __table_args__ = (UniqueConstraint("record_id", "rev", name="uq_payload_rev"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    record_id: int = Field(foreign_key="records.id", ondelete="CASCADE")
    rev: int
    payload: str = Field(sa_column=Column(Text, nullable=False))
    author: str
    reason: Optional[str] = Field(default=None, sa_column=Column(Text))
    at: float
    diff: Optional[str] = Field(default=None, sa_column=Column(Text))


class MappingEntry(SQLModel, table=True):
    __tablename__ = "mapping_entries"
    __table_args__ = (UniqueConstraint("tenant", "map_name", "source_value", name="uq_mapping"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    tenant: str
    map_name: str
    source_value: str
    target_value: str
    updated_at: float
    updated_by: str


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_at", "at"),
        Index("ix_audit_target", "target_type", "target_id", "id"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    at: float
    actor: str  # OS user
    client: Optional[str] = None  # SSH client address when there is one
    via: str  # cli | console | engine
    action: str
    target_type: str  # record | mapping | flow | bulk | pii
    target_id: str
    tenant: Optional[str] = None
    before: Optional[str] = Field(default=None, sa_column=Column(Text))
    after: Optional[str] = Field(default=None, sa_column=Column(Text))
    reason: Optional[str] = Field(default=None, sa_column=Column(Text))


class FlowCursor(SQLModel, table=True):
    __tablename__ = "flow_cursors"

    tenant: str = Field(primary_key=True)
    flow: str = Field(primary_key=True)
    cursor: Optional[str] = Field(default=None, sa_column=Column(Text))
    updated_at: float


class FlowControl(SQLModel, table=True):
    __tablename__ = "flow_control"

    tenant: str = Field(primary_key=True)
    flow: str = Field(primary_key=True)
    paused: bool = False
    paused_reason: Optional[str] = Field(default=None, sa_column=Column(Text))
    paused_by: Optional[str] = None
    paused_at: Optional[float] = None
    run_now_at: Optional[float] = None  # a console asked for a poll; the engine clears it
    last_run_at: Optional[float] = None
    last_run_status: Optional[str] = None
    last_run_error: Optional[str] = Field(default=None, sa_column=Column(Text))
    next_run_at: Optional[float] = None
    updated_at: float = 0.0


class FlowMinute(SQLModel, table=True):
    """Per-minute throughput and latency, written by acks, read by dashboards."""

    __tablename__ = "flow_minutes"
    # Every reader asks for a window of recent minutes across all flows (dashboard, fleet,
    # alerts, /metrics), and retention deletes the oldest: both are ranges on minute alone. So
    # minute leads the key and, on SQLite, the rows are stored in key order (WITHOUT ROWID): a
    # window is one contiguous range, however much history the store holds (schema v5).
    __table_args__ = (PrimaryKeyConstraint("minute", "tenant", "flow", name="pk_flow_minutes"),
                      {"sqlite_with_rowid": False})

    tenant: str = Field(primary_key=True)
    flow: str = Field(primary_key=True)
    minute: int = Field(primary_key=True)  # epoch // 60
    delivered: int = 0
    failed: int = 0
    duplicates: int = 0  # dropped at enqueue
    # Latency histogram: deliveries per bucket, named by the bucket's upper bound in ms
    # (see stats.BUCKETS_MS). Plain counters, so one upsert adds a batch and minutes merge exactly.
    le_50: int = 0
    le_100: int = 0
    le_250: int = 0
    le_500: int = 0
    le_1000: int = 0
    le_2000: int = 0
    le_5000: int = 0
    le_10000: int = 0
    le_30000: int = 0
    le_60000: int = 0
    le_300000: int = 0
    le_900000: int = 0
    le_3600000: int = 0
    le_86400000: int = 0


class EngineHeartbeat(SQLModel, table=True):
    __tablename__ = "engine_heartbeats"

    engine_id: str = Field(primary_key=True)
    host: str
    pid: int
    version: str
    started_at: float
    beat_at: float
    stopped_at: Optional[float] = None
    mode: str = "service"  # service | embedded


class EndpointState(SQLModel, table=True):
    """Circuit breaker and rate-limit state per endpoint, for consoles to show."""

    __tablename__ = "endpoint_state"

    tenant: str = Field(primary_key=True)
    endpoint: str = Field(primary_key=True)
    breaker: str = "closed"  # closed | open | half_open
    consecutive_failures: int = 0
    opened_at: Optional[float] = None
    wait_until: Optional[float] = None  # rate limit: no calls before this time
    last_error: Optional[str] = Field(default=None, sa_column=Column(Text))
    updated_at: float = 0.0


class Meta(SQLModel, table=True):
    __tablename__ = "syncops_meta"

    key: str = Field(primary_key=True)
    value: str


