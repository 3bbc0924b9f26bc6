"""Shipped console themes (YAML). Installed as the `syncops_themes` package so they are found
after a plain `pip install` too; see syncops/themes_path.py."""
