"""Placeholder for GET /metrics until the operations work lands (it replaces this module).

Same signature as the real one: (body, content type) in the Prometheus text format.
"""

from __future__ import annotations

from typing import Any

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def metrics_response(store: Any, engine: Any = None) -> tuple[bytes, str]:
    lines = ["# HELP syncops_up 1 while the engine serves this endpoint.", "# TYPE syncops_up gauge", "syncops_up 1"]
    return ("\n".join(lines) + "\n").encode(), CONTENT_TYPE
