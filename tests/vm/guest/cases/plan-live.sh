# plan-live: on a guest booted WITHOUT fake NUMA (the machine as the admin finds it), plan the
# example spec the way an admin does before the reboot. The host boots the next guest with the
# parameter this writes ($SOFTZONE_OUT/cmdline), then verifies there (case verify).
. /tests/lib.sh
spec=/usr/share/softzone/examples/${SOFTZONE_SPEC:-demo.ini}
grep -q 'numa=fake=' /proc/cmdline && fail "this case needs a boot without numa=fake="
step "zonectl plan $spec"
zonectl plan "$spec"
zonectl plan "$spec" --format cmdline >"$SOFTZONE_OUT/cmdline"
zonectl --json plan "$spec" >"$SOFTZONE_OUT/plan.json"
lines=$(wc -l <"$SOFTZONE_OUT/cmdline")
expect_eq "lines of --format cmdline" 1 "$lines"
grep -qE '^numa=fake=[0-9]+U?$' "$SOFTZONE_OUT/cmdline" || fail "not a numa=fake= parameter: $(cat "$SOFTZONE_OUT/cmdline")"
echo "planned: $(cat "$SOFTZONE_OUT/cmdline")"
