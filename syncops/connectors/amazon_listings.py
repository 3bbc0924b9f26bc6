"""MFN stock through the Listings Items API: one `patchListingsItem` per SKU that replaces the
listing's `fulfillment_availability` (fulfillment channel code + quantity).

A patch sets an absolute quantity, so a retry after a lost answer, or a replay of an older
delivery of the same value, leaves the listing where one delivery would. Amazon answers 200 with
``status: ACCEPTED`` (queued for processing) or ``INVALID`` with issues; ACCEPTED counts as
delivered, the submission id is the target reference.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from pydantic import ValidationError

from syncops.connectors.base import Delivery, ItemResult
from syncops.connectors.errors import DeliveryError
from syncops.models import InventoryPosition
from syncops.store.categories import Category

OP = "patchListingsItem"
DEFAULT_LOCATIONS = {"DEFAULT": "DEFAULT"}  # our location name -> fulfillment_channel_code


def _problems(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                     for e in exc.errors(include_input=False, include_url=False))


def patch_body(product_type: str, channel_code: str, quantity: int) -> dict[str, Any]:
    return {"productType": product_type,
            "patches": [{"op": "replace", "path": "/attributes/fulfillment_availability",
                         "value": [{"fulfillment_channel_code": channel_code, "quantity": quantity}]}]}


def _issues(body: dict[str, Any]) -> str:
    parts = [f"{i.get('code', '?')}: {i.get('message', '')}" for i in body.get("issues") or []
             if isinstance(i, dict) and i.get("severity") == "ERROR"]
    return "; ".join(parts) or "no issue given"


async def push_inventory(conn: Any, deliveries: list[Delivery]) -> list[ItemResult]:
    seller = conn.options.get("seller_id")
    locations = {str(k): str(v) for k, v in (conn.options.get("locations") or DEFAULT_LOCATIONS).items()}
    product_type = str(conn.options.get("product_type", "PRODUCT"))
    results: list[ItemResult] = []
    applied = False
    for n, d in enumerate(deliveries):
        try:
            pos = InventoryPosition.model_validate(d.payload)
        except ValidationError as exc:
            results.append(ItemResult(d.record_id, error=DeliveryError(
                Category.VALIDATION, f"payload is not a valid inventory position: {_problems(exc)}")))
            continue
        if not seller:
            results.append(ItemResult(d.record_id, error=DeliveryError(
                Category.VALIDATION, "the Amazon endpoint needs options.seller_id to write listings")))
            continue
        code = locations.get(pos.location_id)
        if code is None:
            results.append(ItemResult(d.record_id, error=DeliveryError(
                Category.MAPPING, f"location {pos.location_id!r} is not an Amazon fulfillment channel; "
                                  f"options.locations knows {', '.join(sorted(locations))}")))
            continue
        path = f"listings/2021-08-01/items/{quote(seller, safe='')}/{quote(pos.sku, safe='')}"
        summary = f"PATCH /listings/2021-08-01/items/{{sellerId}}/{pos.sku} quantity={pos.available}"
        body = patch_body(product_type, code, pos.available)
        try:
            resp = await conn._request("PATCH", path, OP, params={"marketplaceIds": conn.marketplace,
                                                                 "issueLocale": "en_US"}, body=body)
            data = conn._json(resp, summary)
        except DeliveryError as exc:
            if exc.category in (Category.VALIDATION, Category.MAPPING):
                results.append(ItemResult(d.record_id, error=exc, status=exc.status, request_summary=summary,
                                          response_excerpt=exc.response_excerpt or ""))
                continue
            if not applied:
                raise  # nothing went through: the whole call failed
            # Some SKUs were patched already: those are delivered, the rest carry the failure.
            results += [ItemResult(rest.record_id, error=exc, status=exc.status, request_summary=summary)
                        for rest in deliveries[n:]]
            return results
        status = data.get("status") if isinstance(data, dict) else None
        if status == "ACCEPTED" and data.get("submissionId"):
            applied = True
            results.append(ItemResult(d.record_id, target_ref=str(data["submissionId"]), status=resp.status_code,
                                      request_summary=summary, response_excerpt=resp.text[:500]))
        elif status == "INVALID":
            results.append(ItemResult(d.record_id, error=DeliveryError(
                Category.VALIDATION, f"Amazon rejected the listing patch for {pos.sku}: {_issues(data)}"[:600],
                status=resp.status_code, response_excerpt=resp.text[:500]),
                status=resp.status_code, request_summary=summary, response_excerpt=resp.text[:500]))
        else:
            err = conn._shape(summary, data, applied_if_write=True)
            results.append(ItemResult(d.record_id, error=err, status=resp.status_code, request_summary=summary,
                                      response_excerpt=json.dumps(data, default=str)[:500]))
    return results
