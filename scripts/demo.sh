#!/usr/bin/env bash
# The main job: builds l2lisp, starts the controller, builds a local
# three-datacenter lab registered with it, and shows hosts in different
# datacenters reaching each other through LISP tunnels.
#   scripts/demo.sh        bring it up (re-runnable)
#   scripts/demo.sh down   stop the controller and remove the lab
# Needs root on Debian 12. The dashboard is at http://127.0.0.1:8080/.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin:$HOME/go/bin"
RUN=/run/l2lisp-demo
TOKEN=${L2LISP_API_TOKEN:-demo-admin-token}
API=http://127.0.0.1:8080
mkdir -p "$RUN"

stop_controller() {
  if [ -f "$RUN/l2lisp.pid" ]; then
    kill "$(cat "$RUN/l2lisp.pid")" 2>/dev/null || true
    rm -f "$RUN/l2lisp.pid"
  fi
}

if [ "${1:-up}" = "down" ]; then
  stop_controller
  ./bin/l2lisp lab down || true
  echo "demo removed"
  exit 0
fi

bash scripts/deps.sh
go build -o bin/l2lisp ./cmd/l2lisp
stop_controller
./bin/l2lisp lab down >/dev/null 2>&1 || true
rm -f "$RUN"/l2lisp.db*

L2LISP_API_TOKEN=$TOKEN nohup ./bin/l2lisp serve --db "$RUN/l2lisp.db" --listen 127.0.0.1:8080 \
  --openflow-listen :6653 --openflow-target tcp:203.0.113.254:6653 --lisp-listen 127.0.0.1:4342 \
  >"$RUN/l2lisp.log" 2>&1 &
echo $! >"$RUN/l2lisp.pid"
for _ in $(seq 50); do curl -sf "$API/healthz" >/dev/null && break; sleep 0.2; done
curl -sf "$API/healthz" >/dev/null || { echo "controller did not start; see $RUN/l2lisp.log"; exit 1; }

./bin/l2lisp lab up -register -static-hosts -api "$API" -token "$TOKEN"

echo
echo "waiting for every edge switch to connect..."
for _ in $(seq 60); do
  up=$(curl -sf -H "Authorization: Bearer $TOKEN" "$API/api/v1/xtrs" | grep -o '"openflow":{"connected":true' | wc -l)
  [ "$up" -ge 3 ] && break
  sleep 0.5
done
echo "$up of 3 xTRs connected over OpenFlow"

echo
echo "== pings across datacenters (network blue, instance-id 4100)"
ok=0; fail=0
for pair in "dc1 dc2 198.51.100.21" "dc2 dc3 198.51.100.31" "dc3 dc1 198.51.100.11" "dc1 dc3 2001:db8:100::31"; do
  set -- $pair
  # The first packet towards a new RLOC can be lost while OVS resolves its neighbour.
  if ip netns exec "l2lab-$1-blue-h1" ping -c 3 -i 0.2 -W 2 "$3" >/dev/null 2>&1 ||
     ip netns exec "l2lab-$1-blue-h1" ping -c 3 -i 0.2 -W 2 "$3" >/dev/null 2>&1; then
    echo "  $1 host -> $3 ($2): reachable"; ok=$((ok+1))
  else
    echo "  $1 host -> $3 ($2): UNREACHABLE"; fail=$((fail+1))
  fi
done
echo
echo "dashboard:  http://127.0.0.1:8080/   (token: $TOKEN)"
echo "controller: pid $(cat "$RUN/l2lisp.pid"), log $RUN/l2lisp.log"
echo "remove:     scripts/demo.sh down"
[ "$fail" -eq 0 ]
