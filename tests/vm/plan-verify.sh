#!/usr/bin/env bash
# The admin's workflow end to end, in guests: boot the machine without fake NUMA and plan the
# example spec there; boot it with the planned parameter and verify passes; with --wrong, boot it
# with another node count and verify fails with a diff.
#
#   plan-verify.sh --kernel-env FILE --initrd FILE --cgroup v1|v2 --workdir DIR [--wrong]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
kernel_env= initrd= cgroup=v2 workdir= wrong=0
while [ $# -gt 0 ]; do
  case "$1" in
    --kernel-env) kernel_env=$2; shift 2 ;;
    --initrd) initrd=$2; shift 2 ;;
    --cgroup) cgroup=$2; shift 2 ;;
    --workdir) workdir=$2; shift 2 ;;
    --wrong) wrong=1; shift ;;
    *) echo "plan-verify.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done
guest() { "$here/run-guest.sh" --kernel-env "$kernel_env" --initrd "$initrd" --cgroup "$cgroup" --mem 1G "$@"; }

guest --fake off --test plan-live --workdir "$workdir/plan"
param=$(cat "$workdir/plan/out/cmdline")
arg=${param#numa=fake=}
echo "== planned in the guest: $param"
guest --fake "$arg" --test verify --append softzone.expect=pass --workdir "$workdir/verify"
if [ "$wrong" = 1 ]; then
  count=${arg%U}
  wrong_arg=$((count + 1))${arg#"$count"}
  echo "== booting with numa=fake=$wrong_arg instead"
  guest --fake "$wrong_arg" --test verify --append softzone.expect=fail --workdir "$workdir/wrong"
fi
