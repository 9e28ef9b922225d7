"""The registry: devices, buildings and zones, their import and export, credentials and the
broker's accounts."""
