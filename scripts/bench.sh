#!/usr/bin/env bash
# Runs every benchmark the README quotes and prints the table the README
# carries, with the machine, the date and the commit. Needs root (the lab).
#
#   scripts/bench.sh                 # everything (about 12 minutes on a quiet 2-core machine)
#   scripts/bench.sh lisp flows      # some sections: index lisp flood pubsub
#                                    #   flows moves tunnel encap failover multihome scale
#
# The scale section runs `l2lisp bench scale` with 100 simulated switches:
# 100,000 EIDs on demand and 10,000 pushed (every switch holds every host:
# 20,000 flows each), about 4 minutes. The goal size of issue 13 is
# L2LISP_SCALE_SWITCHES=1000 L2LISP_SCALE_EIDS=1000000
# L2LISP_SCALE_MODES=on-demand (about 6 minutes, 6 GiB of memory);
# L2LISP_SCALE_PUSH_EIDS sets the pushed size.
#
# Every figure goes through the real paths: the Map-Server and Map-Resolver
# run as `l2lisp serve` (TLS on, default reply limiter on), their EIDs are
# created by the bulk import API and by Map-Registers, and only correct
# answers count (positive replies covering the EID asked, Map-Notifies of
# the EID registered). Raw logs land in $L2LISP_ARTIFACTS/bench (default
# ./artifacts/bench).
set -euo pipefail
self="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin:$HOME/go/bin"
out="${L2LISP_ARTIFACTS:-$PWD/artifacts}/bench"
# Each section runs in its own bash (bench.sh --one SECTION) so that a
# failing one is reported in the table and the others still run.
one=""
if [ "${1:-}" = "--one" ]; then one=$2; fi
if [ -z "$one" ]; then
  bash scripts/deps.sh >/dev/null
  mkdir -p "$out" bin
  go build -o bin/l2lisp ./cmd/l2lisp
  rows_file=$out/rows.md
  : >"$rows_file"
  export BENCH_ROWS=$rows_file
