"""What a device may say (topics, payloads, frames, device kinds) and the alert vocabulary
all share; nothing of ours below it."""
