#!/usr/bin/env bash
# Boots one QEMU guest with fake NUMA, runs one guest test case in it, and reports pass/fail.
#
#   run-guest.sh --kernel-env FILE --initrd FILE --test NAME --workdir DIR
#                [--cgroup v1|v2] [--fake VALUE] [--mem SIZE] [--smp N] [--sockets 1|2]
#                [--disk-size SIZE] [--timeout SECONDS] [--boot-timeout SECONDS] [--check SCRIPT]
#                [--append PARAMS] [--keep-disk] [--verbose]
#                [--rootfs IMAGE [--rootfs-overlay FILE] [--payload FILE]... [--payload-deb FILE]...]
#
# --timeout bounds the whole run; --boot-timeout (default 240 s) the time until the case starts
# (its SOFTZONE-START line), so that a kernel hung while booting is booted again (below).
# --append adds kernel parameters the case reads from /proc/cmdline (softzone.expect=fail, ...).
# The guest's console (the kernel log) goes to DIR/console.log, the test's own output and the
# SOFTZONE-RESULT line to DIR/result.log (second serial port). The case's artifacts, written to
# $SOFTZONE_OUT on the guest's ext4 disk, are copied to DIR/out after power-off and, when --check
# is given, checked on the host by `SCRIPT DIR/out`. On failure the logs stay and their tails are
# printed; on success only the disk image is removed.
#
# --rootfs boots the systemd guest kind instead (docs/testing.md): IMAGE (make-rootfs.sh) is the
# root filesystem, attached read-only to QEMU with a copy-on-write layer that is dropped at
# power-off, and --initrd is make-systemd-initramfs.sh's. Each --payload FILE (zonectl, helpers)
# goes to the guest's /usr/sbin, and guest/ to its /tests, carried on the test disk. Each
# --payload-deb FILE (the softzone .deb) is carried as it is to /mnt/disk/payload/debs, for the
# case to install with apt as an admin would; nothing installs it before the case runs.
# --rootfs-overlay FILE keeps the root's writes instead: FILE, a qcow2 overlay backed by IMAGE
# (made when missing, kept after the run, for the caller to remove), is the root disk, so the
# next run with the same FILE boots what this one left (systemd-reboot.sh: a host rebooted).
# IMAGE stays pristine either way. A boot run again (below) boots the same FILE again.
set -euo pipefail

usage() { sed -n '3,10p' "$0" | sed 's/^# //' >&2; exit 2; }

kernel_env= initrd= test_name= workdir= cgroup=v2 fake=8 mem=1G smp=2 sockets=1
disk_size=512M timeout_s=600 boot_timeout_s=240 check= extra_params= keep_disk=0 verbose=0 rootfs=
rootfs_overlay=
payload=() payload_debs=()
while [ $# -gt 0 ]; do
  case "$1" in
    --kernel-env) kernel_env=$2; shift 2 ;;
    --initrd) initrd=$2; shift 2 ;;
    --test) test_name=$2; shift 2 ;;
    --workdir) workdir=$2; shift 2 ;;
    --cgroup) cgroup=$2; shift 2 ;;
    --fake) fake=$2; shift 2 ;;
    --mem) mem=$2; shift 2 ;;
    --smp) smp=$2; shift 2 ;;
    --sockets) sockets=$2; shift 2 ;;
    --disk-size) disk_size=$2; shift 2 ;;
    --timeout) timeout_s=$2; shift 2 ;;
    --boot-timeout) boot_timeout_s=$2; shift 2 ;;
    --check) check=$2; shift 2 ;;
    --append) extra_params=$2; shift 2 ;;
    --keep-disk) keep_disk=1; shift ;;
    --verbose) verbose=1; shift ;;
    --rootfs) rootfs=$2; shift 2 ;;
    --rootfs-overlay) rootfs_overlay=$2; shift 2 ;;
    --payload) payload+=("$2"); shift 2 ;;
    --payload-deb) payload_debs+=("$2"); shift 2 ;;
    *) echo "run-guest.sh: unknown option '$1'" >&2; usage ;;
  esac
