"""The HTTP API: thin endpoints over the store."""
