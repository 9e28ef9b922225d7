"""Composition root: settings, the console script and process wiring."""