done
[ -n "$kernel_env" ] && [ -n "$initrd" ] && [ -n "$test_name" ] && [ -n "$workdir" ] || usage
case "$cgroup" in v1|v2) ;; *) echo "run-guest.sh: --cgroup must be v1 or v2, not '$cgroup'" >&2; exit 2 ;; esac
case "$sockets" in 1|2) ;; *) echo "run-guest.sh: --sockets must be 1 or 2, not '$sockets'" >&2; exit 2 ;; esac
if [ -z "$rootfs" ] && [ ${#payload[@]} -gt 0 -o ${#payload_debs[@]} -gt 0 ]; then
  echo "run-guest.sh: --payload and --payload-deb go with --rootfs (the systemd guest)" >&2; exit 2
fi
for file in ${payload_debs[@]+"${payload_debs[@]}"}; do
  case "$file" in *.deb) ;; *) echo "run-guest.sh: --payload-deb takes a .deb, not '$file'" >&2; exit 2 ;; esac
  [ -f "$file" ] || { echo "run-guest.sh: no package at '$file' (--payload-deb)" >&2; exit 2; }
done
if [ -n "$rootfs_overlay" ] && [ -z "$rootfs" ]; then
  echo "run-guest.sh: --rootfs-overlay goes with --rootfs (the image it is backed by)" >&2; exit 2
fi
if [ -n "$rootfs" ] && [ "$cgroup" != v2 ]; then
  echo "run-guest.sh: the systemd guest (--rootfs) runs cgroup v2 only, systemd's default" >&2; exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)

# shellcheck source=/dev/null
. "$kernel_env"
rm -rf "$workdir"
mkdir -p "$workdir"
disk="$workdir/disk.img"

# The test disk, a fresh ext4 filesystem for every boot; for the systemd guest it carries the
# run's payload, which its initramfs installs into the root (guest/systemd/init).
make_test_disk() {
  local from=()
  rm -rf "$workdir/payload-tree"
  if [ -n "$rootfs" ]; then
    local tree="$workdir/payload-tree"
    mkdir -p "$tree/payload/sbin" "$tree/payload/debs" "$tree/out"
    cp -r "$here/guest" "$tree/payload/tests"
    mkdir -p "$tree/payload/tests/units"
    cp "$here/../../systemd/"*.service "$tree/payload/tests/units/"
    cp -r "$here/../../examples" "$tree/payload/examples"
    for file in ${payload[@]+"${payload[@]}"}; do
      install -m 0755 "$file" "$tree/payload/sbin/"
      # Without debug info, as in the initramfs guests (zonectl's is most of its size).
      strip --strip-debug "$tree/payload/sbin/$(basename "$file")"
    done
    for file in ${payload_debs[@]+"${payload_debs[@]}"}; do
      install -m 0644 "$file" "$tree/payload/debs/"
    done
    from=(-d "$tree")
  fi
  rm -f "$disk.new"
  truncate -s "$disk_size" "$disk.new"
  mkfs.ext4 -q -F -L softzone -E lazy_itable_init=0,lazy_journal_init=0 ${from[@]+"${from[@]}"} "$disk.new"
  rm -rf "$workdir/payload-tree"
  mv "$disk.new" "$disk"
}
make_test_disk

memory_args=(-m "$mem")
if [ "$sockets" = 2 ]; then
  # Two physical NUMA nodes, each later split into fake nodes by numa=fake=NU.
  mem_mib=$(numfmt --from=iec "${mem}" | awk '{ printf "%d", $1 / 1048576 }')
  half=$((mem_mib / 2))
  last_cpu=$((smp - 1))
  split=$((smp / 2))
  memory_args=(-m "${mem_mib}M"
    -object "memory-backend-ram,id=m0,size=${half}M" -object "memory-backend-ram,id=m1,size=$((mem_mib - half))M"
    -numa "node,nodeid=0,memdev=m0,cpus=0-$((split - 1))" -numa "node,nodeid=1,memdev=m1,cpus=${split}-${last_cpu}")
