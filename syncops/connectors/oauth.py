"""OAuth 2.0 access tokens shared by the connectors that need one (Amazon LWA, Entra ID for
Business Central): one POST to the token endpoint, its answer read strictly, the token cached
until shortly before `expires_in` runs out on the injected clock, and secrets kept out of every
message. Subclasses say only which form to send and how the vendor names itself."""

from __future__ import annotations

import time
from typing import Any, Callable

import httpx

from syncops.connectors import signals
from syncops.connectors.errors import DeliveryError
from syncops.store.categories import Category

SKEW = 60.0  # refresh this many seconds before the token's stated expiry
EXCERPT = 300


class TokenCache:
    vendor = "token endpoint"  # how messages name the endpoint

    def __init__(self, client: httpx.AsyncClient, token_url: str, client_id: str | None, secret: str, *,
                 clock: Callable[[], float] = time.time, ceiling: float = signals.MAX_WAIT) -> None:
        self._client = client
        self.token_url = token_url
        self.client_id = client_id
        self._secret = secret or ""
        self.clock = clock
        self.ceiling = ceiling
        self._token: str | None = None
        self._expires_at = 0.0
        self.exchanges = 0  # token requests made (tests, status)

    def secrets(self) -> list[str]:
        """Every value that must never appear in a message."""
        return [self._secret, self._token or ""]

    def scrub(self, text: str) -> str:
        for value in self.secrets():
            if len(value) >= 6:  # shorter "secrets" are test dummies; replacing them mangles the text
                text = text.replace(value, "***")
        return text[:EXCERPT]

    def invalidate(self) -> None:
        self._token = None
        self._expires_at = 0.0

    async def access_token(self) -> str:
        if self._token and self.clock() < self._expires_at:
            return self._token
        return await self._fetch(self.form())

    def form(self) -> dict[str, str]:
        raise NotImplementedError

    def refused(self, code: str | None, detail: str) -> str:
        """The message for a refused request (4xx other than 429)."""
        return f"{self.vendor} refused the credentials: {detail}"

    async def _fetch(self, form: dict[str, str]) -> str:
        try:
            resp = await self._client.post(self.token_url, data=form, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise signals.transport_failure(exc, self.vendor) from None
        body: Any = signals.json_body(resp)
        excerpt = self.scrub(resp.text)
        if resp.status_code >= 400:
            code = body.get("error") if isinstance(body, dict) and isinstance(body.get("error"), str) else None
            desc = body.get("error_description") if isinstance(body, dict) else None
            detail = self.scrub(f"{code}: {desc}" if code else f"HTTP {resp.status_code}")
            if resp.status_code == 429 or resp.status_code >= 500:
                wait = signals.retry_after(resp.headers.get("Retry-After"), ceiling=self.ceiling, now=self.clock())
                category = Category.RATE_LIMIT if resp.status_code == 429 else Category.UNAVAILABLE
                raise DeliveryError(category, f"{self.vendor} answered HTTP {resp.status_code}{wait.describe()}",
                                    status=resp.status_code, retry_after=wait.seconds, response_excerpt=excerpt)
            raise DeliveryError(Category.AUTH, self.refused(code, detail), status=resp.status_code,
                                response_excerpt=excerpt, vendor_code=code)
        token = body.get("access_token") if isinstance(body, dict) else None
        expires = signals.number(body.get("expires_in"), minimum=1, maximum=86400) if isinstance(body, dict) else None
        if not isinstance(token, str) or not token or expires is None:
            raise signals.malformed(self.vendor, "token answer lacks access_token or a usable expires_in",
                                    status=resp.status_code, excerpt=excerpt)
        self._token = token
        self._expires_at = self.clock() + max(1.0, expires - SKEW)
        self.exchanges += 1
        return token
