# Helpers for guest test cases (sourced; busybox sh). Cases run with `sh -e`: any failing command
# fails the test. Artifacts for host-side checks go to $SOFTZONE_OUT.

# fail MESSAGE: ends the case with a failure that names what was wrong.
fail() {
  echo "FAIL: $*"
  exit 1
}

# step TEXT: a visible marker in the result log, so a failure is easy to place.
step() {
  echo "--- $*"
}

# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
  [ "$2" = "$3" ] || fail "$1: expected '$2', got '$3'"
}

# run_expect_status STATUS CMD...: runs CMD, fails unless it exits with STATUS.
run_expect_status() {
  want=$1
  shift
  set +e
  "$@"
  got=$?
  set -e
  [ "$got" = "$want" ] || fail "'$*' exited $got, expected $want"
}
