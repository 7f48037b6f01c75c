# gather: captures this guest as a fixture tree for unit tests (see tests/vm/capture-fixtures.sh),
# with zonectl's live answer and hwloc's view of the machine beside it.
. /tests/lib.sh
. /tests/gather.sh
step "capture"
zonectl --json topology >"$SOFTZONE_OUT/topology-live.json"
gather_tree "$SOFTZONE_OUT/root"
lstopo-no-graphics --of xml >"$SOFTZONE_OUT/machine.xml" 2>"$SOFTZONE_OUT/lstopo.err" || echo "lstopo failed: $(cat "$SOFTZONE_OUT/lstopo.err")"
lstopo-no-graphics --of console >"$SOFTZONE_OUT/lstopo.txt" 2>/dev/null || true
echo "captured $(find "$SOFTZONE_OUT/root" -type f | wc -l) files"
