#!/usr/bin/env bash
# The admin's workflow on a systemd host, across a reboot of the same disk: the first boot, without
# fake NUMA, installs the spec and units, enables softzone-apply.service and writes the GRUB
# drop-in from `zonectl plan` (guest/systemd/cases/systemd-reboot-plan.sh), reporting its
# numa=fake=; the host boots the same root disk again with that parameter (the guest boots by
# -kernel: the host passes the line update-grub would), and the second boot checks the partitions
# the unit made at boot and a service confined to web (systemd-reboot-applied.sh).
#
#   systemd-reboot.sh --kernel-env FILE --initrd FILE --rootfs IMAGE --payload FILE --workdir DIR
#                     [--mem SIZE] [--timeout SECONDS]
#
# The root's writes persist between the boots in a qcow2 overlay of IMAGE in DIR (run-guest.sh
# --rootfs-overlay); IMAGE stays pristine. The overlay is removed after a pass, kept after a failure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
kernel_env= initrd= rootfs= payload= workdir= mem=1G timeout_s=300
while [ $# -gt 0 ]; do
  case "$1" in
    --kernel-env) kernel_env=$2; shift 2 ;;
    --initrd) initrd=$2; shift 2 ;;
    --rootfs) rootfs=$2; shift 2 ;;
    --payload) payload=$2; shift 2 ;;
    --workdir) workdir=$2; shift 2 ;;
    --mem) mem=$2; shift 2 ;;
    --timeout) timeout_s=$2; shift 2 ;;
    *) echo "systemd-reboot.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done
[ -n "$kernel_env" ] && [ -n "$initrd" ] && [ -n "$rootfs" ] && [ -n "$payload" ] && [ -n "$workdir" ] || {
  sed -n '9,10p' "$0" | sed 's/^# //' >&2
  exit 2
}
rm -rf "$workdir"
mkdir -p "$workdir"
overlay="$workdir/root.qcow2"
guest() {
  "$here/run-guest.sh" --kernel-env "$kernel_env" --initrd "$initrd" --rootfs "$rootfs" \
    --rootfs-overlay "$overlay" --payload "$payload" --cgroup v2 --mem "$mem" --timeout "$timeout_s" "$@"
}
start=$(date +%s)

guest --fake off --test systemd-reboot-plan --workdir "$workdir/plan"
planned=$(sed -n 's/^SOFTZONE-PLANNED: numa=fake=//p' "$workdir/plan/result.txt" | tail -n 1)
case "$planned" in
  [1-9]*) ;;
  *) echo "FAIL: the first boot reported no numa=fake= (SOFTZONE-PLANNED) on the result port" >&2; exit 1 ;;
esac
echo "== planned on the first boot: numa=fake=$planned; booting the same disk with it"

guest --fake "$planned" --test systemd-reboot-applied --workdir "$workdir/applied"
rm -f "$overlay"
echo "== systemd-reboot: both boots in $(($(date +%s) - start))s"
