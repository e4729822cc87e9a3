#!/usr/bin/env bash
# Installs what l2lisp's lab and tests need on Debian 12 (run as root).
# Go itself (1.26) is expected on PATH or at /usr/local/go.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
# gcc and libc6-dev: cgo, for SQLite (mattn/go-sqlite3) and go test -race.
pkgs=(gcc libc6-dev openvswitch-switch iproute2 ethtool iputils-ping iperf3 tshark chromium chromium-driver docker-compose python3 curl ca-certificates postgresql)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  apt-get update -qq
  # tshark asks whether non-root users may capture; the default (no) is fine.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The Debian package starts nothing without systemd; l2lisp runs its own
# ovsdb-server/ovs-vswitchd per datacenter, so a system instance is not needed.
export PATH="$PATH:/usr/local/go/bin:$HOME/go/bin"
command -v go >/dev/null || { echo "Go 1.26 is required (not found on PATH or /usr/local/go)" >&2; exit 1; }
if ! command -v staticcheck >/dev/null; then
  go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
fi
