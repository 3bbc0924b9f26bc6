"""CLI filter flags -> the store's RecordFilter."""

from __future__ import annotations

import argparse

from syncops.cli.errors import CliError


def record_filter(args: argparse.Namespace, ids: list[int] | None = None):
    from syncops.config import DurationError, parse_duration
    from syncops.store.filters import RecordFilter

    older = None
    if getattr(args, "older_than", None):
        try:
            older = parse_duration(args.older_than)
        except DurationError as exc:
            raise CliError(f"--older-than: {exc}") from None
    return RecordFilter(
        tenant=args.tenant, flow=args.flow, states=tuple(args.state), categories=tuple(args.category),
        key_pattern=args.key, error_text=args.error, older_than=older, ids=tuple(ids or ()),
        error_map=getattr(args, "error_map", None), error_value=getattr(args, "error_value", None),
    )
