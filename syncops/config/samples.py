"""Locate the shipped sample configs (demo.yaml, retailer.yaml, skus.csv).

Two layouts: a source checkout (``<repo>/sample_config/``) and an installed wheel, where pyproject
installs ``sample_config/`` as the top-level package ``syncops_sample_config``.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = "syncops_sample_config"


def _sample_dir() -> Path:
    from syncops.shipped import shipped_folder

    folder = shipped_folder("sample_config", PACKAGE)
    if folder is None:
        # Callers need a real directory: configs reference CSV files relative to themselves.
        raise FileNotFoundError("syncops sample configs are not installed (package syncops_sample_config "
                                "missing, or installed inside an archive: install syncops unzipped)")
    return folder


def available_samples() -> list[str]:
    return sorted(p.name for p in _sample_dir().iterdir() if p.suffix in (".yaml", ".csv"))


def sample_path(name: str) -> Path:
    """Path of a shipped sample, e.g. ``sample_path("demo.yaml")``; a bare "demo" means "demo.yaml"."""
    if not name or Path(name).name != name or name.startswith("."):
        raise FileNotFoundError(f"expected a sample file name like demo.yaml, got {name!r}")
    folder = _sample_dir()
    for candidate in (name, f"{name}.yaml"):
        path = folder / candidate
        if path.is_file():
            return path
    raise FileNotFoundError(f"no sample named {name!r}; available: {', '.join(available_samples())}")
