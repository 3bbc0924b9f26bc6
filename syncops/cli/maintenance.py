"""`syncops purge` and `syncops locate`."""

from __future__ import annotations

import argparse

from syncops.cli.context import open_context
from syncops.cli.output import confirm, emit_json


def purge(args: argparse.Namespace) -> int:
    from syncops.store.retention import purge as do_purge
    from syncops.store.retention import STATS_DAYS, purge_stats

    ctx = open_context(args)
    if not confirm(f"delete delivered, superseded and resolved records older than {args.days:g} days, and "
                   f"per-minute flow statistics older than {min(args.days, STATS_DAYS):g} days?",
                   assume_yes=args.yes):
        print("nothing changed")
        return 1
    n = do_purge(ctx.store, older_than_days=args.days)
    minutes = purge_stats(ctx.store, older_than_days=args.days)
    print(f"purged {n} record(s) and {minutes} per-minute statistics row(s)")
    return 0


def locate(args: argparse.Namespace) -> int:
    import platformdirs

    from syncops.config import default_config_path, resolve_config_path, resolve_store_url

    config_path = resolve_config_path(args.config)
    config = None
    if config_path is not None:
        from syncops.config import load_config

        try:
            config = load_config(config_path)
        except Exception:  # locate must work even with a broken config
            config = None
    info = {
        "config": str(config_path) if config_path else f"(none; default location {default_config_path()})",
        "store": _hide_password(resolve_store_url(args.store, config)),
        "themes": [str(p) for p in _theme_dirs()],
        "logs": platformdirs.user_log_dir("syncops"),
        "data": platformdirs.user_data_dir("syncops"),
    }
    if args.json:
        emit_json(info)
    else:
        for k, v in info.items():
            print(f"{k:7} {', '.join(v) if isinstance(v, list) else v}")
    return 0


def _theme_dirs() -> list:
    try:
        from syncops.themes_path import theme_dirs
    except ImportError:  # themes arrive with the console
        import platformdirs
        from pathlib import Path

        return [Path(platformdirs.user_config_dir("syncops")) / "themes"]
    return theme_dirs()


def _hide_password(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # locate must answer even for a URL the store would refuse
        return url
