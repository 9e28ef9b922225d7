"""The wire contract and the ingestion service."""
