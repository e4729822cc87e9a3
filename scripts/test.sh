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
# A PostgreSQL for the tests of several replicas sharing one database.
. scripts/postgres.sh
start_test_postgres
# The replica tests must run: without PostgreSQL they would skip, and a
# skip not on the allow-list fails the run below anyway; say why early.
[ -n "${L2LISP_TEST_POSTGRES:-}" ] || { echo "no PostgreSQL cluster found for the replica tests" >&2; exit 1; }
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
# One package at a time: the lab tests need the machine quiet (timing of
# reconnections, 10 ms pings) and run one lab at a time anyway. Every test's
# output is shown (-json, printed as -v would), then every skipped test:
# a skip not named in test/ci/skips.allow fails the run.
go build -o "$L2LISP_ARTIFACTS/testreport" ./test/ci/testreport
set +e
go test -race -count=1 -timeout 25m -p 1 -json ./... 2>&1 |
  "$L2LISP_ARTIFACTS/testreport" -allow test/ci/skips.allow | tee "$L2LISP_ARTIFACTS/go-test.log"
# PIPESTATUS is reset by the next command: copy it in one step.
st=("${PIPESTATUS[@]}"); rc=${st[0]}; report=${st[1]}
set -e
if [ "$rc" -ne 0 ] || [ "$report" -ne 0 ]; then
  echo "go test exit $rc, test report exit $report"
  exit 1
fi
