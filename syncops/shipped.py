"""Find folders shipped beside the code: themes/ and sample_config/.

In a source checkout they sit at the top of the repository; a plain (non-editable) pip
install puts them in site-packages as packages of their own. The checkout wins when the
code itself runs from one, so edits to themes/ show up without reinstalling.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

_REPO = Path(__file__).resolve().parent.parent


def shipped_folder(folder: str, package: str) -> Path | None:
    checkout = _REPO / folder
    # pyproject.toml next to it proves this is our checkout, not a site-packages neighbour.
    if checkout.is_dir() and (_REPO / "pyproject.toml").is_file():
        return checkout
    try:
        root = resources.files(package)
    except ModuleNotFoundError:
        return None
    path = Path(str(root))
    return path if path.is_dir() else None
