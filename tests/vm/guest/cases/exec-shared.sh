# exec-shared: `zonectl exec` and `zonectl run` start their command in the partition without the
# kernel's attach migration carrying zonectl's own pages along: joining a cpuset migrates the
# joiner's pages with MPOL_MF_MOVE_ALL (v1 with memory_migrate, v2 always), and zonectl maps the
# page cache of libstdc++, libc and the rest, which every process maps. Here the libraries are in
# the initramfs (tmpfs: their pages are what any process maps, and a fault never allocates one),
# so after the commands ran none of them may be on A's nodes. Also: the command runs in A,
# zonectl ends with its status, and a signal sent to zonectl reaches it.
. /tests/lib.sh
. /tests/cases/shared-lib.sh
out=$SOFTZONE_OUT
LIBS=/lib/x86_64-linux-gnu

make_zones

libs_on_a() {
  residency_of $LIBS "$out/res-libs-$1.json"
  pages_on_nodes "$out/res-libs-$1.json" $A_NODES
}
before=$(libs_on_a before)
echo "library pages on A's nodes before: $before of $(total_of "$out/res-libs-before.json" cached_pages) cached"
expect_eq "library pages on A's nodes before anything ran in A" 0 "$before"

step "zonectl exec A: the command runs in A"
zonectl exec A -- sh -c 'grep Mems_allowed_list /proc/self/status; cat /proc/self/cgroup' |
  tee "$out/exec-where.txt"
grep -q "Mems_allowed_list:[[:space:]]*$A_NODES\$" "$out/exec-where.txt" ||
  fail "the command's mems are not A's ($A_NODES)"
grep -q "softzone/A\$" "$out/exec-where.txt" || fail "the command is not in A's cgroup"

step "zonectl exec ends as the command did"
run_expect_status 3 zonectl exec A -- sh -c 'exit 3'
run_expect_status 127 zonectl exec A -- /no/such/command
zonectl exec A -- sleep 60 &
zpid=$!
# exec keeps zonectl's pid: the signal goes to sleep itself once zonectl has become it.
for i in $(seq 100); do [ "$(cat /proc/$zpid/comm 2>/dev/null)" = sleep ] && break; sleep 0.1; done
expect_eq "the exec'd command's name under zonectl's pid" sleep "$(cat /proc/$zpid/comm)"
kill -TERM $zpid
set +e
wait $zpid
got=$?
set -e
expect_eq "exit status of exec after SIGTERM to zonectl" 143 "$got"

step "zonectl run A: the command runs in A, and run ends with its status"
run_expect_status 4 zonectl run A -- sh -c 'grep Mems_allowed_list /proc/self/status >/tmp/run-where; exit 4'
grep -q "Mems_allowed_list:[[:space:]]*$A_NODES\$" /tmp/run-where || fail "run's command is not on A's nodes: $(cat /tmp/run-where)"

step "no library page moved to A's nodes"
after=$(libs_on_a after)
echo "library pages on A's nodes after: $after"
expect_eq "library pages on A's nodes after exec and run" 0 "$after"
echo "exec-shared: ok"
