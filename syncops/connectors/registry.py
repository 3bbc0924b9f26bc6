"""Which connector class serves an endpoint kind, and what each can read and write."""

from __future__ import annotations

from typing import Any


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
    elif kind == "amazon":
        from syncops.connectors.amazon import AmazonConnector as cls
    elif kind == "businesscentral":
        from syncops.connectors.businesscentral import BusinessCentralConnector as cls
    elif kind == "woocommerce":
        from syncops.connectors.woocommerce import WooCommerceConnector as cls
    elif kind == "netsuite":
        from syncops.connectors.netsuite import NetSuiteConnector as cls
    elif kind == "files":
        from syncops.connectors.files import FilesConnector as cls
    elif kind == "sftp":
        from syncops.connectors.sftp import SftpConnector as cls
    elif kind == "rest":
        from syncops.connectors.rest import RestConnector as cls
    else:
        raise ValueError(f"no connector for endpoint kind {kind!r}")
    return cls


def entities(kind: str, options: Any = None) -> tuple[frozenset[str], frozenset[str]]:
    """(pull, push) entities of an endpoint: fixed per class, or read from a declarative
    endpoint's options (a class with `entities_for`)."""
    cls = connector_class(kind)
    if hasattr(cls, "entities_for"):
        return cls.entities_for(options)
    return cls.pull_entities, cls.push_entities


def flow_problem(entity: str, source_kind: str, target_kind: str, source: str, target: str, *,
                 source_options: Any = None, target_options: Any = None) -> str | None:
    """Why no connector can run this flow, or None when both ends can."""
    pulls, _ = entities(source_kind, source_options)
    _, pushes = entities(target_kind, target_options)
    if entity not in pulls:
        return (f"a {source_kind} endpoint ({source}) cannot be read for {entity}; it supports "
                f"{', '.join(sorted(pulls)) or 'nothing'}")
    if entity not in pushes:
        return (f"a {target_kind} endpoint ({target}) cannot receive {entity}; it supports "
                f"{', '.join(sorted(pushes)) or 'nothing'}")
    return None
