"""CLI test fixtures: a private environment, a small config, a tmp SQLite store, and record seeding.

The CLI runs in-process (`syncops.cli.main(argv)`) with capsys, so each call costs milliseconds.
The CLI reads the wall clock (time.time), so seeded records are stamped with a clock near "now"
unless a test asks for old ones.
"""

from __future__ import annotations

import io
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import pytest

from syncops.models import sample_payload
from syncops.models.registry import validate_payload
from syncops.store import lifecycle
from syncops.store.categories import Category
from syncops.store.db import Store, open_store
from syncops.store.lifecycle import NewRecord, Outcome
from syncops.store.queries import get_record

CONFIG = """\
tenants:
  acme:
    production: true
    endpoints:
      pos: {kind: square, base_url: simulator, credential: simulator}
      web: {kind: shopify, base_url: simulator, credential: simulator}
      erp: {kind: odoo, base_url: simulator, credential: simulator, options: {database: acme}}
    maps:
      sku_map:
        TSHIRT-RED-M: TSHIRT-RED-M
        MUG-WHITE: MUG-WHITE
    flows:
      - name: orders
        entity: order
        source: web
        target: erp
        schedule: {every: 5s}
        sla: 10m
        mappings: {sku: sku_map}
      - name: inventory
        entity: inventory
        source: pos
        target: web
        schedule: {every: 1s}
        sla: 1m
        coalesce: true
        mappings: {sku: sku_map}
  bella:
    endpoints:
      pos: {kind: square, base_url: simulator, credential: simulator}
      web: {kind: shopify, base_url: simulator, credential: simulator}
    flows:
      - name: inventory
        entity: inventory
        source: pos
        target: web
        schedule: {every: 1s}
        sla: 1m
"""

# (entity, target) of each configured flow, so seeded records look like the engine's.
FLOWS = {("acme", "orders"): ("order", "erp"), ("acme", "inventory"): ("inventory", "web"),
         ("bella", "inventory"): ("inventory", "web")}


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Point everything the CLI might resolve at tmp_path: never the real user's dirs or store."""
    home = tmp_path / "home"
    for sub in ("config", "data", "state", "cache"):
        (home / sub).mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    for var in ("SSH_CLIENT", "SSH_CONNECTION", "VISUAL", "EDITOR", "SYNCOPS_ALLOW_PLAINTEXT_KEYRING"):
        monkeypatch.delenv(var, raising=False)
    config = tmp_path / "syncops.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    url = f"sqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("SYNCOPS_CONFIG", str(config))
    monkeypatch.setenv("SYNCOPS_STORE", url)
    monkeypatch.setenv("USER", "tech1")
    monkeypatch.setattr("getpass.getuser", lambda: "tech1")
    # No terminal: confirmations must refuse rather than hang.
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    return {"config": config, "store_url": url, "home": home}


@pytest.fixture
def store_url(cli_env: dict[str, Any]) -> str:
    return cli_env["store_url"]


@pytest.fixture
def config_path(cli_env: dict[str, Any]) -> Path:
    return cli_env["config"]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):
    """cli("records", "list", "--json") -> Result(code, out, err)."""
    from syncops.cli import main

    def run(*argv: str) -> Result:
        capsys.readouterr()  # drop anything printed before this call
        code = main(list(argv))
        got = capsys.readouterr()
        return Result(code, got.out, got.err)

    return run


def order_payload(number: str, *, sku: str = "TSHIRT-RED-M") -> dict[str, Any]:
    p = sample_payload("order")
    p["order_number"] = number
    p["lines"][0]["sku"] = sku
    return p


def inventory_payload(sku: str, location: str = "store-1", available: int = 5) -> dict[str, Any]:
    p = sample_payload("inventory")
    p.update(sku=sku, location_id=location, available=available, on_hand=available)
    return p


class Seeder:
    """Puts records into the CLI's store through the real lifecycle (enqueue, claim, settle)."""

    def __init__(self, url: str) -> None:
        self.clock = Clock(time.time())
        self.store: Store = open_store(url, clock=self.clock)
        self._n = 0

    def close(self) -> None:
        self.store.close()

    def enqueue(self, payloads: Sequence[dict[str, Any]], *, tenant: str = "acme", flow: str = "orders",
                age: float = 0.0, normalise: bool = True) -> list[int]:
        """Enqueue payloads as pending records created `age` seconds ago.

        Payloads are stored normalised (model_dump), as most connectors hand them over, unless
        `normalise=False` (some connectors build the JSON shape by hand, without the defaults).
        """
        entity, target = FLOWS[(tenant, flow)]
        records = []
        for p in payloads:
            self._n += 1
            model = validate_payload(entity, p)  # stored normalised, as the connectors hand them over
            records.append(NewRecord(
                tenant=tenant, flow=flow, entity=entity, entity_key=model.entity_key(),
                idempotency_key=f"seed:{self._n}", target=target, payload=model.model_dump(mode="json") if normalise else p,
                source_ts=time.time() - age, coalesce=entity == "inventory"))
        self.clock.now = time.time() - age
        try:
            res = lifecycle.enqueue(self.store, records)
        finally:
            self.clock.now = time.time()
        assert len(res.inserted) == len(records)
        return res.inserted

    def orders(self, n: int, *, prefix: str = "ORD", **kw: Any) -> list[int]:
        start = self._n
        return self.enqueue([order_payload(f"{prefix}-{start + i}") for i in range(n)], **kw)

    def settle(self, ids: Iterable[int], category: Category, message: str = "rejected",
               *, error_map: str | None = None, error_value: str | None = None) -> dict[int, str]:
        """Claim the given records and settle them with a failure of `category`."""
        ids = list(ids)
        rows = [get_record(self.store, i) for i in ids]
        states: dict[int, str] = {}
        for tenant, target in {(r.tenant, r.target) for r in rows}:
            got = lifecycle.claim(self.store, tenant=tenant, target=target, owner="eng-test", limit=10_000)
            mine = [c for c in got if c.id in ids]
            others = [c.id for c in got if c.id not in ids]
            if others:
                lifecycle.defer(self.store, "eng-test", others, until=self.clock())
            states.update(lifecycle.settle(self.store, "eng-test", [
                Outcome(record=c, category=category, message=message, error_map=error_map,
                        error_value=error_value) for c in mine], endpoint=target))
        assert set(states) == set(ids), (states, ids)
        return states

    def failed(self, n: int = 1, *, message: str = "rejected: bad tax code",
               category: Category = Category.VALIDATION, **kw: Any) -> list[int]:
        ids = self.orders(n, **kw)
        assert set(self.settle(ids, category, message).values()) == {"failed"}
        return ids

    def state(self, record_id: int) -> str:
        return get_record(self.store, record_id).state

    def row(self, record_id: int) -> Any:
        return get_record(self.store, record_id)


@pytest.fixture
def seed(store_url: str):
    s = Seeder(store_url)
    yield s
    s.close()
