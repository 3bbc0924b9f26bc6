"""Drop-folder connector (`kind: files`): legacy systems that exchange CSV / JSON Lines files.

Reading (inventory stock counts, order sales) from the inbox:
- a file is read only when it is ready: not a dotfile nor *.tmp / *.part / *.ok, matching the
  layout's pattern, its size and mtime unchanged for `settle_seconds` (measured on the injected
  clock), ending in a newline, and with `<name>.ok` present in ready-marker mode;
- files are read oldest first (mtime, then name), one file per page;
- the cursor names the file, its content hash and the last line stored. A file fully read is
  listed in the cursor as "to settle" and moved to done/ (or error/, with a .error.txt sidecar)
  at the start of the next pull, i.e. only once the engine committed that cursor with the rows:
  a crash at any point loses no row, and re-reading stores nothing twice because every
  record's idempotency key is file name + content hash + line.
Writing (order, inventory) to the outbox: one file per delivery, named from its entity key,
written as a dotted .tmp, fsynced and renamed, so a reader never sees a partial file.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
import time
from typing import Any, Callable
from urllib.parse import unquote, urlsplit

from syncops.config.file_layout import FolderOptions, LayoutProblem, parse_options
from syncops.connectors.base import SOURCE_PROBLEM, CallInfo, Delivery, ItemResult, PullPage, SourceChange
from syncops.connectors.errors import DeliveryError
from syncops.connectors.file_rows import FileUnreadable, Unit, parse, render
from syncops.connectors.folders import Entry, LocalFolder
from syncops.store.categories import Category

SKIP_SUFFIXES = (".tmp", ".part", ".partial", ".ok", ".error.txt", ".filepart")
_SAFE = re.compile(r"[^A-Za-z0-9._@-]+")


def folder_root(url: str) -> str:
    return unquote(urlsplit(url).path) or "/"


class FilesConnector:
    kind = "files"
    pull_entities = frozenset({"inventory", "order"})
    push_entities = frozenset({"inventory", "order"})
    max_batch = 50

    def __init__(self, base_url: str, secret: str = "", *, clock: Callable[[], float] = time.time,
                 options: dict[str, Any] | None = None, folder: Any = None) -> None:
        try:
            self.opts: FolderOptions = parse_options(dict(options or {}), self.kind)
        except LayoutProblem as exc:
            raise DeliveryError(Category.VALIDATION, f"endpoint options.{'.'.join(map(str, exc.keys))}: "
                                f"{exc.message}") from None
        self.clock = clock
        self.base_url = base_url
        self.folder = folder if folder is not None else self._folder(base_url, secret)
        self._seen: dict[str, tuple[int, float, float]] = {}  # name -> (size, mtime, first seen so)

    def _folder(self, base_url: str, secret: str) -> Any:
        return LocalFolder(folder_root(base_url))

    def last_call(self) -> CallInfo:
        return CallInfo()

    async def aclose(self) -> None:
        await self.folder.aclose()

    async def check_auth(self) -> str:
        o = self.opts
        entries = await self.folder.listdir(o.inbox)
        probe = ".syncops-check"
        await self.folder.write_atomic(o.outbox, probe, b"")
        await self.folder.remove(o.outbox, probe)
        return f"{self.folder.describe()}: {len(entries)} file(s) in {o.inbox}, {o.outbox} writable"

    def _layout(self, entity: str) -> Any:
        layout = self.opts.layouts.get(entity)
        if layout is None:
            raise DeliveryError(Category.VALIDATION, f"this drop folder has no layout for {entity} "
                                f"(options.layouts has {', '.join(self.opts.layouts)})")
        return layout

    # -- reading ----------------------------------------------------------------------------------

    async def pull(self, entity: str, cursor: str | None, limit: int) -> PullPage:
        layout = self._layout(entity)
        if not layout.pattern:
            raise DeliveryError(Category.VALIDATION, f"options.layouts.{entity} has no `pattern:`, needed to read "
                                f"{entity} files (e.g. \"stock-*.csv\"), so no other file is taken for one")
        state = json.loads(cursor) if cursor else {}
        # The engine committed this cursor: files it lists as read may leave the inbox now.
        for name, to, why in state.pop("settle", []):
            await self._settle(name, to, why)
        entries = await self.folder.listdir(self.opts.inbox)
        names = {e.name for e in entries}
        current = state.get("f") if state.get("f") in names else None
        if current is None:
            state = {}
        candidates = [e for e in entries if e.name == current] + [
            e for e in sorted(entries, key=lambda e: (e.mtime, e.name))
            if e.name != current and self._ready(e, layout.pattern, names)]
        for entry in candidates:
            data = await self.folder.read(self.opts.inbox, entry.name, self.opts.max_file_bytes)
            if entry.name != current and data and not data.endswith(b"\n"):
                self._seen.pop(entry.name, None)  # a writer is still at it: wait for it to settle again
                continue
            return self._page(layout, entry, data, state, limit)
        return PullPage([], json.dumps(state) if state else None, False)

    def _ready(self, e: Entry, pattern: str, names: set[str]) -> bool:
        if e.name.startswith(".") or e.name.endswith(SKIP_SUFFIXES) or not fnmatch.fnmatchcase(e.name, pattern):
            return False
        if self.opts.ready_marker and e.name + ".ok" not in names:
            return False
        now = self.clock()
        seen = self._seen.get(e.name)
        if seen is None or seen[:2] != (e.size, e.mtime):
            self._seen[e.name] = (e.size, e.mtime, now)
            return self.opts.settle_seconds == 0
        return now - seen[2] >= self.opts.settle_seconds

    def _page(self, layout: Any, entry: Entry, data: bytes, state: dict, limit: int) -> PullPage:
        name = entry.name
        sha = hashlib.sha256(data).hexdigest()
        tag = sha[:16]
        if state.get("f") == name and state.get("h") != sha:
            why = (f"{name} changed after syncops began reading it (rows up to line {state.get('l')} of the "
                   "earlier content were stored); a file must not be rewritten once in the inbox")
            return self._unreadable(layout, name, tag, why, entry.mtime)
        if len(data) > self.opts.max_file_bytes:
            return self._unreadable(layout, name, tag, f"{name} is larger than max_file_bytes "
                                    f"({self.opts.max_file_bytes:,})", entry.mtime)
        try:
            units = parse(name, data, layout, mtime=entry.mtime)
        except FileUnreadable as exc:
            return self._unreadable(layout, name, tag, str(exc), entry.mtime)
        start = state.get("l", 0) if state.get("f") == name else 0
        pending = [u for u in units if u.first_line > start]
        take = pending[:max(1, limit)]
        changes = [self._change(layout.entity, name, tag, u, entry.mtime) for u in take]
        if len(take) < len(pending):
            return PullPage(changes, json.dumps({"f": name, "h": sha, "l": take[-1].last_line}), True)
        self._seen.pop(name, None)
        # Fully read: it moves to done/ on the next pull, after this page's commit.
        return PullPage(changes, json.dumps({"settle": [[name, "done", ""]]}), True)

    def _unreadable(self, layout: Any, name: str, tag: str, why: str, mtime: float) -> PullPage:
        change = SourceChange(
            idempotency_key=f"{name}:{tag}:file", entity_key=name,
            payload={SOURCE_PROBLEM: f"{why} (moved to {self.opts.error}/)"},
            source_payload={"file": name}, changed_at=mtime)
        self._seen.pop(name, None)
        return PullPage([change], json.dumps({"settle": [[name, "error", why]]}), True)

    def _change(self, entity: str, name: str, tag: str, unit: Unit, mtime: float) -> SourceChange:
        key = f"{name}:{tag}:{unit.first_line}"
        if unit.problems:
            payload = {**unit.payload, SOURCE_PROBLEM: "; ".join(unit.problems)}
            # Keyed by file and line: a bad row must not supersede (nor be superseded by) good data.
            return SourceChange(key, f"{name}:{unit.first_line}", payload, unit.source, mtime)
        p = unit.payload
        ekey = f"{p['sku']}@{p['location_id']}" if entity == "inventory" else str(p["order_number"])
        return SourceChange(key, ekey, p, unit.source, mtime)

    async def _settle(self, name: str, to: str, why: str) -> None:
        o = self.opts
        if not await self.folder.exists(o.inbox, name):
            return  # moved already (the crash came after the move) or taken away by hand
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(self.clock()))
        moved = await self.folder.move(o.inbox, name, o.done if to == "done" else o.error, stamp)
        if to == "error":
            await self.folder.write_atomic(o.error, moved + ".error.txt", (why + "\n").encode("utf-8"))
        if await self.folder.exists(o.inbox, name + ".ok"):
            await self.folder.move(o.inbox, name + ".ok", o.done if to == "done" else o.error, stamp)

    # -- writing ----------------------------------------------------------------------------------

    async def push(self, entity: str, deliveries: list[Delivery]) -> list[ItemResult]:
        layout = self._layout(entity)
        results: list[ItemResult] = []
        for i, d in enumerate(deliveries):
            name = layout.write_pattern.format(entity=entity, key=_SAFE.sub("_", d.entity_key)[:120],
                                               delivery=d.delivery_key[:16], ext=layout.ext)
            data = render(layout, d.payload)
            try:
                # Same delivery, same name: a replay replaces the file instead of adding a second one.
                await self.folder.write_atomic(self.opts.outbox, name, data)
            except DeliveryError as exc:
                if i == 0:
                    raise  # nothing written: the whole call failed (breaker, backoff)
                results.append(ItemResult(d.record_id, exc, request_summary=f"write {self.opts.outbox}/{name}"))
                continue
            results.append(ItemResult(d.record_id, target_ref=name,
                                      request_summary=f"wrote {self.opts.outbox}/{name} ({len(data)} bytes)"))
        return results
