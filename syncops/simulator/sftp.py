"""A small SFTP server on 127.0.0.1 (asyncssh), chrooted to one folder: a simulated 3PL.

One user, by password and/or public key; a generated host key whose fingerprint and
known_hosts line the client can be given. `stop()` closes the port (an outage); `start()`
again on the same port brings it back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncssh


class SftpSim:
    def __init__(self, root: Path, *, username: str = "syncops", password: str | None = None,
                 client_key: asyncssh.SSHKey | None = None, host: str = "127.0.0.1", port: int = 0,
                 host_key: asyncssh.SSHKey | None = None) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.username, self.password, self.client_key = username, password, client_key
        self.host, self.port = host, port
        self.host_key = host_key or asyncssh.generate_private_key("ssh-ed25519")
        self._server: Any = None
        self.logins = 0
        self._conns: set[Any] = set()

    @property
    def fingerprint(self) -> str:
        return self.host_key.get_fingerprint("sha256")

    @property
    def url(self) -> str:
        return f"sftp://{self.host}:{self.port}/"

    def known_hosts_line(self) -> str:
        return f"[{self.host}]:{self.port} " + self.host_key.export_public_key().decode().strip() + "\n"

    async def start(self) -> "SftpSim":
        sim = self

        class Server(asyncssh.SSHServer):
            def connection_made(self, conn: Any) -> None:
                self._conn = conn
                sim._conns.add(conn)

            def connection_lost(self, exc: Exception | None) -> None:
                sim._conns.discard(getattr(self, "_conn", None))

            def begin_auth(self, username: str) -> bool:
                return True

            def password_auth_supported(self) -> bool:
                return sim.password is not None

            def validate_password(self, username: str, password: str) -> bool:
                ok = username == sim.username and password == sim.password
                sim.logins += ok
                return ok

            def public_key_auth_supported(self) -> bool:
                return sim.client_key is not None

            def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
                ok = username == sim.username and sim.client_key is not None and \
                    key.public_data == sim.client_key.public_data
                sim.logins += ok
                return ok

        self._server = await asyncssh.listen(
            self.host, self.port, server_host_keys=[self.host_key], server_factory=Server,
            sftp_factory=lambda chan: asyncssh.SFTPServer(chan, chroot=str(self.root).encode()),
            allow_scp=False)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for conn in list(self._conns):  # an outage drops the open sessions too
            conn.close()
        self._conns.clear()


class SftpThread:
    """The server on its own event loop in a daemon thread, for callers that run asyncio.run themselves."""

    def __init__(self, sim: SftpSim) -> None:
        import asyncio
        import threading

        self.sim = sim
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="sftp-sim", daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(sim.start(), self.loop).result(timeout=30)

    def close(self) -> None:
        import asyncio

        asyncio.run_coroutine_threadsafe(self.sim.stop(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()
