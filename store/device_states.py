"""Each device's state as the control centre counts it (online, offline, maintenance,
commissioning), shared by the overview and the shift report so the two never disagree."""

# Offline uses the engine's own rule: silent for two heartbeats plus the device's margin (60 s
# unless overridden). A device never heard counts as offline from the start.
DEVICE_STATES = """
SELECT d.id, d.kind, d.building, d.lat, d.lon, s.last_received_at,
       CASE
         WHEN d.status IN ('maintenance', 'commissioning') THEN d.status
         WHEN s.last_received_at IS NULL
              OR s.last_received_at < %(now)s - make_interval(secs => 2 * d.heartbeat_s
                 + coalesce((d.config -> 'rules' ->> 'offline_margin_s')::float8, 60))
           THEN 'offline'
         ELSE 'online'
       END AS state,
       s.latest
FROM devices d LEFT JOIN device_status s ON s.device_id = d.id
WHERE d.site = %(site)s AND d.status NOT IN ('decommissioned', 'registered')
"""
