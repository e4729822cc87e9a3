#!/bin/sh
# Starts OVS with its database reachable by the controller over SSL on
# 6640 (the certificate the controller issued to this edge, $XTR, in the
# shared pki volume), and moves the WAN address (the RLOC) from eth0 onto br-phy, as userspace
# tunnels need. eth1 is the datacenter LAN; the controller binds it to br-int.
set -eu
mkdir -p /var/run/openvswitch
tls=/pki/xtrs/$XTR
until [ -s "$tls/key.pem" ]; do sleep 1; done # the controller creates it on its first start
ovsdb-tool create /etc/openvswitch/conf.db /usr/share/openvswitch/vswitch.ovsschema 2>/dev/null || true
ovsdb-server --remote=punix:/var/run/openvswitch/db.sock --remote=pssl:6640 \
  --private-key="$tls/key.pem" --certificate="$tls/cert.pem" --ca-cert="$tls/ca.pem" --pidfile --detach \
  --log-file /etc/openvswitch/conf.db
ovs-vsctl --no-wait init
ovs-vswitchd --pidfile --detach --log-file
rloc=$(ip -4 -o addr show dev eth0 | awk '{print $4}')
for ifc in eth0 eth1; do ethtool -K "$ifc" tx off >/dev/null 2>&1 || true; done
ovs-vsctl --may-exist add-br br-phy -- set bridge br-phy datapath_type=netdev \
  -- --may-exist add-port br-phy eth0
ip addr flush dev eth0
ip addr add "$rloc" dev br-phy
ip link set br-phy up
exec tail -F /var/log/openvswitch/ovs-vswitchd.log
