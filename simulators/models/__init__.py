"""Device models: what each kind of device measures, deterministic per seed and device."""
