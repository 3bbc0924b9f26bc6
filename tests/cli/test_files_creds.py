"""`syncops creds check` on drop folders: a local folder needs no secret, SFTP logs in and lists."""

from __future__ import annotations

from pathlib import Path

from syncops.simulator.sftp import SftpSim, SftpThread


def test_creds_check_tries_a_local_folder_and_an_sftp_login(cli, tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "drop").mkdir()
    (tmp_path / "srv" / "acme").mkdir(parents=True)
    server = SftpThread(SftpSim(tmp_path / "srv", username="wh", password="pw-right"))
    try:
        layouts = "{inventory: {format: jsonl}}"
        path = tmp_path / "files.yaml"
        path.write_text(
            "tenants:\n  shop:\n    endpoints:\n"
            f"      drop: {{kind: files, base_url: 'file://{tmp_path}/drop', options: {{layouts: {layouts}}}}}\n"
            f"      tpl: {{kind: sftp, base_url: 'sftp://127.0.0.1:{server.sim.port}/acme', credential: 'env:TPL_PW',"
            f" options: {{username: wh, host_key_fingerprint: '{server.sim.fingerprint}', layouts: {layouts}}}}}\n"
            "      web: {kind: shopify, base_url: simulator}\n"
            "    flows:\n      - {name: inv, entity: inventory, source: drop, target: web, schedule: {every: 5s}, sla: 1m}\n",
            encoding="utf-8")
        monkeypatch.setenv("TPL_PW", "pw-right")
        r = cli("creds", "check", "--config", str(path))
        assert r.code == 0, r.out + r.err
        drop = next(line for line in r.out.splitlines() if " drop " in line)
        assert "none needed" in drop and "ok:" in drop and "writable" in drop
        assert "ok:" in next(line for line in r.out.splitlines() if " tpl " in line)

        monkeypatch.setenv("TPL_PW", "pw-wrong")
        r = cli("creds", "check", "--config", str(path))
        assert r.code == 1
        line = next(line for line in r.out.splitlines() if " tpl " in line)
        assert "FAIL auth" in line and "pw-wrong" not in r.out + r.err
    finally:
        server.close()
