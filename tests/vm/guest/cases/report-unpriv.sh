# report-unpriv: an unprivileged user gets the report of what is readable, and it says what is
# missing and why (tracefs is root's, the kernel log may be restricted).
. /tests/lib.sh
. /tests/cases/report-lib.sh
# A status piped through tee is the pipeline's: without pipefail a failure would pass.
set -o pipefail
out=$SOFTZONE_OUT
make_partitions
# root installs the hist trigger; the user still cannot read it (tracefs is mode 0700).
zonectl snapshot -o /tmp/root-snap.json

step "zonectl report as uid 1000"
# The initramfs root directory comes out mode 0700 (a mktemp -d stage): open it for the user.
chmod 755 /
# busybox's setpriv cannot change uids; its su can, for a user in /etc/passwd.
grep -q '^tester:' /etc/passwd 2>/dev/null || echo 'tester:x:1000:1000:report test:/tmp:/bin/sh' >>/etc/passwd
grep -q '^tester:' /etc/group 2>/dev/null || echo 'tester:x:1000:' >>/etc/group
as_user() { su tester -c "$*"; }
expect_eq "the test user's uid" 1000 "$(as_user id -u)"
cd /tmp
as_user zonectl --json report >"$out/user.json" || fail "zonectl report failed as uid 1000"
as_user zonectl report | tee "$out/user.txt"
grep -q 'missing: reclaim tracepoint: .*root' "$out/user.txt" || fail "the reclaim tracepoint is not said to need root"
grep -q '"reclaim_reclaimed_pages": null' "$out/user.json" || fail "unreadable reclaim is not null"
grep -q '"name": "A"' "$out/user.json" || fail "partition A missing from the user's report"
total=$(zone_value "$out/user.json" A mem_total_bytes)
[ "$total" -gt 0 ] || fail "A's memory total not readable by the user"
if [ "$(cat /proc/sys/kernel/dmesg_restrict)" = 1 ]; then
  grep -q 'missing: OOM kills: .*CAP_SYSLOG' "$out/user.txt" || fail "kmsg restriction not explained"
  grep -q '"oom_kills": null' "$out/user.json" || fail "unreadable OOM kills are not null"
fi
step "the user's snapshot and report --since work too"
as_user zonectl snapshot -o /tmp/user-snap.json
as_user zonectl report --since /tmp/user-snap.json >/dev/null
echo "report-unpriv: ok"
