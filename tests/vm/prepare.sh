#!/usr/bin/env bash
# CTest fixture for guest tests: fetch (or reuse) one kernel and build its initramfs.
#   prepare.sh CACHE_DIR 6.1|6.12 OUT.cpio.gz BINARY...
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=$1 flavour=$2 out=$3
shift 3

# fetch_numad: the path of numad (Debian's automatic NUMA placement daemon, the reference of the
# bench-zoned-cpu case), unpacked once from its package into the cache; nothing when it cannot be
# downloaded: the initramfs is built without it and that case says so. Both kernels' fixtures may
# run at once: each unpacks into its own directory and the first rename wins.
fetch_numad() {
  local dir=$cache/numad tmp
  if [ ! -x "$dir/usr/bin/numad" ]; then
    mkdir -p "$cache"
    tmp=$(mktemp -d "$cache/numad.XXXXXX")
    if (cd "$tmp" && apt-get download -q numad >/dev/null 2>download.err && dpkg-deb -x numad_*_amd64.deb root); then
      mv -T "$tmp/root" "$dir" 2>/dev/null || true
    else
      echo "prepare.sh: numad not added: $(tail -n 1 "$tmp/download.err")" >&2
    fi
    rm -rf "$tmp"
  fi
  if [ -x "$dir/usr/bin/numad" ]; then echo "$dir/usr/bin/numad"; fi
}

env_file=$("$here/fetch-kernel.sh" "$cache" "$flavour")
numad=$(fetch_numad)
if [ -n "$numad" ]; then set -- "$@" "$numad"; fi
"$here/make-initramfs.sh" "$env_file" "$out" "$@"
# shellcheck source=/dev/null
. "$env_file"
echo "prepared $KERNEL_RELEASE: $(du -h "$out" | cut -f1) initramfs"
