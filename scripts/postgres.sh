# Sourced by test.sh and bench.sh: starts the local PostgreSQL cluster
# (installed by deps.sh), creates the l2lisp role and test database, and
# exports L2LISP_TEST_POSTGRES for the tests and benchmarks of several
# replicas. A DSN already in the environment is kept.
start_test_postgres() {
  [ -z "${L2LISP_TEST_POSTGRES:-}" ] || return 0
  command -v pg_lsclusters >/dev/null || return 0
  local ver
  ver=$(pg_lsclusters -h | awk 'NR==1{print $1}')
  [ -n "$ver" ] || return 0
  pg_ctlcluster "$ver" main start 2>/dev/null || true
  su postgres -c "psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname='l2lisp'\"" | grep -q 1 ||
    su postgres -c "psql -qc \"CREATE USER l2lisp PASSWORD 'l2lisp' SUPERUSER\""
  su postgres -c "psql -qtAc \"SELECT 1 FROM pg_database WHERE datname='l2lisp_test'\"" | grep -q 1 ||
    su postgres -c "createdb -O l2lisp l2lisp_test"
  export L2LISP_TEST_POSTGRES="postgres://l2lisp:l2lisp@127.0.0.1:5432/l2lisp_test?sslmode=disable"
}
