"""Endpoint secrets: the OS keyring first, environment variables as the fallback.

A plaintext keyring file is worse than no keyring (it looks safe and is not), so the
keyrings.alt PlaintextKeyring and keyring's `fail` backend both count as "no keyring" unless
SYNCOPS_ALLOW_PLAINTEXT_KEYRING=1. Secret values never appear in any message.

The keyring module is injectable: pass `keyring_module=` to a function, or set the module-level
hook with `use_keyring(module)`; anything with `get_keyring()` returning a backend works.
"""

from __future__ import annotations

import os
import re
from typing import Any, Mapping

SERVICE = "syncops"
SIMULATOR_SECRET = "simulator-token"  # the simulators accept any non-empty token
NO_SECRET = "none"  # credential of a local drop folder (config.schema.NO_SECRET)
ALLOW_PLAINTEXT_ENV = "SYNCOPS_ALLOW_PLAINTEXT_KEYRING"

_keyring_hook: Any = None


class MissingSecret(LookupError):
    """No secret configured for an endpoint; the message says exactly how to provide one."""


class KeyringUnavailable(RuntimeError):
    """No usable keyring backend to store a secret in."""


def use_keyring(module: Any) -> Any:
    """Replace the keyring module for this process (tests); returns the previous hook."""
    global _keyring_hook
    previous, _keyring_hook = _keyring_hook, module
    return previous


def env_var(tenant: str, endpoint: str) -> str:
    return "SYNCOPS_SECRET_" + re.sub(r"[^A-Za-z0-9]", "_", f"{tenant}_{endpoint}").upper()


def _user(tenant: str, endpoint: str) -> str:
    return f"{tenant}/{endpoint}"


def _module(keyring_module: Any) -> Any:
    if keyring_module is not None:
        return keyring_module
    if _keyring_hook is not None:
        return _keyring_hook
    import keyring  # lazy: importing keyring probes the OS, which the CLI should not pay for up front

    return keyring


def _backend(keyring_module: Any, environ: Mapping[str, str]) -> tuple[Any | None, str]:
    """(usable backend or None, why not / backend name)."""
    try:
        backend = _module(keyring_module).get_keyring()
    except Exception as exc:  # a broken keyring install must degrade to env vars, not crash the CLI
        return None, f"keyring failed to load: {type(exc).__name__}"
    members = list(getattr(backend, "backends", None) or []) or [backend]
    usable = [b for b in members if _acceptable(b, environ)]
    if not usable:
        return None, f"no usable keyring backend ({_name(backend)})"
    # Talk to the chosen member directly: a chainer would also consult a refused plaintext file.
    return usable[0], _name(usable[0])


def _acceptable(backend: Any, environ: Mapping[str, str]) -> bool:
    module, cls = type(backend).__module__, type(backend).__name__
    if module == "keyring.backends.fail" or module.startswith("keyring.backends.chainer"):
        return False
    if cls == "PlaintextKeyring" or module.startswith("keyrings.alt.file"):
        return environ.get(ALLOW_PLAINTEXT_ENV) == "1"
    return True


def _name(backend: Any) -> str:
    module = type(backend).__module__.rsplit(".", 1)[-1]
    cls = type(backend).__name__
    return module if cls == "Keyring" else cls


def _keyring_errors() -> tuple[type[BaseException], ...]:
    try:
        from keyring.errors import KeyringError
    except ImportError:  # pragma: no cover - keyring is a declared dependency
        return (RuntimeError,)
    return (KeyringError,)


def _from_keyring(tenant: str, endpoint: str, keyring_module: Any,
                  environ: Mapping[str, str]) -> tuple[str | None, str]:
    backend, label = _backend(keyring_module, environ)
    if backend is None:
        return None, label
    try:
        secret = backend.get_password(SERVICE, _user(tenant, endpoint))
    except _keyring_errors() as exc:  # locked or refused: fall back, but say why when nothing is found
        return None, f"keyring {label} failed: {type(exc).__name__}"
    return (secret or None), label


def _resolve(tenant: str, endpoint: str, credential_ref: str | None, keyring_module: Any,
             environ: Mapping[str, str]) -> tuple[str | None, str, str]:
    """(secret, source description, hint for MissingSecret)."""
    ref = (credential_ref or "keyring").strip()
    if ref == NO_SECRET:
        return "", "none needed (local folder)", ""
    if ref == "simulator":
        return SIMULATOR_SECRET, "simulator (fixed dummy token)", ""
    if ref.startswith("env:"):
        var = ref[4:].strip()
        return environ.get(var) or None, f"environment {var}", f"set {var}"
    if ref != "keyring":
        raise ValueError(f"unknown credential reference {ref!r}; use 'keyring', 'env:VAR' or 'simulator'")
    var = env_var(tenant, endpoint)
    hint = f"run `syncops creds set {tenant} {endpoint}` or set {var}"
    secret, label = _from_keyring(tenant, endpoint, keyring_module, environ)
    if secret:
        return secret, f"keyring ({label})", hint
    if environ.get(var):
        return environ[var], f"environment {var}", hint
    if label.startswith(("no usable", "keyring ")):
        hint += f" ({label})"
    return None, "missing", hint


