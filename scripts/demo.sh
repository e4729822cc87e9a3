#!/usr/bin/env bash
# The main job: builds l2lisp, starts the controller, builds a local
# three-datacenter lab registered with it, and shows hosts in different
# datacenters reaching each other through LISP tunnels.
#   scripts/demo.sh        bring it up (re-runnable)
#   scripts/demo.sh down   stop the controller and remove the lab
# Needs root on Debian 12. Every channel runs over TLS with a PKI made in
# /run/l2lisp-demo/pki (kept across runs); the dashboard is at
# https://127.0.0.1:8080/ (CA certificate /run/l2lisp-demo/pki/ca.pem).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin:$HOME/go/bin"
RUN=/run/l2lisp-demo
TOKEN=${L2LISP_API_TOKEN:-demo-admin-token}
API=https://127.0.0.1:8080
PKI=$RUN/pki
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

# The CA and the controller's certificate; lab up issues each xTR's.
[ -f "$PKI/ca.pem" ] || ./bin/l2lisp pki init --dir "$PKI" --host localhost --ip 127.0.0.1 --ip 203.0.113.254
CURL=(curl -sf --cacert "$PKI/ca.pem")

L2LISP_API_TOKEN=$TOKEN nohup ./bin/l2lisp serve --db "$RUN/l2lisp.db" --listen 127.0.0.1:8080 \
  --tls-cert "$PKI/controller.pem" --tls-key "$PKI/controller-key.pem" --tls-ca "$PKI/ca.pem" \
  --openflow-listen :6653 --openflow-target ssl:203.0.113.254:6653 --lisp-listen 127.0.0.1:4342 \
  >"$RUN/l2lisp.log" 2>&1 &
echo $! >"$RUN/l2lisp.pid"
for _ in $(seq 50); do "${CURL[@]}" "$API/healthz" >/dev/null && break; sleep 0.2; done
"${CURL[@]}" "$API/healthz" >/dev/null || { echo "controller did not start; see $RUN/l2lisp.log"; exit 1; }

./bin/l2lisp lab up -register -static-hosts -api "$API" -token "$TOKEN" -pki "$PKI"

echo
echo "waiting for every edge switch to connect..."
for _ in $(seq 60); do
  up=$("${CURL[@]}" -H "Authorization: Bearer $TOKEN" "$API/api/v1/xtrs" | grep -o '"openflow":{"connected":true' | wc -l)
  [ "$up" -ge 3 ] && break
  sleep 0.5
done
echo "$up of 3 xTRs connected over OpenFlow (TLS)"

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
echo "dashboard:  https://127.0.0.1:8080/   (token: $TOKEN; CA certificate $PKI/ca.pem)"
echo "CLI:        L2LISP_CA=$PKI/ca.pem L2LISP_TOKEN=$TOKEN ./bin/l2lisp xtr list"
echo "controller: pid $(cat "$RUN/l2lisp.pid"), log $RUN/l2lisp.log"
echo "remove:     scripts/demo.sh down"
[ "$fail" -eq 0 ]
