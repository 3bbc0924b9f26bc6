"""`syncops bundle`: an incident bundle (tar.gz) safe to attach to an escalation ticket.

status.json, flows.json, exceptions.json (groups + sample records, PII masked), alerts.json (firing,
history, silences), config.json (secrets removed), engine.log (recent lines, scrubbed), README.txt.
Every file passes through `scrub` last: known secret values, URL userinfo, e-mail addresses and phone
numbers are replaced whatever file they turned up in.
"""

from __future__ import annotations

import io
import json
import os
import re
import tarfile
from collections import deque
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from syncops.models.pii import mask_pii
from syncops.store.db import Store

LOG_LINES = 5000
SAMPLES = 3
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<![\w.])\+?\d[\d ()./-]{6,}\d(?![\w.])")
_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)[^/@\s\"']+@")
_ISO = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d")


def _phone(match: re.Match) -> str:
    text = match.group(0)
    if _ISO.match(text) or sum(c.isdigit() for c in text) < 7 or re.fullmatch(r"\d+(\.\d+)?", text):
        return text  # dates, plain numbers (ids, timestamps, amounts) are not phone numbers
    return re.sub(r"\d", "*", text[:-2]) + text[-2:]


def secret_values(config: Any, env: dict[str, str] | None = None) -> set[str]:
    """Secrets syncops can know of without asking the keyring: credential env vars, SYNCOPS_SECRET_*,
    and the parts of every alert channel (apprise URL tokens, command arguments)."""
    env = dict(os.environ if env is None else env)
    found: set[str] = {v for k, v in env.items() if k.startswith("SYNCOPS_SECRET_")}
    if config is None:
        return {s for s in found if len(s) >= 6}
    for _, tenant in config.tenants.items():
        for ep in tenant.endpoints.values():
            var = ep.credential_env
            if var and env.get(var):
                found.add(env[var])
    specs = [config.alerts] + [t.alerts for t in config.tenants.values()]
    for spec in specs:
        for ch in getattr(spec, "channels", ()):
            if ch.kind == "command":
                found.update(ch.target[1:])
                continue
            found.add(ch.target)
            parts = urlsplit(ch.target)
            found.update(p for p in [parts.username, parts.password, parts.hostname, *parts.path.split("/")] if p)
            found.update(v for _, v in parse_qsl(parts.query))
    return {s for s in found if s and len(s) >= 6 and s not in ("127.0.0.1", "localhost")}


_NAMED_EMAIL = re.compile(r"[A-Z][\w'-]*(?: [A-Z][\w'-]*){0,3} (<[\w.+-]+@)")
PII_SCAN = 10_000  # records whose customer fields are looked for in free text (logs, error messages)


def pii_values(store: Store, since: float) -> set[str]:
    """Customer names, e-mails and phones of recent records: free text (vendor errors, log lines)
    that quotes them gets them replaced too."""
    from sqlalchemy import or_, select

    from syncops.models.pii import PII_FIELDS
    from syncops.store.tables import EXCEPTION_STATES, Record

    R = Record.__table__
    entities = [e for e, fields in PII_FIELDS.items() if fields]
    stmt = (select(R.c.payload).where(R.c.entity.in_(entities),
                                      or_(R.c.updated_at >= since, R.c.state.in_(EXCEPTION_STATES)))
            .order_by(R.c.id.desc()).limit(PII_SCAN))
    found: set[str] = set()
    with store.read() as conn:
        for (payload,) in conn.execute(stmt):
            try:
                customer = (json.loads(payload or "{}") or {}).get("customer") or {}
            except (ValueError, AttributeError):
                continue
            if not isinstance(customer, dict):
                continue
            for key in ("name", "email", "phone"):
                if isinstance(customer.get(key), str):
                    found.add(customer[key])
            address = customer.get("address")
            if isinstance(address, dict):
                found.update(v for k, v in address.items() if k != "country" and isinstance(v, str))
    return {v for v in found if len(v) >= 4}


def scrub(text: str, secrets: set[str]) -> str:
    for s in sorted(secrets, key=len, reverse=True):
        text = text.replace(s, "***")
    text = _NAMED_EMAIL.sub(r"*** \1", text)
    text = _USERINFO.sub(r"\1***@", text)
    text = _EMAIL.sub(lambda m: m.group(0)[:1] + "***@" + m.group(0).rsplit("@", 1)[1], text)
    return _PHONE.sub(_phone, text)


def _strip_url(url: Any) -> Any:
    if not isinstance(url, str) or "://" not in url:
        return url
    return _USERINFO.sub(r"\1", url)


