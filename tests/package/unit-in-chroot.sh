#!/usr/bin/env bash
# The unit tests are hermetic: built as a package build builds them (Release, Debian's hardening
# flags, the distribution's shared libraries), every test labelled unit passes in a fresh Debian 12
# chroot as a package build runs them there: /proc mounted, a sysfs with no cgroup filesystem below
# it, no /run/softzone nor /var/lib/softzone, nothing else of the host but /dev.
#   unit-in-chroot.sh SOURCE_DIR WORK_DIR
# The tree is built on the host (WORK_DIR/unit-build) and bind-mounted into the chroot at its own
# path, with the source read-only beside it; the chroot gets only what running the tests needs
# (the libraries the binaries load and the tools the tests run, listed below), from apt, with
# apt's lists and archives kept in WORK_DIR/apt between runs. The chroot lives in its own mount
# and pid namespaces: when they end (the script's end, or its child killed by the EXIT
# trap), every mount goes with them, and the unpacked chroot is removed only when nothing is
# mounted below it. The tests run as root without CAP_SYS_ADMIN: no test can mount a cgroup
# hierarchy (zonectl mounts a v1 cpuset one when asked to change partitions and none is there),
# so none can reach the host's cgroups.
set -euo pipefail
say() { echo "unit-in-chroot: $*"; }
# What the tests run besides the tree's binaries: ctest (cmake), groff (the man page check),
# mkfs.ext4, qemu-img and pgrep (the guest runner's test, with a stand-in for QEMU).
runtime_packages="libhwloc15 libboost-program-options1.74.0 libcpp-httplib0.11"
runtime_packages+=" cmake groff-base e2fsprogs qemu-utils procps"

# The last stage, in the chroot: what the tests meet, then the tests.
if [ "${1:-}" = --in-chroot ]; then
  tree=$2
  if grep -qE " - cgroup2? " /proc/self/mountinfo; then
    say "a cgroup filesystem is mounted in the chroot"; exit 1
  fi
  [ -d /sys/fs/cgroup ] && [ -z "$(ls -A /sys/fs/cgroup)" ] ||
    { say "/sys/fs/cgroup is not an empty directory"; exit 1; }
  for path in /run/softzone /var/lib/softzone; do
    [ ! -e $path ] || { say "$path exists in the chroot"; exit 1; }
  done
  # Every binary of the tree finds its libraries (a missing one names the package to add above).
  missing=$(find "$tree" -type f -perm -u+x \( -name "*_test" -o -name zonectl -o -name zoned \) \
    -exec ldd {} + | grep "not found" | sort -u || true)
  [ -z "$missing" ] || { say "libraries missing in the chroot: $missing"; exit 1; }
  echo "in the chroot: $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r), no cgroup filesystem"
  # Root without CAP_SYS_ADMIN (capability 21) in any set: nothing can mount a cgroup hierarchy.
  exec setpriv --bounding-set=-sys_admin --inh-caps=-sys_admin -- bash -c '
    bounding=$(sed -n "s/^CapBnd:[[:space:]]*//p" /proc/self/status)
    effective=$(sed -n "s/^CapEff:[[:space:]]*//p" /proc/self/status)
    if [ $(((0x$bounding | 0x$effective) >> 21 & 1)) != 0 ]; then
      echo "unit-in-chroot: CAP_SYS_ADMIN is still held"; exit 1
    fi
    exec ctest --test-dir "$1" -L unit -j2 --no-tests=error --output-on-failure' bash "$tree"
fi

