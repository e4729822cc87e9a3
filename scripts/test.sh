#!/usr/bin/env bash
# Runs every l2lisp test: vet, staticcheck, and go test -race over all
# packages, including the ones against real Open vSwitch, SQLite and Chromium.
# Needs root (network namespaces). Installs missing Debian packages first.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin:$HOME/go/bin"
bash scripts/deps.sh
# Leftovers of a killed earlier run would collide with the lab tests.
go run ./cmd/l2lisp lab down >/dev/null 2>&1 || true
echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt would change: $unformatted"; exit 1; fi
echo "== go vet"
go vet ./...
echo "== staticcheck"
staticcheck ./...
echo "== go test -race"
export L2LISP_ARTIFACTS="${L2LISP_ARTIFACTS:-$PWD/artifacts}"
mkdir -p "$L2LISP_ARTIFACTS"
go test -race -count=1 -timeout 25m -p 2 ./... 2>&1 | tee "$L2LISP_ARTIFACTS/go-test.log"
