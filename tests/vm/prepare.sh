#!/usr/bin/env bash
# CTest fixture for guest tests: fetch (or reuse) one kernel and build its initramfs.
#   prepare.sh CACHE_DIR 6.1|6.12 OUT.cpio.gz BINARY...
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=$1 flavour=$2 out=$3
shift 3
env_file=$("$here/fetch-kernel.sh" "$cache" "$flavour")
"$here/make-initramfs.sh" "$env_file" "$out" "$@"
. "$env_file"
echo "prepared $KERNEL_RELEASE: $(du -h "$out" | cut -f1) initramfs"
