"""NetSuite OAuth 2.0 machine-to-machine: the client credentials grant with a signed JWT assertion.

Used when the endpoint's secret is JSON with ``client_id``, ``certificate_id`` (the id NetSuite
gave the uploaded certificate, the JWT's ``kid``) and ``private_key`` (PEM, RSA or EC P-256). Each
token request sends a fresh assertion signed PS256 (RSA) or ES256 (EC), with ``iss`` = client id,
``aud`` = the token endpoint, ``scope`` = ``["restlets", "rest_webservices"]`` and a lifetime of
30 minutes, to ``POST /services/rest/auth/oauth2/v1/token``. The access token (NetSuite issues
them for 60 minutes) is cached by oauth.TokenCache and dropped when NetSuite refuses it. Needs the
``cryptography`` package; without it such a secret is an ``auth`` error saying so.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any, Callable

import httpx

from syncops.connectors import signals
from syncops.connectors.errors import DeliveryError
from syncops.connectors.oauth import TokenCache
from syncops.store.categories import Category

TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SCOPES = ["restlets", "rest_webservices"]
LIFETIME = 1800


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def is_m2m_secret(secret: str) -> bool:
    text = (secret or "").strip()
    if not text.startswith("{"):
        return False
    try:
        raw = json.loads(text)
    except ValueError:
        return False
    return isinstance(raw, dict) and "private_key" in raw


def _load(secret: str) -> tuple[str, str, Any]:
    raw = json.loads(secret)
    client_id, kid, pem = raw.get("client_id"), raw.get("certificate_id"), raw.get("private_key")
    if not all(isinstance(v, str) and v.strip() for v in (client_id, kid, pem)):
        raise DeliveryError(Category.AUTH, "the NetSuite machine-to-machine secret needs client_id, certificate_id "
                            "and private_key (PEM)")
    try:
        from cryptography.hazmat.primitives.serialization import load_pem_private_key
    except ImportError:
        raise DeliveryError(Category.AUTH, "NetSuite machine-to-machine auth needs the cryptography package "
                            "(pip install cryptography)") from None
    try:
        key = load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        raise DeliveryError(Category.AUTH, "the NetSuite private_key is not an unencrypted PEM private key") from None
    return client_id.strip(), kid.strip(), key


def assertion(client_id: str, kid: str, key: Any, audience: str, now: float) -> str:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    if isinstance(key, rsa.RSAPrivateKey):
        alg = "PS256"
    elif isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1":
        alg = "ES256"
    else:
        raise DeliveryError(Category.AUTH, "the NetSuite private_key must be RSA or EC P-256")
    header = {"alg": alg, "typ": "JWT", "kid": kid}
    claims = {"iss": client_id, "scope": SCOPES, "aud": audience, "iat": int(now), "exp": int(now) + LIFETIME,
              "jti": str(uuid.uuid4())}
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}".encode()
    if alg == "PS256":
        signature = key.sign(signing_input, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
                             hashes.SHA256())
    else:
        r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return f"{signing_input.decode()}.{b64url(signature)}"


class MachineToMachine(TokenCache):
    vendor = "NetSuite token endpoint"

    def __init__(self, client: httpx.AsyncClient, token_url: str, secret: str, *,
                 clock: Callable[[], float] = time.time, ceiling: float = signals.MAX_WAIT) -> None:
        super().__init__(client, token_url, None, secret, clock=clock, ceiling=ceiling)
        self._pem = ""
        try:
            self._pem = str(json.loads(secret).get("private_key") or "")
        except (ValueError, AttributeError):
            pass
        self._loaded: tuple[str, str, Any] | None = None
        self._assertion = ""

    def secrets(self) -> list[str]:
        return [self._secret, self._pem, self._assertion, self._token or ""]

    def form(self) -> dict[str, str]:
        if self._loaded is None:
            self._loaded = _load(self._secret)
        client_id, kid, key = self._loaded
        self._assertion = assertion(client_id, kid, key, self.token_url, self.clock())
        return {"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": self._assertion}

    def refused(self, code: str | None, detail: str) -> str:
        return f"NetSuite refused the machine-to-machine assertion: {detail}"

    async def authorization(self, method: str, url: str, query: list[tuple[str, str]]) -> str:
        return f"Bearer {await self.access_token()}"
