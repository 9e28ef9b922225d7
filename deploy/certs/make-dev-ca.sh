#!/usr/bin/env bash
# A development CA and a broker certificate signed by it, for Mosquitto's TLS listener (8883).
# Not for production: the CA key sits beside the certificates, unencrypted.
#
#   deploy/certs/make-dev-ca.sh OUT_DIR [BROKER_HOSTNAME...]
#
# Writes OUT_DIR/ca.crt, ca.key, broker.crt, broker.key. The broker certificate names
# localhost, mosquitto (the compose service) and every BROKER_HOSTNAME given. Devices trust
# ca.crt. An existing CA in OUT_DIR is reused, so re-running only renews the broker certificate.
set -euo pipefail

out=${1:?usage: make-dev-ca.sh OUT_DIR [BROKER_HOSTNAME...]}
shift
command -v openssl >/dev/null || { echo "openssl is not installed: apt-get install openssl" >&2; exit 1; }
mkdir -p "$out"
cd "$out"
umask 077

if [ ! -f ca.key ] || [ ! -f ca.crt ]; then
  openssl req -x509 -new -nodes -newkey rsa:3072 -sha256 -days 825 \
    -keyout ca.key -out ca.crt -subj "/CN=Firewatch development CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    2>/dev/null
fi

names="DNS:localhost,DNS:mosquitto,IP:127.0.0.1"
for host in "$@"; do
  case $host in
    *[!0-9.]*) names="$names,DNS:$host" ;;
    *) names="$names,IP:$host" ;;
  esac
done

openssl req -new -nodes -newkey rsa:2048 -sha256 -keyout broker.key -out broker.csr \
  -subj "/CN=${1:-mosquitto}" 2>/dev/null
printf '%s\n' "subjectAltName=$names" "basicConstraints=CA:FALSE" \
  "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" >broker.ext
openssl x509 -req -in broker.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 397 -sha256 \
  -extfile broker.ext -out broker.crt 2>/dev/null
rm -f broker.csr broker.ext
# The broker's user reads its key (eclipse-mosquitto runs as uid 1883); the CA key stays private.
chmod 0644 ca.crt broker.crt
chmod 0640 broker.key
openssl verify -CAfile ca.crt broker.crt >/dev/null
echo "wrote $(pwd)/ca.crt and broker.crt (${names}); devices trust ca.crt"
