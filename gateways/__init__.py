"""Gateways: what real devices speak, turned into contract messages on ingest's committing path."""
