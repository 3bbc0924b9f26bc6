"""Theme files: shipped ones load, broken ones warn and fall back, NO_COLOR picks ANSI-16."""

from __future__ import annotations

from pathlib import Path

from syncops.console.themes import load_themes
from syncops.themes_path import theme_dirs

from .conftest import REPO, run, settle, text_of

SHIPPED = {"default-dark", "light", "high-contrast", "ansi-16", "partner-example"}


def test_shipped_themes_load_without_errors():
    load = load_themes([REPO / "themes"])
    assert set(load.themes) == SHIPPED and load.errors == []
    assert load.themes["ansi-16"].theme.ansi is True
    assert load.themes["partner-example"].branding.partner_name == "Northwind MSP"
    assert all("status-failed" in s.theme.variables for s in load.themes.values())


def test_theme_dirs_finds_the_shipped_directory_and_the_user_directory():
    dirs = theme_dirs()
    assert dirs[0] == REPO / "themes" and dirs[-1].name == "themes" and "syncops" in str(dirs[-1])


def test_broken_theme_files_are_reported_not_fatal(tmp_path: Path):
    (tmp_path / "bad-yaml.yaml").write_text("name: [unclosed\n")
    (tmp_path / "bad-colour.yaml").write_text("name: x\ncolors: {primary: not-a-colour}\n")
    (tmp_path / "typo.yaml").write_text("name: y\ncolours: {primary: '#fff'}\n")
    (tmp_path / "ok.yml").write_text("colors: {primary: '#123456'}\nbranding: {product_title: Acme Ops}\n")
    load = load_themes([tmp_path])
    assert set(load.themes) == {"ok"} and load.themes["ok"].branding.product_title == "Acme Ops"
    problems = "\n".join(load.errors)
    assert "not valid YAML" in problems and "not a colour" in problems and "colours: unknown key" in problems


def test_app_falls_back_with_a_warning(make_app, tmp_path: Path):
    (tmp_path / "broken.yaml").write_text("name: broken\ncolors: {primary: 12}\n")

    async def scenario():
        app = make_app(theme="broken", theme_dirs=[REPO / "themes", tmp_path])
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            await settle(pilot)
            assert app.theme == "default-dark"
            messages = [n.message for n in app._notifications]
            assert any("broken.yaml" in m for m in messages) and any("not found" in m for m in messages)

    run(scenario())


def test_no_color_uses_the_ansi_theme(make_app):
    async def scenario():
        app = make_app(theme="light", env={"NO_COLOR": "1"})
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            assert app.theme == "ansi-16"

    run(scenario())


def test_partner_branding_replaces_the_product_name(make_app):
    async def scenario():
        app = make_app(theme="partner-example")
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            header = text_of(app.screen.query_one("#status-header"))
            assert header.startswith("RetailBridge Ops · Northwind MSP")
            await pilot.press("i")
            await settle(pilot)
            about = " ".join(text_of(w) for w in app.screen.query("Static"))
            assert "noc@northwind.example" in about

    run(scenario())