fi

cmdline="console=ttyS0 loglevel=4 panic=-1 softzone.test=$test_name softzone.cgroup=$cgroup"
# --fake off boots without fake NUMA: the machine as the kernel found it.
if [ "$fake" != off ]; then cmdline="$cmdline numa=fake=$fake"; fi
# The initramfs guests mount cgroup2 alone; systemd mounts it itself (Debian 12's default is the
# unified hierarchy), with the v1 controllers left in the kernel as on a host.
if [ "$cgroup" = v2 ] && [ -z "$rootfs" ]; then cmdline="$cmdline cgroup_no_v1=all"; fi
root_drive=()
if [ -n "$rootfs_overlay" ]; then
  # The overlay names IMAGE by its absolute path, and QEMU opens a backing file read-only.
  if [ ! -e "$rootfs_overlay" ]; then
    command -v qemu-img >/dev/null || { echo "run-guest.sh: qemu-img is missing (scripts/deps.sh installs qemu-utils)" >&2; exit 2; }
    qemu-img create -q -f qcow2 -F raw -b "$(realpath "$rootfs")" "$rootfs_overlay"
  fi
  root_drive=(-drive "file=$rootfs_overlay,if=virtio,format=qcow2,cache=unsafe")
elif [ -n "$rootfs" ]; then
  # snapshot=on: writes go to a temporary layer QEMU drops at exit; the cached image stays pristine.
  root_drive=(-drive "file=$rootfs,if=virtio,format=raw,snapshot=on,cache=unsafe")
fi
if [ -n "$extra_params" ]; then cmdline="$cmdline $extra_params"; fi

# Software emulation occasionally breaks a kernel while it boots (seen: an oops in a timer softirq
# on 6.12, and a CPU stuck with RCU stall reports on 6.1 with two sockets, both before init ran).
# A guest that did not reach the test case, because its kernel died or because the case had not
# started after --boot-timeout, is booted once more. One that started the case is retried only
# when its kernel died of an int3 it did not place ("Oops: int3" at a patch site): under
# multi-threaded TCG a CPU can still execute the breakpoint the kernel's text patching put in and
# already took out (static keys, switched for instance when the first cpuset is made or the last
# removed, or NUMA balancing is turned on or off; seen once: 6.12, in __alloc_pages, placement
# case). A user-space program cannot cause that oops (its int3 is its own SIGTRAP), and no
# program of the case runs before SOFTZONE-START, so no failure of the case is hidden.
run_qemu() {
  exec timeout --foreground -k 10 "$timeout_s" qemu-system-x86_64 \
    -accel tcg,thread=multi -cpu max -smp "$smp" "${memory_args[@]}" \
    -kernel "$KERNEL_IMAGE" -initrd "$initrd" -append "$cmdline" \
    -drive "file=$disk,if=virtio,format=raw,cache=unsafe" ${root_drive[@]+"${root_drive[@]}"} \
    -display none -monitor none -no-reboot -nodefaults \
    -serial "file:$workdir/console.log" -serial "file:$workdir/result.log" \
    </dev/null >"$workdir/qemu.log" 2>&1
}

case_started() { grep -aq '^SOFTZONE-START:' "$workdir/result.log" 2>/dev/null; }

# Runs QEMU and returns its status; a guest whose case has not started after --boot-timeout is
# stopped and boot_hung set. run_qemu execs timeout, so the background job's pid is timeout's,
# which passes the TERM on to QEMU.
boot_guest() {
  boot_hung=0
  : >"$workdir/result.log"
  run_qemu &
  local qemu_pid=$! waited=0
  while kill -0 "$qemu_pid" 2>/dev/null && ! case_started; do
    if [ "$waited" -ge "$boot_timeout_s" ]; then
      boot_hung=1
      kill "$qemu_pid" 2>/dev/null
      break
    fi
    sleep 1
    waited=$((waited + 1))
  done
  wait "$qemu_pid"
}

