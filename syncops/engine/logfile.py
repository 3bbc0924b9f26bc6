"""Engine log files get the store's care: they name customers' orders and SKUs.

The file is 0600 and a directory made for it 0700, whatever the umask; an older syncops
made both world-readable, so our own log directory and an existing log are tightened too.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TextIO


def open_private_log(path: Path, *, own_dir: bool = False) -> TextIO:
    """Open `path` for appending, line-buffered. `own_dir`: the directory is syncops's alone
    (the user log directory), so it is made 0700 even if it already exists."""
    folder = path.parent
    if not folder.exists():
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(folder, 0o700)  # mkdir's mode is masked by the umask
    elif own_dir:
        os.chmod(folder, 0o700)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.fchmod(fd, 0o600)
        return os.fdopen(fd, "a", buffering=1, encoding="utf-8")
    except BaseException:
        os.close(fd)
        raise
