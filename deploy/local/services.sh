#!/usr/bin/env bash
# Are the local services up?  `services.sh check` says how to start what is down;
# `services.sh start` starts it (as CI does on a machine where both are installed).
# The tests need PostgreSQL running and Mosquitto installed (they start their own brokers);
# with --broker the Mosquitto on 127.0.0.1:1883 must run too (make demo uses it).
set -euo pipefail
mode=${1:-check}
want_broker=${2:-}

PG_START='pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start'
MQTT_START='mosquitto -d -c /etc/mosquitto/mosquitto.conf'

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432; }
mqtt_up() { (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null; }

status=0
if ! command -v mosquitto >/dev/null && [ ! -x /usr/sbin/mosquitto ]; then
  echo "Mosquitto is not installed: apt-get install mosquitto mosquitto-clients" >&2
  status=1
fi
if ! pg_up; then
  if [ "$mode" = start ]; then
    echo "starting PostgreSQL: $PG_START"
    eval "$PG_START"
    for _ in $(seq 50); do pg_up && break; sleep 0.2; done
  fi
  pg_up || { echo "PostgreSQL is not running on 127.0.0.1:5432. Start it with: $PG_START" >&2; status=1; }
fi
if [ "$want_broker" = --broker ] && ! mqtt_up; then
  if [ "$mode" = start ]; then
    echo "starting Mosquitto: $MQTT_START"
    eval "$MQTT_START"
    for _ in $(seq 50); do mqtt_up && break; sleep 0.2; done
  fi
  mqtt_up || { echo "Mosquitto is not running on 127.0.0.1:1883. Start it with: $MQTT_START" >&2; status=1; }
fi
exit $status
