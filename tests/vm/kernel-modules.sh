# Copies the kernel's own modules for the test disk and ext4 into an initramfs being staged, in
# load order (sourced by make-initramfs.sh and make-systemd-initramfs.sh; needs KERNEL_ROOT and
# KERNEL_RELEASE from fetch-kernel.sh's kernel.env).
#
#   stage_disk_modules DIR: the modules into DIR, their names in load order in DIR/load-order.
#
# modprobe resolves dependencies and softdeps. Compressed modules (6.12's .ko.xz) are unpacked:
# busybox's insmod may lack xz support.
stage_disk_modules() {
  local dir=$1 modlist="$1/load-order"
  mkdir -p "$dir"
  : >"$modlist"
  for module in virtio_pci virtio_blk crypto-crc32c ext4 loop; do
    modprobe -d "$KERNEL_ROOT" -S "$KERNEL_RELEASE" --show-depends "$module" 2>/dev/null |
      awk '$1 == "insmod" { print $2 }'
  done | awk '!seen[$0]++' | while read -r ko; do
    name=$(basename "$ko")
    case "$name" in
      *.xz) xz -dc "$ko" >"$dir/${name%.xz}"; name=${name%.xz} ;;
      *.zst) zstd -qdc "$ko" >"$dir/${name%.zst}"; name=${name%.zst} ;;
      *) cp "$ko" "$dir/$name" ;;
    esac
    echo "$name" >>"$modlist"
  done
}
