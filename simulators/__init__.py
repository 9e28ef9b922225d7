"""Simulated devices that speak the wire contract from ``ingest``; deterministic per seed."""
