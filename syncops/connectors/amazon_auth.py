"""Login with Amazon (LWA): a refresh token exchanged for a short-lived access token.

The endpoint's secret (credential store) carries the refresh token and the LWA client secret::

    {"refresh_token": "Atzr|...", "client_secret": "amzn1.oa2-cs.v1...."}

A secret that is not a JSON object is taken as the refresh token alone (LWA then rejects the
exchange unless the client needs no secret, as the built-in simulator allows). The LWA client id is
not secret: it is the endpoint option ``client_id``. Access tokens are cached until shortly
before ``expires_in`` runs out on the injected clock, and dropped when the SP-API refuses one.
Token values never appear in messages or excerpts.
"""

from __future__ import annotations

import json
import time
from typing import Callable

import httpx

from syncops.connectors import signals
from syncops.connectors.errors import DeliveryError
from syncops.store.categories import Category

LWA_URL = "https://api.amazon.com/auth/o2/token"
SKEW = 60.0  # refresh this many seconds before the token's stated expiry
EXCERPT = 300


def parse_secret(secret: str) -> tuple[str, str | None]:
    """(refresh token, client secret or None) from the endpoint's secret."""
    text = (secret or "").strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            raise DeliveryError(Category.AUTH, "the Amazon secret looks like JSON but does not parse; store "
                                '{"refresh_token": "...", "client_secret": "..."}') from None
        if not isinstance(data, dict) or not isinstance(data.get("refresh_token"), str) or not data["refresh_token"]:
            raise DeliveryError(Category.AUTH, 'the Amazon secret has no "refresh_token" string')
        client_secret = data.get("client_secret")
        return data["refresh_token"], client_secret if isinstance(client_secret, str) and client_secret else None
    if not text:
        raise DeliveryError(Category.AUTH, "the Amazon secret (LWA refresh token) is empty")
    return text, None


class LwaTokens:
    def __init__(self, client: httpx.AsyncClient, token_url: str, client_id: str | None, secret: str,
                 clock: Callable[[], float] = time.time) -> None:
        self._client = client
        self.token_url = token_url
        self.client_id = client_id
        self._secret = secret
        self.clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self.exchanges = 0  # how many times a refresh token was exchanged (tests, status)

    def _scrub(self, text: str) -> str:
        values = [self._secret, self._token or ""]
        try:
            values += [v or "" for v in parse_secret(self._secret)]
        except DeliveryError:
            pass
        for value in values:
            if len(value) >= 6:  # shorter "secrets" are test dummies; replacing them mangles the text
                text = text.replace(value, "***")
        return text[:EXCERPT]

    def invalidate(self) -> None:
        self._token = None
        self._expires_at = 0.0

    async def access_token(self) -> str:
        if self._token and self.clock() < self._expires_at:
            return self._token
        return await self._exchange()

    async def _exchange(self) -> str:
        refresh, client_secret = parse_secret(self._secret)
        if not self.client_id:
            raise DeliveryError(Category.AUTH, "the Amazon endpoint needs options.client_id (the LWA app's client id)")
        form = {"grant_type": "refresh_token", "refresh_token": refresh, "client_id": self.client_id}
        if client_secret:
            form["client_secret"] = client_secret
        try:
            resp = await self._client.post(self.token_url, data=form, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise signals.transport_failure(exc, "Login with Amazon token endpoint") from None
        body = signals.json_body(resp)
        excerpt = self._scrub(resp.text)
        if resp.status_code >= 400:
            code = body.get("error") if isinstance(body, dict) else None
            desc = body.get("error_description") if isinstance(body, dict) else None
            detail = f"{code}: {desc}" if code else f"HTTP {resp.status_code}"
            if resp.status_code == 429:
                wait = signals.retry_after(resp.headers.get("Retry-After"))
                raise DeliveryError(Category.RATE_LIMIT, f"Login with Amazon throttled the token exchange{wait.describe()}",
                                    status=429, retry_after=wait.seconds, response_excerpt=excerpt)
            if resp.status_code >= 500:
                raise DeliveryError(Category.UNAVAILABLE, f"Login with Amazon failed with HTTP {resp.status_code}",
                                    status=resp.status_code, response_excerpt=excerpt)
            hint = (" (is the client secret stored? the secret must be JSON with refresh_token and client_secret)"
                    if code == "invalid_client" else "")
            raise DeliveryError(Category.AUTH, f"Login with Amazon refused the refresh token: {self._scrub(detail)}{hint}",
                                status=resp.status_code, response_excerpt=excerpt, vendor_code=code)
        token = body.get("access_token") if isinstance(body, dict) else None
        expires = signals.number(body.get("expires_in"), minimum=1, maximum=86400) if isinstance(body, dict) else None
        if not isinstance(token, str) or not token or expires is None:
            raise signals.malformed("Login with Amazon", "token answer lacks access_token or a usable expires_in",
                                    status=resp.status_code, excerpt=excerpt)
        self._token = token
        self._expires_at = self.clock() + max(1.0, expires - SKEW)
        self.exchanges += 1
        return token
