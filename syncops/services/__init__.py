"""Operator actions shared by the CLI and the console; each one audited."""
