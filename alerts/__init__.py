"""The domain: device kinds, rules and the alert lifecycle. Pure: no I/O, no clock reads."""
