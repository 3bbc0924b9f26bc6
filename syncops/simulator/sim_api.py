"""The simulator's own endpoints, served next to each vendor's API on the same 127.0.0.1 port.

`/_sim/` is not a path any real vendor serves (Square is under /v2, Shopify under /admin,
Odoo under /json/2, /jsonrpc and /web, BigCommerce under /stores), so a connector can never hit
it by mistake. Faults never apply here: tests and `syncops soak` must read the truth.

- GET  /_sim/state   every level, document and payout the vendor holds (the app's `state()`)
- GET  /_sim/faults  the fault switches and how many wire faults were served
- POST /_sim/faults  set switches: {"reset_after_apply": 0.05, ...}; {"clear": true} turns every
  fault off first (outages and forced storms included); unknown names or bad values are a 400
  and nothing is changed.
"""

from __future__ import annotations

import json
from typing import Any

from syncops.simulator.faults import apply_switches, plan_json
from syncops.simulator.http import Request, Response, json_response

PREFIX = "/_sim/"


def handle(app: Any, request: Request) -> Response:
    route = request.path[len(PREFIX):].strip("/")
    faults = getattr(app, "faults", None)
    if route == "state" and request.method == "GET":
        state = getattr(app, "state", None)
        if state is None:
            return json_response({"error": f"{app.name} keeps no state to show"}, 404)
        return json_response(json.loads(json.dumps(state(), default=str)))
    if route == "faults" and faults is not None:
        if request.method == "POST":
            try:
                body = request.json()
            except ValueError:
                return json_response({"error": "the body must be a JSON object"}, 400)
            if not isinstance(body, dict):
                return json_response({"error": "the body must be a JSON object"}, 400)
            error = _set(faults, dict(body))
            if error:
                return json_response({"error": error}, 400)
        elif request.method != "GET":
            return json_response({"error": "GET or POST"}, 405)
        return json_response({**plan_json(faults), "injected": dict(faults.injected)})
    return json_response({"error": f"no simulator endpoint {request.method} {request.path}"}, 404)


def _set(faults: Any, body: dict[str, Any]) -> str | None:
    clear = body.pop("clear", False)
    forced = {k: body.pop(k) for k in ("forced_throttle", "forced_outage") if k in body}
    if not isinstance(clear, bool) or not all(isinstance(v, bool) for v in forced.values()):
        return "clear, forced_throttle and forced_outage take true or false"
    saved = faults.plan
    if clear:
        faults.clear()
    try:
        apply_switches(faults, body)
    except ValueError as exc:
        faults.plan = saved  # nothing changes on a bad request
        return str(exc)
    for name, value in forced.items():
        setattr(faults, name, value)
    return None
