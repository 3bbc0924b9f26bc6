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

from syncops.connectors.errors import DeliveryError
from syncops.connectors.oauth import TokenCache
from syncops.store.categories import Category

LWA_URL = "https://api.amazon.com/auth/o2/token"


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


class LwaTokens(TokenCache):
    vendor = "Login with Amazon"

    def secrets(self) -> list[str]:
        values = super().secrets()
        try:
            values += [v or "" for v in parse_secret(self._secret)]
        except DeliveryError:
            pass
        return values

    def form(self) -> dict[str, str]:
        refresh, client_secret = parse_secret(self._secret)
        if not self.client_id:
            raise DeliveryError(Category.AUTH, "the Amazon endpoint needs options.client_id (the LWA app's client id)")
        form = {"grant_type": "refresh_token", "refresh_token": refresh, "client_id": self.client_id}
        if client_secret:
            form["client_secret"] = client_secret
        return form

    def refused(self, code: str | None, detail: str) -> str:
        hint = (" (is the client secret stored? the secret must be JSON with refresh_token and client_secret)"
                if code == "invalid_client" else "")
        return f"Login with Amazon refused the refresh token: {detail}{hint}"
