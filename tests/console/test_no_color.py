"""NO_COLOR means no colour, not no contrast: the terminal's default colours, state by bold/reverse."""

from __future__ import annotations

import pytest

from .conftest import run, screen_segments, screen_text, settle


def _colour_pairs(app) -> list[tuple[str, object, object]]:
    return [(s.text, s.style.color if s.style else None, s.style.bgcolor if s.style else None)
            for s in screen_segments(app) if s.text.strip()]


@pytest.mark.parametrize("where", ["process", "argument"])
def test_no_color_is_readable(where, make_app, monkeypatch):
    """Textual reads NO_COLOR from the process; the console reads it from its env. Both must give contrast."""
    if where == "process":
        monkeypatch.setenv("NO_COLOR", "1")
    env = {"NO_COLOR": "1"}

    async def scenario():
        app = make_app(env=env)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            for key in ("", "2", "5"):
                if key:
                    await pilot.press(key)
                    await settle(pilot)
                pairs = _colour_pairs(app)
                assert pairs and "syncops" in screen_text(app)
                for text, fg, bg in pairs:
                    # Every cell uses the terminal's own colours (or none at all): never a fixed
                    # colour, so never black on black.
                    assert fg is None or fg.is_default, (key, text, fg)
                    assert bg is None or bg.is_default, (key, text, bg)
                # The cursor row stands out without colour.
                assert any(s.style and s.style.reverse for s in screen_segments(app) if s.text.strip()), key

    run(scenario())
