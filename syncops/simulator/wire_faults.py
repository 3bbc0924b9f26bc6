"""Vendor garbage injected by the HTTP layer, the same for every simulated vendor.

Which faults reach the app decides what the client may conclude, so each is placed where it
happens in real life:

- before the app (nothing applied; retrying is safe):
  `garbage_retry_after` (a 429 whose Retry-After is nonsense) and `html_body` (a 502 error page
  from a proxy or load balancer in front of the vendor);
- after the app (the call WAS applied; the client cannot tell, so the outcome is unknown):
  `reset_after_apply` (the connection drops instead of the answer), `truncated_body` (the
  vendor's JSON answer is cut short, with a Content-Length that matches, as a proxy that lost
  the upstream mid-body sends it) and `wrong_types` (one field of the answer has the wrong type).

Each request suffers at most one of them. They draw from `Faults.wire_rng`, so turning them on
does not change the retail events a seed generates.
"""

from __future__ import annotations

import json
from typing import Any

from syncops.simulator.faults import Faults
from syncops.simulator.http import Request, Response

# Every one of these must be treated as "no usable wait" (or clamped), never as a wait.
GARBAGE_RETRY_AFTER = ("1e309", "99999999999", "nan", "-5", "inf", "Wed, 31 Feb 2025 25:61:00 GMT",
                       "soon", "1.5e12", "")

PROXY_502 = ("<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n<body>\n"
             "<center><h1>502 Bad Gateway</h1></center>\n<hr><center>nginx</center>\n</body></html>\n")


def before_app(faults: Faults, request: Request) -> Response | None:
    """An answer that replaces the vendor's (the app never sees the request), or None."""
    if faults.roll_wire("garbage_retry_after"):
        faults.injected["garbage_retry_after"] += 1
        value = faults.wire_rng.choice(GARBAGE_RETRY_AFTER)
        return Response(429, {"errors": [{"message": "Too Many Requests"}]}, headers={"Retry-After": value})
    if faults.roll_wire("html_body"):
        faults.injected["html_body"] += 1
        return Response(502, PROXY_502, content_type="text/html")
    return None


def after_app(faults: Faults, request: Request, response: Response) -> Response:
    """The vendor's answer as the client receives it, after the app applied the request."""
    if response.drop_connection:
        return response
    if faults.roll_wire("reset_after_apply"):
        faults.injected["reset_after_apply"] += 1
        return Response(drop_connection=True)
    is_json = response.content_type.startswith("application/json")
    if is_json and faults.roll_wire("truncated_body"):
        payload = response.encoded()
        if len(payload) >= 2:
            faults.injected["truncated_body"] += 1
            cut = faults.wire_rng.randrange(1, len(payload))
            return Response(response.status, payload[:cut], headers=dict(response.headers),
                            content_type=response.content_type)
    if is_json and faults.roll_wire("wrong_types"):
        try:
            doc = json.loads(response.encoded() or b"null")
        except ValueError:
            return response
        leaves = list(_leaves(doc, ()))
        if leaves:
            faults.injected["wrong_types"] += 1
            path, value = faults.wire_rng.choice(leaves)
            doc = _replace(doc, path, _wrong(value))
            return Response(response.status, doc, headers=dict(response.headers), content_type=response.content_type)
    return response


def _leaves(doc: Any, path: tuple[Any, ...], depth: int = 0):
    if depth > 12:
        return
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from _leaves(value, (*path, key), depth + 1)
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            yield from _leaves(value, (*path, i), depth + 1)
    if path:  # containers are fields too: a list where an object was expected is classic garbage
        yield path, doc


def _wrong(value: Any) -> Any:
    if isinstance(value, bool):
        return "yes"
    if isinstance(value, (int, float)):
        return "12abc"
    if isinstance(value, str):
        return 12345
    if value is None:
        return {"unexpected": True}
    if isinstance(value, list):
        return "[]"
    return [value]


def _replace(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    copy = dict(doc) if isinstance(doc, dict) else list(doc)
    copy[head] = _replace(doc[head], rest, value)
    return copy
