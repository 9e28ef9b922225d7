-- Stock PostgreSQL has no compression; the roll-ups say what they hold instead.
COMMENT ON TABLE readings_5m IS
    'Per device, metric and 5 minutes: the readings'' count (n), sum (total), minimum (low) and '
    'maximum (high); kept by the trigger readings_roll_up in the transaction writing them';
COMMENT ON TABLE readings_1h IS
    'Per device, metric and hour: as readings_5m';
