#!/usr/bin/env bash
# Builds the softzone .deb (scripts/package.sh, warnings as errors) and checks it as an admin would
# meet it: lintian finds no error, and in a fresh Debian 12 chroot `apt-get install ./softzone_*.deb`
# pulls in what it needs, `dpkg -L` lists the expected paths, `zonectl --help`, `man -w zonectl`
# and `zonectl plan` on an installed example (with --machine) work.
#   test-deb.sh SOURCE_DIR WORK_DIR
# The chroot (mmdebstrap, about 6 minutes on a loaded 2-core machine) is cached in WORK_DIR as a
# tarball keyed by its suite, mirror and package list (chroot-lib.sh); each run unpacks a fresh copy.
set -euo pipefail
src=$1 work=$2
. "$(dirname "$0")/chroot-lib.sh"
suite=$chroot_suite
mkdir -p "$work"
say() { echo "test-deb: $*"; }

# The package itself, built with -Werror: a Release (-O3) build must not warn.
deb_dir=$work/build-deb
SOFTZONE_DEB_DIR=$deb_dir "$src/scripts/package.sh" -DSOFTZONE_WERROR=ON >"$work/package.log" 2>&1 ||
  { tail -30 "$work/package.log"; say "scripts/package.sh failed"; exit 1; }
debs=("$deb_dir"/softzone_*.deb)
[ ${#debs[@]} = 1 ] && [ -f "${debs[0]}" ] || { say "expected one .deb in $deb_dir"; exit 1; }
deb=${debs[0]}
say "built $(basename "$deb")"
dpkg-deb -f "$deb" Package Depends Section

# lintian: errors fail the test; warnings are listed (docs/install.md says which are expected).
lintian_out=$(lintian --fail-on error --no-tag-display-limit "$deb" 2>&1) ||
  { printf '%s\n' "$lintian_out"; say "lintian reports errors"; exit 1; }
[ -z "$lintian_out" ] || printf 'lintian:\n%s\n' "$lintian_out"

# The chroot, from the cache when its key matches (chroot-lib.sh).
tarball=$(chroot_tarball "$work")
root=$work/chroot
chroot_unpack "$tarball" "$root"
cp "$deb" "$root/tmp/"
cp "$src/examples/machines/one-socket-64g.json" "$root/tmp/machine.json"

# Inside a private mount namespace, so /proc and /dev go away with it.
unshare --mount --fork -- sh -ec '
  root=$1 deb=$2
  mount -t proc proc "$root/proc"
  mount --rbind /dev "$root/dev"
  chroot "$root" sh -ec "
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o Acquire::Check-Valid-Until=false -o Acquire::Check-Date=false update -qq
    apt-get install -y -qq ./tmp/$deb >/dev/null
    cd /
    zonectl --help | head -1
    zonectl --version
    zoned --version
    man -w zonectl
    man -w zoned
    man -w 5 softzone.ini
    zonectl plan /usr/share/doc/softzone/examples/build-farm.ini --machine /tmp/machine.json \
      --format cmdline
    dpkg -L softzone > /tmp/dpkg-L
    ldd /usr/sbin/zonectl > /tmp/ldd
  "
' sh "$root" "$(basename "$deb")" | tee "$work/chroot.log" ||
  { say "the checks in the chroot failed"; exit 1; }
grep -qx 'numa=fake=55' "$work/chroot.log" || { say "plan did not print numa=fake=55"; exit 1; }

missing=0
for path in /usr/sbin/zonectl /usr/sbin/zoned /lib/systemd/system/zoned.service \
  /lib/systemd/system/softzone-apply.service \
  /usr/share/man/man8/zonectl.8.gz /usr/share/man/man8/zoned.8.gz \
  /usr/share/man/man5/softzone.ini.5.gz /usr/share/bash-completion/completions/zonectl \
  /usr/share/bash-completion/completions/zoned /usr/share/doc/softzone/examples/demo.ini \
  /usr/share/doc/softzone/examples/machines/one-socket-64g.json /usr/share/doc/softzone/copyright \
  /usr/share/doc/softzone/changelog.Debian.gz; do
  grep -qx "$path" "$root/tmp/dpkg-L" || { say "dpkg -L softzone lacks $path"; missing=1; }
done
if grep -q '^/etc/softzone/softzone.ini$' "$root/tmp/dpkg-L"; then
  say "the package must not own /etc/softzone/softzone.ini"; missing=1
fi
# Debian's convention: the distribution's shared libstdc++ and Boost, not static copies.
for lib in libstdc++.so.6 libboost_program_options; do
  grep -q "$lib" "$root/tmp/ldd" || { say "zonectl does not link $lib dynamically"; missing=1; }
done
[ $missing = 0 ] || exit 1
say "installed with apt in a fresh $suite chroot; help, man, plan and the file list are right"
