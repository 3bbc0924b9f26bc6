"""Where console theme files live: the shipped ones and the user's own.

Core module (no Textual): `syncops locate` prints these without starting the console.
"""

from __future__ import annotations

from pathlib import Path

APP = "syncops"


def shipped_dir() -> Path | None:
    """The shipped themes: `<repo>/themes` in a checkout, package `syncops_themes` when installed."""
    from syncops.shipped import shipped_folder

    return shipped_folder("themes", "syncops_themes")


def user_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_config_dir(APP)) / "themes"


def theme_dirs() -> list[Path]:
    """Shipped first, then the user's directory (which may not exist yet): later files win."""
    dirs = [d for d in (shipped_dir(),) if d is not None]
    dirs.append(user_dir())
    return dirs
