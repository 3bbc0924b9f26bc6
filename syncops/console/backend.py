"""The console's only door to the store: core queries and audited services, nothing else.

Every method is blocking and is called from thread workers, never from the event loop,
so a slow or locked store never freezes the screen.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from syncops.services import actions, breakglass, bulk, flows, health, mappings
from syncops.services import fleet as fleet_rollup, timeline as entity_timeline
from syncops.services.actor import Actor
from syncops.store import console_queries, queries
from syncops.store.db import Store, StoreError
from syncops.store.filters import FilterError, RecordFilter
from syncops.store.queries import RecordNotFound
from syncops.services.errors import ActionError
from syncops.services.settings import CONFIG, NONE, Settings, settings_in_force

# What a failing query or action may raise; the console shows the message and carries on.
EXPECTED_ERRORS: tuple[type[BaseException], ...] = (ActionError, StoreError, FilterError, RecordNotFound)


@dataclass
class FlowRow:
    tenant: str
    flow: str
    entity: str | None
    schedule: str
    production: bool
    control: Any | None
    cursor: Any | None
    enabled: bool = True


@dataclass
class ReconRow:
    """One reconciliation's last run: inventory (store.drift) or orders / returns / settlements."""
    tenant: str
    check: str
    at: float | None  # None: never ran
    checked: int | None
    drifted: int | None  # inventory drifts, or documents differences
    worst: dict[str, Any] | None = None  # inventory only: the biggest drift
    errors: list[str] | None = None


def _schedule_text(flow: Any) -> str:
    s = getattr(flow, "schedule", None)
    if s is None:
        return "-"
    if s.every:
        from syncops.config import format_duration

        return f"every {format_duration(s.every)}"
    if s.cron:
        return f"cron {s.cron}" + (f" ({s.timezone})" if s.timezone and s.timezone != "UTC" else "")
    return "-"


