# verify: the guest was booted with a numa=fake= parameter; softzone.expect=pass says it is the one
# `zonectl plan` gave for the example spec (verify must pass), softzone.expect=fail that it is not
# (verify must exit 1 with a diff naming numa=fake= and the node count).
. /tests/lib.sh
spec=/usr/share/softzone/examples/${SOFTZONE_SPEC:-demo.ini}
expect=pass
for arg in $(cat /proc/cmdline); do
  case "$arg" in softzone.expect=*) expect=${arg#softzone.expect=} ;; esac
done
step "zonectl verify $spec (expect $expect)"
set +e
zonectl verify "$spec" >"$SOFTZONE_OUT/verify.txt" 2>"$SOFTZONE_OUT/verify.err"
status=$?
set -e
cat "$SOFTZONE_OUT/verify.txt" "$SOFTZONE_OUT/verify.err"
zonectl --json verify "$spec" >"$SOFTZONE_OUT/verify.json" 2>/dev/null || true
if [ "$expect" = pass ]; then
  expect_eq "verify's exit status" 0 "$status"
  grep -q '^verify: OK' "$SOFTZONE_OUT/verify.txt" || fail "no OK verdict"
  grep -q '"ok": true' "$SOFTZONE_OUT/verify.json" || fail "JSON does not say ok"
else
  expect_eq "verify's exit status" 1 "$status"
  booted=$(tr ' ' '\n' </proc/cmdline | grep '^numa=fake=')
  grep -q "^- numa=fake: numa=fake=" "$SOFTZONE_OUT/verify.txt" || fail "the diff does not show the planned numa=fake="
  grep -q "^+ numa=fake: $booted\$" "$SOFTZONE_OUT/verify.txt" || fail "the diff does not show the booted $booted"
  grep -q '^verify: FAILED' "$SOFTZONE_OUT/verify.txt" || fail "no FAILED verdict"
  grep -q '"ok": false' "$SOFTZONE_OUT/verify.json" || fail "JSON does not say not ok"
fi
