"""Secrets: keyring first, env fallback, plaintext keyrings refused, messages that say what to do."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from keyring.backend import KeyringBackend
from keyring.errors import KeyringLocked, NoKeyringError, PasswordDeleteError

from syncops.connectors import credentials
from syncops.connectors.credentials import (
    KeyringUnavailable, MissingSecret, delete_secret, describe_source, env_var, get_secret, set_secret,
)


class MemoryKeyring(KeyringBackend):
    """In-memory backend; named like SecretService so the source label is realistic."""

    priority = 10

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.store.get((service, username))

    def set_password(self, service, username, password):
        self.store[(service, username)] = password

    def delete_password(self, service, username):
        if self.store.pop((service, username), None) is None:
            raise PasswordDeleteError("not found")


SecretService = type("Keyring", (MemoryKeyring,), {"__module__": "keyring.backends.SecretService"})
PlaintextKeyring = type("PlaintextKeyring", (MemoryKeyring,), {"__module__": "keyrings.alt.file"})


class FailKeyring(KeyringBackend):
    __module__ = "keyring.backends.fail"
    priority = 0

    def get_password(self, service, username):
        raise NoKeyringError("No recommended backend was available.")

    def set_password(self, service, username, password):
        raise NoKeyringError("No recommended backend was available.")

    def delete_password(self, service, username):
        raise NoKeyringError("No recommended backend was available.")


class LockedKeyring(MemoryKeyring):
    def get_password(self, service, username):
        raise KeyringLocked("locked")


def module(backend):
    return SimpleNamespace(get_keyring=lambda: backend)


@pytest.fixture
def clean_env(monkeypatch):
    for name in list(__import__("os").environ):
        if name.startswith("SYNCOPS_"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_env_var_name():
    assert env_var("acme", "shopify") == "SYNCOPS_SECRET_ACME_SHOPIFY"
    assert env_var("acme-eu", "pos.main") == "SYNCOPS_SECRET_ACME_EU_POS_MAIN"


def test_keyring_round_trip(clean_env):
    kr = module(SecretService())
    assert set_secret("acme", "shopify", "shpat_123", keyring_module=kr) == "SecretService"
    assert kr.get_keyring().store == {("syncops", "acme/shopify"): "shpat_123"}
    assert get_secret("acme", "shopify", keyring_module=kr) == "shpat_123"
    assert describe_source("acme", "shopify", "keyring", keyring_module=kr) == "keyring (SecretService)"
    assert delete_secret("acme", "shopify", keyring_module=kr) is True
    assert delete_secret("acme", "shopify", keyring_module=kr) is False
    assert describe_source("acme", "shopify", keyring_module=kr) == "missing"


def test_keyring_entry_wins_over_env(clean_env):
    kr = module(SecretService())
    kr.get_keyring().store[("syncops", "acme/square")] = "from-keyring"
    clean_env.setenv("SYNCOPS_SECRET_ACME_SQUARE", "from-env")
    assert get_secret("acme", "square", keyring_module=kr) == "from-keyring"


def test_env_fallback_when_keyring_has_no_entry(clean_env):
    clean_env.setenv("SYNCOPS_SECRET_ACME_SHOPIFY", "env-secret")
    kr = module(SecretService())
    assert get_secret("acme", "shopify", keyring_module=kr) == "env-secret"
    assert describe_source("acme", "shopify", keyring_module=kr) == "environment SYNCOPS_SECRET_ACME_SHOPIFY"


@pytest.mark.parametrize("backend", [FailKeyring(), LockedKeyring()])
def test_env_fallback_without_usable_keyring(clean_env, backend):
    clean_env.setenv("SYNCOPS_SECRET_ACME_SHOPIFY", "env-secret")
    assert get_secret("acme", "shopify", keyring_module=module(backend)) == "env-secret"


def test_missing_secret_says_what_to_do(clean_env):
    with pytest.raises(MissingSecret) as exc:
        get_secret("acme", "shopify", keyring_module=module(SecretService()))
    assert str(exc.value) == (
        "no secret for acme/shopify: run `syncops creds set acme shopify` or set SYNCOPS_SECRET_ACME_SHOPIFY")


def test_missing_secret_without_keyring_names_the_reason(clean_env):
    with pytest.raises(MissingSecret) as exc:
        get_secret("acme", "shopify", keyring_module=module(FailKeyring()))
    assert str(exc.value).startswith(
        "no secret for acme/shopify: run `syncops creds set acme shopify` or set SYNCOPS_SECRET_ACME_SHOPIFY")
    assert "no usable keyring backend" in str(exc.value)


def test_plaintext_keyring_is_refused_unless_allowed(clean_env):
    plain = PlaintextKeyring()
    plain.store[("syncops", "acme/shopify")] = "plain-secret"
    kr = module(plain)
    assert describe_source("acme", "shopify", keyring_module=kr) == "missing"
    with pytest.raises(KeyringUnavailable) as exc:
        set_secret("acme", "shopify", "new", keyring_module=kr)
    assert "SYNCOPS_SECRET_ACME_SHOPIFY" in str(exc.value) and "new" not in str(exc.value).split(":")[0]
    clean_env.setenv("SYNCOPS_ALLOW_PLAINTEXT_KEYRING", "1")
    assert get_secret("acme", "shopify", keyring_module=kr) == "plain-secret"
    assert describe_source("acme", "shopify", keyring_module=kr) == "keyring (PlaintextKeyring)"


def test_chainer_uses_only_acceptable_members(clean_env):
    plain, real = PlaintextKeyring(), SecretService()
    plain.store[("syncops", "acme/shopify")] = "plain-secret"
    real.store[("syncops", "acme/shopify")] = "real-secret"
    chainer = type("ChainerBackend", (), {"__module__": "keyring.backends.chainer", "backends": [plain, real]})()
    assert get_secret("acme", "shopify", keyring_module=module(chainer)) == "real-secret"
    empty = type("ChainerBackend", (), {"__module__": "keyring.backends.chainer", "backends": []})()
    assert describe_source("acme", "shopify", keyring_module=module(empty)) == "missing"


def test_set_secret_without_backend_explains_env_fallback(clean_env):
    with pytest.raises(KeyringUnavailable) as exc:
        set_secret("acme", "shopify", "s3cret", keyring_module=module(FailKeyring()))
    message = str(exc.value)
    assert "SYNCOPS_SECRET_ACME_SHOPIFY" in message and "s3cret" not in message


def test_env_reference_uses_only_that_variable(clean_env):
    kr = module(SecretService())
    kr.get_keyring().store[("syncops", "acme/shopify")] = "from-keyring"
    with pytest.raises(MissingSecret) as exc:
        get_secret("acme", "shopify", "env:SHOPIFY_TOKEN", keyring_module=kr)
    assert str(exc.value) == "no secret for acme/shopify: set SHOPIFY_TOKEN"
    clean_env.setenv("SHOPIFY_TOKEN", "tok")
    assert get_secret("acme", "shopify", "env:SHOPIFY_TOKEN", keyring_module=kr) == "tok"
    assert describe_source("acme", "shopify", "env:SHOPIFY_TOKEN") == "environment SHOPIFY_TOKEN"


def test_simulator_reference_and_unknown_reference(clean_env):
    assert get_secret("demo", "pos", "simulator") == credentials.SIMULATOR_SECRET
    assert describe_source("demo", "pos", "simulator").startswith("simulator")
    with pytest.raises(ValueError, match="unknown credential reference"):
        get_secret("demo", "pos", "vault:x")


def test_module_level_hook(clean_env):
    backend = SecretService()
    backend.store[("syncops", "acme/odoo")] = "hooked"
    previous = credentials.use_keyring(module(backend))
    try:
        assert get_secret("acme", "odoo") == "hooked"
    finally:
        credentials.use_keyring(previous)


def test_broken_keyring_module_degrades_to_env(clean_env):
    def boom():
        raise RuntimeError("dbus exploded")

    clean_env.setenv("SYNCOPS_SECRET_ACME_SHOPIFY", "env-secret")
    assert get_secret("acme", "shopify", keyring_module=SimpleNamespace(get_keyring=boom)) == "env-secret"
