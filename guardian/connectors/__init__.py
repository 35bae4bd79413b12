"""Connectors: the public feeds that flow into Guardian (docs/connectors.md)."""
