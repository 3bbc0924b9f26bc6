"""NetSuite token-based authentication: OAuth 1.0a request signing with HMAC-SHA256 (RFC 5849).

The endpoint's secret (credential store) holds all four values of an integration record plus an
access token, either as JSON ``{"consumer_key", "consumer_secret", "token_id", "token_secret"}``
or as ``consumer_key:consumer_secret:token_id:token_secret`` (NetSuite's keys are hex, so a colon
never occurs inside one). The account id (the OAuth ``realm``) is not secret: ``options.account_id``.

Every request is signed anew: nonce and timestamp come from the injected random source and clock,
and the signature base string covers the method, the base URI and every query parameter (the JSON
body is not part of it: RFC 5849 only signs form-encoded bodies). None of the four values, nor a
signature, ever appears in a message or excerpt (``scrub``).

A secret with a ``private_key`` selects OAuth 2.0 machine-to-machine instead (netsuite_m2m.py).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Callable
from urllib.parse import quote, urlsplit

from syncops.connectors.errors import DeliveryError
from syncops.store.categories import Category

FIELDS = ("consumer_key", "consumer_secret", "token_id", "token_secret")
# The built-in simulator's integration record and token (it accepts the generic dummy secret too).
SIM_CREDENTIALS = {"consumer_key": "c0ffee" * 8, "consumer_secret": "5ec2e7" * 8,
                   "token_id": "70ce11" * 8, "token_secret": "7a57e5" * 8}


def pct(value: str) -> str:
    """RFC 5849 section 3.6 percent-encoding: everything but unreserved characters."""
    return quote(value, safe="-._~")


def parse_secret(secret: str, *, simulated: bool = False) -> dict[str, str]:
    """The four token-based-authentication values from the credential, or an `auth` error."""
    text = (secret or "").strip()
    if simulated and text == "simulator-token":
        return dict(SIM_CREDENTIALS)
    values: dict[str, str] | None = None
    if text.startswith("{"):
        try:
            raw = json.loads(text)
        except ValueError:
            raw = None
        if isinstance(raw, dict) and all(isinstance(raw.get(k), str) for k in FIELDS):
            values = {k: raw[k].strip() for k in FIELDS}
    else:
        parts = text.split(":")
        if len(parts) == 4:
            values = dict(zip(FIELDS, (p.strip() for p in parts)))
    if values is None or not all(values.values()):
        # Never echo the text: it is the secret.
        raise DeliveryError(Category.AUTH, "the NetSuite secret must be JSON with consumer_key, consumer_secret, "
                            "token_id and token_secret, or consumer_key:consumer_secret:token_id:token_secret")
    return values


def base_string(method: str, url: str, params: list[tuple[str, str]]) -> str:
    """Signature base string (RFC 5849 3.4.1): METHOD & base URI & normalized parameters."""
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    port = parts.port
    netloc = host if port is None or (scheme, port) in (("http", 80), ("https", 443)) else f"{host}:{port}"
    base_uri = f"{scheme}://{netloc}{parts.path or '/'}"
    normalized = "&".join(f"{k}={v}" for k, v in sorted((pct(k), pct(v)) for k, v in params))
    return "&".join((method.upper(), pct(base_uri), pct(normalized)))


def sign(base: str, consumer_secret: str, token_secret: str) -> str:
    key = f"{pct(consumer_secret)}&{pct(token_secret)}".encode()
    return base64.b64encode(hmac.new(key, base.encode(), hashlib.sha256).digest()).decode()


class TokenAuth:
    """Signs requests for one NetSuite account."""

    def __init__(self, secret: str, realm: str, *, clock: Callable[[], float] = time.time,
                 nonce: Callable[[], str] | None = None, simulated: bool = False) -> None:
        self.realm = realm
        self.clock = clock
        self.nonce = nonce or (lambda: secrets.token_hex(16))
        self._values: dict[str, str] | None = None
        self._secret = secret
        self._simulated = simulated

    def values(self) -> dict[str, str]:
        if self._values is None:
            self._values = parse_secret(self._secret, simulated=self._simulated)
        return self._values

    def header(self, method: str, url: str, query: list[tuple[str, str]]) -> str:
        v = self.values()
        oauth = [("oauth_consumer_key", v["consumer_key"]), ("oauth_token", v["token_id"]),
                 ("oauth_signature_method", "HMAC-SHA256"), ("oauth_timestamp", str(int(self.clock()))),
                 ("oauth_nonce", self.nonce()), ("oauth_version", "1.0")]
        signature = sign(base_string(method, url, [*query, *oauth]), v["consumer_secret"], v["token_secret"])
        fields = [("realm", self.realm), *oauth, ("oauth_signature", signature)]
        return "OAuth " + ", ".join(f'{k}="{pct(val)}"' for k, val in fields)

    async def authorization(self, method: str, url: str, query: list[tuple[str, str]]) -> str:
        return self.header(method, url, query)

    def invalidate(self) -> None:
        """Nothing cached: every request is signed anew."""

    def scrub(self, text: str) -> str:
        """`text` without any of the credential's values (raw or percent-encoded)."""
        out = text or ""
        hidden = [self._secret] if self._secret and len(self._secret) >= 4 else []
        if self._values:
            hidden += list(self._values.values())
        for value in sorted(hidden, key=len, reverse=True):
            if len(value) >= 4:
                out = out.replace(value, "***").replace(pct(value), "***")
        return out