fresh_disk() { make_test_disk; }

start=$(date +%s)
set +e
boot_retried=0 int3_retried=0
while :; do
  boot_guest
  qemu_status=$?
  if [ "$boot_hung" = 0 ] && { [ "$qemu_status" = 124 ] || [ "$qemu_status" = 137 ]; }; then break; fi
  if ! case_started; then
    [ "$boot_retried" = 0 ] || break
    boot_retried=1
    if [ "$boot_hung" = 1 ]; then
      echo "run-guest.sh: the guest had not started the test case after ${boot_timeout_s}s; booting it again. Kernel log tail:"
    else
      echo "run-guest.sh: the guest did not reach the test case (qemu exit $qemu_status); booting it again. Kernel log tail:"
    fi
    tail -n 5 "$workdir/console.log"
    mv "$workdir/console.log" "$workdir/console-boot1.log"
    fresh_disk
    continue
  fi
  if [ "$int3_retried" = 0 ] && ! grep -aq '^SOFTZONE-RESULT:' "$workdir/result.log" &&
     grep -aq 'Oops: int3' "$workdir/console.log"; then
    int3_retried=1
    echo "run-guest.sh: the guest kernel died of an int3 it did not place (the emulator's race with kernel text patching); running the case again. First kernel log: $workdir/console-int3.log"
    grep -a -m 3 -A 3 'Oops: int3' "$workdir/console.log"
    mv "$workdir/console.log" "$workdir/console-int3.log"
    mv "$workdir/result.log" "$workdir/result-int3.log"
    fresh_disk
    continue
  fi
  break
done
set -e
elapsed=$(($(date +%s) - start))

tr -d '\r' <"$workdir/result.log" >"$workdir/result.txt" || true
verdict=$(grep -a '^SOFTZONE-RESULT:' "$workdir/result.txt" | tail -n 1 || true)
if [ -n "$verdict" ]; then
  debugfs -R "rdump /out $workdir" "$disk" >/dev/null 2>&1 || true
fi

failed=0
why=
if [ "$boot_hung" = 1 ]; then
  failed=1; why="guest did not start the test case within ${boot_timeout_s}s, twice"
elif [ "$qemu_status" = 124 ] || [ "$qemu_status" = 137 ]; then
  failed=1; why="guest timed out after ${timeout_s}s"
elif [ -z "$verdict" ]; then
  failed=1; why="guest gave no result (qemu exit $qemu_status)"
elif [ "$verdict" != "SOFTZONE-RESULT: PASS" ]; then
  failed=1; why="guest case failed: ${verdict#SOFTZONE-RESULT: }"
elif [ -n "$check" ]; then
  if ! SOFTZONE_VM_CGROUP=$cgroup SOFTZONE_VM_FAKE=$fake SOFTZONE_VM_KERNEL=$KERNEL_FLAVOUR \
       "$check" "$workdir/out" >"$workdir/check.log" 2>&1; then
    failed=1; why="host check $(basename "$check") failed"
  fi
  cat "$workdir/check.log"
fi

echo "== $test_name on $KERNEL_RELEASE, cgroup $cgroup, numa=fake=$fake, $mem, ${sockets} socket(s): ${elapsed}s"
if [ "$failed" = 0 ]; then
  if [ "$verbose" = 1 ]; then
    grep -av '^SOFTZONE-' "$workdir/result.txt" || true
  else
    grep -av '^SOFTZONE-' "$workdir/result.txt" | tail -n 40 || true
  fi
  echo "PASS: $test_name"
  [ "$keep_disk" = 1 ] || rm -f "$disk"
  exit 0
fi
echo "---- test output (tail) ----"
tail -n 60 "$workdir/result.txt" || true
echo "---- kernel log (tail; whole log in $workdir/console.log) ----"
tail -n 40 "$workdir/console.log" || true
echo "FAIL: $test_name: $why"
exit 1
