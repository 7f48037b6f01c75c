#!/usr/bin/env bash
# Fetches one of Debian's kernels into a cache in the build tree and unpacks it for guests.
#
#   fetch-kernel.sh CACHE_DIR 6.1|6.12
#
# Resolves the versioned package from Debian's meta-package (linux-image-amd64 is 6.1 on Debian 12,
# linux-image-6.12-amd64 is 6.12), downloads it with apt-get download unless the .deb is cached,
# unpacks it, runs depmod on the unpacked tree and writes CACHE_DIR/<flavour>/kernel.env with
# KERNEL_RELEASE, KERNEL_IMAGE, KERNEL_ROOT and KERNEL_CONFIG. Idempotent; safe to run in parallel
# for different flavours.
set -euo pipefail

cache=${1:?usage: fetch-kernel.sh CACHE_DIR 6.1|6.12}
flavour=${2:?usage: fetch-kernel.sh CACHE_DIR 6.1|6.12}

case "$flavour" in
  6.1) meta=linux-image-amd64 ;;
  6.12) meta=linux-image-6.12-amd64 ;;
  *) echo "fetch-kernel.sh: unknown kernel flavour '$flavour' (expected 6.1 or 6.12)" >&2; exit 2 ;;
esac

mkdir -p "$cache/debs" "$cache/$flavour"
cache=$(cd "$cache" && pwd)

# The meta-package depends on exactly one versioned image package.
pkg=$(apt-cache depends "$meta" 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
if [ -z "$pkg" ]; then
  # No package lists (offline, or apt-get update never ran): fall back to what is cached.
  deb=$(ls -1 "$cache/debs"/linux-image-"$flavour"[.-]*_amd64.deb 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$deb" ]; then
    echo "fetch-kernel.sh: cannot resolve $meta (run 'apt-get update' first) and nothing is cached in $cache/debs" >&2
    exit 1
  fi
else
  deb=$(ls -1 "$cache/debs/${pkg}_"*_amd64.deb 2>/dev/null | tail -n 1 || true)
  if [ -z "$deb" ]; then
    (cd "$cache/debs" && apt-get download -q "$pkg" >/dev/null 2>"$cache/debs/download.err") || {
      echo "fetch-kernel.sh: apt-get download $pkg failed: $(tail -n 1 "$cache/debs/download.err")" >&2
      exit 1
    }
    deb=$(ls -1 "$cache/debs/${pkg}_"*_amd64.deb | tail -n 1)
  fi
fi

root="$cache/$flavour/root"
stamp="$cache/$flavour/unpacked-from"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$(basename "$deb")" ]; then
  rm -rf "$root"
  mkdir -p "$root"
  dpkg-deb -x "$deb" "$root"
  release=$(ls "$root/lib/modules")
  depmod -b "$root" "$release"
  basename "$deb" >"$stamp"
fi

release=$(ls "$root/lib/modules")
cat >"$cache/$flavour/kernel.env" <<EOF
KERNEL_FLAVOUR=$flavour
KERNEL_RELEASE=$release
KERNEL_ROOT=$root
KERNEL_IMAGE=$root/boot/vmlinuz-$release
KERNEL_CONFIG=$root/boot/config-$release
EOF
echo "$cache/$flavour/kernel.env"
