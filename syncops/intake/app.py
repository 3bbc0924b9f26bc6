"""The Starlette application: POST /hooks/<tenant>/<endpoint>, GET /metrics, GET /healthz."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from syncops.intake.receiver import Receiver


def build_app(receiver: Receiver, engine: Any) -> Starlette:
    async def hook(request: Request) -> Response:
        found = receiver.hooks.get((request.path_params["tenant"], request.path_params["endpoint"]))
        if found is None:
            return JSONResponse({"error": "no webhook is configured at this path"}, status_code=404)
        declared = request.headers.get("content-length")
        if declared is not None:
            try:
                if int(declared) > receiver.max_body:
                    return _answer(receiver.too_big(found))
            except ValueError:
                return JSONResponse({"error": "bad Content-Length"}, status_code=400)
        # Chunked or lying about its length: read with a cap, never the whole thing first.
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > receiver.max_body:
                return _answer(receiver.too_big(found))
            chunks.append(chunk)
        headers = {k.lower(): v for k, v in request.headers.items()}
        return _answer(await receiver.receive(found, b"".join(chunks), headers))

    async def metrics(_request: Request) -> Response:
        from syncops.ops.metrics import metrics_response  # lazy: the operations module owns it

        import asyncio

        body, content_type = await asyncio.to_thread(metrics_response, engine.store, engine)
        return Response(body, media_type=None, headers={"content-type": content_type})

    async def healthz(_request: Request) -> Response:
        return PlainTextResponse("ok\n")

    return Starlette(routes=[
        Route("/hooks/{tenant}/{endpoint}", hook, methods=["POST"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
    ])


def _answer(answer: Any) -> Response:
    headers = {"retry-after": "5"} if answer.status == 503 else None
    return JSONResponse(answer.body, status_code=answer.status, headers=headers)
