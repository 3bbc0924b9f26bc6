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
from syncops.connectors.oauth import TokenCache
from syncops.store.categories import Category

TOKEN_URL = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
SCOPE = "https://api.businesscentral.dynamics.com/.default"


class ClientCredentials(TokenCache):
    vendor = "Entra ID token endpoint"

    def __init__(self, client: httpx.AsyncClient, token_url: str, client_id: str | None, secret: str, *,
                 scope: str = SCOPE, clock: Callable[[], float] = time.time, ceiling: float = signals.MAX_WAIT) -> None:
        super().__init__(client, token_url, client_id, secret, clock=clock, ceiling=ceiling)
        self.scope = scope

    def form(self) -> dict[str, str]:
        if not self.client_id:
            raise DeliveryError(Category.AUTH, "the Business Central endpoint needs options.client_id "
                                "(the Entra app registration's application id)")
        if not self._secret.strip():
            raise DeliveryError(Category.AUTH, "the Business Central secret (the app's client secret) is empty")
        return {"grant_type": "client_credentials", "client_id": self.client_id, "client_secret": self._secret,
                "scope": self.scope}

    def refused(self, code: str | None, detail: str) -> str:
        return f"Entra ID refused the client credentials: {detail}"
