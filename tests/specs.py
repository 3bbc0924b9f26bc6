"""Where the vendors' official specs are: the shared/ folder beside the checkout (as CI lays it).

Contract tests need them. Outside CI a checkout without that folder skips them, saying so; in CI
(CI=true) a missing folder is a failure, so a contract test can never be skipped there unseen.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CANDIDATES = (ROOT.parent / "shared" / "specs", Path("/work/shared/specs"))


def spec_path(relative: str, env: str | None = None) -> Path:
    """The spec file or folder; skips (or, in CI, fails) when it is nowhere to be found."""
    if env and os.environ.get(env):
        candidates: tuple[Path, ...] = (Path(os.environ[env]),)
    else:
        candidates = tuple(base / relative for base in CANDIDATES)
    for path in candidates:
        if path.exists():
            return path
    where = ", ".join(str(p) for p in candidates)
    if os.environ.get("CI"):
        pytest.fail(f"the official specs are missing in CI (looked in {where})", pytrace=False)
    pytest.skip(f"official specs not found (looked in {where})")