def get_secret(tenant: str, endpoint: str, credential_ref: str | None = "keyring", *,
               keyring_module: Any = None, environ: Mapping[str, str] | None = None) -> str:
    environ = os.environ if environ is None else environ
    secret, _, hint = _resolve(tenant, endpoint, credential_ref, keyring_module, environ)
    if not secret and credential_ref != NO_SECRET:
        raise MissingSecret(f"no secret for {tenant}/{endpoint}: {hint}")
    return secret


def describe_source(tenant: str, endpoint: str, credential_ref: str | None = "keyring", *,
                    keyring_module: Any = None, environ: Mapping[str, str] | None = None) -> str:
    """Where the secret would come from ("keyring (SecretService)", "environment VAR", "missing")."""
    environ = os.environ if environ is None else environ
    secret, source, _ = _resolve(tenant, endpoint, credential_ref, keyring_module, environ)
    return source if secret or credential_ref == NO_SECRET else "missing"


def set_secret(tenant: str, endpoint: str, secret: str, *, keyring_module: Any = None,
               environ: Mapping[str, str] | None = None) -> str:
    """Store in the keyring; returns the backend name. Raises KeyringUnavailable with the fallback."""
    environ = os.environ if environ is None else environ
    if not secret:
        raise ValueError("refusing to store an empty secret")
    backend, label = _backend(keyring_module, environ)
    if backend is None:
        raise KeyringUnavailable(_no_keyring(tenant, endpoint, label))
    try:
        backend.set_password(SERVICE, _user(tenant, endpoint), secret)
    except _keyring_errors() as exc:
        raise KeyringUnavailable(_no_keyring(tenant, endpoint, f"keyring {label} failed: {type(exc).__name__}")) \
            from None
    return label


def delete_secret(tenant: str, endpoint: str, *, keyring_module: Any = None,
                  environ: Mapping[str, str] | None = None) -> bool:
    """Remove from the keyring; False when there was nothing to remove."""
    environ = os.environ if environ is None else environ
    backend, label = _backend(keyring_module, environ)
    if backend is None:
        raise KeyringUnavailable(_no_keyring(tenant, endpoint, label))
    try:
        from keyring.errors import PasswordDeleteError
    except ImportError:  # pragma: no cover
        PasswordDeleteError = KeyError  # type: ignore[misc,assignment]  # noqa: N806
    try:
        backend.delete_password(SERVICE, _user(tenant, endpoint))
    except PasswordDeleteError:
        return False
    except _keyring_errors() as exc:
        raise KeyringUnavailable(_no_keyring(tenant, endpoint, f"keyring {label} failed: {type(exc).__name__}")) \
            from None
    return True


def _no_keyring(tenant: str, endpoint: str, reason: str) -> str:
    return (f"cannot store the secret for {tenant}/{endpoint}: {reason}. Install a keyring backend "
            f"(e.g. gnome-keyring/KWallet on Linux) or set {env_var(tenant, endpoint)} in the environment "
            f"syncops runs in (set {ALLOW_PLAINTEXT_ENV}=1 to accept a plaintext keyring file)")


# ---- webhook signing secrets: a credential of their own per endpoint ----------------------------
# keyring user "<tenant>/<endpoint>/webhook", env SYNCOPS_SECRET_<TENANT>_<ENDPOINT>_WEBHOOK.
WEBHOOK_SUFFIX = "/webhook"


def webhook_entry(endpoint: str) -> str:
    """The credential-store name of an endpoint's webhook secret (pass it where an endpoint goes)."""
    return endpoint + WEBHOOK_SUFFIX


def get_webhook_secret(tenant: str, endpoint: str, credential_ref: str | None = "keyring", *,
                       keyring_module: Any = None, environ: Mapping[str, str] | None = None) -> str:
    try:
        return get_secret(tenant, webhook_entry(endpoint), credential_ref, keyring_module=keyring_module,
                          environ=environ)
    except MissingSecret:
        var = env_var(tenant, webhook_entry(endpoint))
        raise MissingSecret(f"no webhook secret for {tenant}/{endpoint}: run `syncops creds set {tenant} "
                            f"{endpoint} --webhook` or set {var}") from None
