"""Each device's state as the control centre counts it (online, offline, fault, maintenance,
commissioning), shared by the overview and the shift report so the two never disagree.

Offline uses the engine's own rule: silent for two heartbeats plus the device's margin (60 s
unless overridden); a device never heard counts as offline from the start, and a kind that
sends nothing (a video camera) never. Fault means an open, dispatched fault, stuck-sensor or
tamper alert on a device that is otherwise online.
"""

from contract.kinds import KIND_SPECS, Kind

FAULT_RULES = ("fault", "sensor_stuck", "tamper")
# Kinds that publish nothing (video cameras) or only on a change (a panel's components) are
# never silent, as the engine never judges them.
_UNHEARD = ", ".join(
    f"'{k.value}'" for k in Kind if not KIND_SPECS[k].telemetry or KIND_SPECS[k].reports_on_change
)

# When a device (d, joined with its status s) counts as silent at %(now)s.
SILENT = f"""(d.kind NOT IN ({_UNHEARD}) AND (s.last_received_at IS NULL
     OR s.last_received_at < %(now)s - make_interval(secs => 2 * d.heartbeat_s
        + coalesce((d.config -> 'rules' ->> 'offline_margin_s')::float8, 60))))"""

# Parameters: %(site)s, %(now)s, %(fault_rules)s.
DEVICE_STATES = f"""
SELECT d.id, d.kind, d.building, d.lat, d.lon, s.last_received_at, s.latest,
       CASE
         WHEN d.status IN ('maintenance', 'commissioning') THEN d.status
         WHEN {SILENT} THEN 'offline'
         WHEN d.id IN (SELECT a.device_id FROM alerts a
                       WHERE a.site = %(site)s AND a.state NOT IN ('resolved', 'suppressed')
                         AND a.rule = ANY(%(fault_rules)s)) THEN 'fault'
         ELSE 'online'
       END AS state
FROM devices d LEFT JOIN device_status s ON s.device_id = d.id
WHERE d.site = %(site)s AND d.status NOT IN ('decommissioned', 'registered')
"""
