"""Microsoft Entra ID (Azure AD) OAuth 2.0 client credentials for Business Central.

The endpoint's secret (credential store) is the app registration's client secret. The tenant id
and client id are not secret: endpoint options ``tenant_id`` and ``client_id``. The token endpoint
is ``https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token`` (``options.token_url``
overrides it; the built-in simulator serves its own). Tokens are cached until shortly before
``expires_in`` runs out on the injected clock and dropped when Business Central refuses one.
Token and secret values never appear in messages or excerpts.
"""

from __future__ import annotations

import time
from typing import Callable

import httpx

from syncops.connectors import signals
from syncops.connectors.errors import DeliveryError
from syncops.store.categories import Category

TOKEN_URL = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
SCOPE = "https://api.businesscentral.dynamics.com/.default"
SKEW = 60.0  # refresh this long before the stated expiry
EXCERPT = 300


class ClientCredentials:
    def __init__(self, client: httpx.AsyncClient, token_url: str, client_id: str | None, secret: str, *,
                 scope: str = SCOPE, clock: Callable[[], float] = time.time, ceiling: float = signals.MAX_WAIT) -> None:
        self._client = client
        self.token_url = token_url
        self.client_id = client_id
        self._secret = secret or ""
        self.scope = scope
        self.clock = clock
        self.ceiling = ceiling
        self._token: str | None = None
        self._expires_at = 0.0
        self.exchanges = 0  # token requests made (tests, status)

    def scrub(self, text: str) -> str:
        for value in (self._secret, self._token or ""):
            if len(value) >= 6:
                text = text.replace(value, "***")
        return text[:EXCERPT]

    def invalidate(self) -> None:
        self._token = None
        self._expires_at = 0.0

    async def access_token(self) -> str:
        if self._token and self.clock() < self._expires_at:
            return self._token
        return await self._request_token()

    async def _request_token(self) -> str:
        if not self.client_id:
            raise DeliveryError(Category.AUTH, "the Business Central endpoint needs options.client_id "
                                "(the Entra app registration's application id)")
        if not self._secret.strip():
            raise DeliveryError(Category.AUTH, "the Business Central secret (the app's client secret) is empty")
        form = {"grant_type": "client_credentials", "client_id": self.client_id,
                "client_secret": self._secret, "scope": self.scope}
        try:
            resp = await self._client.post(self.token_url, data=form, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise signals.transport_failure(exc, "Entra ID token endpoint") from None
        body = signals.json_body(resp)
        excerpt = self.scrub(resp.text)
        if resp.status_code >= 400:
            code = body.get("error") if isinstance(body, dict) else None
            desc = body.get("error_description") if isinstance(body, dict) else None
            detail = f"{code}: {desc}" if isinstance(code, str) else f"HTTP {resp.status_code}"
            if resp.status_code == 429 or resp.status_code >= 500:
                wait = signals.retry_after(resp.headers.get("Retry-After"), ceiling=self.ceiling, now=self.clock())
                cat = Category.RATE_LIMIT if resp.status_code == 429 else Category.UNAVAILABLE
                raise DeliveryError(cat, f"Entra ID token endpoint answered HTTP {resp.status_code}{wait.describe()}",
                                    status=resp.status_code, retry_after=wait.seconds, response_excerpt=excerpt)
            raise DeliveryError(Category.AUTH, f"Entra ID refused the client credentials: {self.scrub(str(detail))}",
                                status=resp.status_code, response_excerpt=excerpt,
                                vendor_code=code if isinstance(code, str) else None)
        token = body.get("access_token") if isinstance(body, dict) else None
        expires = signals.number(body.get("expires_in"), minimum=1, maximum=86400) if isinstance(body, dict) else None
        if not isinstance(token, str) or not token or expires is None:
            raise signals.malformed("Entra ID", "token answer lacks access_token or a usable expires_in",
                                    status=resp.status_code, excerpt=excerpt)
        self._token = token
        self._expires_at = self.clock() + max(1.0, expires - SKEW)
        self.exchanges += 1
        return token
