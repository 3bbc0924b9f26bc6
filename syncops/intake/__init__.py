"""Webhook intake: a real ASGI server inside the engine, vendor signature checks, durable records."""
