"""A local drop folder: list, read, write atomically, move without overwriting.

The file connector talks to this interface; syncops/connectors/sftp.py offers the same over SFTP.
Every failure is a DeliveryError: a missing root (unmounted share) is `unavailable`, a refused
permission `auth`. Sub-folders are created on first use, the root never is (creating an empty
root would make an unmounted share look like an empty inbox).
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path

from syncops.connectors.errors import DeliveryError
from syncops.store.categories import Category


@dataclass(frozen=True)
class Entry:
    name: str
    size: int
    mtime: float


def tmp_name(name: str) -> str:
    # A dotfile ending in .tmp: every reader (ours included) skips it until the rename.
    return f".{name}.tmp"


def free_name(name: str, taken: set[str], tag: str) -> str:
    """`name`, or name.<tag>[.n].ext when done/ already holds a file of that name (a daily export)."""
    if name not in taken:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    for n in range(1000):
        candidate = f"{stem}.{tag}{'' if n == 0 else f'.{n}'}{'.' + ext if ext else ''}"
        if candidate not in taken:
            return candidate
    raise DeliveryError(Category.UNAVAILABLE, f"no free name for {name} (1000 copies)")


class LocalFolder:
    def __init__(self, root: str) -> None:
        self.root = Path(root)

    def describe(self) -> str:
        return str(self.root)

    def _path(self, folder: str, name: str | None = None) -> Path:
        base = Path(folder) if os.path.isabs(folder) else self.root / folder
        return base / name if name else base

    def _fail(self, exc: OSError, what: str) -> DeliveryError:
        if isinstance(exc, PermissionError):
            return DeliveryError(Category.AUTH, f"permission denied {what} ({exc.strerror})")
        if not self.root.is_dir():
            return DeliveryError(Category.UNAVAILABLE, f"drop folder {self.root} is not there (share not mounted?)")
        return DeliveryError(Category.UNAVAILABLE, f"cannot {what}: {exc.strerror or exc}")

    async def _run(self, what: str, fn, *args):
        try:
            return await asyncio.to_thread(fn, *args)
        except OSError as exc:
            raise self._fail(exc, what) from None

    def _ensure(self, folder: str) -> Path:
        if not self.root.is_dir():
            raise FileNotFoundError(str(self.root))
        path = self._path(folder)
        path.mkdir(parents=True, exist_ok=True)
        return path

    async def listdir(self, folder: str) -> list[Entry]:
        def run() -> list[Entry]:
            out = []
            with os.scandir(self._ensure(folder)) as it:
                for e in it:
                    if e.is_file(follow_symlinks=False):
                        st = e.stat(follow_symlinks=False)
                        out.append(Entry(e.name, st.st_size, st.st_mtime))
            return out

        return await self._run(f"list {folder}", run)

    async def read(self, folder: str, name: str, max_bytes: int) -> bytes:
        def run() -> bytes:
            with open(self._path(folder, name), "rb") as f:
                return f.read(max_bytes + 1)

        return await self._run(f"read {folder}/{name}", run)

    async def write_atomic(self, folder: str, name: str, data: bytes) -> None:
        def run() -> None:
            path = self._ensure(folder)
            tmp = path / tmp_name(name)
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())  # the bytes are on disk before the name appears
            os.replace(tmp, path / name)
            dir_fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(dir_fd)  # and so is the rename
            finally:
                os.close(dir_fd)

        await self._run(f"write {folder}/{name}", run)

    async def move(self, src_folder: str, name: str, dst_folder: str, tag: str) -> str:
        def run() -> str:
            dst = self._ensure(dst_folder)
            target = free_name(name, set(os.listdir(dst)), tag)
            os.rename(self._path(src_folder, name), dst / target)
            return target

        return await self._run(f"move {src_folder}/{name} to {dst_folder}", run)

    async def exists(self, folder: str, name: str) -> bool:
        return await self._run("look", lambda: self._path(folder, name).is_file())

    async def remove(self, folder: str, name: str) -> None:
        await self._run(f"remove {folder}/{name}", lambda: self._path(folder, name).unlink(missing_ok=True))

    async def aclose(self) -> None:
        return None
