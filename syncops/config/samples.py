"""Locate the shipped sample configs (demo.yaml, retailer.yaml, skus.csv).

Two layouts: a source checkout (``<repo>/sample_config/``) and an installed wheel, where pyproject
installs ``sample_config/`` as the top-level package ``syncops_sample_config``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

PACKAGE = "syncops_sample_config"
_REPO = Path(__file__).resolve().parents[2]


def _sample_dir() -> Path:
    # pyproject.toml next to it proves this is our checkout and not some site-packages neighbour.
    checkout = _REPO / "sample_config"
    if checkout.is_dir() and (_REPO / "pyproject.toml").is_file():
        return checkout
    try:
        root = resources.files(PACKAGE)
    except ModuleNotFoundError:
        raise FileNotFoundError("syncops sample configs are not installed (package syncops_sample_config missing)") from None
    # Callers need a real directory: configs reference CSV files relative to themselves.
    if not isinstance(root, Path):
        raise FileNotFoundError(f"syncops sample configs are inside an archive ({root}); install syncops unzipped")
    return root


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
