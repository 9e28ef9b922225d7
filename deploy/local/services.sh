#!/usr/bin/env bash
# Are the local PostgreSQL and Mosquitto up?  `services.sh check` says how to start what is
# down; `services.sh start` starts it (as CI does on a machine where both are installed).
set -euo pipefail
mode=${1:-check}

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432; }
mqtt_up() { (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null; }

PG_START='pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start'
MQTT_START='mosquitto -d -c /etc/mosquitto/mosquitto.conf'

status=0
if ! pg_up; then
  if [ "$mode" = start ]; then
    echo "starting PostgreSQL: $PG_START"
    eval "$PG_START"
    for _ in $(seq 50); do pg_up && break; sleep 0.2; done
  fi
  pg_up || { echo "PostgreSQL is not running on 127.0.0.1:5432. Start it with: $PG_START" >&2; status=1; }
fi
if ! mqtt_up; then
  if [ "$mode" = start ]; then
    echo "starting Mosquitto: $MQTT_START"
    eval "$MQTT_START"
    for _ in $(seq 50); do mqtt_up && break; sleep 0.2; done
  fi
  mqtt_up || { echo "Mosquitto is not running on 127.0.0.1:1883. Start it with: $MQTT_START" >&2; status=1; }
fi
command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || {
  echo "the tests start their own Mosquitto, but it is not installed: apt-get install mosquitto" >&2
  status=1
}
exit $status
