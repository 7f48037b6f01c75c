# run-exec-restore: what `zonectl run` and `zonectl exec` change for a moment is back after them,
# on every path. The command starts with the caller's oom_score_adj (run holds -1000 while it
# watches; the child sets the caller's on itself before it execs), and on v1 the partition's
# memory_migrate, off while the command's process joins, is on again, also when the command
# cannot be executed.
. /tests/lib.sh
. /tests/cases/shared-lib.sh
out=$SOFTZONE_OUT

make_zones
mm="$(cgroup_dir A)/cpuset.memory_migrate"

# memory_migrate_is_on WHEN: v1's flag is 1 (v2 has none: the kernel always migrates).
memory_migrate_is_on() {
  [ "$SOFTZONE_CGROUP" = v1 ] || return 0
  expect_eq "A's memory_migrate $1" 1 "$(cat "$mm")"
}
memory_migrate_is_on "before"

step "the caller's oom_score_adj is 300"
echo 300 >/proc/$$/oom_score_adj
expect_eq "the caller's oom_score_adj" 300 "$(cat /proc/$$/oom_score_adj)"

step "zonectl run: the command starts with the caller's score"
zonectl run A -- sh -c "cat /proc/self/oom_score_adj >$out/run-oom" >"$out/run.txt" ||
  { cat "$out/run.txt"; fail "zonectl run failed"; }
expect_eq "run's command oom_score_adj" 300 "$(cat "$out/run-oom")"
expect_eq "the caller's oom_score_adj after run" 300 "$(cat /proc/$$/oom_score_adj)"
memory_migrate_is_on "after run"

step "zonectl run of a command that cannot be executed"
run_expect_status 1 zonectl run A -- /no/such/command
memory_migrate_is_on "after a failed run"

step "zonectl exec: the command starts with the caller's score"
zonectl exec A -- sh -c "cat /proc/self/oom_score_adj >$out/exec-oom"
expect_eq "exec's command oom_score_adj" 300 "$(cat "$out/exec-oom")"
memory_migrate_is_on "after exec"

step "zonectl exec of a command that cannot be executed"
run_expect_status 127 zonectl exec A -- /no/such/command
memory_migrate_is_on "after a failed exec"

echo 0 >/proc/$$/oom_score_adj
echo "run-exec-restore: ok"
