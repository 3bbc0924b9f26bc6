"""`syncops creds check` on a `kind: rest` endpoint makes its configured cheap GET against the
simulated WMS: ok with the right key, FAIL auth with a wrong one, and the key is never printed."""

from __future__ import annotations

from pathlib import Path

from syncops.simulator.http import SimServer
from syncops.simulator.wms import WmsApp

KEY = "wms_live_7f3a9c2e"


def _config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "rest.yaml"
    path.write_text(
        "tenants:\n  shop:\n    endpoints:\n"
        f"      wms:\n        kind: rest\n        base_url: '{url}'\n        credential: 'env:WMS_KEY'\n"
        "        options:\n          auth: {type: api_key, header: X-Api-Key}\n"
        "          check: {path: /api/v1/me}\n"
        "          entities:\n            order:\n              push: {method: POST, path: /api/v1/shipments,"
        " body: {reference: order_number}}\n", encoding="utf-8")
    return path


def test_creds_check_authenticates_a_rest_endpoint(cli, tmp_path: Path, monkeypatch) -> None:
    app = WmsApp()
    with SimServer(app) as srv:
        path = _config(tmp_path, srv.url)
        monkeypatch.setenv("WMS_KEY", KEY)
        good = cli("creds", "check", "--config", str(path))
        monkeypatch.setenv("WMS_KEY", "wms_live_wrong0000")
        bad = cli("creds", "check", "--config", str(path))
    assert good.code == 0, good.out + good.err
    line = next(l for l in good.out.splitlines() if " wms " in l)
    assert "rest" in line and "environment WMS_KEY" in line and "/api/v1/me answered HTTP 200" in line
    assert ("GET", "/me") in [(m, p) for m, p, _ in app.requests]
    assert bad.code == 1 and "FAIL auth" in bad.out
    assert KEY not in good.out + good.err + bad.out + bad.err and "wrong0000" not in bad.out + bad.err
