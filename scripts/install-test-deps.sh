#!/bin/sh
# Installs the Debian packages the interop tests and benchmarks use, when missing.
# Needs root (or the packages already present). Exits 0 when everything the tests need is
# installed; otherwise it says what is missing and why it could not install it, and exits 1.
#
# `npm test` runs it as its `pretest` step with --pretest: there, when it cannot install
# (not root), it only warns, and the tests that need the missing programs skip and say so,
# unless SWITCHBOARD_REQUIRE_PEERS=1 (set by .ci/run), which makes this a failure as well.
set -eu

pretest=0
[ "${1:-}" = --pretest ] && pretest=1

# Prints the Debian packages whose programs or files are missing.
missing() {
  need=""
  command -v dig >/dev/null 2>&1 || need="$need bind9-dnsutils"
  command -v kdig >/dev/null 2>&1 || need="$need knot-dnsutils"
  command -v nsd >/dev/null 2>&1 || [ -x /usr/sbin/nsd ] || need="$need nsd"
  command -v knotd >/dev/null 2>&1 || [ -x /usr/sbin/knotd ] || need="$need knot"
  command -v dnsperf >/dev/null 2>&1 || need="$need dnsperf"
  command -v named-checkzone >/dev/null 2>&1 || need="$need bind9-utils"
  # BIND 9 itself: a secondary and a primary of Switchboard in the transfer tests.
  command -v named >/dev/null 2>&1 || [ -x /usr/sbin/named ] || need="$need bind9"
  # ldns-testns: scripted (and hostile) primaries for the secondary role's tests.
  command -v ldns-testns >/dev/null 2>&1 || need="$need ldnsutils"
  # Control plane: a throw-away PostgreSQL cluster, and lego + pebble for the ACME DNS-01 test.
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need="$need postgresql"
  command -v lego >/dev/null 2>&1 || need="$need lego"
  command -v pebble >/dev/null 2>&1 || need="$need pebble"
  command -v openssl >/dev/null 2>&1 || need="$need openssl"
  # The real PowerDNS with its SQLite backend, for the differential test of the PowerDNS-compatible API.
  command -v pdns_server >/dev/null 2>&1 || [ -x /usr/sbin/pdns_server ] || need="$need pdns-server"
  ls /usr/lib/*/pdns/libgsqlite3backend.so >/dev/null 2>&1 || need="$need pdns-backend-sqlite3"
  echo "$need"
}

# Reports that the packages in $1 cannot be installed because of $2, then exits as it must.
cannot() {
  if [ "$pretest" = 1 ] && [ "${SWITCHBOARD_REQUIRE_PEERS:-}" != 1 ]; then
    echo "install-test-deps: WARNING: missing Debian packages:$1 ($2)." >&2
    echo "install-test-deps: the tests that need them will be skipped (SWITCHBOARD_REQUIRE_PEERS=1 makes that a failure)." >&2
    exit 0
  fi
  echo "install-test-deps: ERROR: missing Debian packages:$1 ($2)." >&2
  echo "install-test-deps: install them (apt-get install$1) or run this script as root." >&2
  exit 1
}

need=$(missing)
[ -z "$need" ] && exit 0
[ "$(id -u)" = 0 ] || cannot "$need" "not root, so they cannot be installed here"
command -v apt-get >/dev/null 2>&1 || cannot "$need" "no apt-get on this machine"

echo "install-test-deps: installing$need" >&2
export DEBIAN_FRONTEND=noninteractive
# policy-rc.d keeps the packages' own services from starting: tests run them by hand.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update -qq >/dev/null || cannot "$need" "apt-get update failed"
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $need >/dev/null || cannot "$need" "apt-get install failed"

# A package can install without the program the tests look for: check again.
still=$(missing)
[ -z "$still" ] || cannot "$still" "still missing after apt-get install"
echo "install-test-deps: installed$need" >&2
