#!/bin/bash
# A/B of two native addons (docs/PERFORMANCE.md, "EDNS options in C"): the same zone and queries,
# queries with EDNS and no option, with a COOKIE, with NSID; interleaved rounds; CPU of each
# server's process tree per query.
#
# Usage: npm run build --silent && bench/native-edns-options.sh OLD_ADDON.node [NEW_ADDON.node]
#   DUR=seconds per round (default 5). Build an old addon with
#   git archive COMMIT native | tar -x -C DIR && (cd DIR/native && node-gyp rebuild --nodedir=/usr)
# Loopback only; every dnsperf run is bounded by -l; the servers are stopped by PID at the end.
set -e
cd "$(dirname "$0")/.."
OLD_ADDON=${1:?usage: $0 OLD_ADDON.node [NEW_ADDON.node]}
NEW_ADDON=${2:-$PWD/native/build/Release/switchboard_udp.node}
D=$(mktemp -d)
node -e "import('./dist/bench/dnsperf-bench.js').then(m => m.writeBenchZone('$D', 10000, 50000))"
start() { # addon path -> "pid port"
  local port
  port=$(node -e "import('./dist/test/helpers/peers.js').then(async m => console.log(await m.findFreePort()))")
  SWITCHBOARD_NATIVE_ADDON=$1 taskset -c 1 node dist/src/cli/main.js serve --zone-dir "$D/zones" \
    --listen "127.0.0.1:$port" --workers 1 --io native --native-answers --nsid bench > "$D/serve-$port.log" 2>&1 &
  echo "$! $port"
}
read -r OLD OLDP < <(start "$OLD_ADDON")
read -r NEW NEWP < <(start "$NEW_ADDON")
trap 'kill $OLD $NEW 2>/dev/null || true; rm -rf "$D"' EXIT
sleep 5
cpu() { # clock ticks of a process and its children
  local t=0 p s
  for p in $1 $(pgrep -P "$1"); do
    read -r -a s < <(cut -d' ' -f14,15 "/proc/$p/stat")
    t=$((t + s[0] + s[1]))
  done
  echo $t
}
run() { # label pid port dnsperf-args...
  local c0 c1 out n ticks
  c0=$(cpu "$2")
  out=$(taskset -c 0 dnsperf -s 127.0.0.1 -p "$3" -d "$D/queries.txt" -l "${DUR:-5}" -c 16 -q 100 -t 2 "${@:4}" 2>&1)
  c1=$(cpu "$2")
  n=$(echo "$out" | awk '/Queries completed/{print $3}')
  ticks=$((c1 - c0))
  echo "$1 completed=$n cpu_ticks=$ticks q_per_cpu_s=$((n * $(getconf CLK_TCK) / (ticks > 0 ? ticks : 1)))"
}
for r in 1 2 3; do
  for v in plain cookie nsid; do
    case $v in
      plain) A=(-e) ;;
      cookie) A=(-e -E 10:0102030405060708) ;;
      nsid) A=(-e -E 3:00) ;;
    esac
    run "before $v" "$OLD" "$OLDP" "${A[@]}"
    run "after  $v" "$NEW" "$NEWP" "${A[@]}"
  done
done
