# The fresh Debian 12 chroot the package tests use, sourced by test-deb.sh and unit-in-chroot.sh.
# The tree mmdebstrap makes (about 6 minutes on a loaded 2-core machine) is cached in the work
# directory as a tarball keyed by its suite, mirror and package list; each run unpacks a fresh copy.
chroot_suite=bookworm
chroot_mirror=http://deb.debian.org/debian
chroot_packages=man-db

# chroot_tarball WORK_DIR: prints the cached tarball's path, making it first when its key changed.
# Each step checks its status: callers run it in $(...), where set -e does not reach.
chroot_tarball() {
  local work=$1 key tarball
  key=$(printf '%s %s %s' "$chroot_suite" "$chroot_mirror" "$chroot_packages" | sha256sum | cut -c1-16)
  tarball=$work/chroot-$chroot_suite-$key.tar
  if [ ! -f "$tarball" ]; then
    echo "making the $chroot_suite chroot (cached as $tarball)" >&2
    rm -rf "$work"/chroot-*.tar "$work"/chroot-*.tar.part || return 1
    # --format: mmdebstrap picks the format from the name's extension, and .part is none of its
    # (it made a directory).
    mmdebstrap --quiet --variant=apt --format=tar --include="$chroot_packages" \
      --aptopt='Acquire::Check-Valid-Until "false"' --aptopt='Acquire::Check-Date "false"' \
      "$chroot_suite" "$tarball.part" "$chroot_mirror" >&2 || return 1
    mv "$tarball.part" "$tarball" || return 1
  fi
  echo "$tarball"
}

# chroot_unpack TARBALL ROOT: a fresh chroot at ROOT (removed first), with the host's resolver.
chroot_unpack() {
  local tarball=$1 root=$2
  chroot_remove "$root"
  mkdir -p "$root"
  tar -C "$root" -xf "$tarball"
  cp /etc/resolv.conf "$root/etc/resolv.conf"
}

# chroot_remove ROOT: removes an unpacked chroot, refusing while anything is mounted below it (a
# bind mount of the source tree left behind would otherwise be emptied by rm -rf).
chroot_remove() {
  local root=$1
  [ -e "$root" ] || return 0
  root=$(cd "$root" && pwd -P)
  if awk -v root="$root" '$5 == root || index($5, root "/") == 1 { found = 1 } END { exit !found }' \
    /proc/self/mountinfo; then
    echo "chroot: something is still mounted below $root; not removing it" >&2
    return 1
  fi
  rm -rf --one-file-system "$root"
}
