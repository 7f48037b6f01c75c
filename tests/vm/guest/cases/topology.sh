# topology: zonectl topology in a fake-NUMA guest; the JSON goes to the host check, which compares
# every node's size with its meminfo, and the captured tree, read through --root, with the guest.
. /tests/lib.sh
. /tests/gather.sh

step "zonectl topology"
zonectl topology
zonectl --json topology >"$SOFTZONE_OUT/topology.json"
cat /sys/devices/system/node/node*/meminfo >"$SOFTZONE_OUT/node-meminfo.txt"
cat /proc/cmdline >"$SOFTZONE_OUT/cmdline.txt"

step "capture the tree zonectl read"
gather_tree "$SOFTZONE_OUT/tree"

step "zonectl --root on the captured tree (compared with the live answer on the host)"
zonectl --json --root "$SOFTZONE_OUT/tree" topology >"$SOFTZONE_OUT/topology-from-tree.json"

step "bad input: --root to a missing tree is exit 2"
run_expect_status 2 zonectl --root /nonexistent topology
echo "topology: ok"
