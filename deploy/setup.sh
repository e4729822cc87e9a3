#!/bin/sh
# One-shot configuration of the compose deployment through the REST API.
set -eu
# The controller's certificate is checked against the deployment's CA.
API=https://203.0.113.254:8080/api/v1
until curl -fsS --cacert /pki/ca.pem https://203.0.113.254:8080/healthz >/dev/null; do sleep 1; done
post() { curl -sS --cacert /pki/ca.pem -o /dev/null -w "%{http_code} $1\n" -H "Authorization: Bearer $TOKEN" -d "$2" "$API$1"; }
post /networks '{"instance_id":4100,"name":"blue"}'
for n in 1 2; do
  post /sites "{\"name\":\"dc$n\",\"auth_key\":\"dc$n-secret-key\",\"networks\":[4100]}"
  post /sites/dc$n/xtrs "{\"name\":\"dc$n-edge\",\"rloc\":\"203.0.113.$n\",\"ovsdb\":\"ssl:203.0.113.$n:6640\",\"tls_dir\":\"/pki/xtrs/dc$n-edge\",\"bridge\":\"br-int\",\"datapath_type\":\"netdev\"}"
  post /xtrs/dc$n-edge/ports '{"name":"eth1","instance_id":4100}'
done
