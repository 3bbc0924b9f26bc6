"""`syncops engine --systemd-unit`: a ready unit file for running the engine as a service."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from sqlalchemy.engine import make_url

from syncops.config.locate import default_store_url

STATE_DB = "/var/lib/syncops/syncops.db"
ENV_FILE = "/etc/syncops/syncops.env"


def unit_text(*, config_path: Path, store_url: str, user: str = "syncops", retention_days: float = 30.0,
              log_json: bool = False, python: str | None = None) -> str:
    url = make_url(store_url)
    notes = []
    if store_url == default_store_url():
        # The per-user default of whoever ran this command is no place for a service's data.
        store_url = f"sqlite:///{STATE_DB}"
        notes.append(f"# Store: {STATE_DB} (StateDirectory); pass --store URL to choose another.")
        url = make_url(store_url)
    store_arg = None
    if url.password is not None:
        # Never in the unit: systemctl show / cat would print it to anyone.
        notes.append(f"# The store URL has a password: set SYNCOPS_STORE=<full URL> in {ENV_FILE} (mode 0600).")
        notes.append(f"# Store: {url.render_as_string(hide_password=True)}")
    else:
        store_arg = store_url
    cmd = [python or sys.executable, "-m", "syncops", "engine", "--config", str(config_path)]
    if store_arg:
        cmd += ["--store", store_arg]
    cmd += ["--retention-days", f"{retention_days:g}"] + (["--log-json"] if log_json else [])
    writable = sorted({str(Path(url.database).parent)} if url.get_backend_name() == "sqlite" and url.database
                      else set())
    in_home = any(p.startswith(("/home/", "/root")) for p in writable + [str(config_path)])
    lines = [
        "# syncops engine: install with",
        f"#   sudo useradd --system --home-dir /var/lib/syncops --shell /usr/sbin/nologin {user}",
        "#   syncops engine --config ... --systemd-unit | sudo tee /etc/systemd/system/syncops-engine.service",
        "#   sudo systemctl daemon-reload && sudo systemctl enable --now syncops-engine",
        f"# Secrets (SYNCOPS_SECRET_<TENANT>_<ENDPOINT>, ${{VARS}} of apprise URLs) go in {ENV_FILE}, mode 0600.",
        *notes,
        "[Unit]",
        "Description=syncops sync engine",
        "Wants=network-online.target",
        "After=network-online.target",
        "",
        "[Service]",
        # notify: `systemctl start` returns once the engine holds its store and has scheduled its
        # flows (READY=1), and fails if it cannot start; the watchdog restarts a hung engine.
        "Type=notify",
        "NotifyAccess=main",
        "WatchdogSec=60s",
        "TimeoutStartSec=120s",
        f"User={user}",
        f"Group={user}",
        f"ExecStart={shlex.join(cmd)}",
        f"EnvironmentFile=-{ENV_FILE}",
        "Environment=PYTHONUNBUFFERED=1",
        "Restart=on-failure",
        "RestartSec=5s",
        "KillSignal=SIGTERM",
        "TimeoutStopSec=30s",
        "StateDirectory=syncops",
        "StateDirectoryMode=0700",
        "LogsDirectory=syncops",
        "UMask=0077",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        ("ProtectHome=read-only" if in_home else "ProtectHome=yes"),
        *(f"ReadWritePaths={p}" for p in writable if not p.startswith("/var/lib/syncops")),
        "PrivateTmp=yes",
        "PrivateDevices=yes",
        "ProtectKernelTunables=yes",
        "ProtectKernelModules=yes",
        "ProtectControlGroups=yes",
        "RestrictSUIDSGID=yes",
        "RestrictRealtime=yes",
        "LockPersonality=yes",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
        "SystemCallArchitectures=native",
        "CapabilityBoundingSet=",
        "",
        "[Install]",
        "WantedBy=multi-user.target",
    ]
    return "\n".join(lines) + "\n"
