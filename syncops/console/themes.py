"""Theme files -> Textual themes, with status colours and white-label branding.

A theme file is YAML:

    name: partner-example
    dark: true
    ansi: false            # true: colours come from the terminal's 16-colour palette
    colors: {primary: "#00897b", secondary: ..., accent, background, surface, panel, foreground,
             error, warning, success}
    status: {pending: ..., retrying: ..., failed: ..., quarantined: ..., delivered: ..., production: ...}
    branding: {product_title: ..., partner_name: ..., support_contact: ...}

A broken file never stops the console: it is reported (the app shows a warning) and skipped.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml
from textual.color import Color, ColorParseError
from textual.theme import Theme

DEFAULT_THEME = "default-dark"
NO_COLOR_THEME = "ansi-16"
COLOR_KEYS = ("primary", "secondary", "accent", "background", "surface", "panel", "foreground",
              "error", "warning", "success")
STATUS_KEYS = ("pending", "retrying", "failed", "quarantined", "delivered", "production")
BRANDING_KEYS = ("product_title", "partner_name", "support_contact")
TOP_KEYS = ("name", "dark", "ansi", "colors", "status", "branding")

# Used when a theme (or a built-in Textual theme) leaves a status colour out, so that CSS
# referring to $status-failed always parses.
STATUS_DEFAULTS = {"pending": "#8fb5e0", "retrying": "#d9a43b", "failed": "#e5534b",
                   "quarantined": "#b083f0", "delivered": "#57ab5a", "production": "#ff5f57"}


@dataclass(frozen=True)
class Branding:
    product_title: str = "syncops"
    partner_name: str = ""
    support_contact: str = ""


@dataclass
class ThemeSpec:
    theme: Theme
    branding: Branding
    path: Path | None = None


@dataclass
class ThemeLoad:
    themes: dict[str, ThemeSpec] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # "FILE: problem", one per broken file


class ThemeFileError(ValueError):
    pass


def _colour(where: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ThemeFileError(f"{where}: expected a colour string, got {value!r}")
    try:
        Color.parse(value)
    except ColorParseError:
        raise ThemeFileError(f"{where}: {value!r} is not a colour (use #rrggbb, a name, or ansi_red)") from None
    return value


def _section(data: Mapping[str, Any], name: str, allowed: Iterable[str]) -> dict[str, Any]:
    value = data.get(name) or {}
    if not isinstance(value, dict):
        raise ThemeFileError(f"{name}: expected a mapping")
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise ThemeFileError(f"{name}.{unknown[0]}: unknown key; expected one of {', '.join(allowed)}")
    return value


def parse_theme(data: Any, *, default_name: str, path: Path | None = None) -> ThemeSpec:
    if not isinstance(data, dict):
        raise ThemeFileError("expected a mapping at the top of the file")
    unknown = sorted(set(data) - set(TOP_KEYS))
    if unknown:
        raise ThemeFileError(f"{unknown[0]}: unknown key; expected one of {', '.join(TOP_KEYS)}")
    name = str(data.get("name") or default_name).strip()
    if not name or any(c.isspace() for c in name):
        raise ThemeFileError(f"name: {name!r} must be a single word")
    colors = _section(data, "colors", COLOR_KEYS + ("dark",))
    status = _section(data, "status", STATUS_KEYS)
    brand = _section(data, "branding", BRANDING_KEYS)
    if "primary" not in colors:
        raise ThemeFileError("colors.primary: required")
    dark = data.get("dark", colors.get("dark", True))
    if not isinstance(dark, bool):
        raise ThemeFileError(f"dark: expected true or false, got {dark!r}")
    ansi = data.get("ansi", False)
    if not isinstance(ansi, bool):
        raise ThemeFileError(f"ansi: expected true or false, got {ansi!r}")
    kwargs = {k: _colour(f"colors.{k}", v) for k, v in colors.items() if k != "dark"}
    variables = {f"status-{k}": _colour(f"status.{k}", v) for k, v in status.items()}
    for k, default in STATUS_DEFAULTS.items():
        variables.setdefault(f"status-{k}", default)
    if ansi:
        # Textual's own ANSI themes set these so cursors and selections stay visible.
        variables.update({"ansi-background": "ansi_black", "ansi-foreground": "ansi_white",
                          "block-cursor-foreground": "ansi_black", "block-cursor-background": "ansi_white",
                          "input-cursor-background": "ansi_white", "input-cursor-foreground": "ansi_black",
                          "border-blurred": "ansi_bright_black"})
    for k, v in brand.items():
        if v is not None and not isinstance(v, str):
            raise ThemeFileError(f"branding.{k}: expected text, got {v!r}")
    branding = Branding(**{k: (v or "") for k, v in brand.items()})
    if not branding.product_title:
        branding = Branding("syncops", branding.partner_name, branding.support_contact)
    theme = Theme(name=name, dark=dark, ansi=ansi, variables=variables, **kwargs)
    return ThemeSpec(theme, branding, path)


def load_file(path: Path) -> ThemeSpec:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ThemeFileError(f"cannot read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise ThemeFileError(f"{where}not valid YAML ({getattr(exc, 'problem', None) or exc})") from None
    return parse_theme(data, default_name=path.stem, path=path)


def load_themes(dirs: Iterable[Path]) -> ThemeLoad:
    """Every *.yaml / *.yml theme in `dirs`; later directories override earlier names."""
    out = ThemeLoad()
    for d in dirs:
        if not d.is_dir():
            continue
        for path in sorted([*d.glob("*.yaml"), *d.glob("*.yml")]):
            try:
                spec = load_file(path)
            except ThemeFileError as exc:
                out.errors.append(f"{path}: {exc}")
                continue
            out.themes[spec.theme.name] = spec
    return out


def no_color_requested(env: Mapping[str, str] | None = None) -> bool:
    # https://no-color.org: any non-empty value
    env = os.environ if env is None else env
    return bool(env.get("NO_COLOR"))


def builtin_fallback() -> ThemeSpec:
    """A theme that exists even if the shipped files are missing (a broken install)."""
    return parse_theme({"name": DEFAULT_THEME, "colors": {"primary": "#3b82c4", "accent": "#e0a040"}},
                       default_name=DEFAULT_THEME)
