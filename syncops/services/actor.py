"""Who is acting: the OS user and, over SSH, the client address. Recorded with every action."""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    user: str
    client: str | None = None
    via: str = "cli"  # cli | console | engine

    @classmethod
    def current(cls, via: str = "cli") -> "Actor":
        try:
            user = getpass.getuser()
        except Exception:  # no passwd entry in some containers
            user = os.environ.get("USER") or f"uid:{os.getuid()}"
        # SSH_CLIENT is "addr port lport"; SSH_CONNECTION is "addr port laddr lport".
        ssh = os.environ.get("SSH_CLIENT") or os.environ.get("SSH_CONNECTION")
        client = ssh.split()[0] if ssh else None
        return cls(user=user, client=client, via=via)

    def __str__(self) -> str:
        return f"{self.user}@{self.client}" if self.client else self.user


ENGINE = Actor(user="engine", via="engine")