# The middle stage, in new mount and pid namespaces: the chroot's mounts, its packages, then the
# last stage. /proc is the pid namespace's; the sysfs is a mount of its own, without the host's
# cgroup mounts below /sys/fs/cgroup.
if [ "${1:-}" = --in-namespace ]; then
  root=$2 src=$3 tree=$4 apt_cache=$5
  mount -t proc proc "$root/proc"
  mount -t sysfs sysfs "$root/sys"
  mount --rbind /dev "$root/dev"
  mount --bind "$apt_cache/lists" "$root/var/lib/apt/lists"
  mount --bind "$apt_cache/archives" "$root/var/cache/apt/archives"
  mkdir -p "$root$src" "$root$tree"
  mount --bind "$src" "$root$src"
  mount -o remount,bind,ro "$root$src"
  mount --bind "$tree" "$root$tree"
  chroot "$root" sh -ec "
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o Acquire::Check-Valid-Until=false -o Acquire::Check-Date=false update -qq
    apt-get install -y -qq --no-install-recommends $runtime_packages >/dev/null
  "
  exec chroot "$root" "$src/tests/package/unit-in-chroot.sh" --in-chroot "$tree"
fi

src=$(cd "$1" && pwd -P)
mkdir -p "$2"
work=$(cd "$2" && pwd -P)
. "$src/tests/package/chroot-lib.sh"

# The tree, configured as scripts/package.sh configures the package's, with the unit tests on.
tree=$work/unit-build
start=$(date +%s)
(
  eval "$(DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --export=sh)"
  export CXXFLAGS="$CXXFLAGS $CPPFLAGS"
  cmake -S "$src" -B "$tree" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
    -DSOFTZONE_STATIC_CXX=OFF -DSOFTZONE_TESTS=ON -DSOFTZONE_VM_TESTS=OFF
  cmake --build "$tree" -j"$(nproc)"
) >"$work/unit-build.log" 2>&1 || { tail -30 "$work/unit-build.log"; say "building $tree failed"; exit 1; }
say "built $tree in $(($(date +%s) - start)) s"
listed=$(ctest --test-dir "$tree" -N -L unit | sed -n 's/^Total Tests: \([0-9]*\)$/\1/p')
[ -n "$listed" ] && [ "$listed" -gt 0 ] || { say "ctest lists no unit test in $tree"; exit 1; }

tarball=$(chroot_tarball "$work")
root=$work/unit-chroot
apt_cache=$work/apt
mkdir -p "$apt_cache/lists/partial" "$apt_cache/archives/partial"
ns_pid=
cleanup() {
  if [ -n "$ns_pid" ] && kill -0 "$ns_pid" 2>/dev/null; then
    # SIGKILL: unshare --fork ignores SIGTERM and SIGINT while it waits for its child (seen: a
    # TERM left the tests running).
    kill -KILL "$ns_pid" 2>/dev/null || true
    wait "$ns_pid" 2>/dev/null || true
  fi
  chroot_remove "$root" || true
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP
chroot_unpack "$tarball" "$root"

# --kill-child: if unshare is killed (the EXIT trap), so is the pid namespace's first process,
# and with it every process in the namespace; the mounts end with the last of them.
log=$work/unit-in-chroot.log
start=$(date +%s)
unshare --mount --propagation private --pid --fork --kill-child -- \
  "$src/tests/package/unit-in-chroot.sh" --in-namespace "$root" "$src" "$tree" "$apt_cache" \
  >"$log" 2>&1 &
ns_pid=$!
status=0
wait "$ns_pid" || status=$?
ns_pid=
elapsed=$(($(date +%s) - start))
grep -E "^in the chroot:|tests passed, |^Total Test time" "$log" || true
sed -n '/^The following tests \(did not run\|FAILED\):$/,/^$/p' "$log"
summary=$(grep -E "^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+$" "$log" || true)
if [ "$status" != 0 ] || ! echo "$summary" | grep -q " 0 tests failed "; then
  tail -n 60 "$log"
  say "the unit tests failed in the chroot (exit $status; log: $log)"
  exit 1
fi
ran=$(echo "$summary" | sed 's/.* out of //')
[ "$ran" = "$listed" ] || { say "ran $ran unit tests of the $listed the tree lists"; exit 1; }
# The skipped ones, from the list after the summary (each says why in its output).
skipped=$(sed -n '/^The following tests did not run:$/,/^$/p' "$log" | grep -c "(Skipped)$" || true)
say "$ran unit tests ran in a fresh Debian 12 chroot without a cgroup filesystem: none failed," \
  "$skipped skipped; ${elapsed} s with apt and the chroot"
