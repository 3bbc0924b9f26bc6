"""Highlighted JSON and diffs (Rich Syntax), with a monochrome style for ANSI/NO_COLOR themes."""

from __future__ import annotations

import json
from typing import Any

from rich.syntax import Syntax



def pretty(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


def syntax(text: str, lexer: str, *, ansi: bool, background: str | None = None) -> Syntax:
    """`background`: the theme's background, so tokens do not sit on a differently coloured box."""
    # "ansi_dark" uses the terminal's own palette, which is what poor terminals can show.
    bg = "default" if ansi or not background or not background.startswith("#") else background
    return Syntax(text, lexer, theme="ansi_dark" if ansi else "monokai", background_color=bg, word_wrap=True)
