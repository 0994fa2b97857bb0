#!/bin/sh
# Installs the Debian packages the interop tests and benchmarks use, when missing.
# Runs as the `pretest` step of `npm test`; needs root (or the packages already present).
set -eu
need=""
command -v dig >/dev/null 2>&1 || need="$need bind9-dnsutils"
command -v kdig >/dev/null 2>&1 || need="$need knot-dnsutils"
command -v nsd >/dev/null 2>&1 || need="$need nsd"
command -v knotd >/dev/null 2>&1 || need="$need knot"
command -v dnsperf >/dev/null 2>&1 || need="$need dnsperf"
command -v named-checkzone >/dev/null 2>&1 || need="$need bind9-utils"
# Control plane: a throw-away PostgreSQL cluster, and lego + pebble for the ACME DNS-01 test.
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need="$need postgresql"
command -v lego >/dev/null 2>&1 || need="$need lego"
command -v pebble >/dev/null 2>&1 || need="$need pebble"
command -v openssl >/dev/null 2>&1 || need="$need openssl"
# The real PowerDNS with its SQLite backend, for the differential test of the PowerDNS-compatible API.
command -v pdns_server >/dev/null 2>&1 || [ -x /usr/sbin/pdns_server ] || need="$need pdns-server"
ls /usr/lib/*/pdns/libgsqlite3backend.so >/dev/null 2>&1 || need="$need pdns-backend-sqlite3"
[ -z "$need" ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "install-test-deps: missing Debian packages:$need (run as root, or install them)" >&2
  exit 0
fi
echo "install-test-deps: installing$need" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
# policy-rc.d keeps the packages' own services from starting: tests run them by hand.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $need >/dev/null