fi
sections=("$@")
((${#sections[@]})) || sections=(index lisp flood pubsub flows moves tunnel encap failover multihome scale)

# row NAME RESULT COMMAND adds a line to the table.
row() { echo "| $1 | $2 | \`$3\` |" >>"$BENCH_ROWS"; }

# metric FILE BENCH-REGEX UNIT prints the value a Go benchmark reported.
metric() {
  awk -v b="$2" -v u="$3" '$1 ~ b { for (i = 2; i < NF; i++) if ($(i + 1) == u) { print $i; exit } }' "$1"
}

# after FILE REGEX WORD prints the token after WORD on the last line
# matching REGEX.
after() {
  grep -E "$2" "$1" | tail -1 | awk -v w="$3" '{ for (i = 1; i < NF; i++) if ($i == w) { print $(i + 1); exit } }'
}

gobench() { # gobench LOG ARGS... runs go test benchmarks, keeping the log
  local log=$1; shift
  echo "== go test $*" >&2
  go test -count=1 -run '^$' "$@" | tee "$log" >&2
}

section_index() {
  local log=$out/index.txt
  gobench "$log" -bench 'Lookup|Memory' -benchmem ./mapping/
  row "MAC lookup, 1,048,576 MAC EIDs" "$(metric "$log" LookupMAC1M ns/op) ns/op" "go test -run '^\$' -bench 'Lookup|Memory' -benchmem ./mapping/"
  row "IPv4 longest-prefix lookup, 1M /32 + 20k shorter" "$(metric "$log" 'LookupIPv4_1M/host' ns/op) ns/op (host), $(metric "$log" 'LookupIPv4_1M/mixed' ns/op) ns/op (mixed)" "same"
  row "IPv6 longest-prefix lookup, 1M /128 + 4k shorter" "$(metric "$log" 'LookupIPv6_1M/host' ns/op) ns/op (host), $(metric "$log" 'LookupIPv6_1M/mixed' ns/op) ns/op (mixed)" "same"
}

# serve starts `l2lisp serve` with TLS on a fresh SQLite database in $1 and
# creates network 1000 and site bench (10.0.0.0/8, key bench-secret-key).
serve() {
  local dir=$1 api of
  read -r api of lisp < <(python3 -c 'import socket
ps = []
for kind in (socket.SOCK_STREAM, socket.SOCK_STREAM, socket.SOCK_DGRAM):
    s = socket.socket(socket.AF_INET, kind); s.bind(("127.0.0.1", 0)); ps.append(s)
print(*(s.getsockname()[1] for s in ps))')
  bin/l2lisp pki init --dir "$dir/pki" --host localhost --ip 127.0.0.1 >/dev/null
  bin/l2lisp serve --db "$dir/l2lisp.db" --listen "127.0.0.1:$api" --openflow-listen "127.0.0.1:$of" \
    --lisp-listen "127.0.0.1:$lisp" --api-token bench-token --log-level warn --learn=false \
    --tls-cert "$dir/pki/controller.pem" --tls-key "$dir/pki/controller-key.pem" --tls-ca "$dir/pki/ca.pem" \
    2>"$dir/serve.log" &
  echo $! >"$dir/serve.pid"
  export L2LISP_SERVER=https://127.0.0.1:$api L2LISP_TOKEN=bench-token L2LISP_CA=$dir/pki/ca.pem
  for _ in $(seq 100); do bin/l2lisp network list >/dev/null 2>&1 && break; sleep 0.2; done
  bin/l2lisp network add 1000 bench >/dev/null
  bin/l2lisp site add bench --auth-key bench-secret-key --networks 1000 --eid-prefixes 10.0.0.0/7 >/dev/null
}

# writer_metrics prints the group commits, their events, their seconds, the
# commits planned ahead and the controller's CPU seconds so far, from the
# /metrics of the serve that serve() started.
writer_metrics() {
  curl -sf --cacert "$L2LISP_CA" -H "Authorization: Bearer $L2LISP_TOKEN" "$L2LISP_SERVER/metrics" |
    awk '$1 == "l2lisp_write_commit_events_count" { c = $2 } $1 == "l2lisp_write_commit_events_sum" { e = $2 }
      $1 == "l2lisp_write_commit_seconds_sum" { s = $2 } $1 == "l2lisp_write_planned_ahead_total" { p = $2 }
      $1 == "process_cpu_seconds_total" { u = $2 } END { print c + 0, e + 0, s + 0, p + 0, u + 0 }'
}

stop_serve() { kill "$(cat "$1/serve.pid")" 2>/dev/null || true; wait "$(cat "$1/serve.pid")" 2>/dev/null || true; }

section_lisp() {
  local dir lisp; dir=$(mktemp -d); trap 'stop_serve "$dir"' RETURN
  serve "$dir"
  local n=${L2LISP_BENCH_EIDS:-1000000} log=$out/lisp.txt
  # 1M EIDs through the API's bulk import (the path an operator uses).
  python3 - "$dir/eids.csv" "$n" <<'EOF'
import ipaddress, sys
base = int(ipaddress.IPv4Address("10.0.0.0"))
with open(sys.argv[1], "w") as f:
    f.write("instance_id,eid,site,rlocs\n")
    for i in range(int(sys.argv[2])):
        f.write(f"1000,{ipaddress.IPv4Address(base + i)}/32,bench,192.0.2.1\n")
EOF
  local t0 t1
  t0=$(date +%s.%N)
  bin/l2lisp mapping import "$dir/eids.csv" >"$out/import.txt" 2>&1
  t1=$(date +%s.%N)
  row "\`mapping import\` of $n EIDs (CSV through the REST API, SQLite)" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s" "scripts/bench.sh lisp"
  local mr=(--target "127.0.0.1:$lisp" --iid 1000 --duration 10s --concurrency 64 --window 16 --itrs)
  bin/l2lisp bench map-request "${mr[@]}" --eids $n | tee "$log" >&2
  row "Map-Request → positive Map-Reply, 1M EIDs, 64 ITRs, reply limit on (1,000/s per ITR)" \
    "$(after "$log" 'rate' rate) replies/s, median $(after "$log" 'rate' median) ms, p99 $(after "$log" 'rate' p99) ms" \
    "l2lisp bench map-request ${mr[*]} --eids $n"
  # New EIDs: the first pass over 11.0.0.0/8 registers each once; an
  # answer is a Map-Notify, sent only once the registration is committed.
  # The load generator's CPU (user and system seconds) is timed too: it
  # shares the two cores with the controller.
  local w0 w1 gen; w0=$(writer_metrics)
  (TIMEFORMAT='%U %S'; time bin/l2lisp bench map-register "${mr[@]}" --eids 4000000 --base 11.0.0.0 --sequential \
    --key bench-secret-key >>"$log") 2>"$dir/gen-cpu.txt"
  tail -n 3 "$log" >&2
  w1=$(writer_metrics)
  gen=$(tail -n 1 "$dir/gen-cpu.txt" | awk '{ print $1 + $2 }')
  local made; made=$(after "$log" 'sent' correct | tr -d ,)
  row "authenticated Map-Register of a new EID, committed (Map-Notify received)" \
    "$(after "$log" 'rate' rate)/s, median $(after "$log" 'rate' median) ms" \
    "l2lisp bench map-register ${mr[*]} --eids 4000000 --base 11.0.0.0 --sequential --key ..."
  row "the single writer during that run (GET /metrics, before and after)" \
    "$(awk -v a="$w0" -v b="$w1" -v g="$gen" -v n="$made" 'BEGIN { split(a, x); split(b, y); c = y[1] - x[1]; e = y[2] - x[2]; s = y[3] - x[3]; p = y[4] - x[4]; u = y[5] - x[5];
      if (c <= 0 || e <= 0) { print "no commit seen"; exit }
      printf "%d group commits (%d planned ahead), %.0f events each, busy %.2f s of the 10 s run, %.1f µs per event; CPU: controller %.1f s, load generator %.1f s, %.0f µs per registration", c, p, e / c, s, s / e * 1e6, u, g, (u + g) / n * 1e6 }')" \
    "l2lisp_write_commit_seconds, l2lisp_write_commit_events, l2lisp_write_planned_ahead_total, process_cpu_seconds_total; the generator's user + system time"
  # The same with four times the registrations in flight (64 ITRs x 64):
  # more of them wait for each group commit, whose cost is partly fixed.
  # They start at 11.128.0.0, past the EIDs registered above.
  local mr4=(--target "127.0.0.1:$lisp" --iid 1000 --duration 10s --concurrency 64 --window 64 --itrs)
  bin/l2lisp bench map-register "${mr4[@]}" --eids 4000000 --base 11.128.0.0 --sequential \
    --key bench-secret-key >"$out/lisp-window64.txt"
  tail -n 3 "$out/lisp-window64.txt" >&2
  row "the same, 64 ITRs x 64 in flight" \
    "$(after "$out/lisp-window64.txt" 'rate' rate)/s, median $(after "$out/lisp-window64.txt" 'rate' median) ms" \
    "l2lisp bench map-register ${mr4[*]} --eids 4000000 --base 11.128.0.0 --sequential --key ..."
  # Refreshes of those registered EIDs (static ones are never replaced).
  bin/l2lisp bench map-register "${mr[@]}" --eids "$made" --base 11.0.0.0 --key bench-secret-key | tee -a "$log" >&2
  row "authenticated Map-Register refreshing a registered EID (Map-Notify received)" \
    "$(after "$log" 'rate' rate)/s, median $(after "$log" 'rate' median) ms" \
    "l2lisp bench map-register ${mr[*]} --eids $made --base 11.0.0.0 --key ..."
}

section_flood() {
  local log=$out/flood.txt
  gobench "$log" -bench ForgedRegisterFlood -benchtime 400000x ./mapserver/
  row "forged Map-Register flood against 1,000 sites, budget on" \
    "$(metric "$log" 'ForgedRegisterFlood.*budget' forged/s) forged/s absorbed, $(metric "$log" 'ForgedRegisterFlood.*budget' hmac/forged) HMAC per forged; legitimate $(metric "$log" 'ForgedRegisterFlood.*budget' reg/s) registers/s, p99 $(metric "$log" 'ForgedRegisterFlood.*budget' reg-p99-ms) ms" \
    "go test -run '^\$' -bench ForgedRegisterFlood -benchtime 400000x ./mapserver/"
}

section_pubsub() {
  local log=$out/pubsub.txt
  gobench "$log" -bench 'MoveToNotify' -benchtime 1000x ./mapserver/
  gobench "$out/publish.txt" -bench 'Publish10k' -benchtime 10x ./mapserver/
  row "host move → Map-Notify at a subscriber (1,000 moves)" "median $(metric "$log" MoveToNotify p50-ms) ms, p99 $(metric "$log" MoveToNotify p99-ms) ms" "go test -run '^\$' -bench MoveToNotify -benchtime 1000x ./mapserver/"
  row "one change published to 10,000 subscribers" "$(metric "$out/publish.txt" Publish10k subscribers/s) subscribers/s" "go test -run '^\$' -bench Publish10k -benchtime 10x ./mapserver/"
}

section_flows() {
  local log=$out/flows.txt
  gobench "$log" -bench 'MappingToFlows' -benchtime 1x -timeout 30m ./test/e2e/
  for b in 3Switches/sequential 3Switches/burst 100Sim/sequential 100Sim/burst; do
    row "POST /mappings → flows in every switch, $b" "median $(metric "$log" "$b" ms-median) ms, p99 $(metric "$log" "$b" ms-p99) ms" \
      "go test -run '^\$' -bench MappingToFlows -benchtime 1x -timeout 30m ./test/e2e/"
  done
  gobench "$out/pass.txt" -bench 'SwitchPass' ./test/e2e/
}

section_moves() {
  local log=$out/moves.txt
  L2LISP_BENCH_MOVES=50 go test -count=1 -run TestMoveConvergenceLab -v ./test/e2e/ | tee "$log" >&2
  row "host move, 3-DC lab: packet-in → all 3 switches synced (50 moves)" \
    "p50 $(after "$log" 'synced.*over' p50), p99 $(after "$log" 'synced.*over' p99)" "L2LISP_BENCH_MOVES=50 go test -run TestMoveConvergenceLab -v ./test/e2e/"
  row "host move, 3-DC lab: packet-in → first remote packet delivered" \
    "p50 $(after "$log" 'packet-in -> first.*over' p50), p99 $(after "$log" 'packet-in -> first.*over' p99)" "same"
  gobench "$out/moves100.txt" -bench MoveConvergence100Sites -benchtime 100x ./reconcile/
  row "host move, 100 simulated sites: learn → all switches synced" \
    "p50 $(metric "$out/moves100.txt" 'macs=1000' p50-ms) ms, p99 $(metric "$out/moves100.txt" 'macs=1000' p99-ms) ms (1,000 other MACs)" \
    "go test -run '^\$' -bench MoveConvergence100Sites -benchtime 100x ./reconcile/"
}

section_tunnel() {
  local log=$out/tunnel.txt
  gobench "$log" -bench TunnelThroughput -benchtime 1x -timeout 30m ./test/e2e/
  row "iperf3 TCP across the tunnel vs same bridge" "$(metric "$log" Tunnel Gbit/s-tunnel) vs $(metric "$log" Tunnel Gbit/s-local) Gbit/s" \
    "go test -run '^\$' -bench TunnelThroughput -benchtime 1x ./test/e2e/"
}

section_encap() {
  local log=$out/encap.txt
  go test -count=1 -run TestEncapsulations -v ./test/e2e/ | tee "$log" >&2
  row "LISP-GPE (blue) and VXLAN (red) on the WAN, checked byte by byte" "$(grep -E 'checked byte by byte' "$log" | sed -E 's/.*_test.go:[0-9]+: //; s/; first:.*//' | paste -sd ';' -)" "go test -run TestEncapsulations -v ./test/e2e/"
  row "iperf3 TCP per encapsulation, 2 s" "$(grep -E 'iperf3 dc3' "$log" | sed -E 's/.*_test.go:[0-9]+: //' | paste -sd ';' -)" "same"
}

section_failover() {
  local log=$out/failover.txt
  # Three replicas share one PostgreSQL, as in the tests.
  . scripts/postgres.sh
  start_test_postgres
  [ -n "${L2LISP_TEST_POSTGRES:-}" ] || { echo "no PostgreSQL cluster for the failover benchmark" >&2; return 1; }
  gobench "$log" -bench LeaderFailover -benchtime 5x -timeout 30m ./test/e2e/
  row "leader replica killed (kill -9), 3 replicas on PostgreSQL, 10 ms ping" \
    "new leader after $(metric "$log" LeaderFailover ms-elect-median) ms (median of 5), switches reprogrammed after $(metric "$log" LeaderFailover ms-programmed-median) ms, $(metric "$log" LeaderFailover pings-lost) pings lost" \
    "go test -run '^\$' -bench LeaderFailover -benchtime 5x -timeout 30m ./test/e2e/"
}

section_scale() {
  local n=${L2LISP_SCALE_SWITCHES:-100} m mode log
  for mode in ${L2LISP_SCALE_MODES:-on-demand push}; do
    m=${L2LISP_SCALE_EIDS:-100000}
    [[ $mode == push ]] && m=${L2LISP_SCALE_PUSH_EIDS:-10000}
    log=$out/scale-$mode.txt
    local cmd="l2lisp bench scale --switches $n --eids $m --mode $mode --changes 200 --register 10s"
    echo "== $cmd" >&2
    bin/$cmd 2> >(tee "$log.progress" >&2) | tee "$log" >&2
    local what="$n simulated switches, $m EIDs, $mode"
    row "\`mapping import\` of $m MAC EIDs (1 network, $n sites)" "$(grep -E 'mapping import of' "$log" | awk '{ print $(NF - 2) }')" "$cmd"
    row "cold start → every switch in sync, $what" \
      "$(grep -E 'cold start' "$log" | sed -E 's/.*in sync +//')" "same"
    row "controller memory after the cold start and the changes, $what" "$(grep -E 'controller RSS' "$log" | sed -E 's/^ *controller //')" "same"
    row "flows per switch, $what" "$(grep -E 'flows per switch' "$log" | sed -E 's/.*per switch +//')" "same"
    row "mapping change (host move, POST /mappings) → every interested switch, $what" \
      "$(grep -E 'change →' "$log" | sed -E 's/.*change → //')" "same"
    row "new-EID Map-Register (HMAC-SHA-256) through l2lisp serve, Map-Notify received, $what" \
      "$(after "$log" 'rate' rate)/s, median $(after "$log" 'rate' median) ms" "same (16 sockets x 256 in flight, --sequential)"
  done
}
section_multihome() {
  local log=$out/multihome.txt
  gobench "$log" -bench MultihomeOutage -benchtime 5x -timeout 60m ./test/e2e/
  local sc
  for sc in kill wan-cut drain; do
    row "multihomed site (lab -edges 2, BFD 50 ms x 3): edge $sc, 10 ms ping both ways" \
      "outage median $(metric "$log" "MultihomeOutage/$sc" median-outage-ms) ms, max $(metric "$log" "MultihomeOutage/$sc" max-outage-ms) ms; echoes lost median $(metric "$log" "MultihomeOutage/$sc" median-lost), max $(metric "$log" "MultihomeOutage/$sc" max-lost) (of 5 runs)" \
      "go test -run '^\$' -bench MultihomeOutage -benchtime 5x -timeout 60m ./test/e2e/"
  done
}

if [ -n "$one" ]; then
  "section_$one"
  exit
fi
failed=0
for s in "${sections[@]}"; do
  if ! declare -F "section_$s" >/dev/null; then
    echo "unknown section $s" >&2
    exit 2
  fi
  if ! bash "$self" --one "$s"; then
    row "$s" "**FAILED** (log in $out)" "scripts/bench.sh $s"
    failed=1
  fi
done

echo
echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs)), $(free -g | awk '/Mem/ {print $2}') GiB;" \
  "$(date -u +%Y-%m-%d); commit $(git rev-parse --short HEAD); load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| benchmark | result | command |"
echo "|---|---|---|"
cat "$BENCH_ROWS"
exit "$failed"
