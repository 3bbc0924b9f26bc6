"""Where the config file and the store live, and which setting wins.

Precedence is always: explicit CLI flag > environment variable > config file > per-user default.
``env`` parameters default to ``os.environ`` and exist so tests never touch the real environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from platformdirs import user_config_dir, user_data_dir

if TYPE_CHECKING:
    from .schema import Config

APP = "syncops"
CONFIG_ENV = "SYNCOPS_CONFIG"
STORE_ENV = "SYNCOPS_STORE"


def default_config_path() -> Path:
    """Per-user config file (may not exist), e.g. ~/.config/syncops/config.yaml on Linux."""
    return Path(user_config_dir(APP)) / "config.yaml"


def default_store_url() -> str:
    """SQLite file in the per-user data dir. Pure: does not create the directory (the store does)."""
    db = Path(user_data_dir(APP)) / "syncops.db"
    # as_posix so Windows paths stay valid inside the URL (sqlite:///C:/...).
    return f"sqlite:///{db.as_posix()}"


def resolve_config_path(cli_value: str | os.PathLike[str] | None, *, env: Mapping[str, str] | None = None) -> Path | None:
    """CLI --config > $SYNCOPS_CONFIG > user config file if it exists > None (caller decides what to do).

    Explicit choices are returned even if missing, so load_config reports "not found" instead of the
    tool silently falling back to a different file.
    """
    env = os.environ if env is None else env
    if cli_value:
        return Path(cli_value).expanduser()
    if env.get(CONFIG_ENV):
        return Path(env[CONFIG_ENV]).expanduser()
    default = default_config_path()
    return default if default.is_file() else None


def resolve_store_url(cli_store: str | None, config: Config | None, *, env: Mapping[str, str] | None = None) -> str:
    """CLI --store > $SYNCOPS_STORE > config ``store:`` > default sqlite file."""
    env = os.environ if env is None else env
    if cli_store:
        return cli_store
    if env.get(STORE_ENV):
        return env[STORE_ENV]
    if config is not None and config.store:
        return config.store
    return default_store_url()
