"""The core never imports textual: the engine runs headless on boxes without a terminal UI."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent("""
    import importlib, importlib.util, pkgutil, sys

    def walk(name):
        if importlib.util.find_spec(name) is None:
            return []
        mod = importlib.import_module(name)
        names = [name]
        for info in pkgutil.walk_packages(getattr(mod, "__path__", []), name + "."):
            importlib.import_module(info.name)
            names.append(info.name)
        return names

    loaded = []
    for pkg in ("syncops.store", "syncops.services", "syncops.models", "syncops.mapping",
                "syncops.config", "syncops.connectors", "syncops.engine"):
        loaded += walk(pkg)
    assert "syncops.store.lifecycle" in loaded and "syncops.services.actions" in loaded, loaded
    bad = sorted(m for m in sys.modules if m == "textual" or m.startswith("textual."))
    print("LOADED", len(loaded))
    print("TEXTUAL", bad)
""")


def test_core_modules_do_not_import_textual():
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "TEXTUAL []" in out.stdout, out.stdout
    loaded = int(out.stdout.split("LOADED ")[1].split()[0])
    assert loaded >= 20  # really walked the packages
