"""Build connectors for a tenant's endpoints: the vendor class, its URL and its secret."""

from __future__ import annotations

from typing import Any, Callable, Mapping

from syncops.connectors.errors import DeliveryError
from syncops.connectors.registry import connector_class, flow_problem
from syncops.store.categories import Category


def check_flows(config: Any) -> list[str]:
    """Flows whose endpoints cannot read or write their entity: named before anything starts."""
    problems = []
    for tname, tenant in config.tenants.items():
        for fname, flow in tenant.flows.items():
            if not getattr(flow, "enabled", True):
                continue
            src, dst = tenant.endpoints[flow.source], tenant.endpoints[flow.target]
            problem = flow_problem(flow.entity, src.kind, dst.kind, flow.source, flow.target,
                                   source_options=src.options, target_options=dst.options)
            if problem:
                problems.append(f"{tname}/{fname}: {problem}")
    return problems


def build_connector(tenant: str, endpoint: Any, *, url_overrides: Mapping[tuple[str, str], str],
                    clock: Callable[[], float], get_secret: Callable[..., str] | None = None) -> Any:
    from syncops.connectors import credentials

    url = url_overrides.get((tenant, endpoint.name)) or endpoint.base_url
    if url == "simulator":
        raise DeliveryError(Category.UNAVAILABLE, f"{tenant}/{endpoint.name} points at the simulator, "
                            "but no simulator is running (use `syncops demo` or `syncops simulate`)")
    secret = (get_secret or credentials.get_secret)(tenant, endpoint.name, endpoint.credential)
    return connector_class(endpoint.kind)(url, secret, clock=clock, options=dict(endpoint.options or {}))
