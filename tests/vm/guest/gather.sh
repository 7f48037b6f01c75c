# Snapshots what softzone reads from a running kernel into a fixture tree with the root's layout
# (like hwloc-gather-topology): node sysfs, cpu topology, /proc files, the cgroup tree, the
# kernel config lines softzone uses. Sourced by the gather case: gather_tree DEST.

# copy_file SRC DEST_ROOT: a readable regular file, by content (sysfs sizes are not real).
copy_file() {
  [ -f "$1" ] && [ -r "$1" ] || return 0
  mkdir -p "$2$(dirname "$1")"
  cat "$1" >"$2$1" 2>/dev/null || rm -f "$2$1"
}

# copy_dir_files DIR DEST_ROOT: the regular files directly in DIR (no symlinks, no recursion).
copy_dir_files() {
  for f in "$1"/*; do
    [ -L "$f" ] && continue
    copy_file "$f" "$2"
  done
}

# copy_tree DIR DEST_ROOT: the regular files and directories under DIR (no symlinks followed).
copy_tree() {
  find "$1" -type f 2>/dev/null | while read -r f; do copy_file "$f" "$2"; done
}

gather_tree() {
  dest=$1
  mkdir -p "$dest"
  copy_dir_files /sys/devices/system/node "$dest"
  for node in /sys/devices/system/node/node*; do
    for f in meminfo vmstat numastat cpulist cpumap distance; do copy_file "$node/$f" "$dest"; done
  done
  copy_dir_files /sys/devices/system/cpu "$dest"
  for cpu in /sys/devices/system/cpu/cpu[0-9]*; do
    copy_dir_files "$cpu/topology" "$dest"
    copy_file "$cpu/online" "$dest"
  done
  for f in cmdline meminfo vmstat buddyinfo mounts self/mountinfo cpuinfo sys/kernel/osrelease \
           pressure/memory; do
    copy_file "/proc/$f" "$dest"
  done
  # cgroupfs: only the files softzone reads, for every cgroup directory.
  find /sys/fs/cgroup -type d 2>/dev/null | while read -r dir; do
    mkdir -p "$dest$dir"
    for f in "$dir"/cgroup.controllers "$dir"/cgroup.subtree_control "$dir"/cgroup.procs \
             "$dir"/cgroup.type "$dir"/cpuset.* "$dir"/memory.pressure "$dir"/tasks \
             "$dir"/notify_on_release; do
      copy_file "$f" "$dest"
    done
  done
  release=$(uname -r)
  mkdir -p "$dest/boot"
  grep -E '^CONFIG_(NODES_SHIFT|NUMA_EMU|NUMA|CPUSETS|CPUSETS_V1|MEMCG|PSI|HIST_TRIGGERS|MIGRATION)=' \
    "/boot/config-$release" >"$dest/boot/config-$release" || true
}
