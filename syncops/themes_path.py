"""Where console theme files live: the shipped ones and the user's own.

Core module (no Textual): `syncops locate` prints these without starting the console.
"""

from __future__ import annotations

from pathlib import Path

APP = "syncops"


def shipped_dir() -> Path | None:
    """The directory of shipped themes, in a source checkout or after a plain pip install.

    A non-editable install puts `themes/` in site-packages as the `syncops_themes` package;
    a source checkout (or an editable install) has it next to the `syncops` package.
    """
    try:
        from importlib.resources import files

        root = files("syncops_themes")
        path = Path(str(root))
        if path.is_dir():
            return path
    except (ModuleNotFoundError, TypeError, ValueError):
        pass
    checkout = Path(__file__).resolve().parent.parent / "themes"
    return checkout if checkout.is_dir() else None


def user_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_config_dir(APP)) / "themes"


def theme_dirs() -> list[Path]:
    """Shipped first, then the user's directory (which may not exist yet): later files win."""
    dirs = [d for d in (shipped_dir(),) if d is not None]
    dirs.append(user_dir())
    return dirs