def redacted_config(config: Any) -> dict[str, Any] | None:
    """The config with credential refs kept as names, URLs without userinfo, channels masked."""
    if config is None:
        return None
    from sqlalchemy.engine import make_url

    def spec(s: Any) -> Any:
        if s is None:
            return None
        return {"rules": s.rules, "renotify": s.renotify, "every": s.every,
                "notify": [ch.shown for ch in s.channels]}

    store = None
    if config.store:
        try:
            store = make_url(config.store).set(username=None, password=None).render_as_string()
        except Exception:
            store = "(unparseable URL, not shown)"
    tenants = {}
    for name, t in config.tenants.items():
        tenants[name] = {
            "production": t.production,
            "endpoints": {e: {"kind": ep.kind, "base_url": _strip_url(ep.base_url), "credential": ep.credential,
                              "options": sorted(ep.options)} for e, ep in t.endpoints.items()},
            "flows": {f: asdict(fl) if is_dataclass(fl) else str(fl) for f, fl in t.flows.items()},
            "maps": {m: len(v) for m, v in t.mappings.items()},
            "reconcile": asdict(t.reconcile) if t.reconcile else None,
            "alerts": spec(t.alerts),
        }
    return {"source_path": str(config.source_path) if config.source_path else None, "store": store,
            "tenants": tenants, "alerts": spec(config.alerts)}


def _exceptions(store: Store, since: float) -> list[dict[str, Any]]:
    from syncops.store.filters import RecordFilter
    from syncops.store.queries import get_record, list_records, signature_groups

    out = []
    for g in signature_groups(store, RecordFilter(), limit=100):
        page = list_records(store, RecordFilter(signature=g.signature), limit=SAMPLES)
        samples = []
        for row in page.rows:
            rec = get_record(store, row.id)
            try:
                payload = json.loads(rec.payload or "{}")
                payload = mask_pii(rec.entity, payload) if isinstance(payload, dict) else "(not an object)"
            except Exception:
                payload = "(not shown: could not be masked)"
            samples.append({"id": rec.id, "tenant": rec.tenant, "flow": rec.flow, "entity": rec.entity,
                            "state": rec.state, "attempts": rec.attempts, "error_category": rec.error_category,
                            "error_message": rec.error_message, "created_at": rec.created_at,
                            "updated_at": rec.updated_at, "payload": payload})
        out.append({"signature": g.signature, "category": g.category, "count": g.count, "sample_error": g.sample,
                    "first_seen": g.first_seen, "last_seen": g.last_seen, "recent": g.last_seen >= since,
                    "samples": samples})
    return out


def _status(store: Store, config: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    from syncops.services.health import LEVEL, flow_health
    from syncops.store.queries import failures_by_category
    from syncops.store.filters import RecordFilter

    h = flow_health(store, config)
    now = store.clock()
    status = {"state": h.state, "exit_code": LEVEL[h.state], "reasons": h.reasons, "store": store.safe_url,
              "engine": None if h.engine is None else {"host": h.engine.host, "pid": h.engine.pid,
                                                       "heartbeat_age_s": now - h.engine.beat_at},
              "breakers": {f"{t}/{e}": {"breaker": b.breaker, "failures": b.consecutive_failures,
                                        "opened_at": b.opened_at, "last_error": b.last_error}
                           for (t, e), b in h.breakers.items()},
              "reconciliation": h.reconciliation, "generated_at": now}
    flows = [dict(f.as_dict(), failures_by_category=failures_by_category(
        store, RecordFilter(tenant=f.tenant, flow=f.flow))) for f in h.flows]
    return status, flows


def _log_tail(paths: list[Path], since: float) -> str:
    chunks = []
    for p in paths:
        try:
            if p.stat().st_mtime < since:
                continue
            with p.open(encoding="utf-8", errors="replace") as fh:
                lines = deque(fh, maxlen=LOG_LINES)
        except OSError:
            continue
        chunks.append(f"==> {p.name} (last {len(lines)} lines) <==\n" + "".join(lines))
    return "\n".join(chunks) or "(no engine log found; `syncops engine` logs to stderr: use --log FILE)\n"


def write_bundle(store: Store, config: Any, out: Path, *, since_seconds: float, logs: list[Path],
                 env: dict[str, str] | None = None) -> list[str]:
    """Write the bundle; returns the names of the files in it."""
    from syncops.ops.alerts import firing, history, silences

    now = store.clock()
    since = now - since_seconds
    status, flows = _status(store, config)
    status["alerts"] = firing(store)
    files = {
        "status.json": status,
        "flows.json": flows,
        "exceptions.json": _exceptions(store, since),
        "alerts.json": {"firing": status["alerts"], "history": history(store, since), "silences": silences(store)},
        "config.json": redacted_config(config),
    }
    secrets = secret_values(config, env) | pii_values(store, since)
    texts = {name: json.dumps(doc, indent=2, sort_keys=True, default=str) + "\n" for name, doc in files.items()}
    texts["engine.log"] = _log_tail(logs, since)
    texts["README.txt"] = (f"syncops incident bundle, {since_seconds / 3600:g}h back from {now:.0f} (epoch s).\n"
                           "Secrets removed and customer data masked; channel URLs shown as scheme://***.\n")
    out.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh, tarfile.open(fileobj=fh, mode="w:gz") as tar:
        for name, text in texts.items():
            data = scrub(text, secrets).encode()
            info = tarfile.TarInfo(f"syncops-bundle/{name}")
            info.size, info.mtime, info.mode = len(data), int(now), 0o600
            tar.addfile(info, io.BytesIO(data))
    return list(texts)
