"""The core never imports Textual: the engine, CLI and services must run on a box without a TTY."""

from __future__ import annotations

import subprocess
import sys

CORE = ["syncops.store.queries", "syncops.store.console_queries", "syncops.services.actions",
        "syncops.services.bulk", "syncops.services.mappings", "syncops.services.health", "syncops.cli",
        "syncops.themes_path", "syncops.models", "syncops.config", "syncops.bench.console_store",
        "syncops.console.query_language", "syncops.console.window", "syncops.console.pii",
        "syncops.console.formatting"]


def test_core_modules_do_not_import_textual():
    code = ("import sys\n" + "".join(f"import {m}\n" for m in CORE) +
            "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
            "print(bad[:5]); sys.exit(1 if bad else 0)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
