"""Drop folder over SFTP (`kind: sftp`), for 3PLs and legacy ERPs that offer nothing else.

Same logic as the local drop folder (files.py); only the folder operations go over asyncssh.
The server's host key is always checked, against `options.known_hosts` or the pinned
`options.host_key_fingerprint` (SHA256:...); an unknown key is `auth`, never a silent accept.
The credential is the password, or a private key (its text, starting with -----BEGIN).
"""

from __future__ import annotations

import posixpath
from typing import Any
from urllib.parse import unquote, urlsplit

import asyncssh

from syncops.connectors.errors import DeliveryError
from syncops.connectors.files import FilesConnector
from syncops.connectors.folders import Entry, free_name, tmp_name
from syncops.store.categories import Category


class _PinnedHostKey(asyncssh.SSHClient):
    def __init__(self, fingerprint: str) -> None:
        self.fingerprint = fingerprint

    def validate_host_public_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
        return key.get_fingerprint("sha256") == self.fingerprint


class SftpFolder:
    def __init__(self, url: str, secret: str, opts: Any) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "", parts.port or 22
        self.root = unquote(parts.path) or "/"
        self.secret, self.opts = secret, opts
        self._conn: Any = None
        self._sftp: Any = None

    def describe(self) -> str:
        return f"sftp://{self.host}:{self.port}{self.root}"

    def _path(self, folder: str, name: str | None = None) -> str:
        base = folder if folder.startswith("/") else posixpath.join(self.root, folder)
        return posixpath.join(base, name) if name else base

    async def _client(self) -> Any:
        if self._sftp is not None:
            return self._sftp
        o = self.opts
        kw: dict[str, Any] = {"username": o.username, "connect_timeout": o.timeout,
                              "agent_path": None, "client_keys": None, "password": None}
        if self.secret.lstrip().startswith("-----BEGIN"):
            try:
                kw["client_keys"] = [asyncssh.import_private_key(self.secret)]
            except (asyncssh.KeyImportError, ValueError):
                raise DeliveryError(Category.AUTH, "the credential looks like a private key but cannot be read "
                                    "(encrypted keys are not supported; store it without a passphrase)") from None
        else:
            kw["password"] = self.secret
        if o.host_key_fingerprint:
            kw["known_hosts"] = ([], [], [])  # trust nothing by list; the pinned fingerprint decides
            kw["client_factory"] = lambda: _PinnedHostKey(o.host_key_fingerprint)
        else:
            kw["known_hosts"] = o.known_hosts
        where = f"{self.host}:{self.port}"
        try:
            self._conn = await asyncssh.connect(self.host, self.port, **kw)
            self._sftp = await self._conn.start_sftp_client()
        except asyncssh.HostKeyNotVerifiable as exc:
            raise DeliveryError(Category.AUTH, f"host key of {where} is not the one configured "
                                f"({'host_key_fingerprint' if o.host_key_fingerprint else 'known_hosts'}): "
                                f"{exc.reason}; check with the provider before changing it") from None
        except asyncssh.PermissionDenied:
            raise DeliveryError(Category.AUTH, f"{where} refused the login of {o.username!r} "
                                "(wrong password or key)") from None
        except asyncssh.Error as exc:
            await self.aclose()
            raise DeliveryError(Category.UNAVAILABLE, f"SFTP {where}: {exc.reason}") from None
        except (OSError, TimeoutError) as exc:
            await self.aclose()
            raise DeliveryError(Category.UNAVAILABLE, f"cannot reach SFTP {where}: "
                                f"{getattr(exc, 'strerror', None) or type(exc).__name__}") from None
        return self._sftp

    async def _do(self, what: str, op) -> Any:
        sftp = await self._client()
        try:
            return await op(sftp)
        except asyncssh.SFTPPermissionDenied:
            raise DeliveryError(Category.AUTH, f"SFTP permission denied to {what}") from None
        except asyncssh.SFTPNoSuchFile:
            raise DeliveryError(Category.UNAVAILABLE, f"SFTP: no such file or folder to {what}") from None
        except asyncssh.SFTPError as exc:
            await self.aclose()  # often the session is gone ("Connection not open"): start afresh next time
            raise DeliveryError(Category.UNAVAILABLE, f"SFTP cannot {what}: {exc.reason}") from None
        except (asyncssh.Error, OSError) as exc:
            await self.aclose()  # the link died: reconnect on the next call
            raise DeliveryError(Category.UNAVAILABLE, f"SFTP link lost while trying to {what}: "
                                f"{getattr(exc, 'reason', None) or exc}") from None

    async def _ensure(self, sftp: Any, folder: str) -> str:
        if not await sftp.isdir(self.root):
            raise DeliveryError(Category.UNAVAILABLE, f"SFTP folder {self.root} is not there")
        path = self._path(folder)
        await sftp.makedirs(path, exist_ok=True)
        return path

    async def listdir(self, folder: str) -> list[Entry]:
        async def op(sftp):
            path = await self._ensure(sftp, folder)
            return [Entry(n.filename, n.attrs.size or 0, float(n.attrs.mtime or 0))
                    for n in await sftp.readdir(path)
                    if n.attrs.type == asyncssh.FILEXFER_TYPE_REGULAR]

        return await self._do(f"list {folder}", op)

    async def read(self, folder: str, name: str, max_bytes: int) -> bytes:
        async def op(sftp):
            async with sftp.open(self._path(folder, name), "rb") as f:
                return await f.read(max_bytes + 1)

        return await self._do(f"read {folder}/{name}", op)

    async def write_atomic(self, folder: str, name: str, data: bytes) -> None:
        async def op(sftp):
            path = await self._ensure(sftp, folder)
            tmp = posixpath.join(path, tmp_name(name))
            async with sftp.open(tmp, "wb") as f:
                await f.write(data)
                try:
                    await f.fsync()
                except asyncssh.SFTPOpUnsupported:
                    pass  # servers without fsync@openssh.com: the rename still hides a partial file
            # posix-rename@openssh.com replaces an existing file atomically (plain SFTP rename refuses).
            await sftp.posix_rename(tmp, posixpath.join(path, name))

        await self._do(f"write {folder}/{name}", op)

    async def move(self, src_folder: str, name: str, dst_folder: str, tag: str) -> str:
        async def op(sftp):
            dst = await self._ensure(sftp, dst_folder)
            target = free_name(name, set(await sftp.listdir(dst)), tag)
            await sftp.rename(self._path(src_folder, name), posixpath.join(dst, target))
            return target

        return await self._do(f"move {src_folder}/{name} to {dst_folder}", op)

    async def exists(self, folder: str, name: str) -> bool:
        async def op(sftp):
            return await sftp.isfile(self._path(folder, name))

        return await self._do(f"look for {folder}/{name}", op)

    async def remove(self, folder: str, name: str) -> None:
        async def op(sftp):
            if await sftp.exists(self._path(folder, name)):
                await sftp.remove(self._path(folder, name))

        await self._do(f"remove {folder}/{name}", op)

    async def aclose(self) -> None:
        sftp, conn, self._sftp, self._conn = self._sftp, self._conn, None, None
        if sftp is not None:
            sftp.exit()
        if conn is not None:
            conn.close()
            try:
                await conn.wait_closed()
            except Exception:  # closing a dead link: nothing left to do
                pass


class SftpConnector(FilesConnector):
    kind = "sftp"

    def _folder(self, base_url: str, secret: str) -> Any:
        return SftpFolder(base_url, secret, self.opts)
