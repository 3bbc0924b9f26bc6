"""Build connectors for a tenant's endpoints: the vendor class, its URL and its secret."""

from __future__ import annotations

from typing import Any, Callable, Mapping

from syncops.connectors.errors import DeliveryError
from syncops.store.categories import Category


def connector_class(kind: str) -> Any:
    # Imported lazily so a config with only Square endpoints never loads the Odoo code.
    if kind == "square":
        from syncops.connectors.square import SquareConnector as cls
    elif kind == "shopify":
        from syncops.connectors.shopify import ShopifyConnector as cls
    elif kind == "odoo":
        from syncops.connectors.odoo import OdooConnector as cls
    elif kind == "bigcommerce":
        from syncops.connectors.bigcommerce import BigCommerceConnector as cls
    else:
        raise ValueError(f"no connector for endpoint kind {kind!r}")
    return cls


def check_flows(config: Any) -> list[str]:
    """Flows whose endpoints cannot read or write their entity: named before anything starts."""
    problems = []
    for tname, tenant in config.tenants.items():
        for fname, flow in tenant.flows.items():
            if not getattr(flow, "enabled", True):
                continue
            src, dst = tenant.endpoints[flow.source], tenant.endpoints[flow.target]
            if flow.entity not in connector_class(src.kind).pull_entities:
                problems.append(f"{tname}/{fname}: a {src.kind} endpoint ({flow.source}) cannot be read for "
                                f"{flow.entity}; it supports {', '.join(sorted(connector_class(src.kind).pull_entities))}")
            if flow.entity not in connector_class(dst.kind).push_entities:
                problems.append(f"{tname}/{fname}: a {dst.kind} endpoint ({flow.target}) cannot receive "
                                f"{flow.entity}; it supports {', '.join(sorted(connector_class(dst.kind).push_entities))}")
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
