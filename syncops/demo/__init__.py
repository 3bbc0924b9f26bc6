"""`syncops demo` and `syncops simulate`: the shipped demo retailers on the built-in simulator."""

from __future__ import annotations

from typing import Any

# Demo name -> the shipped sample config it runs (sample_config/).
DEMO_CONFIGS = {"retail": "demo.yaml", "marketplace": "demo-marketplace.yaml"}
DEMOS = tuple(DEMO_CONFIGS)


def demo_config_arg(args: Any) -> str | None:
    """The config a demo command runs: --config, else the named demo's sample (None = retail).
    Naming a demo and giving --config is a contradiction, refused rather than guessed."""
    which, config = getattr(args, "which", None), getattr(args, "config", None)
    if which and config:
        raise ValueError(f"give either a demo name ({which}) or --config ({config}), not both")
    if which:
        from syncops.config import sample_path

        return str(sample_path(DEMO_CONFIGS[which]))
    return config or None
