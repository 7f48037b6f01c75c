# report-oom: a memory hog in A is OOM-killed inside the cpuset; the report shows oom_kills 1 for
# A with the victim's pid and name, 0 for B; the run's HTML page is checked on the host
# (checks/report_oom.py renders it in headless Chromium).
. /tests/lib.sh
. /tests/cases/report-lib.sh
# A status piped through tee is the pipeline's: without pipefail a failure would pass.
set -o pipefail
out=$SOFTZONE_OUT
make_partitions
zonectl snapshot -o "$out/snap.json"

step "memhog 400 MiB in A (about 250 MiB of memory): killed by the OOM killer"
run_expect_status 137 zonectl run A --interval 200 --format html -o "$out/run.html" -- memhog -r1 400M
zonectl --json report --since "$out/snap.json" >"$out/report.json"
zonectl report --since "$out/snap.json"
dmesg | grep -E 'oom-kill:|Killed process' | tee "$out/oom-lines.txt"

expect_eq "OOM kills in A" 1 "$(zone_value "$out/report.json" A oom_kills)"
expect_eq "OOM kills in B" 0 "$(zone_value "$out/report.json" B oom_kills)"
victim=$(sed -n 's/.*Killed process \([0-9]*\) (memhog).*/\1/p' "$out/oom-lines.txt" | tail -n 1)
[ -n "$victim" ] || fail "no 'Killed process' line for memhog in the kernel log"
grep -q "\"pid\": $victim," "$out/report.json" || fail "victim pid $victim not in the report"
grep -q '"task": "memhog"' "$out/report.json" || fail "victim name memhog not in the report"
grep -q 'constraint=CONSTRAINT_CPUSET' "$out/oom-lines.txt" || fail "the OOM was not cpuset-constrained"
echo "victim pid $victim"

step "zonectl top: one frame, and q from the keyboard (a pipe) quits"
zonectl top --once | tee "$out/top.txt"
grep -q '^A ' "$out/top.txt" || fail "no A row in top"
run_expect_status 0 timeout 20 sh -c '(sleep 2; printf q) | zonectl top | tail -n 7'
echo "report-oom: ok"
