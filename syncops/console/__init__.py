"""The Textual operations console. Everything Textual lives under this package (and the
console CLI and benchmark entry points); the core never imports it."""