class Backend:
    def __init__(self, store: Store, config: Any | None, *, actor: Actor | None = None,
                 clock: Callable[[], float] | None = None) -> None:
        self.store = store
        self.file_config = config  # what the technician passed (None with only --store)
        try:
            self.settings = settings_in_force(store, config)
        except StoreError:  # locked or damaged: start on the config; the first refresh tries again
            self.settings = Settings(CONFIG if config is not None else NONE, config)
        self.config = self.settings.config  # the settings in force: config, else as the engine published them
        self.actor = actor or Actor.current(via="console")
        self.clock = clock or store.clock or time.time

    # --- facts from the config -------------------------------------------------------------

    def refresh_settings(self) -> None:
        """Re-read the published settings (an engine may have started or restarted since).
        Called from the worker-run reads below, never on the event loop."""
        self.settings = settings_in_force(self.store, self.file_config)
        self.config = self.settings.config

    def tenants(self) -> list[str]:
        return list(self.config.tenants) if self.config is not None else []

    def is_production(self, tenant: str | None) -> bool:
        if not tenant or self.config is None:
            return False
        t = self.config.tenants.get(tenant)
        return bool(t and t.production)

    def flow_config(self, tenant: str, flow: str) -> Any | None:
        t = self.config.tenants.get(tenant) if self.config is not None else None
        return t.flows.get(flow) if t is not None else None

    def config_maps(self, tenant: str) -> dict[str, dict[str, str]]:
        t = self.config.tenants.get(tenant) if self.config is not None else None
        return dict(t.mappings) if t is not None else {}

    # --- reads -------------------------------------------------------------------------------

    def health(self) -> health.Health:
        self.refresh_settings()
        return health.flow_health(self.store, self.config)

    def fleet(self) -> fleet_rollup.Fleet:
        self.refresh_settings()
        return fleet_rollup.fleet(self.store, self.config)

    def timeline(self, key: str, tenant: str | None = None) -> entity_timeline.Timeline:
        return entity_timeline.entity_timeline(self.store, key, self.config, tenant=tenant)

    def activity(self, now: float) -> dict[tuple[str, str], queries.FlowActivity]:
        return queries.flow_activity(self.store, now=now)

    def marker(self) -> tuple[Any, ...]:
        return console_queries.change_marker(self.store)

    def engine(self) -> Any | None:
        return queries.live_engine(self.store)

    def breakers(self) -> dict[tuple[str, str], Any]:
        return queries.endpoint_states(self.store)

    def alerts(self) -> tuple[str | None, list[dict[str, Any]]]:
        """The header's one line (None when nothing fires) and the firing alerts, newest first."""
        from syncops.ops import alerts

        docs = alerts.firing(self.store)
        return (alerts.summary_line(self.store) if docs else None), docs

    def reconciliations(self) -> list[ReconRow]:
        """The last reconciliation per tenant: inventory (drift records) and each documents check."""
        from syncops.services import reconcile_documents
        from syncops.store.drift import last_runs

        self.refresh_settings()
        inventory = last_runs(self.store)
        documents = reconcile_documents.last_runs(self.store)
        rows: list[ReconRow] = []
        for tenant in sorted(set(self.tenants()) | set(inventory) | {t for _w, t in documents}):
            run = inventory.get(tenant)
            worst = (run or {}).get("worst") or None
            rows.append(ReconRow(tenant, "inventory", run.get("at") if run else None,
                                 int(run.get("checked") or 0) if run else None,
                                 int(run.get("drifted") or 0) if run else None,
                                 worst if isinstance(worst, dict) else None,
                                 list((run or {}).get("errors") or [])))
            for what in reconcile_documents.ENTITIES:
                doc = documents.get((what, tenant))
                if doc is not None:
                    rows.append(ReconRow(tenant, what, doc.get("at"), int(doc.get("checked") or 0),
                                         int(doc.get("differences") or 0), None, list(doc.get("errors") or [])))
        return rows

    def exceptions_page(self, f: RecordFilter, *, sort: str, descending: bool, after: Any,
                        limit: int) -> queries.Page:
        return console_queries.exceptions_page(self.store, f, limit=limit, sort=sort,
                                               descending=descending, after=after)

    def count(self, f: RecordFilter) -> int:
        return queries.count_records(self.store, f)

    def groups(self, f: RecordFilter) -> list[queries.SignatureGroup]:
        return queries.signature_groups(self.store, f)

    def detail(self, record_id: int) -> queries.RecordDetail:
        return queries.record_detail(self.store, record_id)

    def current_record(self, record_id: int) -> Any:
        """The record row as it is now (state, version): is what the technician sees still true?"""
        return queries.get_record(self.store, record_id)

    def mapped_target(self, tenant: str, map_name: str, value: str) -> str | None:
        """The target the value maps to now (config or a technician's entry), None when still unmapped."""
        return mappings.effective_maps(self.store, tenant, self.config_maps(tenant)).get(map_name, {}).get(value)

    def unmapped(self, tenant: str | None = None) -> list[queries.UnmappedValue]:
        return queries.unmapped_values(self.store, tenant)

    def entries(self, tenant: str) -> list[mappings.MapEntry]:
        return mappings.list_entries(self.store, tenant, self.config_maps(tenant))

    def blocked(self, tenant: str, map_name: str, value: str) -> int:
        return mappings.blocked_count(self.store, tenant, map_name, value)

    def flows(self) -> list[FlowRow]:
        self.refresh_settings()
        controls = queries.flow_controls(self.store)
        cursors = queries.flow_cursors(self.store)
        rows: dict[tuple[str, str], FlowRow] = {}
        if self.config is not None:
            for t, f in self.config.iter_flows():
                rows[(t.name, f.name)] = FlowRow(t.name, f.name, f.entity, _schedule_text(f), t.production,
                                                 controls.get((t.name, f.name)), cursors.get((t.name, f.name)),
                                                 f.enabled)
        for key in set(controls) | set(cursors):
            if key not in rows:  # flows the store knows but the config no longer has
                rows[key] = FlowRow(key[0], key[1], None, "(not in config)", self.is_production(key[0]),
                                    controls.get(key), cursors.get(key))
        return list(rows.values())

    def audit(self, *, limit: int = 200, before_id: int | None = None, **filters: Any) -> list[Any]:
        return queries.audit_events(self.store, limit=limit, before_id=before_id, **filters)

    def elevations(self, *, expire: bool = True) -> dict[str, breakglass.Elevation]:
        """Elevations in force; lapsed ones are removed (and their expiry audited) on the way,
        unless `expire` is False (a --read-only console writes nothing; the next writer does it)."""
        if expire:
            breakglass.expire(self.store, self.clock())
        return breakglass.active(self.store, self.clock())

    def triage(self, skipped: set[tuple[str, str]]) -> Any:
        """The groups in triage order and, for the first not skipped, its sample record and likely fix."""
        from syncops.services import triage

        groups = triage.rank_groups(self.store)
        todo = [g for g in groups if g.key not in skipped]
        if not todo:
            return groups, None, None, None
        g = todo[0]
        record = queries.get_record(self.store, g.sample_id)
        mapped = mappings.effective_maps(self.store, g.tenant, self.config_maps(g.tenant))
        return groups, g, record, triage.likely_fix(self.store, g, record, mapped)

    def digest(self, since_seconds: float) -> Any:
        from syncops.services import digest

        return digest.build(self.store, self.config, since_seconds=since_seconds)

    # --- audited actions ---------------------------------------------------------------------

    def guard(self, *tenants: str | None) -> None:
        """The last word on break-glass, whatever the screen showed: refuse a write nobody elevated."""
        breakglass.check(self.store, self.config, [t for t in tenants if t], self.clock())

    def elevate(self, tenant: str, reason: str, minutes: float = breakglass.DEFAULT_MINUTES) -> breakglass.Elevation:
        return breakglass.elevate(self.store, tenant, actor=self.actor, reason=reason, minutes=minutes)

    def _record_tenant(self, record_id: int) -> str:
        return queries.get_record(self.store, record_id).tenant

    def act(self, action: str, record_id: int, *, version: int | None, reason: str | None = None) -> Any:
        self.guard(self._record_tenant(record_id))
        return actions.act(self.store, action, record_id, actor=self.actor, expected_version=version,
                           reason=reason)

    def edit(self, record_id: int, payload: Any, *, version: int, reason: str) -> Any:
        self.guard(self._record_tenant(record_id))
        return actions.edit_payload(self.store, record_id, payload, actor=self.actor, reason=reason,
                                    expected_version=version)

    def reveal(self, record_id: int, reason: str) -> None:
        actions.reveal_pii(self.store, record_id, actor=self.actor, reason=reason)

    def bulk_preview(self, action: str, f: RecordFilter) -> bulk.BulkPreview:
        return bulk.preview(self.store, action, f)

    def bulk_apply(self, action: str, f: RecordFilter, *, confirmed: int, reason: str | None,
                   ids: tuple[int, ...] | None = None) -> bulk.BulkResult:
        self.guard(f.tenant, *bulk.preview(self.store, action, f).tenants)
        return bulk.apply(self.store, action, f, actor=self.actor, confirmed_count=confirmed, reason=reason,
                          ids=ids)

    def canary_start(self, f: RecordFilter, *, confirmed: int, size: int, reason: str | None) -> Any:
        from syncops.services import canary

        return canary.start(self.store, f, actor=self.actor, confirmed_count=confirmed, size=size, reason=reason)

    def canary_status(self, run: Any) -> Any:
        from syncops.services import canary

        return canary.status(self.store, run)

    def canary_finish(self, run: Any, *, release: bool) -> Any:
        from syncops.services import canary

        return (canary.release if release else canary.stop)(self.store, run, actor=self.actor)

    def set_mapping(self, tenant: str, map_name: str, source: str, target: str, *, release: bool,
                    reason: str | None = None) -> int:
        self.guard(tenant)
        return mappings.set_entry(self.store, tenant, map_name, source, target, actor=self.actor,
                                  release=release, reason=reason)

    def pause(self, tenant: str, flow: str, reason: str) -> None:
        self.guard(tenant)
        flows.pause(self.store, tenant, flow, actor=self.actor, reason=reason)

    def resume(self, tenant: str, flow: str, reason: str | None = None) -> None:
        self.guard(tenant)
        flows.resume(self.store, tenant, flow, actor=self.actor, reason=reason)

    def run_now(self, tenant: str, flow: str) -> None:
        self.guard(tenant)
        flows.run_now(self.store, tenant, flow, actor=self.actor)

    # --- helpers for actions ------------------------------------------------------------------

    @staticmethod
    def validate(entity: str, text: str) -> tuple[dict[str, Any], str]:
        return actions.validate_edit(entity, text)

    @staticmethod
    def diff(old: Any, new: Any) -> str:
        return actions.payload_diff(old, new)

    @staticmethod
    def pretty(payload: Any) -> str:
        return actions.canonical_json(payload)
