"""The soak's verdict: the simulated vendors' final state against the source of truth.

Pure functions of plain data (vendor states as GET /_sim/state returns them, the store's
records as rows), so a test can plant a duplicate or a drift and see it counted.

- lost:       a source document (web order, store sale, return) with no document at the target
              and no unfinished record that could still deliver it (those count as stuck);
- duplicated: an external reference with more than one ERP document (sale orders by
              client_order_ref, credit notes by ref), whoever posted the extra one;
- drift:      a synced SKU@location whose target level is not the source's level;
- stuck:      a record not in a final state (pending, in_flight, retry_wait) after the drain.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable

UNFINISHED = ("pending", "in_flight", "retry_wait")
DETAIL = 10  # examples kept per finding


@dataclass
class Verdict:
    lost: list[str] = field(default_factory=list)  # "flow ref"
    lost_unrecorded: int = 0  # of those, never even became a record (the source was not read)
    duplicated: list[str] = field(default_factory=list)  # "kind ref xN"
    drift: list[str] = field(default_factory=list)  # "SKU@LOC source S target T"
    stuck: Counter = field(default_factory=Counter)  # state -> records
    records: int = 0
    failed: Counter = field(default_factory=Counter)  # category -> records given up (a human must look)
    due_far: int = 0  # records stored due more than a day ahead, or at a non-finite time
    expected: int = 0  # source documents that should be at a target

    @property
    def clean(self) -> bool:
        return not (self.lost or self.duplicated or self.drift or self.stuck)

    def figures(self) -> dict[str, Any]:
        return {
            "lost": len(self.lost), "lost_unrecorded": self.lost_unrecorded, "duplicated": len(self.duplicated), "drift": len(self.drift),
            "stuck": sum(self.stuck.values()), "records": self.records, "source_documents": self.expected,
            "failed_by_category": dict(sorted(self.failed.items())), "stuck_by_state": dict(sorted(self.stuck.items())),
            "due_beyond_a_day": self.due_far,
            "examples": {"lost": self.lost[:DETAIL], "duplicated": self.duplicated[:DETAIL],
                         "drift": self.drift[:DETAIL]},
        }


def source_documents(flow: Any, source: dict[str, Any]) -> list[str]:
    """The external references a flow's source holds, as the connectors name them."""
    if source["vendor"] == "shopify" and flow.entity == "order":
        return [o["name"] for o in source["orders"]]
    if source["vendor"] == "square" and flow.entity == "order":
        return [o["id"] for o in source["orders"] if o["kind"] == "sale" and o["state"] == "COMPLETED"]
    if source["vendor"] == "square" and flow.entity == "return":
        return [o["id"] for o in source["orders"] if o["kind"] == "return"]
    raise ValueError(f"the soak cannot check {flow.entity} from {source['vendor']}")


def target_documents(entity: str, target: dict[str, Any]) -> Counter:
    if target["vendor"] != "odoo":
        raise ValueError(f"the soak cannot check documents at {target['vendor']}")
    docs = target["orders"] if entity == "order" else target["credit_notes"]
    return Counter(d["ref"] for d in docs if d["ref"])


def judge(tenant: Any, tenant_name: str, states: dict[str, dict[str, Any]], records: Iterable[dict[str, Any]],
          synced_pairs: Iterable[tuple[str, tuple[str, str], str, tuple[str, str]]], now: float) -> Verdict:
    """`states`: "tenant/endpoint" -> vendor state; `records`: store rows (flow, entity_key, state,
    error_category, due_at); `synced_pairs`: (source endpoint, (sku, location), target endpoint,
    (sku, location)) for every level an inventory flow keeps in sync; `now`: epoch seconds."""
    v = Verdict()
    open_keys: set[tuple[str, str]] = set()
    known: set[tuple[str, str]] = set()
    for row in records:
        v.records += 1
        known.add((row["flow"], row["entity_key"]))
        if row["state"] in UNFINISHED:
            v.stuck[row["state"]] += 1
            open_keys.add((row["flow"], row["entity_key"]))
        elif row["state"] == "failed":
            v.failed[row.get("error_category") or "unknown"] += 1
        due = row.get("due_at")
        # A wait of years is a frozen record whatever its state says (a garbage Retry-After taken at its word).
        if due is not None and (not math.isfinite(float(due)) or float(due) > now + 86400):
            v.due_far += 1

    def state(endpoint: str) -> dict[str, Any]:
        return states[f"{tenant_name}/{endpoint}"]

    checked: set[tuple[str, str]] = set()  # (target endpoint, entity): duplicates counted once
    for name, flow in tenant.flows.items():
        if not getattr(flow, "enabled", True) or flow.entity not in ("order", "return"):
            continue
        at_target = target_documents(flow.entity, state(flow.target))
        refs = source_documents(flow, state(flow.source))
        v.expected += len(refs)
        for ref in refs:
            if at_target[ref] == 0 and (name, ref) not in open_keys:
                v.lost.append(f"{name} {ref}")
                v.lost_unrecorded += (name, ref) not in known
        if (flow.target, flow.entity) not in checked:
            checked.add((flow.target, flow.entity))
            what = "order" if flow.entity == "order" else "credit note"
            v.duplicated += [f"{what} {ref} x{n}" for ref, n in sorted(at_target.items()) if n > 1]

    for src, (sku, loc), dst, (web_sku, web_loc) in synced_pairs:
        have = _level(state(src), sku, loc, "quantity")
        got = _level(state(dst), web_sku, web_loc, "available")
        if have is None or got is None or have != got:
            v.drift.append(f"{web_sku}@{web_loc} source {have} target {got}")
    return v


def _level(state: dict[str, Any], sku: str, location: str, name: str) -> int | None:
    for level in state["levels"]:
        if level["sku"] == sku and location in (level["location"], level.get("location_name")):
            return int(float(level[name]))
    return None
