"""syncops: the terminal operations console for retail data sync."""

__version__ = "0.1.0"
